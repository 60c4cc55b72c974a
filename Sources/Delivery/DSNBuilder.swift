// Delivery status notifications (RFC 3464 in a RFC 6522 multipart/report): a
// human-readable part in qmail's words, a message/delivery-status part, and the
// returned message (full, or headers only per RET and size). Who receives it follows
// `Bounce` (never the null sender; double bounce to the postmaster; no loops) and
// each recipient's NOTIFY. Output is the bytes to queue, CRLF throughout.
import MailCore
import MailStore

/// One recipient's line in a notification.
public struct DSNRecipient: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable {
        case failed, delayed, delivered, relayed
    }

    public var address: String
    /// NOTIFY and ORCPT as stored with the queued recipient.
    public var notify: String?
    public var orcpt: String?
    public var action: Action
    /// RFC 3463 status, e.g. "5.1.1", "4.4.1".
    public var status: String
    /// The remote host's name when one answered ("mx.example.net").
    public var remoteMTA: String?
    /// The remote reply as it was said ("550 MAILBOX NOT FOUND"), for Diagnostic-Code.
    public var diagnostic: String?
    /// What the user reads (qmail style, transcript included).
    public var text: String
    public var lastAttempt: Double?

    public init(address: String, notify: String? = nil, orcpt: String? = nil, action: Action, status: String,
                remoteMTA: String? = nil, diagnostic: String? = nil, text: String, lastAttempt: Double? = nil) {
        self.address = address; self.notify = notify; self.orcpt = orcpt; self.action = action; self.status = status
        self.remoteMTA = remoteMTA; self.diagnostic = diagnostic; self.text = text; self.lastAttempt = lastAttempt
    }
}

/// A notification ready to queue: envelope and message bytes.
public struct BounceMessage: Sendable, Equatable {
    /// "" for a bounce, `Bounce.doubleBounceSender` for a double bounce.
    public var sender: String
    public var recipient: String
    public var content: [UInt8]

    /// The queue entry that sends it (pass it as `DeliveryRequest.remote`, or deliver
    /// locally when the recipient is a local account).
    public func queueEntry(id: String, created: Double) -> QueueEntry {
        QueueEntry(id: id, sender: sender, recipients: [QueueRecipient(address: recipient)], created: created)
    }
}

public struct DSNBuilder: Sendable {
    public enum Kind: Sendable, Equatable {
        case failure, delay, success
    }

    /// Our name: Reporting-MTA and the greeting line.
    public var hostname: String
    /// Receives double bounces.
    public var postmaster: String
    /// A failed message larger than this is returned as headers only.
    public var returnLimit: Int

    public init(hostname: String, postmaster: String? = nil, returnLimit: Int = 128 * 1024) {
        self.hostname = hostname
        self.postmaster = postmaster ?? "postmaster@\(hostname)"
        self.returnLimit = returnLimit
    }

    static let maxTextPerRecipient = 2000

