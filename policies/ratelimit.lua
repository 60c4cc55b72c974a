-- ratelimit: connection, login and message rates, counted in the store (so the
-- CLI can show them and every VM and process sees the same numbers).
--
-- Hooks:
--   connect(session): counts "conn:<ip>" over 60 seconds; above
--     connections_per_minute the client gets
--       421 4.7.0 Too many connections, slow down          (and is disconnected)
--   auth(session, result), every protocol:
--     * a failed login counts "authfail:<ip>" over an hour; above
--       auth_failures_per_hour that login and every later one from the IP (even
--       with the right password) gets
--         454 4.7.0 Too many failed logins, try again later   (temporary)
--     * a successful POP3 login counts "pop3login:<user>" over
--       pop3_login_interval; a second one within the interval gets
--         421 4.7.0 [LOGIN-DELAY] Login allowed once per <interval> seconds
--       (disconnect)
--   mail_from(tx): for an authenticated session counts "msgs:<user>"
--     over an hour; above messages_per_hour the transaction gets
--       451 4.7.1 Message rate limit exceeded, try again later
--   Otherwise mailgate.next. Clients in exempt_networks are not counted for
--   connections and messages (local benchmarks and applications); failed logins
--   and the POP3 login interval apply to everyone. User names are lower-cased and
--   "user%domain" counts as "user@domain".
--
-- Config ([policy.ratelimit] in mailgate.toml):
--   connections_per_minute  default 60
--   auth_failures_per_hour  default 10
--   messages_per_hour       default 500
--   pop3_login_interval     seconds or a duration such as "60s" (default 60; 0 = no limit)
--   exempt_networks         CIDRs (default {"127.0.0.0/8", "::1/128"})

local ratelimit = {}

local function count_setting(name, default)
  local value = config[name]
  if value == nil then return default end
  local number = math.tointeger(value)
  if number == nil or number < 0 then
    error(("%s must be a non-negative integer, got %s"):format(name, tostring(value)))
  end
  return number
end

local connections_per_minute = count_setting("connections_per_minute", 60)
local auth_failures_per_hour = count_setting("auth_failures_per_hour", 10)
local messages_per_hour = count_setting("messages_per_hour", 500)
local pop3_login_interval = mailgate.duration(config.pop3_login_interval or 60)
local exempt_networks = config.exempt_networks or { "127.0.0.0/8", "::1/128" }
local HOUR = 3600

local login_delay_text = ("[LOGIN-DELAY] Login allowed once per %g seconds"):format(pop3_login_interval)

-- The answer per client IP is kept (a few thousand at most; the VM is rebuilt on
-- reload, so a changed exempt_networks takes effect): a connection asks about its own
-- IP in connect and again in mail_from.
local exempt_known, exempt_count = {}, 0
local function exempt(ip)
  local known = exempt_known[ip]
  if known ~= nil then return known end
  known = mailgate.net.in_networks(ip, exempt_networks)
  if exempt_count >= 4096 then exempt_known, exempt_count = {}, 0 end
  exempt_known[ip], exempt_count = known, exempt_count + 1
  return known
end

local function account(user)
  user = string.lower(user)
  if not string.find(user, "@", 1, true) then
    user = string.gsub(user, "%%([^%%]*)$", "@%1")
  end
  return user
end

function ratelimit.connect(session)
  local ip = session.client_ip
  if exempt(ip) then return mailgate.next end
  if mailgate.counters.incr("conn:" .. ip, 60) > connections_per_minute then
    return mailgate.disconnect(421, "4.7.0", "Too many connections, slow down")
  end
  return mailgate.next
end

function ratelimit.auth(session, result)
  local failures_key = "authfail:" .. session.client_ip
  if not result.success then
    if mailgate.counters.incr(failures_key, HOUR) > auth_failures_per_hour then
      return mailgate.defer(454, "4.7.0", "Too many failed logins, try again later")
    end
    return mailgate.next
  end
  if mailgate.counters.get(failures_key, HOUR) > auth_failures_per_hour then
    return mailgate.defer(454, "4.7.0", "Too many failed logins, try again later")
  end
  if session.protocol == "pop3" and pop3_login_interval > 0 then
    local login_key = "pop3login:" .. account(result.user)
    if mailgate.counters.get(login_key, pop3_login_interval) >= 1 then
      return mailgate.disconnect(421, "4.7.0", login_delay_text)
    end
    mailgate.counters.incr(login_key, pop3_login_interval)
  end
  return mailgate.next
end

function ratelimit.mail_from(tx)
  local session = tx.session
  local user = session.auth_user
  if user == nil or exempt(session.client_ip) then return mailgate.next end
  if mailgate.counters.incr("msgs:" .. account(user), HOUR) > messages_per_hour then
    return mailgate.defer(451, "4.7.1", "Message rate limit exceeded, try again later")
  end
  return mailgate.next
end

return ratelimit
