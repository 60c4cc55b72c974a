// Client input that must never reach a header line or split a reply (issue 11 §2, §8):
// controls in commands, quoted pairs, parameter grammar, line limits with extensions,
// BDAT's body checks and STARTTLS forgetting a login.
import Testing
@testable import SMTP
import MailCore
import Policy

@Suite struct SMTPInputHardeningTests {
    func parse(_ line: String) throws(MailError) -> SMTPCommand {
        try SMTPCommandParser.parse(Substring(line), postmasterDomain: "example.test")
    }

    func greeted() -> SessionHarness {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        return harness
    }

    @Test(arguments: ["\r", "\u{0}", "\u{1}", "\u{7F}", "\u{0B}", "\u{0C}", "\u{1B}"])
    func controlsInEHLOAreRefusedAndNeverReachTheReceivedField(_ control: String) {
        var harness = greeted()
        harness.send("EHLO x\(control)From:ceo@bank.test\(control)Subject:urgent\r\n")
        #expect(harness.take().hasPrefix("501 5.5.2 "))
        harness.send("HELO x\(control)y\r\n")
        #expect(harness.take().hasPrefix("501 5.5.2 "))
        #expect(harness.hooks.count == 1, "a refused HELO never reaches the policy chain (only connect did)")
        harness.send("MAIL FROM:<a@b.test>\r\n")
        #expect(harness.take() == "503 5.5.1 Error: send HELO/EHLO first\r\n")
    }

    @Test func theParserRefusesControlsAndSpacesInHELOEvenWhenCalledDirectly() throws {
        for name in ["x\rFrom:a", "x\ty", "x\u{0}", "a b"] {
            #expect(throws: MailError(501, "5.5.4", "Syntax: EHLO hostname")) { try parse("EHLO " + name) }
        }
        #expect(try parse("EHLO my_host") == .ehlo("my_host"), "not a domain, but real clients send such names")
    }

    @Test(arguments: ["\r", "\n", "\u{0}", "\u{1F}", "\u{7F}"])
    func aQuotedPairMayNotEscapeAControl(_ control: String) {
        #expect(throws: MailAddress.ParseError.badLocalPart) { try MailAddress.parse("\"\\\(control)Reply-To: x@evil.test\"@sender.test") }
        #expect(throws: MailAddress.ParseError.badLocalPart) { try MailAddress.parse("\"a\(control)b\"@sender.test") }
        #expect(throws: (any Error).self) { try parse("MAIL FROM:<\"\\\(control)Reply-To: x@evil.test\"@sender.test>") }
    }

    @Test func quotedPairsOfPrintableCharactersStillWork() throws {
        let address = try MailAddress.parse("\"a\\\"b\\\\c d\"@example.test")
        #expect(address.localPart == "a\"b\\c d")
        #expect(address.address == "\"a\\\"b\\\\c d\"@example.test")
        let utf8 = try MailAddress.parse("\"jos\u{E9} x\"@example.test", allowUTF8: true)
        #expect(utf8.localPart == "jos\u{E9} x")
        #expect(throws: MailAddress.ParseError.badLocalPart) { try MailAddress.parse("\"jos\u{E9}\"@example.test") }
    }

    @Test func aSenderWithABareCRInTheQuotedPartGetsOneReplyLine() {
        var harness = greeted()
        harness.send("EHLO c\r\nMAIL FROM:<\"\\\rReply-To: attacker@evil.test\"@sender.test>\r\n")
        let output = harness.take()
        let lines = output.split(separator: "\r\n", omittingEmptySubsequences: false)
        #expect(lines.last == "")
        #expect(lines.dropLast().allSatisfy { !$0.contains("\r") && !$0.contains("\n") })
        #expect(output.hasSuffix("501 5.5.2 Syntax error: control characters are not allowed in commands\r\n"))
    }

    @Test func parametersFollowTheEsmtpGrammar() throws {
        #expect(throws: MailError(501, "5.5.4", "Bad parameter syntax")) { try parse("MAIL FROM:<a@b.test> S\u{E9}ZE=1") }
        #expect(throws: MailError(501, "5.5.4", "Bad parameter syntax")) { try parse("MAIL FROM:<a@b.test> -X=1") }
        #expect(throws: MailError(501, "5.5.4", "Bad parameter value")) { try parse("MAIL FROM:<a@b.test> SIZE=") }
        #expect(throws: MailError(501, "5.5.4", "Bad parameter value")) { try parse("MAIL FROM:<a@b.test> ENVID=a=b") }
        #expect(throws: MailError(501, "5.5.4", "Bad parameter value")) { try parse("MAIL FROM:<a@b.test> ENVID=a\u{7F}") }
        #expect(try parse("MAIL FROM:<a@b.test> X-FOO") == .mail(reversePath: try? MailAddress.parse("a@b.test"), parameters: ["X-FOO": ""]))
    }

