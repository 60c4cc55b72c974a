// The typed error every IMAP decoder throws: it carries the command's tag (when one
// could be read) and the status response that answers it, so the session turns bad
// peer input into a reply without string matching. BAD is for syntax, NO for
// well-formed requests refused (a literal over APPENDLIMIT: NO [TOOBIG]).

public struct IMAPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The tag of the command this error answers; nil when none could be read
    /// (then the answer is untagged `* BAD`).
    public var tag: String?
    public var status: IMAPStatus
    public var code: IMAPResponseCode?
    public var text: String

    public init(tag: String?, _ text: String, status: IMAPStatus = .bad, code: IMAPResponseCode? = nil) {
        self.tag = tag; self.text = text; self.status = status; self.code = code
    }

    /// The response to send for this error.
    public var response: IMAPResponse {
        if let tag { return .tagged(tag: tag, status: status, code: code, text: text) }
        return .untagged(status: status == .no ? .no : .bad, code: code, text: text)
    }

    public var description: String { String(decoding: IMAPEncoder().encode(response), as: UTF8.self) }
}
