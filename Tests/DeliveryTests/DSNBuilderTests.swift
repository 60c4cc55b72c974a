// DSNs are parsed back with Python's `email` package (what the e2e tests and many
// users' tools use), so the assertions are about what a reader really gets.
import Foundation
import Testing
import MailStore
@testable import Delivery

enum PythonEmail {
    static let script = #"""
import sys, json, email
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
out = {"content_type": msg.get_content_type(), "report_type": msg.get_param("report-type"),
       "to": msg["To"], "from": msg["From"], "subject": msg["Subject"],
       "auto_submitted": msg["Auto-Submitted"], "message_id": msg["Message-ID"], "defects": []}
for part in msg.walk():
    out["defects"] += [type(d).__name__ for d in part.defects]
parts = msg.get_payload()
out["parts"] = [p.get_content_type() for p in parts]
out["human"] = parts[0].get_content().replace("\r\n", "\n")
blocks = parts[1].get_payload()
out["per_message"] = dict(blocks[0].items())
out["per_recipient"] = [dict(b.items()) for b in blocks[1:]]
third = parts[2]
if third.get_content_type() == "message/rfc822":
    inner = third.get_payload(0)
    out["returned_subject"] = inner["Subject"]
    out["returned_body"] = inner.get_content().replace("\r\n", "\n")
else:
    out["returned_headers"] = third.get_payload(decode=True).decode("utf-8", "replace")
print(json.dumps(out))
"""#

    static var available: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") }

    static func parse(_ bytes: [UInt8]) throws -> [String: Any] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ParseFailure(text: errorText) }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw ParseFailure(text: "not a JSON object: \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }

    struct ParseFailure: Error { var text: String }
}

@Suite struct DSNBuilderTests {
    let builder = DSNBuilder(hostname: "relay.example.test")
    let now = 1_800_000_000.0
    let original = Array("Return-Path: <alice@example.test>\r\nFrom: alice@example.test\r\nTo: x@example.net\r\nSubject: lunch?\r\n\r\nAre you free today?\r\n".utf8)

    func entry(sender: String = "alice@example.test", envid: String? = nil, ret: String? = nil) -> QueueEntry {
        QueueEntry(id: "Q1", sender: sender, recipients: [QueueRecipient(address: "x@example.net")],
                   created: now - 600, envid: envid, ret: ret)
    }

    /// The 550 result the SMTP client produces for a refused RCPT.
    func refusedRecipient() -> DSNRecipient {
        var client = ClientHarness()
        client.connect()
        client.enqueue(message(to: ["x@example.net"]))
        client.server("250 ok\r\n550 MAILBOX NOT FOUND\r\n")
        return DSNRecipient(result: client.results[0].recipients[0], notify: nil, orcpt: nil, peer: "mx.example.net",
                            at: now)
    }

    @Test(.enabled(if: ToolRequirement.runs(PythonEmail.available))) func failureNoticeQuotesTheDialogue() throws {
        let bounce = try #require(builder.build(.failure, entry: entry(), message: original,
                                                recipients: [refusedRecipient()], now: now, messageID: "B1"))
        #expect(bounce.sender == "" && bounce.recipient == "alice@example.test")
        let dsn = try PythonEmail.parse(bounce.content)
        #expect(dsn["defects"] as? [String] == [])
        #expect(dsn["content_type"] as? String == "multipart/report")
        #expect(dsn["report_type"] as? String == "delivery-status")
        #expect(dsn["parts"] as? [String] == ["text/plain", "message/delivery-status", "message/rfc822"])
        #expect(dsn["to"] as? String == "alice@example.test")
        #expect(dsn["from"] as? String == "MAILER-DAEMON@relay.example.test")
        #expect(dsn["subject"] as? String == "failure notice")
        #expect(dsn["auto_submitted"] as? String == "auto-replied")
        let human = try #require(dsn["human"] as? String)
        #expect(human.hasPrefix("Hi. This is the mailgate program at relay.example.test.\n"
                                + "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
                                + "This is a permanent error; I've given up. Sorry it didn't work out.\n\n<x@example.net>:\n"))
        #expect(human.contains("while talking to mx.example.net.: >>> RCPT To:<x@example.net> <<< 550 MAILBOX NOT FOUND\n"))
        #expect(human.hasSuffix("--- Below this line is a copy of the message.\n"))
        let perMessage = try #require(dsn["per_message"] as? [String: String])
        #expect(perMessage["Reporting-MTA"] == "dns; relay.example.test")
        #expect(perMessage["Arrival-Date"] != nil && perMessage["Original-Envelope-Id"] == nil)
        let recipient = try #require((dsn["per_recipient"] as? [[String: String]])?.first)
        #expect(recipient["Final-Recipient"] == "rfc822; x@example.net")
        #expect(recipient["Action"] == "failed")
        #expect(recipient["Status"] == "5.0.0")
        #expect(recipient["Remote-MTA"] == "dns; mx.example.net")
        #expect(recipient["Diagnostic-Code"] == "smtp; 550 MAILBOX NOT FOUND")
        #expect(dsn["returned_subject"] as? String == "lunch?")
        #expect(dsn["returned_body"] as? String == "Are you free today?\n")
        // Our stored Return-Path is not part of the returned message.
        #expect(!String(decoding: bounce.content, as: UTF8.self).contains("Return-Path"))
    }

    @Test(.enabled(if: ToolRequirement.runs(PythonEmail.available))) func expiryNoticeHasTheQueueTooLongText() throws {
        let recipient = DSNRecipient(address: "x@example.net", action: .failed, status: "4.4.1",
                                     text: DeliveryTexts.expired(lastError: nil), lastAttempt: now)
        let bounce = try #require(builder.build(.failure, entry: entry(), message: original, recipients: [recipient],
                                                now: now, messageID: "B2"))
        let dsn = try PythonEmail.parse(bounce.content)
        let human = try #require(dsn["human"] as? String)
        #expect(human.contains("<x@example.net>:\nSorry, I wasn't able to establish an SMTP connection. (#4.4.1) "
                               + "I'm not going to try again; this message has been in the queue too long.\n"))
        let fields = try #require((dsn["per_recipient"] as? [[String: String]])?.first)
        #expect(fields["Status"] == "4.4.1" && fields["Action"] == "failed" && fields["Remote-MTA"] == nil)
        #expect(fields["Diagnostic-Code"]?.hasPrefix("X-mailgate; Sorry, I wasn't able") == true)
        #expect(DeliveryTexts.expired(lastError: "Connected to [192.0.2.1] but connection died. (#4.4.2)")
                == "Connected to [192.0.2.1] but connection died. (#4.4.2) I'm not going to try again; this message has been in the queue too long.")
    }

    @Test func bouncesNeverGoToTheNullSenderAndNeverLoop() throws {
        let recipient = refusedRecipient()
        // A bounce that bounced: to the postmaster, marked so that it cannot bounce again.
        let double = try #require(builder.build(.failure, entry: entry(sender: ""), message: original,
                                                recipients: [recipient], now: now, messageID: "B3"))
        #expect(double.recipient == "postmaster@relay.example.test" && double.sender == Bounce.doubleBounceSender)
        let text = String(decoding: double.content, as: UTF8.self)
        #expect(text.contains("I tried to deliver a bounce message to the following addresses, but the bounce bounced!"))
        // The double bounce itself failing: nobody is told.
        #expect(builder.build(.failure, entry: entry(sender: Bounce.doubleBounceSender), message: original,
                              recipients: [recipient], now: now, messageID: "B4") == nil)
        // Notices other than failures never go to a null sender.
        var delivered = recipient
        delivered.action = .delivered
        delivered.notify = "SUCCESS"
        #expect(builder.build(.success, entry: entry(sender: ""), message: original, recipients: [delivered],
                              now: now, messageID: "B5") == nil)
        // On the wire a double bounce uses the null sender.
        let outbound = OutboundMessage(entry: double.queueEntry(id: "D1", created: now), storedMessage: double.content,
                                       recipients: ["postmaster@relay.example.test"])
        #expect(outbound.sender == "" && outbound.recipients.map(\.address) == ["postmaster@relay.example.test"])
    }

    @Test func notifyDecidesWhoIsTold() {
        var never = refusedRecipient()
        never.notify = "NEVER"
        #expect(builder.build(.failure, entry: entry(), message: original, recipients: [never], now: now, messageID: "B") == nil)
        var successOnly = refusedRecipient()
        successOnly.notify = "SUCCESS"
        #expect(builder.build(.failure, entry: entry(), message: original, recipients: [successOnly], now: now,
                              messageID: "B") == nil)
        var delayed = refusedRecipient()
        delayed.action = .delayed
        #expect(builder.build(.delay, entry: entry(), message: original, recipients: [delayed], now: now,
                              messageID: "B") == nil)
        delayed.notify = "DELAY,FAILURE"
        #expect(builder.build(.delay, entry: entry(), message: original, recipients: [delayed], now: now,
                              messageID: "B") != nil)
    }

    @Test(.enabled(if: ToolRequirement.runs(PythonEmail.available))) func successAndDelayNoticesCarryHeadersOnly() throws {
        let result = RecipientResult(address: "x@example.net", status: .delivered, enhancedStatus: "2.0.0",
                                     reply: ServerReply(code: 250, lines: ["2.0.0 Ok: queued as X"]),
                                     text: "mx.example.net. accepted message. Remote host said: 250 2.0.0 Ok: queued as X")
        let relayed = DSNRecipient(result: result, notify: "SUCCESS", orcpt: "rfc822;X+2Bsub@example.net",
                                   peer: "mx.example.net", at: now, relayed: true)
        let success = try #require(builder.build(.success, entry: entry(envid: "ENV+2B1"), message: original,
                                                 recipients: [relayed], now: now, messageID: "B6"))
        let dsn = try PythonEmail.parse(success.content)
        #expect(dsn["subject"] as? String == "delivery notice")
        #expect(dsn["parts"] as? [String] == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        #expect((dsn["returned_headers"] as? String)?.contains("Subject: lunch?") == true)
        #expect((dsn["returned_headers"] as? String)?.contains("Are you free") == false)
        #expect((dsn["per_message"] as? [String: String])?["Original-Envelope-Id"] == "ENV+1")
        let fields = try #require((dsn["per_recipient"] as? [[String: String]])?.first)
        #expect(fields["Action"] == "relayed" && fields["Status"] == "2.0.0")
        #expect(fields["Original-Recipient"] == "rfc822; X+sub@example.net")

        let delayed = DSNRecipient(address: "x@example.net", notify: "DELAY", action: .delayed, status: "4.4.1",
                                   text: DeliveryTexts.noConnection, lastAttempt: now)
        let delay = try #require(builder.build(.delay, entry: entry(), message: original, recipients: [delayed],
                                               now: now, messageID: "B7", willRetryUntil: now + 3600))
        let parsed = try PythonEmail.parse(delay.content)
        #expect((parsed["human"] as? String)?.contains("This is only a warning: I'm still trying until") == true)
        let delayFields = try #require((parsed["per_recipient"] as? [[String: String]])?.first)
        #expect(delayFields["Action"] == "delayed" && delayFields["Will-Retry-Until"] != nil)
    }

    @Test(.enabled(if: ToolRequirement.runs(PythonEmail.available))) func retHdrsAndBigMessagesReturnHeadersOnly() throws {
        let hdrs = try #require(builder.build(.failure, entry: entry(ret: "HDRS"), message: original,
                                              recipients: [refusedRecipient()], now: now, messageID: "B8"))
        #expect(try PythonEmail.parse(hdrs.content)["parts"] as? [String]
                == ["text/plain", "message/delivery-status", "text/rfc822-headers"])

        let big = original + [UInt8](repeating: UInt8(ascii: "x"), count: 200_000) + [13, 10]
        let bounce = try #require(builder.build(.failure, entry: entry(ret: "FULL"), message: big,
                                                recipients: [refusedRecipient()], now: now, messageID: "B9"))
        #expect(bounce.content.count < 10_000)
        let dsn = try PythonEmail.parse(bounce.content)
        #expect(dsn["parts"] as? [String] == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        #expect((dsn["human"] as? String)?.contains("too large to return in full") == true)
    }

    @Test(.enabled(if: ToolRequirement.runs(PythonEmail.available))) func hostileContentCannotBreakTheStructure() throws {
        // A message that contains our boundary, and remote text with CR/LF and 8-bit bytes.
        let tricky = Array("Subject: =_mailgate_B10\r\n\r\n--=_mailgate_B10--\r\ncaf\u{E9}\r\n".utf8)
        let recipient = DSNRecipient(address: "x@example.net", action: .failed, status: "5.1.1",
                                     remoteMTA: "mx\r\nX-Injected: yes", diagnostic: "550 no\r\nAction: delivered",
                                     text: "Remote said caf\u{E9}\nsecond line")
        let bounce = try #require(builder.build(.failure, entry: entry(), message: tricky, recipients: [recipient],
                                                now: now, messageID: "B10"))
        let dsn = try PythonEmail.parse(bounce.content)
        #expect(dsn["defects"] as? [String] == [])
        #expect(dsn["parts"] as? [String] == ["text/plain", "message/delivery-status", "message/rfc822"])
        let fields = try #require((dsn["per_recipient"] as? [[String: String]])?.first)
        #expect(fields["Action"] == "failed" && fields["X-Injected"] == nil)
        #expect(fields["Diagnostic-Code"] == "smtp; 550 no  Action: delivered")
        #expect((dsn["human"] as? String)?.contains("Remote said caf\u{E9}\nsecond line") == true)
        #expect((dsn["returned_body"] as? String)?.contains("--=_mailgate_B10--") == true)
    }

    @Test func veryLongTextsAreCutAndLinesStayUnder998Octets() throws {
        let recipient = DSNRecipient(address: "x@example.net", action: .failed, status: "5.0.0",
                                     diagnostic: String(repeating: "y", count: 5000),
                                     text: String(repeating: "z", count: 5000))
        let bounce = try #require(builder.build(.failure, entry: entry(), message: original, recipients: [recipient],
                                                now: now, messageID: "B11"))
        let lines = String(decoding: bounce.content, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 998 })
        #expect(lines.contains { $0.hasSuffix(" [...]") })
    }
}
