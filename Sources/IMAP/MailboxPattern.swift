// LIST/LSUB patterns (RFC 3501 §6.3.8): the reference and the pattern joined, then
// matched against mailbox names with `*` (anything) and `%` (anything but the
// hierarchy delimiter). INBOX matches case-insensitively as the first name component.

struct MailboxPattern: Sendable {
    let pattern: [Character]
    static let delimiter: Character = "/"

    init(reference: String, pattern: String) {
        // RFC 3501 §6.3.8: the reference is prefixed to the pattern as given.
        var joined = reference + pattern
        // INBOX is case-insensitive: fold the pattern's first component when it spells it.
        let upper = joined.uppercased()
        if upper == "INBOX" || upper.hasPrefix("INBOX/") { joined = "INBOX" + joined.dropFirst(5) }
        self.pattern = Array(joined)
    }

    func matches(_ name: String) -> Bool { Self.match(pattern[...], Array(name)[...]) }

    static func match(_ pattern: ArraySlice<Character>, _ name: ArraySlice<Character>) -> Bool {
        var p = pattern, n = name
        while let c = p.first {
            if c == "*" || c == "%" {
                p = p.dropFirst()
                if p.isEmpty { return c == "*" || !n.contains(delimiter) }
                var rest = n
                while true {
                    if match(p, rest) { return true }
                    guard let next = rest.first else { return false }
                    if c == "%" && next == delimiter { return false }
                    rest = rest.dropFirst()
                }
            }
            guard let head = n.first, head == c else { return false }
            p = p.dropFirst(); n = n.dropFirst()
        }
        return n.isEmpty
    }
}
