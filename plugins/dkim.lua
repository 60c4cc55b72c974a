-- dkim: verifies the DKIM signatures of received mail (RFC 6376, RFC 8463) and,
-- when mailgate.arc is available, the ARC chain (RFC 8617); records the results.
--
-- The data hook calls mailgate.dkim.verify(tx) once per message (the engine keeps
-- the body hashes and results per message, so dmarc and other plugins asking again
-- cost nothing), keeps the list as tx:result("dkim") and adds one
-- Authentication-Results entry per signature:
--   dkim=pass header.d=example.org header.s=sel header.a=rsa-sha256 header.b=AbCdEfGh
-- or "dkim=none" for an unsigned message.
--
-- A failed signature alone never refuses mail (RFC 6376 §6.3: treat it like an
-- unsigned message); DMARC (the dmarc plugin) decides what a domain wants done.
--
-- Signing is not done here: every domain with a key in the store is signed at
-- queueing (`mailgate dkim keygen`, [dkim] in mailgate.toml; docs/operations.md).
--
-- Config ([policy.dkim] in mailgate.toml):
--   check_authenticated  also verify mail of authenticated and whitelisted clients
--                        (our own outgoing mail); default false
--   exempt_networks      CIDRs not verified; default []
--   arc                  verify ARC chains too (arc=… in Authentication-Results); default true

local dkim = {}

local function fail(text) error(text, 2) end
local settings = require("settings")  -- plugins/lib/settings.lua

local check_authenticated = config.check_authenticated == true
local exempt_networks = settings.string_list(config, "exempt_networks", {})
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load
local verify_arc = config.arc ~= false and mailgate.arc ~= nil

local function trusted(session)
  if session.auth_user ~= nil then return true end
  if mailgate.whitelist.contains(session.client_ip) then return true end
  return mailgate.net.in_networks(session.client_ip, exempt_networks)
end

function dkim.data(tx)
  if not check_authenticated and trusted(tx.session) then return mailgate.next end
  local signatures = mailgate.dkim.verify(tx)
  tx:set_result("dkim", signatures)
  if #signatures == 0 then
    tx:add_auth_result("dkim", "none")
  end
  for _, signature in ipairs(signatures) do
    local properties = {}
    if signature.domain then properties[#properties + 1] = { "header.d", signature.domain } end
    if signature.identity then properties[#properties + 1] = { "header.i", signature.identity } end
    if signature.selector then properties[#properties + 1] = { "header.s", signature.selector } end
    if signature.algorithm then properties[#properties + 1] = { "header.a", signature.algorithm } end
    if signature.b then properties[#properties + 1] = { "header.b", signature.b } end
    tx:add_auth_result("dkim", signature.result, properties, signature.problem)
  end
  if verify_arc then
    local chain = mailgate.arc.verify(tx)
    tx:set_result("arc", chain)
    tx:add_auth_result("arc", chain.result, nil, chain.problem)
  end
  return mailgate.next
end

return dkim
