// LIST/LSUB patterns (RFC 3501 §6.3.8): the reference and the pattern joined, then
// matched against mailbox names with `*` (anything) and `%` (anything but the
// hierarchy delimiter). INBOX is case-insensitive (RFC 3501 §5.1): a name's leading
// "INBOX" component matches the pattern's letters in any case, so "inbox", "Inbox/%"
// and "in*" all find it. Matching is dynamic programming over (pattern, name)
// positions: time pattern × name whatever the wildcards, never backtracking.

struct MailboxPattern: Sendable {
    let pattern: [Character]
    static let delimiter: Character = "/"

    init(reference: String, pattern: String) {
        // RFC 3501 §6.3.8: the reference is prefixed to the pattern as given.
        var joined: [Character] = []
        for character in reference + pattern {
            // "**", "*%" and "%*" mean "*", "%%" means "%": fewer states, same language.
            if let last = joined.last, (last == "*" || last == "%"), (character == "*" || character == "%") {
                if character == "*" { joined[joined.count - 1] = "*" }
                continue
            }
            joined.append(character)
        }
        self.pattern = joined
    }

    func matches(_ name: String) -> Bool { Self.match(pattern, Array(name)) }

    /// The pattern holds "*" or "%" (an exact name never lists a parent that does not exist).
    var hasWildcard: Bool { pattern.contains { $0 == "*" || $0 == "%" } }
    /// The pattern holds "%" (LSUB then lists unsubscribed parents, RFC 3501 §6.3.9).
    var hasPercent: Bool { pattern.contains("%") }

    /// Whether `pattern` matches all of `name`.
    static func match(_ pattern: [Character], _ name: [Character]) -> Bool {
        // The INBOX component of a name (when it has one) matches case-insensitively.
        let inboxLength = isInbox(name) ? 5 : 0
        func same(_ p: Character, _ index: Int) -> Bool {
            p == name[index] || (index < inboxLength && p.lowercased() == name[index].lowercased())
        }
        // reachable[j]: the pattern read so far can match exactly name[0..<j].
        var reachable = [Bool](repeating: false, count: name.count + 1)
        reachable[0] = true
        for p in pattern {
            var next = [Bool](repeating: false, count: name.count + 1)
            switch p {
            case "*", "%":
                // Extend any reachable prefix by characters the wildcard accepts.
                var open = false
                for j in 0...name.count {
                    if reachable[j] { open = true }
                    next[j] = open
                    if j < name.count && p == "%" && name[j] == delimiter { open = false }
                }
            default:
                for j in 0..<name.count where reachable[j] && same(p, j) { next[j + 1] = true }
            }
            reachable = next
            guard reachable.contains(true) else { return false }
        }
        return reachable[name.count]
    }

    /// "INBOX" or "INBOX/…", in any case.
    static func isInbox(_ name: [Character]) -> Bool {
        guard name.count >= 5, String(name[0..<5]).uppercased() == "INBOX" else { return false }
        return name.count == 5 || name[5] == delimiter
    }
}
