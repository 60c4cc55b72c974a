// A mailbox name as the client sent it (raw bytes of an astring). "INBOX" in any case
// is normalised to "INBOX" (RFC 3501 §5.1). Whether the bytes are modified UTF-7
// (RFC 3501 §5.1.3) or raw UTF-8 (after ENABLE UTF8=ACCEPT, RFC 6855 §3) depends on
// session state, so decoding is the caller's choice.

public struct MailboxName: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        if bytes.count == 5, String(decoding: bytes, as: UTF8.self).uppercased() == "INBOX" {
            self.bytes = Array("INBOX".utf8)
        } else {
            self.bytes = bytes
        }
    }

    public init(_ string: String) { self.init(Array(string.utf8)) }

    public static let inbox = MailboxName("INBOX")

    /// The name as Unicode: modified UTF-7 decoded unless `utf8Accept` (then the bytes
    /// must be valid UTF-8). nil when the bytes are not valid in that form.
    public func decoded(utf8Accept: Bool) -> String? {
        if utf8Accept { return String(validating: bytes, as: UTF8.self) }
        return ModifiedUTF7.decode(bytes)
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }
}
