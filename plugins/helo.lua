-- helo: refuse or tag clients whose HELO/EHLO name gives them away.
--
-- Checks (config `checks`, default all but "fcrdns"):
--   invalid    the name is neither a domain (letters, digits, hyphens, dots; with
--              a dot unless allow_dotless) nor an address literal ([192.0.2.1],
--              [IPv6:2001:db8::1])
--   bare_ip    an IP address without the brackets of an address literal
--   forged     our own name (mailgate.config.hostname, own_names) or one of our
--              addresses (own_addresses, bracketed or not), from a client that is
--              not one of own_addresses
--   localhost  "localhost", "localhost.localdomain" or a loopback address, from a
--              client outside loopback
--   fcrdns     the client's address has no forward-confirmed reverse DNS: none of
--              its PTR names (at most 5 tried) has an A/AAAA record with the address
-- The first failing check (in the order above) decides.
--
-- Where (refuse_at):
--   "rcpt" (default): at every RCPT TO of the session, like Postfix's
--     smtpd_delay_reject. The client sees an answer it understands, authenticated
--     sessions and open-SMTP whitelisted clients are exempt (AUTH comes after
--     HELO, so the helo hook cannot know), and postmaster@ can be let through
--     (exempt_recipients). Refusal: 550 5.7.1 <reason> (defer: 450 4.7.1).
--   "helo": the HELO/EHLO command itself is refused; the client cannot send MAIL
--     until it gives another name.
--   action "tag" never refuses: the data hook adds `header` (X-HELO-Check) with
--     the failed check.
--
-- Failures: with "fcrdns", a PTR or A/AAAA lookup that fails (timeout, servfail…)
-- raises error(): [policy.helo] on_error decides ("defer", the default: 451 4.3.0;
-- "next": the mail goes on). NXDOMAIN and NODATA are answers (the check fails).
--
-- Config ([policy.helo] in mailgate.toml):
--   checks             default ["invalid", "bare_ip", "forged", "localhost"]
--   action             "reject" (default), "defer" or "tag"
--   refuse_at          "rcpt" (default) or "helo"
--   own_names          names that are ours besides mailgate.config.hostname; default []
--   own_addresses      our addresses (IP strings); default []
--   allow_dotless      accept a name without a dot ("DESKTOP-1234"); default false
--   exempt_recipients  local parts never refused at rcpt; default ["postmaster", "abuse"]
--   exempt_networks    CIDRs never checked; default []
--   header             the tag header; default "X-HELO-Check"

local helo = {}

-- Errors name the line that found the problem (level 2: the caller of fail).
local function fail(text) error(text, 2) end

local settings = require("settings")  -- plugins/lib/settings.lua

local KNOWN_CHECKS = { invalid = 1, bare_ip = 2, forged = 3, localhost = 4, fcrdns = 5 }
local enabled = {}
for _, check in ipairs(settings.string_list(config, "checks", { "invalid", "bare_ip", "forged", "localhost" })) do
  if not KNOWN_CHECKS[check] then fail(("unknown check %q"):format(check)) end
  enabled[check] = true
end
if enabled.fcrdns and (mailgate.api_version or 1) < 2 then
  fail("the fcrdns check needs mailgate.api_version 2 (mailgate.dns)")
end

local action = config.action or "reject"
local refuse_at = config.refuse_at or "rcpt"
local allow_dotless = config.allow_dotless == true
local header = config.header or "X-HELO-Check"
local exempt_networks = settings.string_list(config, "exempt_networks", {})
if action ~= "reject" and action ~= "defer" and action ~= "tag" then
  fail(("action must be \"reject\", \"defer\" or \"tag\", not %q"):format(tostring(action)))
end
if refuse_at ~= "rcpt" and refuse_at ~= "helo" then
  fail(("refuse_at must be \"rcpt\" or \"helo\", not %q"):format(tostring(refuse_at)))
end
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load

local own_names = {}
if mailgate.config.hostname then own_names[string.lower(mailgate.config.hostname)] = true end
for _, name in ipairs(settings.string_list(config, "own_names", {})) do own_names[string.lower(name)] = true end
local own_addresses = {}
for _, text in ipairs(settings.string_list(config, "own_addresses", {})) do
  local ip = mailgate.net.parse_ip(text)
  if ip == nil then fail(("own_addresses: %q is not an IP address"):format(text)) end
  own_addresses[ip] = true
end
local exempt_recipients = {}
for _, name in ipairs(settings.string_list(config, "exempt_recipients", { "postmaster", "abuse" })) do
  exempt_recipients[string.lower(name)] = true
end

local LOOPBACK = { "127.0.0.0/8", "::1/128" }

-- A domain name: labels of letters, digits and hyphens (not at either end), 1-63
-- bytes each, 253 in all; one trailing dot allowed.
local function is_domain(name)
  if #name > 254 then return false end
  name = string.gsub(name, "%.$", "")
  if name == "" or #name > 253 then return false end
  for label in string.gmatch(name .. ".", "([^.]*)%.") do
    if #label == 0 or #label > 63 then return false end
    -- Lua patterns have no optional groups: one character, or first and last alphanumeric.
    if not (string.find(label, "^%w$") or string.find(label, "^%w[%w%-]*%w$")) then return false end
  end
  return true
