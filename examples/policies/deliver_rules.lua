-- deliver_rules: what happens to a message for each local recipient.
--
-- Hook deliver(tx, rcpt, info), for local recipients only (info["local"]):
--   * redirect: mail for an address that moved goes to its new address
--     (mailgate.redirect; the new address may be local or remote).
--   * discard_senders: mail from these senders (an address or "@domain") to a local
--     recipient is dropped silently (mailgate.discard; the sender already got 250).
--   * junk_header: a message carrying this header with a value starting with "yes"
--     (case-insensitive; what a spam filter upstream adds, such as X-Spam-Flag: YES)
--     goes into the junk_folder instead of INBOX (mailgate.folder).
-- Everything else: mailgate.next (INBOX). Remote recipients are left alone.
--
-- Config ([policy.deliver_rules] in mailgate.toml):
--   junk_header      default "X-Spam-Flag"
--   junk_folder      default "Junk"
--   discard_senders  default {}
--   [policy.deliver_rules.redirect]
--   "old.name@example.com" = "new.name@example.com"
--
-- Transcript: examples/transcripts/deliver_rules.toml

local deliver_rules = {}

local redirect = {}
local discard = {}
local junk_header = "X-Spam-Flag"
local junk_folder = "Junk"

function deliver_rules.init(config)
  redirect, discard = {}, {}
  for from, to in pairs(config.redirect or {}) do
    assert(mailgate.parse_address(to), "redirect target is not an address: " .. tostring(to))
    redirect[string.lower(from)] = to
  end
  for _, sender in ipairs(config.discard_senders or {}) do
    discard[string.lower(sender)] = true
  end
  junk_header = config.junk_header or junk_header
  junk_folder = config.junk_folder or junk_folder
end

function deliver_rules.deliver(tx, rcpt, info)
  if not info["local"] then return mailgate.next end
  local target = redirect[string.lower(rcpt.address)]
  if target then return mailgate.redirect(target) end
  local sender = tx.mail_from
  if sender and (discard[string.lower(sender.address)] or discard["@" .. sender.domain]) then
    return mailgate.discard()
  end
  local flag = tx:header(junk_header)
  if flag and string.lower(flag):sub(1, 3) == "yes" then
    return mailgate.folder(junk_folder)
  end
  return mailgate.next
end

return deliver_rules
