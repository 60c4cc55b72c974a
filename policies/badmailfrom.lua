-- badmailfrom: qmail's badmailfrom list of refused envelope senders.
--
-- The list file has one entry per line: a full address ("spammer@example.net")
-- or a whole domain ("@example.net"); blank lines and lines starting with # are
-- ignored; matching is case-insensitive. The file is read by init(config), that
-- is at start and on every reload (SIGHUP or `mailgate reload`). A missing file
-- is an empty list, not an error.
--
-- Hook mail_from(tx, sender): a listed sender gets
--   554 5.7.1 sorry, your envelope sender is in my badmailfrom list (#5.7.1)
-- The null sender (<>, bounces) is never refused here. Otherwise mailgate.next.
--
-- Config ([policy.badmailfrom] in mailgate.toml):
--   file  the list file, relative to the policy directory (default "badmailfrom")

local badmailfrom = {}

local blocked = {}

function badmailfrom.init(config)
  local entries, found = mailgate.list(config.file or "badmailfrom")
  blocked = {}
  for _, entry in ipairs(entries) do
    blocked[entry] = true
  end
  if found then
    mailgate.log.debug(("badmailfrom: %d entries"):format(#entries))
  end
end

function badmailfrom.mail_from(tx, sender)
  if sender == nil then return mailgate.next end
  if blocked[string.lower(sender.address)] or blocked["@" .. sender.domain] then
    return mailgate.reject(554, "5.7.1", "sorry, your envelope sender is in my badmailfrom list (#5.7.1)")
  end
  return mailgate.next
end

return badmailfrom
