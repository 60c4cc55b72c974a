-- Shared by the shipped plugins (loaded with require("settings"), once per VM):
-- reading a plugin's [policy.NAME] settings. Errors name the plugin line that asked.
local settings = {}

-- config[name] as a list of strings: a single string becomes a one-item list; absent
-- gives `default`. Anything else is an error at the caller's line.
function settings.string_list(config, name, default)
  local value = config[name]
  if value == nil then return default end
  if type(value) == "string" then value = { value } end
  if type(value) ~= "table" then error(name .. " must be a list of strings", 2) end
  for _, item in ipairs(value) do
    if type(item) ~= "string" then error(name .. " must be a list of strings", 2) end
  end
  return value
end

return settings
