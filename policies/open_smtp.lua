-- open_smtp: POP-before-SMTP ("open-SMTP"). A client that logged in to POP3 or
-- IMAP may relay mail over SMTP from the same IP for a while, without SMTP AUTH.
--
-- Hook auth(session, result): when result.success is true and session.protocol
-- is "pop3" or "imap", the client IP goes on the whitelist for config.ttl with
-- the login as its user (mailgate.whitelist.add). SMTP logins and failed logins
-- change nothing. Always returns mailgate.next (it never answers by itself).
-- The relay policy reads the whitelist (mailgate.whitelist.contains).
--
-- Config ([policy.open_smtp] in mailgate.toml):
--   ttl  how long the IP stays whitelisted: seconds or a duration string such
--        as "1h" or "30m" (default 3600 = "1h")

local open_smtp = {}

local ttl = mailgate.duration(config.ttl or 3600)

function open_smtp.auth(session, result)
  if result.success and (session.protocol == "pop3" or session.protocol == "imap") then
    mailgate.whitelist.add(session.client_ip, ttl, result.user)
  end
  return mailgate.next
end

return open_smtp
