// Evaluates a SEARCH program (RFC 3501 §6.4.4, RFC 9051 §6.4.4) against one message of
// the selected mailbox. Keys on flags, sizes, dates, UIDs and numbers use the session's
// record; header/body/text keys read the message (once per message, lazily, shared by
// all keys) and match case-insensitively on its decoded text (`SearchableText`:
// RFC 2047 headers, transfer encodings and charsets undone, attachments skipped).
// Run a command's key through `PreparedSearchKey` once, then over every message.

struct SearchEvaluator {
    let mailbox: SelectedMailbox
    let saved: [UInt32]
    let zoneMinutes: Int
    let now: Double
    /// Reads a message's bytes (nil: gone).
    let load: (IMAPMessageRecord) -> [UInt8]?

    /// Whether `key` looks at message content (so the message must be read).
    static func needsContent(_ key: SearchKey) -> Bool {
        switch key {
        case .bcc, .body, .cc, .from, .subject, .text, .to, .header, .sentBefore, .sentOn, .sentSince: return true
        case .not(let inner): return needsContent(inner)
        case .or(let a, let b): return needsContent(a) || needsContent(b)
        case .and(let keys): return keys.contains(where: needsContent)
        default: return false
        }
    }

    static func usesModSeq(_ key: SearchKey) -> Bool {
        switch key {
        case .modSeq: return true
        case .not(let inner): return usesModSeq(inner)
        case .or(let a, let b): return usesModSeq(a) || usesModSeq(b)
        case .and(let keys): return keys.contains(where: usesModSeq)
        default: return false
        }
    }

    func matches(_ key: SearchKey, at index: Int) -> Bool { matches(PreparedSearchKey(key), at: index) }

    func matches(_ key: PreparedSearchKey, at index: Int) -> Bool {
        var content: SearchableText??
        return evaluate(key, index, &content)
    }

    private func evaluate(_ key: PreparedSearchKey, _ index: Int, _ cache: inout SearchableText??) -> Bool {
        func content() -> SearchableText? {
            if let cached = cache { return cached }
            let parsed = load(mailbox.messages[index]).map { SearchableText(MessageStructure($0)) }
            cache = .some(parsed)
            return parsed
        }
        switch key {
        case .plain(let plain): return evaluate(plain, index, content)
        case .header(let name, let needle): return content()?.header(name, contains: needle) ?? false
        case .address(let name, let needle): return content()?.address(name, contains: needle) ?? false
        case .body(let needle): return content()?.body(contains: needle) ?? false
        case .text(let needle): return content()?.text(contains: needle) ?? false
        case .not(let inner): return !evaluate(inner, index, &cache)
        case .or(let a, let b): return evaluate(a, index, &cache) || evaluate(b, index, &cache)
        case .and(let keys): return keys.allSatisfy { evaluate($0, index, &cache) }
        }
    }

    /// Keys that carry no search string.
    private func evaluate(_ key: SearchKey, _ index: Int, _ content: () -> SearchableText?) -> Bool {
        let record = mailbox.messages[index]
        func flag(_ name: String) -> Bool { SelectedMailbox.contains(record.flags, name) }
        func internalDay() -> IMAPDate { Self.day(of: record.internalDate, zoneMinutes: zoneMinutes) }
        func sentDay() -> IMAPDate? {
            guard let message = content()?.message,
                  let value = message.root.header.value("Date", in: message.bytes) else { return nil }
            return Self.parseDateHeader(value)
        }
        switch key {
        case .all: return true
        case .answered: return flag("\\Answered")
        case .deleted: return flag("\\Deleted")
        case .draft: return flag("\\Draft")
        case .flagged: return flag("\\Flagged")
        case .seen: return flag("\\Seen")
        case .unanswered: return !flag("\\Answered")
        case .undeleted: return !flag("\\Deleted")
        case .undraft: return !flag("\\Draft")
        case .unflagged: return !flag("\\Flagged")
        case .unseen: return !flag("\\Seen")
        // \Recent as this session sees it (RFC 3501 §6.4.4: NEW is RECENT UNSEEN).
        case .recent: return mailbox.recent.contains(record.uid)
        case .new: return mailbox.recent.contains(record.uid) && !flag("\\Seen")
        case .old: return !mailbox.recent.contains(record.uid)
        case .keyword(let name): return flag(name)
        case .unkeyword(let name): return !flag(name)
        case .before(let date): return internalDay().daysSinceEpoch < date.daysSinceEpoch
        case .on(let date): return internalDay() == date
        case .since(let date): return internalDay().daysSinceEpoch >= date.daysSinceEpoch
        case .sentBefore(let date): return sentDay().map { $0.daysSinceEpoch < date.daysSinceEpoch } ?? false
        case .sentOn(let date): return sentDay() == date
        case .sentSince(let date): return sentDay().map { $0.daysSinceEpoch >= date.daysSinceEpoch } ?? false
        case .larger(let size): return Int64(record.size) > size
        case .smaller(let size): return Int64(record.size) < size
        case .uid(let set):
            if case .lastResult = set { return saved.contains(record.uid) }
            return set.contains(record.uid, star: mailbox.largestUID)
        case .sequence(let set):
            if case .lastResult = set { return saved.contains(record.uid) }
            return set.contains(UInt32(index + 1), star: UInt32(mailbox.count))
        case .bcc, .cc, .from, .to, .subject, .header, .body, .text, .not, .or, .and:
            // PreparedSearchKey never leaves these in `.plain`.
            preconditionFailure("string or compound key evaluated as plain")
        case .modSeq(let value, _, _): return record.modSeq >= value
        case .older(let seconds): return record.internalDate <= now - Double(seconds)
        case .younger(let seconds): return record.internalDate >= now - Double(seconds)
        }
    }

    static func day(of epoch: Double, zoneMinutes: Int) -> IMAPDate {
        let seconds = Int((epoch + Double(zoneMinutes * 60)).rounded(.down))
        return IMAPDate(daysSinceEpoch: seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
    }

    /// The day of a Date: header ("Tue, 1 Jul 2003 10:52:37 +0200"), ignoring time and
    /// zone as RFC 3501 says for SENT* keys.
    static func parseDateHeader(_ value: String) -> IMAPDate? {
        var words = value.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
        if let first = words.first, Int(first) == nil { words.removeFirst() }
        guard words.count >= 3, let day = Int(words[0]),
              let month = IMAPDate.months.firstIndex(of: String(words[1].prefix(3)).uppercased()),
              var year = Int(words[2]) else { return nil }
        if year < 50 { year += 2000 } else if year < 1000 { year += 1900 }
        guard IMAPDate.isValid(year: year, month: month + 1, day: day) else { return nil }
        return IMAPDate(year: year, month: month + 1, day: day)
    }
}
