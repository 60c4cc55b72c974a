import Testing
import Foundation
@testable import SMTP
import MailCore
import Policy

@Suite struct SMTPSessionTests {
    @Test func greetsAndAdvertisesExtensionsInOneReply() {
        var harness = SessionHarness()
        harness.start()
        #expect(harness.take() == "220 mx.example.test ESMTP mailgate\r\n")
        harness.send("EHLO client.test\r\n")
        let reply = harness.take()
        #expect(reply.hasPrefix("250-mx.example.test\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n"))
        #expect(reply.contains("250-STARTTLS\r\n"))
        #expect(reply.hasSuffix("250 AUTH PLAIN LOGIN CRAM-MD5\r\n"))
        #expect(reply.contains("8BITMIME") && reply.contains("ENHANCEDSTATUSCODES") && reply.contains("CHUNKING"))
    }

    @Test func fullTransactionIsDeliveredWithReceivedHeader() throws {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO client.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        #expect(harness.take().hasSuffix("250 2.1.0 Sender <a@remote.test> OK\r\n250 2.1.5 Recipient <bob@example.test> OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"))
        harness.send("Subject: hi\r\n\r\n..dotted\r\nbody\r\n.\r\n")
        #expect(harness.take() == "250 2.0.0 Ok: queued as Q1\r\n")
        let transaction = try #require(harness.delivered.first)
        let text = String(decoding: transaction.message, as: UTF8.self)
        #expect(text.hasPrefix("Received: from client.test ([192.0.2.1])\r\n\tby mx.example.test (mailgate) with ESMTP id Q1\r\n\tfor <bob@example.test>; "))
        #expect(text.hasSuffix("Subject: hi\r\n\r\n.dotted\r\nbody\r\n"))
        #expect(harness.logs.count == 1)
        #expect(harness.logs[0].result?.code == 250)
    }