    @Test func numbersAreDigitsOnly() {
        for size in ["+5", "-1", "0x5", "5.0", "1e3"] {
            #expect(throws: MailError(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]")) { try parse("BDAT \(size)") }
        }
        var harness = greeted()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test> SIZE=+100\r\n")
        #expect(harness.take().hasSuffix("501 5.5.4 Bad SIZE parameter\r\n"))
        harness.send("MAIL FROM:<a@b.test> SIZE=99999999999999999999999\r\n")
        #expect(harness.take() == "501 5.5.4 Bad SIZE parameter\r\n")
        harness.send("MAIL FROM:<a@b.test> SMTPUTF8=yes\r\n")
        #expect(harness.take() == "501 5.5.4 SMTPUTF8 takes no value\r\n")
    }

    @Test func aNonASCIISenderWithoutSMTPUTF8Gets553() {
        var harness = greeted()
        harness.send("EHLO c\r\nMAIL FROM:<j\u{F6}rg@b.test>\r\n")
        #expect(harness.take().hasSuffix("553 5.6.7 Non-ASCII sender address needs SMTPUTF8\r\n"))
        harness.send("MAIL FROM:<j\u{F6}rg@b.test> SMTPUTF8\r\n")
        #expect(harness.take().hasPrefix("250 2.1.0"))
    }

    @Test func dsnParametersAreChecked() {
        var harness = greeted()
        harness.send("EHLO c\r\n")
        _ = harness.take()
        for bad in ["ENVID=" + String(repeating: "a", count: 101), "ENVID=a+2b", "ENVID=a+0D", "ENVID=a+4", "AUTH=x+0A"] {
            harness.send("MAIL FROM:<a@b.test> \(bad)\r\n")
            #expect(harness.take().hasPrefix("501 5.5.4 Bad "), "\(bad)")
        }
        harness.send("MAIL FROM:<a@b.test> ENVID=QQ+2B314 AUTH=<> RET=HDRS\r\n")
        #expect(harness.take().hasPrefix("250 2.1.0"))
        for bad in ["ORCPT=bob@example.test", "ORCPT=;bob@example.test", "ORCPT=rfc822;", "ORCPT=rfc822;a+0Db@x",
                    "ORCPT=r\u{E9}c;a", "ORCPT=rfc822;" + String(repeating: "a", count: 500)] {
            harness.send("RCPT TO:<bob@example.test> \(bad)\r\n")
            #expect(harness.take() == "501 5.5.4 Bad ORCPT parameter\r\n", "\(bad)")
        }
        harness.send("RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@example.test\r\n")
        #expect(harness.take().hasPrefix("250 2.1.5"))
        harness.send("RCPT TO:<bob@example.test> ORCPT=utf-8;j\u{F6}rg@example.test\r\n")
        #expect(harness.take().hasPrefix("250 2.1.5"))
    }

    @Test func extensionsLengthenMailAndRcptLines() {
        var harness = greeted()
        harness.send("EHLO c\r\n")
        _ = harness.take()
        let envid = String(repeating: "e", count: 100)
        let auth = String(repeating: "u", count: 300) + "@example.test"
        let mail = "MAIL FROM:<" + String(repeating: "s", count: 64) + "@" + String(repeating: "d", count: 60)
            + ".test> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=\(envid) AUTH=\(auth) SMTPUTF8"
        #expect(mail.utf8.count + 2 > 512)
        harness.send(mail + "\r\n")
        #expect(harness.take().hasPrefix("250 2.1.0"))
        let rcpt = "RCPT TO:<bob@example.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;" + String(repeating: "o", count: 480)
        #expect(rcpt.utf8.count + 2 > 512)
        harness.send(rcpt + "\r\n")
        #expect(harness.take().hasPrefix("250 2.1.5"))
        harness.send("NOOP " + String(repeating: "n", count: 520) + "\r\n")
        #expect(harness.take() == "500 5.5.2 Line too long\r\n")
        harness.send("RCPT TO:<bob@example.test> ORCPT=rfc822;" + String(repeating: "o", count: 1100) + "\r\n")
        #expect(harness.take() == "500 5.5.2 Line too long\r\n")
    }

