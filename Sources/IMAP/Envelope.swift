// ENVELOPE values (RFC 3501 §7.4.2): header fields of a message as sent (no RFC 2047
// decoding), address lists split into (name adl mailbox host), with group syntax as
// start/end markers. Built by `Envelope(header:)` in EnvelopeBuilder.swift.

public struct EnvelopeAddress: Sendable, Equatable, Hashable {
    public var name: String?
    public var adl: String?
    public var mailbox: String?
    public var host: String?
    public init(name: String?, adl: String?, mailbox: String?, host: String?) {
        self.name = name; self.adl = adl; self.mailbox = mailbox; self.host = host
    }
    /// Start of a group: (NIL NIL "group name" NIL).
    public static func groupStart(_ name: String) -> EnvelopeAddress { .init(name: nil, adl: nil, mailbox: name, host: nil) }
    /// End of a group: (NIL NIL NIL NIL).
    public static let groupEnd = EnvelopeAddress(name: nil, adl: nil, mailbox: nil, host: nil)
}

public struct Envelope: Sendable, Equatable, Hashable {
    public var date: String?
    public var subject: String?
    /// Empty list: NIL.
    public var from: [EnvelopeAddress]
    public var sender: [EnvelopeAddress]
    public var replyTo: [EnvelopeAddress]
    public var to: [EnvelopeAddress]
    public var cc: [EnvelopeAddress]
    public var bcc: [EnvelopeAddress]
    public var inReplyTo: String?
    public var messageID: String?

    public init(date: String? = nil, subject: String? = nil, from: [EnvelopeAddress] = [], sender: [EnvelopeAddress] = [],
                replyTo: [EnvelopeAddress] = [], to: [EnvelopeAddress] = [], cc: [EnvelopeAddress] = [],
                bcc: [EnvelopeAddress] = [], inReplyTo: String? = nil, messageID: String? = nil) {
        self.date = date; self.subject = subject; self.from = from; self.sender = sender; self.replyTo = replyTo
        self.to = to; self.cc = cc; self.bcc = bcc; self.inReplyTo = inReplyTo; self.messageID = messageID
    }
}
