// The message a `data` or `deliver` hook sees (tx:body(), tx:message(), tx:parts(),
// tx:part_text()): the raw bytes, shared by reference with the session that received
// them, so no policy and no VM copies them until a script asks. What is derived from
// them (where the body starts, the MIME walk) is computed on first use, once per
// message for every policy, VM and recipient, under a lock.
import Foundation
import MailAuth
import MailCore

public final class MessageContent: @unchecked Sendable {
    public let bytes: [UInt8]
    // @unchecked: the lazily computed fields are only touched with `lock` held.
    private let lock = NSLock()
    private var cachedBodyStart: Int?
    private var cachedWalk: MIMEWalk?
    private var cachedAuthMessage: AuthMessage?
    private var dkimOutcomes: [DKIMOutcome]?
    private var reportRecorded = false

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var count: Int { bytes.count }

    /// Where the body starts: after the empty line that ends the header block (the end
    /// of the message when there is none).
    public var bodyStart: Int {
        lock.lock()
        defer { lock.unlock() }
        if let cachedBodyStart { return cachedBodyStart }
        let start = MIMEHeader(bytes, start: 0, end: bytes.count).bodyStart
        cachedBodyStart = start
        return start
    }

    /// The MIME leaves (MIMEWalk's default bounds), parsed on first use.
    public var walk: MIMEWalk {
        lock.lock()
        defer { lock.unlock() }
        if let cachedWalk { return cachedWalk }
        let walk = MIMEWalk(bytes)
        cachedWalk = walk
        return walk
    }
}

// The mail-authentication view: parsed once per message, and the DKIM outcomes kept
// so the dkim and dmarc plugins (and every recipient's deliver hook) share one
// verification.
extension MessageContent {
    public var authMessage: AuthMessage {
        lock.lock()
        defer { lock.unlock() }
        if let cachedAuthMessage { return cachedAuthMessage }
        let message = AuthMessage(bytes: bytes)
        cachedAuthMessage = message
        return message
    }

    /// The DKIM outcomes once verified.
    public var verifiedSignatures: [DKIMOutcome]? {
        lock.lock()
        defer { lock.unlock() }
        return dkimOutcomes
    }

    public func keepVerifiedSignatures(_ outcomes: [DKIMOutcome]) {
        lock.lock()
        dkimOutcomes = outcomes
        lock.unlock()
    }

    /// True the first time only: a DMARC evaluation of this message is recorded for
    /// the aggregate reports once, however many policies or hooks check it.
    public func claimReportRecord() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if reportRecorded { return false }
        reportRecorded = true
        return true
    }
}

extension MessageContent: Equatable {
    /// The same object, or the same bytes (identity first: the common case is cheap).
    public static func == (lhs: MessageContent, rhs: MessageContent) -> Bool { lhs === rhs || lhs.bytes == rhs.bytes }
}