    /// The notification for `entry` about `recipients`, or nil when nobody is to be told
    /// (null-sender delay/success, failed double bounce, NOTIFY excluding this kind).
    /// `message` is the stored message; `messageID` becomes "<messageID@hostname>".
    public func build(_ kind: Kind, entry: QueueEntry, message: [UInt8], recipients: [DSNRecipient], now: Double,
                      messageID: String, willRetryUntil: Double? = nil) -> BounceMessage? {
        let wanted = recipients.filter { recipient in
            let notify = Notify(recipient.notify)
            switch kind {
            case .failure: return notify.failure
            case .delay: return notify.delay
            case .success: return notify.success
            }
        }
        guard !wanted.isEmpty else { return nil }
        let destination = kind == .failure
            ? Bounce.destination(forFailureOf: entry.sender, postmaster: postmaster)
            : Bounce.destination(forNoticeTo: entry.sender)
        guard case .notify(let to, let envelopeSender) = destination else { return nil }
        let isDoubleBounce = envelopeSender == Bounce.doubleBounceSender

        let returned = MessageEncoding.strippingReturnPath(message)
        let headersOnly = kind != .failure || entry.ret?.uppercased() == "HDRS" || returned.count > returnLimit
        let returnedPart = headersOnly ? Array(returned[..<HeaderFields.headerEnd(returned)]) : returned
        let boundary = Self.boundary(for: messageID, avoiding: returnedPart)

        var out = ""
        func line(_ text: String) { out += text + "\r\n" }
        out += HeaderText.line("From", "MAILER-DAEMON@\(hostname)")
        out += HeaderText.line("To", to, allowUTF8: true)
        line("Subject: \(Self.subject(kind))")
        line("Date: \(MessageDate.rfc5322(now))")
        line("Message-ID: <\(Self.fieldText(messageID))@\(hostname)>")
        line("Auto-Submitted: auto-replied")
        line("MIME-Version: 1.0")
        line("Content-Type: multipart/report; report-type=delivery-status;")
        line("\tboundary=\"\(boundary)\"")
        line("")
        line("This is a MIME-encapsulated message.")
        line("")

        let human = humanText(kind, recipients: wanted, doubleBounce: isDoubleBounce, sender: entry.sender,
                              headersOnly: headersOnly, tooBig: returned.count > returnLimit && kind == .failure,
                              willRetryUntil: willRetryUntil)
        let humanIsASCII = human.allSatisfy(\.isASCII)
        line("--\(boundary)")
        line("Content-Type: text/plain; charset=\(humanIsASCII ? "us-ascii" : "utf-8")")
        if !humanIsASCII { line("Content-Transfer-Encoding: 8bit") }
        line("")
        out += human
        line("")

        line("--\(boundary)")
        line("Content-Type: message/delivery-status")
        line("")
        line("Reporting-MTA: dns; \(hostname)")
        line("X-Mailgate-Queue-ID: \(Self.fieldText(entry.id))")
        if let envid = entry.envid, let decoded = XText.decode(envid) {
            line("Original-Envelope-Id: \(Self.fieldText(decoded))")
        }
        if entry.created > 0 { line("Arrival-Date: \(MessageDate.rfc5322(entry.created))") }
        for recipient in wanted {
            line("")
            line("Final-Recipient: \(Self.addressField(recipient.address))")
            if let orcpt = recipient.orcpt, let semicolon = orcpt.firstIndex(of: ";"),
               let decoded = XText.decode(String(orcpt[orcpt.index(after: semicolon)...])) {
                line("Original-Recipient: \(Self.fieldText(String(orcpt[..<semicolon]))); \(Self.fieldText(decoded))")
            }
            line("Action: \(recipient.action.rawValue)")
            line("Status: \(EnhancedStatus.prefix(of: recipient.status) ?? Self.defaultStatus(recipient.action))")
            if let remote = recipient.remoteMTA { line("Remote-MTA: dns; \(Self.fieldText(remote))") }
            if let diagnostic = recipient.diagnostic { line("Diagnostic-Code: smtp; \(Self.fieldText(diagnostic))") }
            else if recipient.action == .failed || recipient.action == .delayed {
                line("Diagnostic-Code: X-mailgate; \(Self.fieldText(recipient.text))")
            }
            if let last = recipient.lastAttempt { line("Last-Attempt-Date: \(MessageDate.rfc5322(last))") }
            if recipient.action == .delayed, let until = willRetryUntil {
                line("Will-Retry-Until: \(MessageDate.rfc5322(until))")
            }
        }
        line("")

        line("--\(boundary)")
        line("Content-Type: \(headersOnly ? "text/rfc822-headers" : "message/rfc822")")
        if MessageEncoding.hasEightBit(returnedPart) { line("Content-Transfer-Encoding: 8bit") }
        line("")
        var bytes = Array(out.utf8)
        bytes += returnedPart
        if !returnedPart.isEmpty && returnedPart.last != 10 { bytes += [13, 10] }
        bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        return BounceMessage(sender: envelopeSender, recipient: to, content: bytes)
    }

    // MARK: the human-readable part

