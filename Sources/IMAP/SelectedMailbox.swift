// The selected mailbox as this session sees it (RFC 3501 §2.3.1): messages in
// sequence order (ascending UID), with the flags and modseqs last told to the client.
// Changes from elsewhere are merged in by the session; expunges seen while they may
// not be announced (during FETCH/STORE/SEARCH, RFC 3501 §7.4.1) wait in
// `pendingExpunges` and the message keeps its sequence number until then.
// It also holds what this session alone knows: the keywords already announced in
// FLAGS/PERMANENTFLAGS (a FETCH may show only those, RFC 3501 §7.2.6), and which
// messages are \Recent for this session (RFC 3501 §2.3.2).
import MailCore

struct SelectedMailbox: Sendable {
    var id: IMAPMailboxID
    var name: String
    var readOnly: Bool
    var uidValidity: UInt32
    var uidNext: UInt32
    var highestModSeq: UInt64
    /// Message n is `messages[n - 1]`; UIDs ascend.
    var messages: [IMAPMessageRecord]
    /// UIDs expunged elsewhere, not yet announced with EXPUNGE/VANISHED.
    var pendingExpunges: Set<UInt32> = []
    /// Keywords announced to the client, in the order first seen (spelled as stored).
    private(set) var keywords: [String] = []
    /// The same, lower-cased (keywords compare case-insensitively).
    private var keywordSet: Set<String> = []
    /// Every spelling met so far, so a keyword on many messages is lower-cased once.
    private var spellings: Set<String> = []
    /// UIDs that are \Recent in this session (claimed by it, or seen unclaimed by EXAMINE).
    var recent: Set<UInt32> = []

    init(_ snapshot: IMAPMailboxSnapshot, name: String, readOnly: Bool) {
        id = snapshot.id; self.name = name; self.readOnly = readOnly
        uidValidity = snapshot.uidValidity; uidNext = snapshot.uidNext
        highestModSeq = max(1, snapshot.highestModSeq)
        messages = snapshot.messages.sorted { $0.uid < $1.uid }
        _ = learnKeywords(messages)
    }

    /// Adds the keywords of `records` not announced yet; true when there were any (the
    /// session must then send FLAGS and PERMANENTFLAGS before a FETCH shows them).
    mutating func learnKeywords(_ records: some Sequence<IMAPMessageRecord>) -> Bool {
        var added = false
        for record in records {
            for flag in record.flags where !flag.hasPrefix("\\") && spellings.insert(flag).inserted {
                if keywordSet.insert(flag.lowercased()).inserted { keywords.append(flag); added = true }
            }
        }
        return added
    }

    var count: Int { messages.count }
    var largestUID: UInt32 { messages.last?.uid ?? 0 }

    /// The index of `uid` in `messages`.
    func index(ofUID uid: UInt32) -> Int? {
        var low = 0, high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].uid < uid { low = mid + 1 } else { high = mid }
        }
        return low < messages.count && messages[low].uid == uid ? low : nil
    }

    /// Indexes selected by a sequence set of message numbers (`uid` false) or UIDs, in
    /// ascending order, without duplicates. `*` is the last message (RFC 3501 §6.4.8:
    /// for UIDs, `n:*` always includes the last message even when n is larger).
    func indexes(_ set: SequenceSet, uid: Bool, saved: [UInt32]) -> [Int] {
        guard !messages.isEmpty else { return [] }
        switch set {
        case .lastResult:
            return saved.compactMap { index(ofUID: $0) }.sorted()
        case .ranges(let ranges):
            var picked = Set<Int>()
            for range in ranges {
                if uid {
                    let bounds = range.resolved(star: largestUID)
                    var low = 0, high = messages.count
                    while low < high {
                        let mid = (low + high) / 2
                        if messages[mid].uid < bounds.lowerBound { low = mid + 1 } else { high = mid }
                    }
                    var i = low
                    while i < messages.count && messages[i].uid <= bounds.upperBound { picked.insert(i); i += 1 }
                } else {
                    let bounds = range.resolved(star: UInt32(messages.count))
                    guard bounds.lowerBound >= 1 else { continue }
                    let upper = min(Int(bounds.upperBound), messages.count)
                    if Int(bounds.lowerBound) <= upper { for i in (Int(bounds.lowerBound) - 1)..<upper { picked.insert(i) } }
                }
            }
            return picked.sorted()
        }
    }

    /// Whether a message-number set names a message that does not exist (BAD, RFC 9051 §6.4.x).
    func sequenceOutOfRange(_ set: SequenceSet) -> Bool {
        guard case .ranges(let ranges) = set else { return false }
        let star = UInt32(messages.count)
        return ranges.contains { range in
            if messages.isEmpty { return true }
            let bounds = range.resolved(star: star)
            return bounds.lowerBound < 1 || bounds.upperBound > star
        }
    }

    /// The flags FETCH shows for `record`: as stored, plus \Recent when it is recent here.
    func flags(of record: IMAPMessageRecord) -> [String] {
        recent.isEmpty || !recent.contains(record.uid) ? record.flags : record.flags + ["\\Recent"]
    }

    /// FLAGS: the system flags plus every keyword announced so far (a keyword stays
    /// once announced, even when no message carries it any more).
    var flagList: [String] { Self.systemFlags + keywords }

    /// PERMANENTFLAGS: what STORE may set; none in a read-only mailbox.
    var permanentFlags: [String] { readOnly ? [] : Self.systemFlags + keywords + ["\\*"] }

    static let systemFlags = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]

    func has(_ flag: String, at index: Int) -> Bool { Self.contains(messages[index].flags, flag) }

    static func contains(_ flags: [String], _ flag: String) -> Bool {
        flags.contains { $0.caseInsensitiveEquals(flag) }
    }
}