end

-- What the name is: "literal" (with the address inside), "ip" (bare), "domain" or nil.
local function classify(name)
  local inside = string.match(name, "^%[(.*)%]$")
  if inside then
    local v6 = string.match(inside, "^[Ii][Pp][Vv]6:(.*)$")
    if v6 then
      local ip, version = mailgate.net.parse_ip(v6)
      if ip and version == 6 then return "literal", ip end
      return nil
    end
    local ip, version = mailgate.net.parse_ip(inside)
    if ip and version == 4 then return "literal", ip end
    return nil
  end
  local ip = mailgate.net.parse_ip(name)
  if ip then return "ip", ip end
  if is_domain(name) then return "domain" end
  return nil
end

local function fcrdns_ok(ip)
  local names, err = mailgate.dns.ptr(ip)
  if names == nil then
    if err == "nxdomain" or err == "nodata" then return false end
    fail(("PTR lookup for %s failed: %s"):format(ip, err))
  end
  local normal = mailgate.net.parse_ip(ip)
  local lookup = string.find(ip, ":", 1, true) and mailgate.dns.aaaa or mailgate.dns.a
  for i, name in ipairs(names) do
    if i > 5 then break end
    local addresses, aerr = lookup(name)
    if addresses then
      for _, address in ipairs(addresses) do
        if mailgate.net.parse_ip(address) == normal then return true end
      end
    elseif aerr ~= "nxdomain" and aerr ~= "nodata" then
      fail(("address lookup for %s (PTR of %s) failed: %s"):format(name, ip, aerr))
    end
  end
  return false
end

-- The first failing check as {check=, text=}, or false when the name passes.
local function verdict_for(name, ip)
  if mailgate.net.in_networks(ip, exempt_networks) then return false end
  local kind, address = classify(name)
  local lower = string.lower(name)
  local shown = string.sub(string.gsub(name, "[^%w%.%-%[%]:]", "?"), 1, 100)
  if enabled.invalid then
    if kind == nil or (kind == "domain" and not allow_dotless and not string.find(lower, "%.")
                       and lower ~= "localhost") then
      return { check = "invalid", text = ("Invalid HELO name %s: not a domain or an address literal"):format(shown) }
    end
  end
  if enabled.bare_ip and kind == "ip" then
    return { check = "bare_ip", text = ("Invalid HELO name %s: an address must be written [%s]"):format(shown, shown) }
  end
  if enabled.forged and not own_addresses[ip] then
    if (kind == "domain" and own_names[(string.gsub(lower, "%.$", ""))])
        or ((kind == "literal" or kind == "ip") and own_addresses[address]) then
      return { check = "forged", text = ("Forged HELO name %s: that is me, not you"):format(shown) }
    end
  end
  if enabled.localhost and not mailgate.net.in_networks(ip, LOOPBACK) then
    local local_name = lower == "localhost" or lower == "localhost.localdomain" or lower == "localhost."
    local local_address = (kind == "literal" or kind == "ip") and mailgate.net.in_networks(address, LOOPBACK)
    if local_name or local_address then
      return { check = "localhost", text = ("Forged HELO name %s: you are not on my loopback"):format(shown) }
    end
  end
  if enabled.fcrdns and not fcrdns_ok(ip) then
    return { check = "fcrdns", text = ("Client address %s has no forward-confirmed reverse DNS"):format(ip) }
  end
  return false
end

local function refusal(found)
  if action == "defer" then return mailgate.defer(450, "4.7.1", found.text) end
  return mailgate.reject(550, "5.7.1", found.text)
end

-- The answer for this transaction's session. Not kept between recipients: the
-- name checks cost microseconds and the resolver caches the FCrDNS answers.
local function answer_for(tx)
  local session = tx.session
  if session.helo == nil then return false end
  local found = verdict_for(session.helo, session.client_ip)
  if found then
    mailgate.log.info(("helo: %s from %s: %s"):format(found.check, session.client_ip, found.text))
  end
  return found
end

local function trusted(session)
  return session.auth_user ~= nil or mailgate.whitelist.contains(session.client_ip)
end

if action ~= "tag" and refuse_at == "helo" then
  function helo.helo(session, name)
    if mailgate.whitelist.contains(session.client_ip) then return mailgate.next end
    local found = verdict_for(name, session.client_ip)
    if found then
      mailgate.log.info(("helo: %s from %s: %s"):format(found.check, session.client_ip, found.text))
      return refusal(found)
    end
    return mailgate.next
  end
end

if action ~= "tag" and refuse_at == "rcpt" then
  function helo.rcpt(tx, rcpt)
    if exempt_recipients[string.lower(rcpt.local_part)] then return mailgate.next end
    if trusted(tx.session) then return mailgate.next end
    local found = answer_for(tx)
    if found then return refusal(found) end
    return mailgate.next
  end
end

if action == "tag" then
  function helo.data(tx)
    if trusted(tx.session) then return mailgate.next end
    local found = answer_for(tx)
    if found then tx:add_header(header, found.check .. ": " .. found.text) end
    return mailgate.next
  end
end

return helo
