-- domain_relay: per-domain relay rules, in front of the default relay policy.
--
-- Two kinds of rule, keyed by the recipient's domain:
--   allow: hosts in these networks may relay to this domain without logging in
--          (a partner's mail servers sending to the partner's other domain, an
--          application server sending to one customer domain). The recipient is
--          accepted here (mailgate.accept), so later policies in the chain do not see
--          it: put domain_relay after ratelimit/badmailfrom and before relay.
--   deny:  nobody relays to these domains, logged in or not (a domain you must not
--          send to): 553 5.7.1. Local domains are never affected.
-- Everything else gets mailgate.next: the relay policy decides as usual.
--
-- Config ([policy.domain_relay] in mailgate.toml):
--   [policy.domain_relay.allow]
--   "partner.example" = ["198.51.100.0/24", "2001:db8:5::/48"]
--   [policy.domain_relay]
--   deny = ["competitor.example"]
--
-- Chain: chain = ["ratelimit", "badmailfrom", "domain_relay", "relay", "open_smtp", "limits"]
-- Transcript: examples/transcripts/domain_relay.toml

local domain_relay = {}

local allow = {}
local deny = {}

function domain_relay.init(config)
  allow, deny = {}, {}
  for domain, networks in pairs(config.allow or {}) do
    -- Checked at load: a bad CIDR is a reload error, not a failure on every RCPT.
    mailgate.net.in_networks("192.0.2.1", networks)
    allow[string.lower(domain)] = networks
  end
  for _, domain in ipairs(config.deny or {}) do
    deny[string.lower(domain)] = true
  end
end

function domain_relay.rcpt(tx, rcpt)
  local domain = rcpt.domain
  if mailgate.domains.is_local(domain) then return mailgate.next end
  if deny[domain] then
    mailgate.log.info("refused relay to " .. domain .. " from " .. tx.session.client_ip)
    return mailgate.reject(553, "5.7.1", "Relaying to " .. domain .. " is not allowed (#5.7.1)")
  end
  local networks = allow[domain]
  if networks and mailgate.net.in_networks(tx.session.client_ip, networks) then
    return mailgate.accept
  end
  return mailgate.next
end

return domain_relay
