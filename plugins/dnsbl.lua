-- dnsbl: refuse, defer or tag mail from clients listed in DNS blocklists.
--
-- For the client's address (IPv4 or IPv6) the plugin asks every configured zone
-- for an A record under mailgate.dns.reverse(ip, zone) ("4.3.2.1.zone" for IPv4,
-- 32 nibbles for IPv6). A zone lists the client when it answers with an address
-- its `codes` accept; the weights of the listing zones are added up and the client
-- is listed when the sum reaches `threshold`.
--
-- Hooks (docs/plugins/dnsbl.md has the reasoning). Only sessions on `listeners`
-- (default: the MX listener "smtp") are checked.
--   connect(session)  (action reject/defer/disconnect, refuse_at = "connect", the
--     default: the first hook where the answer is known): a listed client gets as
--     the greeting
--       554 5.7.1 Service unavailable; client [IP] blocked using ZONE[, ZONE]
--     (defer: 451 4.7.1 with the same text); the session then answers 503 to
--     everything but QUIT (RFC 5321 §3.1; action disconnect closes it at once).
--     Open-SMTP whitelisted clients are let through.
--   rcpt(tx, rcpt)   (refuse_at = "rcpt"): the same reply to every recipient but
--     the exempt local parts (postmaster, abuse); authenticated sessions pass.
--     The answer is kept per transaction with tx:set_result("dnsbl", …), so the
--     zones are asked once per transaction (and the resolver caches across them).
--   data(tx)   (action tag): adds the header `header` (X-DNSBL) naming the zones.
--   Authenticated sessions and open-SMTP whitelisted clients are never refused at
--   rcpt (their home addresses are often on policy lists); exempt_networks are not
--   looked up at all.
--
-- Failures: a zone whose lookup fails (timeout, servfail, refused, unreachable…)
-- raises error() — the operator's [policy.dnsbl] on_error decides: "defer" (the
-- default, 451 4.3.0) or "next" (the mail goes on as if unlisted) — unless the
-- zones that did answer already reach the threshold (then the client is listed
-- whatever the failed zone would have said), or the failed zones' weights could not
-- reach it (then it is only logged).
--
-- Config ([policy.dnsbl] in mailgate.toml):
--   zones             list of zones; each a string (weight 1, default codes) or a
--                     table {zone=, weight=1, codes=[...]}; required (no default)
--   threshold         default 1: the sum of weights that lists a client
--   action            "reject" (default), "defer", "disconnect" or "tag"
--   refuse_at         "connect" (default) or "rcpt"
--   listeners         listeners whose sessions are checked; default ["smtp"]
--   exempt_recipients local parts never refused at rcpt; default ["postmaster", "abuse"]
--   header            the tag header; default "X-DNSBL"
--   message           reply text; "{ip}" and "{zones}" are replaced; default
--                     "Service unavailable; client [{ip}] blocked using {zones}"
--   exempt_networks   CIDRs never looked up; default []
--   codes (per zone)  answers that count: "127.0.0.2", a range
--                     "127.0.0.2-127.0.0.11" or a CIDR "127.0.0.0/24"; default:
--                     any 127.0.0.0/8 answer but 127.0.0.1 and 127.255.255.0/24
--                     (RFC 5782 test address; Spamhaus' error answers)

local dnsbl = {}

-- Errors name the line that found the problem (level 2: the caller of fail).
local function fail(text) error(text, 2) end

if (mailgate.api_version or 1) < 2 then fail("needs mailgate.api_version 2 (mailgate.dns)") end

-- Address text -> 32-bit integer (IPv4 only; nil otherwise).
local function v4_number(text)
  local a, b, c, d = string.match(text, "^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  a, b, c, d = tonumber(a), tonumber(b), tonumber(c), tonumber(d)
  if a > 255 or b > 255 or c > 255 or d > 255 then return nil end
  return ((a * 256 + b) * 256 + c) * 256 + d
end

-- One `codes` entry -> a predicate over an answer address.
local function code_matcher(entry, zone)
  if type(entry) ~= "string" then fail(("zone %s: codes must be strings"):format(zone)) end
  local low, high = string.match(entry, "^%s*([%d%.]+)%s*%-%s*([%d%.]+)%s*$")
  if low then
    local from, to = v4_number(low), v4_number(high)
    if not from or not to or from > to then fail(("zone %s: bad code range %q"):format(zone, entry)) end
    return function(answer)
      local n = v4_number(answer)
      return n ~= nil and n >= from and n <= to
    end
  end
  if string.find(entry, "/", 1, true) then
    mailgate.net.in_networks("127.0.0.1", entry)  -- raises on a bad CIDR, at load
    return function(answer) return mailgate.net.in_networks(answer, entry) end
  end
  local exact = v4_number(entry)
  if not exact then fail(("zone %s: bad code %q"):format(zone, entry)) end
  return function(answer) return v4_number(answer) == exact end
end

local function default_code(answer)
  local n = v4_number(answer)
  if n == nil then return false end
  local loopback_first, loopback_last = 127 * 16777216, 128 * 16777216 - 1
  return n >= loopback_first and n <= loopback_last
      and answer ~= "127.0.0.1" and not string.find(answer, "^127%.255%.255%.")
end

local function read_zones(list)
  if type(list) == "string" then list = { list } end
  if type(list) ~= "table" or #list == 0 then fail("zones must be a non-empty list") end
  local zones = {}
  for i, entry in ipairs(list) do
    local zone = { weight = 1, accepts = default_code }
    if type(entry) == "string" then
      zone.name = entry
    elseif type(entry) == "table" then
      zone.name = entry.zone
      if entry.weight ~= nil then
        zone.weight = tonumber(entry.weight)
        if not zone.weight then fail(("zone %s: weight must be a number"):format(tostring(entry.zone))) end
      end
      if entry.codes ~= nil then
        local codes = entry.codes
        if type(codes) == "string" then codes = { codes } end
        local matchers = {}
        for _, code in ipairs(codes) do matchers[#matchers + 1] = code_matcher(code, tostring(entry.zone)) end
        zone.accepts = function(answer)
          for _, accepts in ipairs(matchers) do
            if accepts(answer) then return true end
          end
          return false
        end
      end
    else
      fail(("zones[%d] must be a string or a table"):format(i))
    end
    if type(zone.name) ~= "string" or not string.find(zone.name, "^[%w][%w%-%.]*[%w]$") then
      fail(("zones[%d]: %q is not a zone name"):format(i, tostring(zone.name)))
    end
    zone.name = string.lower(zone.name)
    zones[#zones + 1] = zone
  end
  return zones
end

local zones = read_zones(config.zones)
local threshold = tonumber(config.threshold or 1) or fail("threshold must be a number")
local action = config.action or "reject"
local refuse_at = config.refuse_at or "connect"
local header = config.header or "X-DNSBL"
local message = config.message or "Service unavailable; client [{ip}] blocked using {zones}"
local exempt_networks = config.exempt_networks or {}
-- DNSBLs are about mail from other servers: the MX listener. Submission clients sit
-- on dynamic addresses that policy lists (Spamhaus PBL) rightly list.
local listeners = {}
for _, name in ipairs(config.listeners or { "smtp" }) do listeners[name] = true end
local exempt_recipients = {}
for _, name in ipairs(config.exempt_recipients or { "postmaster", "abuse" }) do
  exempt_recipients[string.lower(name)] = true
end

if action ~= "reject" and action ~= "defer" and action ~= "disconnect" and action ~= "tag" then
  fail(("action must be \"reject\", \"defer\", \"disconnect\" or \"tag\", not %q"):format(tostring(action)))
end
if refuse_at ~= "rcpt" and refuse_at ~= "connect" then
  fail(("refuse_at must be \"rcpt\" or \"connect\", not %q"):format(tostring(refuse_at)))
end
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load

-- Asks every zone about `ip`. Returns {listed=, score=, zones={names}}; raises when
-- a failed lookup could have changed the answer.
local function check(ip)
  local result = { listed = false, score = 0, zones = {} }
  if mailgate.net.in_networks(ip, exempt_networks) then return result end
  local failed, failed_weight = {}, 0
  -- Every zone at once: their waits overlap instead of adding up.
  local questions = {}
  for i, zone in ipairs(zones) do
    local name = mailgate.dns.reverse(ip, zone.name)
    if name == nil then return result end  -- not an IP (cannot happen for a TCP peer)
    questions[i] = { name, "A" }
  end
  local answers = mailgate.dns.query_all(questions)
  for i, zone in ipairs(zones) do
    local records, err = answers[i].records, answers[i].err
    if records then
      for _, answer in ipairs(records) do
        if zone.accepts(answer) then
          result.score = result.score + zone.weight
          result.zones[#result.zones + 1] = zone.name
          break
        end
      end
    elseif err ~= "nxdomain" and err ~= "nodata" then
      failed[#failed + 1] = zone.name .. ": " .. err
      failed_weight = failed_weight + zone.weight
    end
  end
  result.listed = result.score >= threshold
  if #failed > 0 then
    local text = ("lookup failed for %s (%s)"):format(ip, table.concat(failed, ", "))
    if not result.listed and result.score + failed_weight >= threshold then fail(text) end
    mailgate.log.warn("dnsbl: " .. text .. "; the answer does not depend on it")
  end
  if result.listed then
    mailgate.log.info(("dnsbl: %s listed by %s (score %g)"):format(ip, table.concat(result.zones, ", "), result.score))
  end
  return result
end

-- The transaction's answer: looked up once, then kept for its later hooks.
local function answer_for(tx)
  local known = tx:result("dnsbl")
  if known ~= nil then return known end
  local result = check(tx.session.client_ip)
  tx:set_result("dnsbl", result)
  return result
end

local function refusal(ip, result)
  local text = string.gsub(message, "{(%a+)}", function(key)
    if key == "ip" then return ip end
    if key == "zones" then return table.concat(result.zones, ", ") end
  end)
  text = string.sub(string.gsub(text, "%c", " "), 1, 400)
  if action == "defer" then return mailgate.defer(451, "4.7.1", text) end
  if action == "disconnect" then return mailgate.disconnect(554, "5.7.1", text) end
  return mailgate.reject(554, "5.7.1", text)
end

if action ~= "tag" and refuse_at == "connect" then
  function dnsbl.connect(session)
    if session.protocol ~= "smtp" or not listeners[session.listener] then return mailgate.next end
    if mailgate.whitelist.contains(session.client_ip) then return mailgate.next end
    local result = check(session.client_ip)
    if result.listed then return refusal(session.client_ip, result) end
    return mailgate.next
  end
end

if action ~= "tag" and refuse_at == "rcpt" then
  function dnsbl.rcpt(tx, rcpt)
    if exempt_recipients[string.lower(rcpt.local_part)] then return mailgate.next end
    local session = tx.session
    if not listeners[session.listener] then return mailgate.next end
    if session.auth_user ~= nil or mailgate.whitelist.contains(session.client_ip) then
      return mailgate.next
    end
    local result = answer_for(tx)
    if result.listed then return refusal(session.client_ip, result) end
    return mailgate.next
  end
end

if action == "tag" then
  function dnsbl.data(tx)
    local session = tx.session
    if not listeners[session.listener] then return mailgate.next end
    if session.auth_user ~= nil or mailgate.whitelist.contains(session.client_ip) then
      return mailgate.next
    end
    local result = answer_for(tx)
    if result.listed then
      tx:add_header(header, ("%s listed by %s (score %g)"):format(
        session.client_ip, table.concat(result.zones, ", "), result.score))
    end
    return mailgate.next
  end
end

return dnsbl