    func humanText(_ kind: Kind, recipients: [DSNRecipient], doubleBounce: Bool, sender: String, headersOnly: Bool,
                   tooBig: Bool, willRetryUntil: Double?) -> String {
        var lines = ["Hi. This is the mailgate program at \(hostname)."]
        switch kind {
        case .failure:
            if doubleBounce {
                lines.append("I tried to deliver a bounce message to the following addresses, but the bounce bounced!")
            } else {
                lines.append("I'm afraid I wasn't able to deliver your message to the following addresses.")
            }
            lines.append("This is a permanent error; I've given up. Sorry it didn't work out.")
        case .delay:
            lines.append("Your message has not been delivered yet to the following addresses.")
            var warning = "This is only a warning: I'm still trying"
            if let until = willRetryUntil { warning += " until \(MessageDate.rfc5322(until))" }
            lines.append(warning + ". You don't need to send it again.")
        case .success:
            lines.append("Your message was delivered to the following addresses, as you asked.")
        }
        lines.append("")
        for recipient in recipients {
            lines.append("<\(recipient.address)>:")
            var text = recipient.text
            if text.count > Self.maxTextPerRecipient { text = String(text.prefix(Self.maxTextPerRecipient)) + " [...]" }
            // A remote server's text may hold any bytes: one line per line it sent, and no
            // other control character (a bare CR would start a line of its own downstream).
            lines += text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
                .map { HeaderText.withoutControls(String($0)) }
            if recipient.action == .relayed {
                lines.append("The receiving host does not send delivery notices, so this is the last one you get.")
            }
            lines.append("")
        }
        if doubleBounce {
            lines.append("The original bounce was for a message from <\(HeaderText.withoutControls(sender))>.")
            lines.append("")
        }
        if tooBig {
            lines.append("--- The message was too large to return in full; below this line are its headers.")
        } else if headersOnly {
            lines.append("--- Below this line are the headers of the message.")
        } else {
            lines.append("--- Below this line is a copy of the message.")
        }
        return lines.flatMap(Self.hardWrap).map { $0 + "\r\n" }.joined()
    }

    /// RFC 5322 caps a line at 998 octets: only longer lines are broken.
    static func hardWrap(_ line: String) -> [String] {
        guard line.utf8.count > 990 else { return [line] }
        var pieces: [String] = []
        var current = ""
        for character in line {
            if current.utf8.count + character.utf8.count > 980 {
                pieces.append(current)
                current = ""
            }
            current.append(character)
        }
        pieces.append(current)
        return pieces
    }

    // MARK: helpers

    static func subject(_ kind: Kind) -> String {
        switch kind {
        case .failure: "failure notice"
        case .delay: "delivery delayed notice"
        case .success: "delivery notice"
        }
    }

    static func defaultStatus(_ action: DSNRecipient.Action) -> String {
        switch action {
        case .failed: "5.0.0"
        case .delayed: "4.0.0"
        case .delivered, .relayed: "2.0.0"
        }
    }

    /// "rfc822; x@example.net", or RFC 6533 "utf-8; …" for an internationalised address.
    static func addressField(_ address: String) -> String {
        address.allSatisfy(\.isASCII) ? "rfc822; \(fieldText(address))" : "utf-8; \(fieldText(address, allowUTF8: true))"
    }

    /// One header-safe line (MailCore's one header writer).
    static func fieldText(_ text: String, allowUTF8: Bool = false) -> String {
        HeaderText.value(text, allowUTF8: allowUTF8)
    }

    static func boundary(for messageID: String, avoiding content: [UInt8]) -> String {
        let safe = messageID.filter { $0.isASCII && ($0.isLetter || $0.isNumber) }
        var boundary = "=_mailgate_\(safe.prefix(40))"
        while content.contains(subsequence: Array(boundary.utf8)) { boundary += "_x" }
        return boundary
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        let first = needle[0]
        var index = 0
        while index <= count - needle.count {
            if self[index] == first && Array(self[index..<(index + needle.count)]) == needle { return true }
            index += 1
        }
        return false
    }
}

extension DSNRecipient {
    /// From the SMTP client's result for this recipient (`peer` is the host that answered).
    public init(result: RecipientResult, notify: String?, orcpt: String?, peer: String?, at time: Double,
                relayed: Bool = false) {
        let action: Action = switch result.status {
        case .delivered: relayed ? .relayed : .delivered
        case .deferred: .delayed
        case .failed: .failed
        }
        self.init(address: result.address, notify: notify, orcpt: orcpt, action: action, status: result.enhancedStatus,
                  remoteMTA: result.reply == nil ? nil : peer, diagnostic: result.reply?.singleLine, text: result.text,
                  lastAttempt: time)
    }
}

extension DeliveryTexts {
    /// A temporary failure that outlived the queue lifetime, as the bounce shows it.
    public static func expired(lastError: String?) -> String {
        (lastError ?? noConnection) + " " + tooLongInQueue
    }
}
