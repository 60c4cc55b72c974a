// Evaluates a SEARCH program (RFC 3501 §6.4.4, RFC 9051 §6.4.4) against one message of
// the selected mailbox. Keys on flags, sizes, dates, UIDs and numbers use the session's
// record; header/body/text keys parse the message (once, lazily) and match
// case-insensitively (ASCII folding; other bytes exactly) on the stored bytes.

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

    func matches(_ key: SearchKey, at index: Int) -> Bool {
        var structure: MessageStructure??
        return evaluate(key, index, &structure)
    }

    private func evaluate(_ key: SearchKey, _ index: Int, _ cache: inout MessageStructure??) -> Bool {
        let record = mailbox.messages[index]
        func flag(_ name: String) -> Bool { SelectedMailbox.contains(record.flags, name) }
        func message() -> MessageStructure? {
            if let cached = cache { return cached }
            let parsed = load(record).map { MessageStructure($0) }
            cache = .some(parsed)
            return parsed
        }
        func internalDay() -> IMAPDate { Self.day(of: record.internalDate, zoneMinutes: zoneMinutes) }
        func headerContains(_ name: String, _ text: String) -> Bool {
            guard let message = message() else { return false }
            let needle = Array(text.utf8)
            return message.root.header.fields.contains { field in
                field.name.caseInsensitiveEquals(name)
                    && (needle.isEmpty || Self.contains(Array(MIMEHeader.unfolded(message.bytes, field.valueRange).utf8), needle))
            }
        }
        func sentDay() -> IMAPDate? {
            guard let message = message(), let value = message.root.header.value("Date", in: message.bytes) else { return nil }
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
        // \Recent is not kept (RFC 9051 dropped it): nothing is recent, so nothing is new.
        case .recent, .new: return false
        case .old: return true
        case .keyword(let name): return flag(name)
        case .unkeyword(let name): return !flag(name)
        case .bcc(let text): return headerContains("Bcc", text)
        case .cc(let text): return headerContains("Cc", text)
        case .from(let text): return headerContains("From", text)
        case .to(let text): return headerContains("To", text)
        case .subject(let text): return headerContains("Subject", text)
        case .header(let name, let text): return headerContains(name, text)
        case .body(let text):
            guard let message = message() else { return false }
            return Self.contains(message.bytes[message.root.bodyRange], Array(text.utf8))
        case .text(let text):
            guard let message = message() else { return false }
            return Self.contains(message.bytes[...], Array(text.utf8))
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
        case .not(let inner): return !evaluate(inner, index, &cache)
        case .or(let a, let b): return evaluate(a, index, &cache) || evaluate(b, index, &cache)
        case .and(let keys): return keys.allSatisfy { evaluate($0, index, &cache) }
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

    /// Case-insensitive (ASCII) substring search over bytes.
    static func contains(_ haystack: some Collection<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        let folded = needle.map(fold)
        let hay = Array(haystack)
        guard hay.count >= folded.count else { return false }
        let first = folded[0]
        var i = 0
        let last = hay.count - folded.count
        while i <= last {
            if fold(hay[i]) == first {
                var j = 1
                while j < folded.count && fold(hay[i + j]) == folded[j] { j += 1 }
                if j == folded.count { return true }
            }
            i += 1
        }
        return false
    }

    static func fold(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte | 0x20 : byte }
}