    @Test func byteAtATimeGivesTheSameResult() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.sendBytewise("EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n")
        let output = harness.take()
        #expect(output.contains("250 2.1.0 Sender <> OK"))
        #expect(output.contains("250 2.0.0 Ok: queued as Q1"))
        #expect(output.hasSuffix("221 2.0.0 mx.example.test Bye\r\n"))
        #expect(harness.closed)
        #expect(harness.delivered.first?.info.mailFrom == nil)
    }

    @Test func bareLineFeedInDataIsRefusedAndDoesNotEndTheMessage() {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        _ = harness.take()
        // A smuggling attempt: "\n.\n" must not end DATA; only CRLF.CRLF does.
        harness.send("x\n.\nMAIL FROM:<evil@x.test>\r\n.\r\n")
        #expect(harness.take() == "550 5.6.11 Bare CR or LF in message text is not allowed (RFC 5321 2.3.8)\r\n")
        #expect(harness.delivered.isEmpty)
    }

    @Test func oversizedMessageIsReadThenRefused() {
        var limits = Limits()
        limits.maxMessageSize = 100
        var harness = SessionHarness(limits: limits)
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test> SIZE=500\r\n")
        #expect(harness.take().hasSuffix("552 5.3.4 Message size exceeds fixed maximum message size\r\n"))
        harness.send("MAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        _ = harness.take()
        harness.send(String(repeating: "0123456789\r\n", count: 50) + ".\r\nNOOP\r\n")
        #expect(harness.take() == "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 Ok\r\n")
        #expect(harness.delivered.isEmpty)
    }

    @Test func longLinesAreBounded() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.send("NOOP " + String(repeating: "x", count: 600) + "\r\nNOOP\r\n")
        #expect(harness.take() == "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n")
        harness.send(String(repeating: "y", count: 100_000))
        harness.send("\r\nNOOP\r\n")
        #expect(harness.take() == "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n")
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        _ = harness.take()
        harness.send(String(repeating: "z", count: 1200) + "\r\n.\r\n")
        #expect(harness.take() == "550 5.6.0 Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)\r\n")
    }

    /// The limit counts the line as sent: a stuffing dot is one of its 1000 octets.
    @Test func theStuffingDotIsNotCountedInTheLineLimit() {
        func send(_ line: String) -> String {
            var harness = SessionHarness()
            harness.start()
            harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
            _ = harness.take()
            harness.send(line + "\r\n.\r\n")
            return harness.take()
        }
        // RFC 5321 §4.5.3.1.6: 1000 octets with CRLF, "not counting the leading dot
        // duplicated for transparency".
        #expect(send("." + String(repeating: "z", count: 998)).hasPrefix("250"))   // dot + 998 + CRLF
        #expect(send(String(repeating: "z", count: 998)).hasPrefix("250"))
        #expect(send(".." + String(repeating: "z", count: 997)).hasPrefix("250"))   // stored ".zzz…": 998
        #expect(send("." + String(repeating: "z", count: 999)) == "550 5.6.0 Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)\r\n")
        #expect(send(String(repeating: "z", count: 999)) == "550 5.6.0 Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)\r\n")
    }

    @Test func sequenceErrors() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.send("MAIL FROM:<a@b.test>\r\nEHLO c\r\nRCPT TO:<x@y.test>\r\nDATA\r\nFOO\r\n")
        let output = harness.take()
        #expect(output.hasPrefix("503 5.5.1 Error: send HELO/EHLO first\r\n250-"))
        #expect(output.hasSuffix("503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n500 5.5.2 Command unrecognized\r\n"))
        harness.send("MAIL FROM:<a@b.test>\r\nMAIL FROM:<a@b.test>\r\nDATA\r\nVRFY x\r\n")
        #expect(harness.take() == "250 2.1.0 Sender <a@b.test> OK\r\n503 5.5.1 Error: nested MAIL command\r\n554 5.5.1 Error: no valid recipients\r\n252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery\r\n")
    }

    @Test func policyVerdictsBecomeReplies() {
        var harness = SessionHarness()
        harness.policy = { call in
            if case .rcpt(_, let recipient) = call, recipient.domain != "example.test" {
                return HookResult(verdict: .reject(Reply(553, "5.7.1", "Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)")))
            }
            if case .mailFrom(_, let sender) = call, sender?.domain == "spam.test" {
                return HookResult(verdict: .disconnect(Reply(554, "5.7.1", "go away")))
            }
            return HookResult(verdict: .next)
        }
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@elsewhere.test>\r\nRCPT TO:<bob@example.test>\r\nRSET\r\n")
        let output = harness.take()
        #expect(output.contains("553 5.7.1 Sorry, that domain isn't allowed to be relayed thru this MTA (#5.7.1)\r\n250 2.1.5"))
        harness.send("MAIL FROM:<a@spam.test>\r\nNOOP\r\n")
        #expect(harness.take() == "554 5.7.1 go away\r\n")
        #expect(harness.closed)
    }

    @Test func aRefusedGreetingWaitsForQuit() {
        // RFC 5321 §3.1: after a 554 greeting the server answers 503 until QUIT.
        var harness = SessionHarness()
        harness.policy = { call in
            if case .connect = call { return HookResult(verdict: .reject(Reply(554, "5.7.1", "listed"))) }
            return HookResult(verdict: .next)
        }
        harness.start()
        #expect(harness.take() == "554 5.7.1 listed\r\n")
        #expect(!harness.closed)
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\n")
        #expect(harness.take() == String(repeating: "503 5.5.1 Bad sequence of commands: the connection was refused, please send QUIT\r\n", count: 2))
        harness.send("QUIT\r\n")
        #expect(harness.take().hasPrefix("221 "))
        #expect(harness.closed)
    }

    @Test func aGreetingWith421OrADisconnectCloses() {
        for verdict in [Verdict.deferred(Reply(421, "4.7.0", "busy")), .disconnect(Reply(554, "5.7.1", "go away"))] {
            var harness = SessionHarness()
            harness.policy = { call in
                if case .connect = call { return HookResult(verdict: verdict) }
                return HookResult(verdict: .next)
            }
            harness.start()
            _ = harness.take()
            #expect(harness.closed)
        }
    }

    @Test func tooManyRecipients() {
        var limits = Limits()
        limits.maxRecipients = 2
        var harness = SessionHarness(limits: limits)
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n")
        #expect(harness.take().hasSuffix("452 4.5.3 Too many recipients\r\n"))
    }

    @Test func starttlsDiscardsPipelinedCommandsAndResetsState() {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\n")
        _ = harness.take()
        harness.send("STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n")
        #expect(harness.take() == "220 2.0.0 Ready to start TLS\r\n")
        #expect(harness.tlsStarts == 1)
        harness.send("MAIL FROM:<a@b.test>\r\n")
        #expect(harness.take() == "503 5.5.1 Error: send HELO/EHLO first\r\n")
        harness.send("EHLO c\r\n")
        #expect(!harness.take().contains("STARTTLS"))
        harness.send("STARTTLS\r\n")
        #expect(harness.take() == "503 5.5.1 TLS already active\r\n")
    }

    @Test func submissionNeedsTLSAndAuth() {
        var harness = SessionHarness(kind: .submission, plaintextAuth: false)
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<alice@example.test>\r\n")
        #expect(harness.take().hasSuffix("530 5.7.0 Must issue a STARTTLS command first\r\n"))
        harness.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n")
        #expect(harness.take() == "538 5.7.11 Encryption required for requested authentication mechanism\r\n")
        harness.send("STARTTLS\r\n")
        #expect(harness.take() == "220 2.0.0 Ready to start TLS\r\n")
        harness.send("EHLO c\r\nMAIL FROM:<alice@example.test>\r\n")
        #expect(harness.take().hasSuffix("530 5.7.0 Authentication required\r\n"))
        harness.send("AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\nMAIL FROM:<alice@example.test>\r\n")
        #expect(harness.take() == "235 2.7.0 Authentication successful\r\n250 2.1.0 Sender <alice@example.test> OK\r\n")
    }

    @Test func authLoginAndCramMD5Exchanges() {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\nAUTH LOGIN\r\n")
        #expect(harness.take().hasSuffix("334 VXNlcm5hbWU6\r\n"))
        harness.send("YWxpY2VAZXhhbXBsZS50ZXN0\r\n")
        #expect(harness.take() == "334 UGFzc3dvcmQ6\r\n")
        harness.send("d3Jvbmc=\r\n")
        #expect(harness.take() == "535 5.7.8 Authentication credentials invalid\r\n")
        var captured: AuthCredentials?
        harness.authenticate = { captured = $0; return .success(user: "alice@example.test") }
        harness.send("AUTH CRAM-MD5\r\n")
        #expect(harness.take() == "334 \(Data("<1.2@mx.example.test>".utf8).base64EncodedString())\r\n")
        harness.send(Data("alice@example.test 0123456789abcdef0123456789abcdef".utf8).base64EncodedString() + "\r\n")
        #expect(harness.take() == "235 2.7.0 Authentication successful\r\n")
        #expect(captured == .cramMD5(user: "alice@example.test", challenge: "<1.2@mx.example.test>", digest: "0123456789abcdef0123456789abcdef"))
        harness.send("AUTH PLAIN\r\n")
        #expect(harness.take() == "503 5.5.1 Error: already authenticated\r\n")
    }

    @Test func authCancelAndBadBase64() {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!\r\nAUTH FOO\r\n")
        #expect(harness.take().hasSuffix("334 \r\n501 5.0.0 Authentication cancelled\r\n501 5.5.2 Invalid base64 in authentication response\r\n504 5.5.4 Unrecognized authentication mechanism\r\n"))
    }

    @Test func bdatChunks() throws {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT 5\r\nHelloBDAT 8 LAST\r\n World\r\n")
        let output = harness.take()
        #expect(output.hasSuffix("250 2.0.0 5 octets received\r\n250 2.0.0 Ok: queued as Q1\r\n"))
        let message = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(message.hasSuffix("Hello World\r\n"))
    }

    @Test func bdatWithoutTransactionConsumesTheChunk() {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO c\r\nBDAT 6\r\nNOOP\r\nNOOP\r\n")
        #expect(harness.take().hasSuffix("503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n"))
    }

    @Test func tooManyErrorsDisconnects() {
        var limits = Limits()
        limits.maxErrors = 3
        var harness = SessionHarness(limits: limits)
        harness.start()
        _ = harness.take()
        harness.send("X\r\nX\r\nX\r\nX\r\nNOOP\r\n")
        #expect(harness.take().hasSuffix("421 4.7.0 mx.example.test Error: too many errors\r\n"))
        #expect(harness.closed)
    }

    @Test func shutdownAndTimeout() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.run(harness.session.shutdown())
        #expect(harness.take() == "421 4.3.2 mx.example.test Service shutting down, closing transmission channel\r\n")
        var other = SessionHarness()
        other.start()
        _ = other.take()
        other.run(other.session.timedOut())
        #expect(other.take() == "421 4.4.2 mx.example.test Error: timeout exceeded\r\n")
        #expect(other.closed)
    }

    @Test func dataHookHeadersArePrepended() throws {
        var harness = SessionHarness()
        harness.policy = { call in
            if case .data = call { return HookResult(verdict: .next, addedHeaders: [HeaderField(name: "X-Policy", value: "ok")]) }
            return HookResult(verdict: .next)
        }
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n")
        let message = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(message.hasPrefix("X-Policy: ok\r\nReceived: "))
    }

    @Test func authenticationResultsAreOneFieldUnderOurIDAndForgedOnesAreDropped() throws {
        var harness = SessionHarness()
        harness.policy = { call in
            guard case .data = call else { return HookResult(verdict: .next) }
            var result = HookResult(verdict: .next, addedHeaders: [HeaderField(name: "X-Policy", value: "ok")])
            result.authenticationResults = ["spf=pass smtp.mailfrom=b.test", "dkim=none"]
            return result
        }
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                     + "Authentication-Results: MX.example.test; dkim=pass header.d=bank.test\r\n"
                     + "Authentication-Results: upstream.test; spf=pass\r\n"
                     + "authentication-results: (spoof)\r\n mx.example.test;\r\n\tdmarc=pass\r\n"
                     + "Subject: x\r\n\r\nAuthentication-Results: mx.example.test; in the body\r\n.\r\n")
        let message = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(message.hasPrefix("Authentication-Results: mx.example.test;\r\n\tspf=pass smtp.mailfrom=b.test;\r\n"
                                  + "\tdkim=none\r\nX-Policy: ok\r\nReceived: "))
        #expect(!message.contains("bank.test"))
        #expect(!message.contains("dmarc=pass"))
        #expect(message.contains("Authentication-Results: upstream.test; spf=pass\r\nSubject: x\r\n"))
        #expect(message.contains("\r\n\r\nAuthentication-Results: mx.example.test; in the body"))
    }

    @Test func dataHookSubjectReplacesTheMessagesSubject() throws {
        var harness = SessionHarness()
        harness.policy = { call in
            guard case .data = call else { return HookResult(verdict: .next) }
            var result = HookResult(verdict: .next)
            result.newSubject = "*** SPAM *** Grüße"
            return result
        }
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                     + "Subject: Grüße\r\n folded\r\nFrom: a@b.test\r\n\r\nSubject: in the body\r\n.\r\n")
        let message = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(message.hasPrefix("Subject: =?UTF-8?B?"))
        #expect(message.components(separatedBy: "Subject:").count == 3)  // ours and the body's
        #expect(!message.contains("folded"))
        #expect(message.contains("\r\n\r\nSubject: in the body"))
    }

    @Test func deliveryFailureIsReported() {
        var harness = SessionHarness()
        harness.deliver = { _ in .failed(Reply(452, "4.3.1", "Insufficient system storage")) }
        harness.start()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nx\r\n.\r\n")
        #expect(harness.take().hasSuffix("452 4.3.1 Insufficient system storage\r\n"))
    }
}
