-- tag_external: marks mail from outside so users and filters can tell it apart.
--
-- Hook data(tx): a message from a client that did not log in (no SMTP AUTH) and is not
-- in internal_networks gets the header
--   X-External-Mail: yes (from <client ip>)
-- prepended (tx:add_header; the API adds headers, it does not change existing ones).
-- Mail from logged-in users and internal networks passes untouched. Always
-- mailgate.next.
--
-- Config ([policy.tag_external] in mailgate.toml):
--   internal_networks  CIDRs (default {})
--   header             default "X-External-Mail"
--
-- Transcript: examples/transcripts/tag_external.toml

local tag_external = {}

local internal = config.internal_networks or {}
local header = config.header or "X-External-Mail"

function tag_external.data(tx)
  local session = tx.session
  if session.auth_user == nil and not mailgate.net.in_networks(session.client_ip, internal) then
    tx:add_header(header, "yes (from " .. session.client_ip .. ")")
  end
  return mailgate.next
end

return tag_external
