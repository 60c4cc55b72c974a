-- rspamd: have a running rspamd scan each message and apply its action.
--
-- Hook data(tx): POSTs the received message (body = tx: the host sends the bytes,
-- they never enter Lua) to `url` .. "/checkv2" with rspamd's request headers (IP,
-- Helo, From, one Rcpt per recipient, Queue-Id, User when authenticated, MTA-Name,
-- Settings-ID when set), reads the JSON reply with mailgate.json.decode and applies
-- its action:
--   reject           550 5.7.1 (rspamd's SMTP message, else "Spam message rejected")
--   soft reject      451 4.7.1 (rspamd's SMTP message, else "Try again later")
--   greylist         `greylist` = "next" (default: rspamd's greylist module, when it
--                    runs, answers "soft reject" itself) or "defer" (451 4.7.1)
--   add header       accepted with X-Spam: Yes
--   rewrite subject  accepted with X-Spam: Yes and the Subject rspamd proposes
--                    (tx:set_subject: the server replaces the Subject field)
--   no action        accepted
-- Every scanned message gets X-Spam-Score, X-Spam-Action, X-Spam-Status and (with
-- `symbols_header`) X-Spamd-Result. With `spam_folder` set, the deliver hook files
-- messages tagged X-Spam: Yes into that folder for local recipients.
-- Not scanned: clients in `exempt_networks`, authenticated sessions when
-- `scan_authenticated` is false, messages over `max_size`.
-- When rspamd cannot be asked (down, timeout, an HTTP error, an unreadable reply) the
-- plugin raises error(): [policy.rspamd] on_error decides ("defer", the default:
-- 451 4.3.0; "next": accepted unscanned).
--
-- Config ([policy.rspamd] in mailgate.toml):
--   url                 rspamd's normal worker; default "http://127.0.0.1:11333"
--   timeout             per scan; default [limits] policy_http_timeout (never more than
--                       the policy's deadline leaves: raise `deadline` too)
--   max_size            skip larger messages; default "10MB"
--   exempt_networks     CIDRs never scanned; default []
--   scan_authenticated  default true (outbound spam from a stolen account is caught)
--   greylist            "next" (default) or "defer"
--   reject_text         overrides rspamd's text for reject
--   symbols_header      add X-Spamd-Result; default true
--   spam_folder         e.g. "Junk": deliver X-Spam: Yes messages there; default none
--   settings_id         sent as Settings-ID (an rspamd settings profile); default none

local rspamd = {}

local function fail(text) error(text, 2) end

if mailgate.http == nil or mailgate.json == nil then fail("needs mailgate.http and mailgate.json") end

local settings = require("settings")  -- plugins/lib/settings.lua

local url = config.url or "http://127.0.0.1:11333"
if type(url) ~= "string" or not string.find(url, "^https?://[^/?#%s]+[^?#%s]*$") then
  fail(("url must be like \"http://127.0.0.1:11333\", not %q"):format(tostring(url)))
end
local endpoint = (string.gsub(url, "/+$", "")) .. "/checkv2"
local timeout = config.timeout
if timeout ~= nil then timeout = mailgate.duration(timeout) end
local max_size = mailgate.size(config.max_size or "10MB")
local exempt_networks = settings.string_list(config, "exempt_networks", {})
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load
local scan_authenticated = config.scan_authenticated ~= false
local greylist = config.greylist or "next"
if greylist ~= "next" and greylist ~= "defer" then
  fail(("greylist must be \"next\" or \"defer\", not %q"):format(tostring(greylist)))
end
local reject_text = config.reject_text
if reject_text ~= nil and type(reject_text) ~= "string" then fail("reject_text must be a string") end
local symbols_header = config.symbols_header ~= false
local spam_folder = config.spam_folder
if spam_folder ~= nil and (type(spam_folder) ~= "string" or spam_folder == "") then
  fail("spam_folder must be a folder name such as \"Junk\"")
end
local settings_id = config.settings_id
if settings_id ~= nil and type(settings_id) ~= "string" then fail("settings_id must be a string") end

-- Header values from the peer or from rspamd: no control characters, bounded.
local function clean(text, limit)
  return string.sub((string.gsub(tostring(text), "[%c\127]", "?")), 1, limit or 200)
end

-- rspamd's SMTP message for a reply: printable ASCII, at most 200 bytes.
local function reply_text(reply, default)
  local messages = reply.messages
  local text = type(messages) == "table" and messages.smtp_message or nil
  if type(text) ~= "string" or text == "" then return default end
  return string.sub((string.gsub(text, "[^ -~]", "?")), 1, 200)
end

local function request_headers(tx)
  local session = tx.session
  local headers = {
    IP = session.client_ip,
    ["Queue-Id"] = tx.queue_id,
    ["MTA-Name"] = clean(mailgate.config.hostname or "mailgate"),
  }
  if session.helo then headers.Helo = clean(session.helo) end
  if session.auth_user then headers.User = clean(session.auth_user) end
  if tx.mail_from then headers.From = clean(tx.mail_from.address, 512) end
  local rcpts = {}
  for index, rcpt in ipairs(tx.recipients or {}) do
    if index > 100 then break end
    rcpts[index] = clean(rcpt.address, 512)
  end
  if #rcpts > 0 then headers.Rcpt = rcpts end
  if settings_id then headers["Settings-ID"] = clean(settings_id) end
  return headers
end

-- "default: False [1.20 / 15.00]; SYM(0.50)[opt1,opt2]; …": rspamd's own header
-- format (milter_headers' x-spamd-result), cut to fit a header line.
local function symbols_line(reply, spam, score, required)
  local names = {}
  if type(reply.symbols) == "table" then
    for name in pairs(reply.symbols) do names[#names + 1] = name end
  end
  table.sort(names)
  local parts = { ("default: %s [%.2f / %.2f]"):format(spam and "True" or "False", score, required) }
  local length = #parts[1]
  for _, name in ipairs(names) do
    local symbol = reply.symbols[name]
    local item = ("%s(%.2f)"):format(clean(name, 64), tonumber(type(symbol) == "table" and symbol.score) or 0)
    if type(symbol) == "table" and type(symbol.options) == "table" then
      local options = {}
      for index, option in ipairs(symbol.options) do
        if index > 5 then break end
        options[index] = clean(option, 60)
      end
      item = item .. "[" .. table.concat(options, ",") .. "]"
    end
    if length + #item + 2 > 900 then
      parts[#parts + 1] = "..."
      break
    end
    parts[#parts + 1] = item
    length = length + #item + 2
  end
  return table.concat(parts, "; ")
end

function rspamd.data(tx)
  local session = tx.session
  if mailgate.net.in_networks(session.client_ip, exempt_networks) then return mailgate.next end
  if session.auth_user and not scan_authenticated then return mailgate.next end
  local size = tx.size or 0
  if size > max_size then
    mailgate.log.info(("rspamd: %s not scanned: %d bytes is over max_size (%d)"):format(tx.queue_id, size, max_size))
    return mailgate.next
  end

  local response, err = mailgate.http.request {
    method = "POST", url = endpoint, headers = request_headers(tx), body = tx, timeout = timeout,
    max_response = 256 * 1024,
  }
  if response == nil then error(("rspamd at %s: %s"):format(url, err), 0) end
  if response.status ~= 200 then
    -- rspamd explains a refusal (a bad request, an overload) in {"error": "..."}.
    local explained = mailgate.json.decode(response.body)
    local why = type(explained) == "table" and type(explained.error) == "string" and (": " .. clean(explained.error)) or ""
    error(("rspamd at %s answered HTTP %d%s"):format(url, response.status, why), 0)
  end
  local reply, problem = mailgate.json.decode(response.body)
  if type(reply) ~= "table" then
    error(("rspamd at %s: unreadable reply (%s)"):format(url, tostring(problem or "not an object")), 0)
  end
  local action = reply.action
  if type(action) ~= "string" then
    error(("rspamd at %s: reply without an action%s"):format(url,
      type(reply.error) == "string" and (": " .. clean(reply.error)) or ""), 0)
  end
  local score = tonumber(reply.score) or 0
  local required = tonumber(reply.required_score) or 0

  local spam = action == "reject" or action == "add header" or action == "rewrite subject"
  tx:add_header("X-Spam-Score", ("%.2f"):format(score))
  tx:add_header("X-Spam-Action", clean(action, 40))
  tx:add_header("X-Spam-Status", ("%s, score=%.2f required=%.2f"):format(spam and "Yes" or "No", score, required))
  if symbols_header then tx:add_header("X-Spamd-Result", symbols_line(reply, spam, score, required)) end
  mailgate.log.info(("rspamd: %s %s score=%.2f/%.2f"):format(tx.queue_id, clean(action, 40), score, required))

  if action == "reject" then
    return mailgate.reject(550, "5.7.1", reject_text or reply_text(reply, "Spam message rejected"))
  elseif action == "soft reject" then
    return mailgate.defer(451, "4.7.1", reply_text(reply, "Try again later"))
  elseif action == "greylist" then
    if greylist == "defer" then return mailgate.defer(451, "4.7.1", reply_text(reply, "Try again later")) end
  elseif action == "add header" or action == "rewrite subject" then
    tx:add_header("X-Spam", "Yes")
    if action == "rewrite subject" and type(reply.subject) == "string" and reply.subject ~= "" then
      tx:set_subject(clean(reply.subject, 900))
    end
    if spam_folder then tx:set_result("rspamd_spam", true) end
  end
  return mailgate.next
end

if spam_folder then
  function rspamd.deliver(tx, rcpt, info)
    if info and info["local"] == false then return mailgate.next end
    if tx:result("rspamd_spam") then return mailgate.folder(spam_folder) end
    return mailgate.next
  end
end

return rspamd
