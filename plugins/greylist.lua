-- greylist: temporarily refuse the first attempt of an unknown (network, sender,
-- recipient) triplet; real MTAs retry, most spam engines do not.
--
-- Hook rcpt(tx, rcpt):
--   * Exempt (mailgate.next at once): authenticated sessions, open-SMTP whitelisted
--     clients (mailgate.whitelist.contains), clients in exempt_networks, and client
--     networks on the auto-whitelist.
--   * The triplet is the client's network (IPv4 /24, IPv6 /64: senders retry from
--     another address of the same farm), the sender (lower-cased, "<>" for the null
--     sender) and the recipient (lower-cased).
--   * First attempt: the triplet is recorded with the time it was seen and the
--     recipient gets
--       451 4.7.1 Greylisted, please try again in N seconds
--     The record expires after `window` (default 4h) if nobody retries.
--   * A retry before `delay` (default 5m) has passed: the same 451, the clock is not
--     restarted.
--   * A retry after `delay`, within `window` of the first attempt: passes. The
--     triplet is remembered as passed for `passed_lifetime` (default 36d) and the
--     client's network is auto-whitelisted for `auto_whitelist` (default 36d; 0
--     turns it off): later mail from that network passes every triplet at once,
--     and each passing message refreshes the entry (at most once a day).
-- State is in mailgate.kv (the store): it is shared by every VM and survives
-- reloads and restarts. Keys: "greylist:t:<net>|<sender>|<rcpt>" (value: first
-- seen, or "pass") and "greylist:awl:<net>" (value: when it was last refreshed).
-- Put greylist after relay in the chain, so unknown recipients get relay's 550
-- rather than a 451.
--
-- Config ([policy.greylist] in mailgate.toml):
--   delay            default "5m": how long a new triplet is refused
--   window           default "4h": how long after the first attempt a retry passes
--   passed_lifetime  default "36d": how long a passed triplet passes without delay
--   auto_whitelist   default "36d": how long a network passes after one passed
--                    retry; 0 turns the auto-whitelist off
--   exempt_networks  CIDRs never greylisted; default []
--   message          the 451 text; "{seconds}" is replaced by the time left;
--                    default "Greylisted, please try again in {seconds} seconds"

local greylist = {}

-- Errors name the line that found the problem (level 2: the caller of fail).
local function fail(text) error(text, 2) end

if (mailgate.api_version or 1) < 2 then fail("needs mailgate.api_version 2 (mailgate.kv)") end

local function duration(name, default)
  local value = config[name]
  if value == nil then value = default end
  local ok, seconds = pcall(mailgate.duration, value)
  if not ok or seconds < 0 then fail(("%s must be a duration such as \"5m\", got %s"):format(name, tostring(value))) end
  return math.floor(seconds)
end

local delay = duration("delay", "5m")
local window = duration("window", "4h")
local passed_lifetime = duration("passed_lifetime", "36d")
local auto_whitelist = duration("auto_whitelist", "36d")
local exempt_networks = config.exempt_networks or {}
local message = config.message or "Greylisted, please try again in {seconds} seconds"
local REFRESH = 86400
local KV_MAX_TTL = 366 * 86400

if window <= delay then fail("window must be longer than delay") end
if window > KV_MAX_TTL or passed_lifetime > KV_MAX_TTL or auto_whitelist > KV_MAX_TTL then
  fail("window, passed_lifetime and auto_whitelist must be at most 366 days")
end
if passed_lifetime < 1 then fail("passed_lifetime must be at least 1 second") end
mailgate.net.in_networks("127.0.0.1", exempt_networks)  -- a bad CIDR fails the load

-- The client's network: "192.0.2.0/24" or "2001:db8:1:2::/64".
local function network(ip)
  local normal, version = mailgate.net.parse_ip(ip)
  if normal == nil then return ip end
  if version == 4 then
    return (string.gsub(normal, "%.%d+$", ".0")) .. "/24"
  end
  -- Expand "a:b::c" to eight groups, keep the first four.
  local head, tail = string.match(normal, "^(.-)::(.*)$")
  local groups = {}
  local function add(text)
    for group in string.gmatch(text, "[^:]+") do groups[#groups + 1] = group end
  end
  if head then
    add(head)
    local tail_groups = {}
    for group in string.gmatch(tail, "[^:]+") do tail_groups[#tail_groups + 1] = group end
    for _ = 1, 8 - #groups - #tail_groups do groups[#groups + 1] = "0" end
    for _, group in ipairs(tail_groups) do groups[#groups + 1] = group end
  else
    add(normal)
  end
  return ("%s:%s:%s:%s::/64"):format(groups[1] or "0", groups[2] or "0", groups[3] or "0", groups[4] or "0")
end

-- kv keys are at most 512 bytes: long addresses are cut (two addresses sharing
-- their first 200 bytes share a triplet, which costs nothing but one retry).
local function part(text) return string.sub(string.lower(text), 1, 200) end

local function refusal(seconds)
  local text = string.gsub(message, "{seconds}", tostring(math.max(seconds, 1)))
  return mailgate.defer(451, "4.7.1", text)
end

function greylist.rcpt(tx, rcpt)
  local session = tx.session
  local ip = session.client_ip
  if session.auth_user ~= nil or mailgate.whitelist.contains(ip)
      or mailgate.net.in_networks(ip, exempt_networks) then
    return mailgate.next
  end
  local now = math.floor(mailgate.now())
  local net = network(ip)
  local awl_key = "greylist:awl:" .. net
  if auto_whitelist > 0 then
    local since = mailgate.kv.get(awl_key)
    if since ~= nil then
      if now - (tonumber(since) or 0) >= REFRESH then mailgate.kv.set(awl_key, now, auto_whitelist) end
      return mailgate.next
    end
  end

  local sender = tx.mail_from
  local key = ("greylist:t:%s|%s|%s"):format(net, sender and part(sender.address) or "<>", part(rcpt.address))
  local seen = mailgate.kv.get(key)
  if seen == "pass" then return mailgate.next end
  seen = tonumber(seen)
  if seen == nil then
    mailgate.kv.set(key, now, window)
    mailgate.log.info(("greylist: new triplet %s"):format(string.sub(key, 12)))
    return refusal(delay)
  end
  if now - seen < delay then
    return refusal(delay - (now - seen))
  end
  -- A retry after the delay, within the window (the entry would have expired otherwise).
  mailgate.kv.set(key, "pass", passed_lifetime)
  if auto_whitelist > 0 then mailgate.kv.set(awl_key, now, auto_whitelist) end
  mailgate.log.info(("greylist: passed %s after %d seconds"):format(string.sub(key, 12), now - seen))
  return mailgate.next
end

return greylist
