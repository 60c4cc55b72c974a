-- relay: which recipients a client may send to.
--
-- Hook rcpt(tx, rcpt):
--   * A recipient in one of our domains (mailgate.domains.is_local) must be an
--     account, an alias, or the domain must have a catch-all mailbox; otherwise
--       550 5.1.1 Sorry, no mailbox here by that name. (#5.1.1)
--   * A recipient in any other domain is relayed only when the session has
--     authenticated (SMTP AUTH), the client IP is on the open-SMTP whitelist
--     (see open_smtp), or the client IP is in config.trusted_networks; otherwise
--       553 5.7.1 Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)
--   Allowed recipients get mailgate.next, not accept, so later policies in the
--   chain (limits) still see them.
--
-- Address tricks never open the relay: a domain literal ([192.0.2.1]) is never a
-- local domain; a local part holding %, !, @ or quotes ("user%evil.test"@our.domain,
-- "evil.test!user"@our.domain) is only an unknown local user unless such an account
-- or alias exists (or the domain's catch-all takes it: delivered locally, not relayed);
-- source routes and trailing dots do not parse as addresses at all.
--
-- Config ([policy.relay] in mailgate.toml):
--   trusted_networks  list of CIDRs that may relay without authentication
--                     (default: none), e.g. ["10.0.0.0/8", "2001:db8::/32"]

local relay = {}

local NO_MAILBOX = "Sorry, no mailbox here by that name. (#5.1.1)"
local NO_RELAY = "Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)"

local trusted_networks = config.trusted_networks or {}

local function may_relay(session)
  return session.auth_user ~= nil
      or mailgate.whitelist.contains(session.client_ip)
      or mailgate.net.in_networks(session.client_ip, trusted_networks)
end

function relay.rcpt(tx, rcpt)
  local address = rcpt.address
  -- An account exists only in a local domain: the common case costs one lookup.
  if mailgate.users.exists(address) then
    return mailgate.next
  end
  local domain = rcpt.domain
  if mailgate.domains.is_local(domain) then
    if mailgate.users.alias_exists(address) or mailgate.domains.has_catchall(domain) then
      return mailgate.next
    end
    return mailgate.reject(550, "5.1.1", NO_MAILBOX)
  end
  if may_relay(tx.session) then
    return mailgate.next
  end
  return mailgate.reject(553, "5.7.1", NO_RELAY)
end

return relay
