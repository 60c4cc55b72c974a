// Mailbox names: stored as given (UTF-8; the IMAP layer converts modified UTF-7), "/" as
// the hierarchy delimiter, compared case-sensitively except INBOX, which is
// case-insensitive as a whole name and as the first level ("inbox/x" is "INBOX/x").
// Validation keeps hostile names out: no empty name or empty level ("a//b", "/a", "a/"),
// no control characters, no IMAP wildcards (LIST could never match them exactly), at
// most StoreLimits.maxMailboxNameBytes bytes and maxHierarchyDepth levels.

enum MailboxNames {
    static let delimiter: Character = "/"
    static let inbox = "INBOX"

    /// INBOX in any case becomes "INBOX" (whole name or first level); others unchanged.
    static func canonical(_ name: String) -> String {
        // Bytes, ASCII only: Unicode case mapping would turn "ınbox" (dotless i) into INBOX.
        let bytes = name.utf8
        let first = bytes.prefix { $0 != UInt8(ascii: "/") }
        guard first.count == 5, MessageFlags.same(String(decoding: first, as: UTF8.self), inbox) else { return name }
        if bytes.count == 5 { return inbox }
        return inbox + String(decoding: bytes.dropFirst(5), as: UTF8.self)
    }

    /// Validates `name` and returns its canonical form.
    static func validated(_ name: String) throws(StoreError) -> String {
        let canonical = canonical(name)
        let utf8 = canonical.utf8
        guard !utf8.isEmpty else { throw StoreError(.invalid, "empty mailbox name") }
        guard utf8.count <= StoreLimits.maxMailboxNameBytes else {
            throw StoreError(.invalid, "mailbox name longer than \(StoreLimits.maxMailboxNameBytes) bytes")
        }
        for byte in utf8 where byte < 0x20 || byte == 0x7f || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "%") {
            throw StoreError(.invalid, "mailbox name contains a control character or a wildcard (* %)")
        }
        let levels = canonical.split(separator: delimiter, omittingEmptySubsequences: false)
        guard !levels.contains(where: \.isEmpty) else {
            throw StoreError(.invalid, "mailbox name '\(canonical)' has an empty hierarchy level")
        }
        guard levels.count <= StoreLimits.maxHierarchyDepth else {
            throw StoreError(.invalid, "mailbox name nested deeper than \(StoreLimits.maxHierarchyDepth) levels")
        }
        return canonical
    }

    static func isInbox(_ name: String) -> Bool { canonical(name) == inbox }

    /// The prefix every child of `name` starts with ("a/b" → "a/b/").
    static func childPrefix(_ name: String) -> String { name + String(delimiter) }

    /// `name` is `ancestor` or lies below it. Compared as bytes, like the keys (Swift's
    /// String equality would treat canonically equivalent spellings as one name).
    static func isSelfOrDescendant(_ name: String, of ancestor: String) -> Bool {
        name.utf8.elementsEqual(ancestor.utf8) || name.utf8.starts(with: childPrefix(ancestor).utf8)
    }

    static func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
}
