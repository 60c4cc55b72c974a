-- dmarc: applies the From domain's DMARC policy (RFC 7489) to received mail.
--
-- Put it after spf and dkim in the chain: the data hook takes the SPF result
-- (tx:result("spf")) and the DKIM results (mailgate.dkim.verify, which the server
-- keeps per message), or runs the checks itself when those plugins are not in the
-- chain, then calls mailgate.dmarc.check(tx, spf, dkim). The engine
-- finds the policy (at _dmarc.<From domain>, else at the organizational domain),
-- checks SPF and DKIM alignment, applies pct, and, when the domain asks for
-- aggregate reports (rua=), records the evaluation for the daily report
-- ([dmarc] in mailgate.toml). The result is kept as tx:result("dmarc") and added to
-- Authentication-Results:
--   dmarc=fail (p=reject dis=reject) header.from=example.org
--
-- What the disposition does:
--   reject      550 5.7.1 "rejected by DMARC policy for DOMAIN" (config `reject`
--               false: quarantined instead)
--   quarantine  delivered to the local recipients' `quarantine_folder` ("Junk")
--               (tx:set_folder: no deliver hook needed); relayed recipients get
--               the message as is, with the X-DMARC header below
--   none        nothing
-- temperror (DNS trouble) and permerror (a broken record) never refuse mail.
--
-- Never applied to (the result is still recorded): authenticated clients,
-- open-SMTP (whitelisted) clients and `exempt_networks`.
--
-- Config ([policy.dmarc] in mailgate.toml):
--   reject             apply p=reject; default true
--   quarantine         apply p=quarantine; default true
--   quarantine_folder  default "Junk"
--   exempt_networks    CIDRs never refused; default []
--   check_authenticated  also evaluate mail of authenticated and whitelisted clients; default false

local dmarc = {}

local function fail(text) error(text, 2) end
local settings = require("settings")  -- plugins/lib/settings.lua

local apply_reject = config.reject ~= false
local apply_quarantine = config.quarantine ~= false
local quarantine_folder = config.quarantine_folder or "Junk"
if type(quarantine_folder) ~= "string" or quarantine_folder == "" then
  fail("quarantine_folder must be a folder name such as \"Junk\"")
end
local exempt_networks = settings.string_list(config, "exempt_networks", {})
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load
local check_authenticated = config.check_authenticated == true

local function trusted(session)
  if session.auth_user ~= nil then return true end
  if mailgate.whitelist.contains(session.client_ip) then return true end
  return mailgate.net.in_networks(session.client_ip, exempt_networks)
end

function dmarc.data(tx)
  local session = tx.session
  if not check_authenticated and trusted(session) then return mailgate.next end
  local spf = tx:result("spf")
  if spf == nil or spf.skipped then
    spf = mailgate.spf.check(session.client_ip, session.helo or "", tx.mail_from and tx.mail_from.address or "")
  end
  -- Verified once per message and kept by the server: this costs no second check.
  local dkim = mailgate.dkim.verify(tx)
  local result = mailgate.dmarc.check(tx, spf, dkim)
  tx:set_result("dmarc", result)

  local properties = {}
  if result.from_domain then properties[1] = { "header.from", result.from_domain } end
  if result.policy then properties[#properties + 1] = { "policy.dmarc", result.disposition } end
  tx:add_auth_result("dmarc", result.result, properties, result.problem)

  if result.result ~= "fail" then return mailgate.next end
  local disposition = result.disposition
  if disposition == "reject" and not apply_reject then disposition = "quarantine" end
  if disposition == "reject" then
    return mailgate.reject(550, "5.7.1", ("rejected by DMARC policy for %s"):format(result.from_domain))
  end
  if disposition == "quarantine" and apply_quarantine then
    tx:set_result("dmarc_quarantine", true)
    tx:set_folder(quarantine_folder)  -- local recipients; a deliver hook may still choose
    tx:add_header("X-DMARC", ("quarantine (p=%s) header.from=%s"):format(result.policy or "none", result.from_domain))
  end
  return mailgate.next
end

return dmarc
