-- spf: checks the sender's SPF record (RFC 7208) and acts on the result.
--
-- The check runs once per transaction, at MAIL FROM, with the client address, the
-- HELO name and the envelope sender (the HELO identity when the sender is <>). The
-- result is kept as tx:result("spf") for later hooks and plugins (dmarc reads it),
-- and the data hook adds it to the Authentication-Results field:
--   spf=fail smtp.mailfrom=example.org
--
-- What happens per result (config `fail`, `softfail`, `temperror`, `permerror`;
-- each "reject", "defer", "tag" or "ignore"):
--   fail       "reject" (default): 550 5.7.23 at RCPT, with the domain's explanation
--   softfail   "tag" (default): a Received-SPF header (RFC 7208 §9.1)
--   temperror  "tag" (default); "defer" answers 451 4.7.24 so the client retries
--   permerror  "tag" (default); "reject" answers 550 5.7.24
-- pass, neutral and none are never refused. "ignore" still records the result in
-- Authentication-Results; "tag" adds Received-SPF as well.
--
-- Never refused (the result is still recorded): authenticated clients, open-SMTP
-- (whitelisted) clients, `exempt_networks` and the recipients in
-- `exempt_recipients` (postmaster@ and abuse@ of our domains by default, RFC 5321
-- §4.5.1). Mail from those clients is usually our own users' outgoing mail, and
-- SPF does not apply to it.
--
-- Failures: the SPF engine never raises for DNS trouble (that is "temperror"); a
-- policy error (for example in this file) is handled by [policy.spf] on_error.
--
-- Config ([policy.spf] in mailgate.toml):
--   fail / softfail / temperror / permerror   as above
--   exempt_networks    CIDRs never refused; default []
--   exempt_recipients  local parts never refused; default ["postmaster", "abuse"]
--   check_authenticated  also check authenticated and whitelisted clients; default false
--   received_spf       add Received-SPF on "tag" (and on pass when true); default "tag"
--                      ("tag": only for tagged results, "always", "never")

local spf = {}

local function fail(text) error(text, 2) end
local settings = require("settings")  -- plugins/lib/settings.lua

local ACTIONS = { reject = true, defer = true, tag = true, ignore = true }
local action = {
  fail = config.fail or "reject",
  softfail = config.softfail or "tag",
  temperror = config.temperror or "tag",
  permerror = config.permerror or "tag",
}
for result, chosen in pairs(action) do
  if not ACTIONS[chosen] then
    fail(("%s must be \"reject\", \"defer\", \"tag\" or \"ignore\", not %q"):format(result, tostring(chosen)))
  end
end
local exempt_networks = settings.string_list(config, "exempt_networks", {})
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load
local exempt_recipients = {}
for _, name in ipairs(settings.string_list(config, "exempt_recipients", { "postmaster", "abuse" })) do
  exempt_recipients[string.lower(name)] = true
end
local check_authenticated = config.check_authenticated == true
local received_spf = config.received_spf or "tag"
if received_spf ~= "tag" and received_spf ~= "always" and received_spf ~= "never" then
  fail(("received_spf must be \"tag\", \"always\" or \"never\", not %q"):format(tostring(received_spf)))
end

-- Clients SPF is not about: our own users and the networks the operator trusts.
local function trusted(session)
  if session.auth_user ~= nil then return true end
  if mailgate.whitelist.contains(session.client_ip) then return true end
  return mailgate.net.in_networks(session.client_ip, exempt_networks)
end

function spf.mail_from(tx, sender)
  local session = tx.session
  if not check_authenticated and trusted(session) then
    tx:set_result("spf", { result = "none", skipped = "trusted client" })
    return mailgate.next
  end
  local checked = mailgate.spf.check(session.client_ip, session.helo or "", sender and sender.address or "")
  tx:set_result("spf", checked)
  return mailgate.next
end

local REPLIES = {
  fail = { 550, "5.7.23" },
  permerror = { 550, "5.7.24" },
  temperror = { 451, "4.7.24" },
  softfail = { 451, "4.7.23" },
}

function spf.rcpt(tx, rcpt)
  local checked = tx:result("spf")
  if checked == nil or checked.skipped then return mailgate.next end
  local chosen = action[checked.result]
  if chosen ~= "reject" and chosen ~= "defer" then return mailgate.next end
  if exempt_recipients[string.lower(rcpt.local_part)] and mailgate.domains.is_local(rcpt.domain) then
    return mailgate.next
  end
  local code = REPLIES[checked.result]
  local text
  if checked.result == "fail" then
    text = checked.explanation or ("SPF validation failed: %s does not allow %s to send for %s")
      :format(checked.domain, tx.session.client_ip, checked.domain)
  elseif checked.result == "softfail" then
    text = ("SPF softfail: %s does not designate %s as a permitted sender"):format(checked.domain, tx.session.client_ip)
  else
    text = ("SPF validation error for %s: %s"):format(checked.domain, checked.problem or checked.result)
  end
  if chosen == "defer" then
    local enhanced = code[1] >= 500 and ("4" .. code[2]:sub(2)) or code[2]
    return mailgate.defer(451, enhanced, text)
  end
  if code[1] < 500 then return mailgate.reject(550, "5" .. code[2]:sub(2), text) end
  return mailgate.reject(code[1], code[2], text)
end

function spf.data(tx)
  local checked = tx:result("spf")
  if checked == nil then return mailgate.next end
  if checked.skipped then return mailgate.next end
  local identity = checked.identity == "helo" and "smtp.helo" or "smtp.mailfrom"
  local value = checked.identity == "helo" and checked.domain or checked.sender
  tx:add_auth_result("spf", checked.result, { { identity, value } }, checked.problem)
  local chosen = action[checked.result]
  if received_spf == "always" or (received_spf == "tag" and chosen == "tag") then
    local session = tx.session
    tx:add_header("Received-SPF", ("%s (%s: %s) client-ip=%s; envelope-from=\"%s\"; helo=%s;")
      :format(checked.result, mailgate.config.hostname or "localhost",
              checked.problem or checked.mechanism and ("matched " .. checked.mechanism) or checked.result,
              session.client_ip, checked.sender or "", session.helo or "unknown"))
  end
  return mailgate.next
end

return spf
