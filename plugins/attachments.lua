-- attachments: refuse (or tag) messages carrying attachments of dangerous types.
--
-- Hook data(tx): walks the message's MIME leaf parts (tx:parts()). A part is
-- refused when
--   * its filename's extension is in `extensions` (case-insensitive; the last
--     extension counts, so "invoice.pdf.exe" is an .exe; trailing dots and spaces,
--     which Windows ignores, are ignored too), or
--   * its content type is in `types` (case-insensitive; "application/x-ms*"-style
--     entries ending in "*" match a prefix).
-- The first refused part decides. With action "reject" (the default) the message
-- gets the qmail-style
--   554 5.3.4 Sorry, I don't accept messages with attachments of type .exe (#5.3.4)
-- (for a content type: "... with attachments of type application/x-msdownload");
-- with action "tag" it is accepted and gets the header `header`
--   X-Attachment-Refused: .exe (invoice.exe)
-- one per refused part (at most 10). Archives are not opened.
-- A message whose MIME structure is beyond what the host walks (more than 256
-- parts or 16 levels: tx:parts() says it is not complete) cannot be checked: with
-- `incomplete` = "reject" (the default) it gets
--   554 5.3.4 Sorry, I can't check attachments in a message with that many parts (#5.3.4)
-- (tag: "X-Attachment-Refused: unchecked (too many parts)"); "accept" lets it pass.
--
-- Config ([policy.attachments] in mailgate.toml):
--   extensions       list (without dots); default below (DEFAULT_EXTENSIONS)
--   types            list of content types; default below (DEFAULT_TYPES)
--   action           "reject" (default) or "tag"
--   incomplete       "reject" (default) or "accept": a message too deep to walk
--   header           the tag header; default "X-Attachment-Refused"
--   exempt_networks  CIDRs never checked; default []

local attachments = {}

-- Errors name the line that found the problem (level 2: the caller of fail).
local function fail(text) error(text, 2) end

if (mailgate.api_version or 1) < 2 then fail("needs mailgate.api_version 2 (tx:parts())") end

local DEFAULT_EXTENSIONS = {
  "ade", "adp", "app", "bat", "chm", "cmd", "com", "cpl", "exe", "hta", "inf", "ins", "isp",
  "jar", "js", "jse", "lnk", "mde", "msc", "msi", "msp", "mst", "pif", "ps1", "reg", "scf",
  "scr", "sct", "shb", "shs", "vb", "vbe", "vbs", "wsc", "wsf", "wsh",
}
local DEFAULT_TYPES = {
  "application/x-msdownload", "application/x-msdos-program", "application/x-dosexec",
  "application/x-ms-dos-executable", "application/vnd.microsoft.portable-executable",
  "application/hta", "application/x-ms-shortcut", "application/x-msi",
}

local settings = require("settings")  -- plugins/lib/settings.lua

local extensions = {}
for _, extension in ipairs(settings.string_list(config, "extensions", DEFAULT_EXTENSIONS)) do
  extensions[string.lower((string.gsub(extension, "^%.", "")))] = true
end
local exact_types, type_prefixes = {}, {}
for _, entry in ipairs(settings.string_list(config, "types", DEFAULT_TYPES)) do
  entry = string.lower(entry)
  if string.sub(entry, -1) == "*" then
    type_prefixes[#type_prefixes + 1] = string.sub(entry, 1, -2)
  else
    exact_types[entry] = true
  end
end
local action = config.action or "reject"
local header = config.header or "X-Attachment-Refused"
local incomplete = config.incomplete or "reject"
local exempt_networks = settings.string_list(config, "exempt_networks", {})
if action ~= "reject" and action ~= "tag" then
  fail(("action must be \"reject\" or \"tag\", not %q"):format(tostring(action)))
end
if incomplete ~= "reject" and incomplete ~= "accept" then
  fail(("incomplete must be \"reject\" or \"accept\", not %q"):format(tostring(incomplete)))
end
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load

-- "invoice.PDF.exe. " -> "exe"; nil without an extension.
local function extension_of(filename)
  local trimmed = string.gsub(filename, "[%s%.]+$", "")
  local extension = string.match(trimmed, "%.([^%./\\]+)$")
  return extension and string.lower(extension)
end

local function refused_type(content_type)
  if content_type == nil then return false end
  content_type = string.lower(content_type)
  if exact_types[content_type] then return true end
  for _, prefix in ipairs(type_prefixes) do
    if string.sub(content_type, 1, #prefix) == prefix then return true end
  end
  return false
end

-- Printable ASCII only, short: the text goes into a reply or a header.
local function shown(text) return string.sub(string.gsub(text, "[^%w%.%-_ /+]", "?"), 1, 80) end

-- Each refused part as {what=".exe", filename=}; a walk the host had to cut short
-- (too many parts or levels) adds {too_deep=true} unless incomplete = "accept".
local function refused_parts(tx)
  local found = {}
  local parts, complete = tx:parts()
  for _, part in ipairs(parts) do
    local extension = part.filename and extension_of(part.filename)
    if extension and extensions[extension] then
      found[#found + 1] = { what = "." .. extension, filename = part.filename }
    elseif refused_type(part.type) then
      found[#found + 1] = { what = string.lower(part.type), filename = part.filename }
    end
    if #found >= 10 then break end
  end
  -- Last, so a refused part the walk did reach is the one the reply names.
  if complete == false and incomplete == "reject" then
    found[#found + 1] = { what = "unchecked", too_deep = true }
  end
  return found
end

function attachments.data(tx)
  if mailgate.net.in_networks(tx.session.client_ip, exempt_networks) then return mailgate.next end
  local found = refused_parts(tx)
  if #found == 0 then return mailgate.next end
  local first = found[1]
  mailgate.log.info(("attachments: %s refused %s (%s)"):format(tx.queue_id, shown(first.what),
    first.too_deep and "too many parts" or first.filename and shown(first.filename) or "no filename"))
  if action == "tag" then
    for _, item in ipairs(found) do
      local value = shown(item.what)
      if item.too_deep then value = value .. " (too many parts)" end
      if item.filename then value = value .. " (" .. shown(item.filename) .. ")" end
      tx:add_header(header, value)
    end
    return mailgate.next
  end
  if first.too_deep then
    return mailgate.reject(554, "5.3.4", "Sorry, I can't check attachments in a message with that many parts (#5.3.4)")
  end
  return mailgate.reject(554, "5.3.4",
    ("Sorry, I don't accept messages with attachments of type %s (#5.3.4)"):format(shown(first.what)))
end

return attachments
