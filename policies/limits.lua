-- limits: message size and recipient count.
--
-- Hooks:
--   mail_from(tx): a declared size (MAIL FROM ... SIZE=n, in tx.size)
--     above the maximum gets
--       552 5.3.4 Message size exceeds fixed maximum message size
--   rcpt(tx): when the transaction already holds max_recipients accepted
--     recipients (#tx.recipients), the next one gets
--       452 4.5.3 Too many recipients
--   data(tx): the real size (tx.size) is checked again: 552 5.3.4 as above. (The
--     SMTP server also enforces the hard limit itself while reading DATA.)
--   Otherwise mailgate.next.
--
-- Config ([policy.limits] in mailgate.toml), each defaulting to the server-wide
-- value in mailgate.config (from [limits]):
--   max_message_size  bytes, or a size string such as "10MB"
--                     (default mailgate.config.max_message_size, else 10485760)
--   max_recipients    recipients per message
--                     (default mailgate.config.max_recipients, else 100)

local limits = {}

local max_message_size = mailgate.size(config.max_message_size or mailgate.config.max_message_size or 10485760)
local max_recipients = math.tointeger(config.max_recipients or mailgate.config.max_recipients or 100)
if max_recipients == nil or max_recipients < 1 then
  error("max_recipients must be a positive integer")
end

local function too_big(tx)
  return tx.size ~= nil and tx.size > max_message_size
end

local function size_reply()
  return mailgate.reject(552, "5.3.4", "Message size exceeds fixed maximum message size")
end

-- Hooks declare only the arguments they read: the others are then not built.
function limits.mail_from(tx)
  if too_big(tx) then return size_reply() end
  return mailgate.next
end

function limits.rcpt(tx)
  if #tx.recipients >= max_recipients then
    return mailgate.defer(452, "4.5.3", "Too many recipients")
  end
  return mailgate.next
end

function limits.data(tx)
  if too_big(tx) then return size_reply() end
  return mailgate.next
end

return limits