    @Test func aBareLFDoesNotEndACommand() {
        var harness = greeted()
        harness.send("EHLO c\nNOOP\r\n")
        #expect(harness.take() == "500 5.5.2 Syntax error: commands must end with CRLF\r\n250 2.0.0 Ok\r\n")
        #expect(harness.hooks.count == 1, "only connect: the EHLO was not taken")
    }

    @Test func anOverlongAuthLineGets556() {
        var harness = greeted()
        harness.send("EHLO c\r\nAUTH PLAIN\r\n")
        #expect(harness.take().hasSuffix("334 \r\n"))
        harness.send(String(repeating: "A", count: 13000) + "\r\n")
        #expect(harness.take() == "500 5.5.6 Authentication exchange line is too long\r\n")
        harness.send("AUTH PLAIN " + String(repeating: "A", count: 13000) + "\r\n")
        #expect(harness.take() == "500 5.5.6 Authentication exchange line is too long\r\n")
    }

    @Test func bdatGetsTheSameBodyChecksAsData() {
        func bdat(_ body: String) -> String {
            var harness = SessionHarness()
            harness.start()
            harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\n")
            _ = harness.take()
            harness.send("BDAT \(body.utf8.count) LAST\r\n" + body)
            return harness.take()
        }
        #expect(bdat("Subject: x\r\n\r\nbare\nLF\r\n") == "550 5.6.11 Bare CR or LF in message text is not allowed (RFC 5321 2.3.8)\r\n")
        #expect(bdat("Subject: x\r\n\r\nbare\rCR\r\n") == "550 5.6.11 Bare CR or LF in message text is not allowed (RFC 5321 2.3.8)\r\n")
        #expect(bdat("Subject: x\r\n\r\n" + String(repeating: "y", count: 5000) + "\r\n")
                == "550 5.6.0 Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)\r\n")
        #expect(bdat("Subject: x\r\n\r\n" + String(repeating: "y", count: 998) + "\r\n").hasPrefix("250 2.0.0"))
    }

    @Test func bdatContentWithoutFinalCRLFIsStoredWithOne() throws {
        var harness = greeted()
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT 16 LAST\r\nSubject: x\r\n\r\nab")
        #expect(harness.take().hasSuffix("250 2.0.0 Ok: queued as Q1\r\n"))
        let message = try #require(harness.delivered.first).message
        #expect(String(decoding: message, as: UTF8.self).hasSuffix("\r\n\r\nab\r\n"))
    }

    @Test func startTLSForgetsALoginMadeBeforeIt() {
        var harness = greeted()
        // "AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=" is "\0alice@example.test\0secret"
        harness.send("EHLO c\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\n")
        #expect(harness.take().hasSuffix("235 2.7.0 Authentication successful\r\n"))
        harness.session.info.tls = false
        harness.send("STARTTLS\r\n")
        #expect(harness.tlsStarts == 1)
        #expect(harness.session.info.authUser == nil)
        harness.send("EHLO c\r\n")
        #expect(harness.take().contains("AUTH PLAIN LOGIN CRAM-MD5"), "AUTH is offered again: nobody is logged in")
    }

    @Test func receivedFieldQuotesOddHELONamesAndWritesIPv6Literals() throws {
        var harness = SessionHarness()
        harness.session.info.clientIP = "2001:db8::1"
        harness.start()
        harness.send("EHLO evil(x)\\name\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
        let text = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(text.hasPrefix("Received: from [IPv6:2001:db8::1] (HELO evil\\(x\\)\\\\name)\r\n\tby mx.example.test (mailgate) with ESMTP id Q1\r\n"))
    }

    @Test func receivedFieldNamesUTF8SMTP() throws {
        var harness = SessionHarness()
        harness.start()
        harness.send("EHLO [192.0.2.1]\r\nMAIL FROM:<a@b.test> SMTPUTF8\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: x\r\n\r\nhi\r\n.\r\n")
        let text = String(decoding: try #require(harness.delivered.first).message, as: UTF8.self)
        #expect(text.hasPrefix("Received: from [192.0.2.1] ([192.0.2.1])\r\n\tby mx.example.test (mailgate) with UTF8SMTP id Q1\r\n"))
    }

    @Test func abandonedTransactionsSayWhyInTheLog() {
        var harness = greeted()
        harness.policy = { call in
            if case .rcpt = call { return HookResult(verdict: .reject(Reply(550, "5.1.1", "no"))) }
            return HookResult(verdict: .next)
        }
        harness.send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nQUIT\r\n")
        #expect(harness.logs.count == 1)
        #expect(harness.logs.first?.resultText == "abandoned: client quit after RCPT refusals")
        #expect(harness.logs.first?.result == nil)
    }
}
