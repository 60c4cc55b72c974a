import Testing
@testable import POP3
import MailCore
import Policy

@Suite struct POP3SessionTests {
    @Test func greetingCarriesTheAPOPTimestampAfterTheConnectHook() {
        var harness = SessionHarness()
        harness.start()
        #expect(harness.take() == "+OK pop.example.test POP3 ready <4242.1800000000@pop.example.test>\r\n")
        #expect(harness.hooks == [.connect(SessionInfo(id: "p1", protocolName: "pop3", listener: "pop3", clientIP: "192.0.2.7"))])
        #expect(harness.session.timestamp == "<4242.1800000000@pop.example.test>")
    }

    @Test func connectHookRejectionClosesWithErr() {
        var harness = SessionHarness()
        harness.policy = { _ in HookResult(verdict: .disconnect(Reply(421, "4.7.0", "Too many connections, slow down"))) }
        harness.start()
        #expect(harness.take() == "-ERR [SYS/TEMP] Too many connections, slow down\r\n")
        #expect(harness.closed)
        var rejected = SessionHarness()
        rejected.policy = { _ in HookResult(verdict: .reject(Reply(554, "5.7.1", "You are blocked"))) }
        rejected.start()
        #expect(rejected.take() == "-ERR [SYS/PERM] You are blocked\r\n")
        #expect(rejected.closed)
    }

    @Test func inputBeforeTheGreetingIsAnsweredAfterIt() {
        var harness = SessionHarness()
        var actions = harness.session.start()
        guard case .runHook = actions.first else { Issue.record("expected the connect hook"); return }
        #expect(harness.session.isWaiting)
        #expect(harness.session.receive(Array("CAPA\r\n".utf8)).isEmpty)
        actions = harness.session.hookFinished(HookResult(verdict: .next))
        harness.run(actions)
        let output = harness.take()
        #expect(output.hasPrefix("+OK pop.example.test POP3 ready"))
        #expect(output.contains("+OK Capability list follows\r\n"))
    }

    @Test func capaBeforeLoginWithTLSAvailable() {
        var harness = SessionHarness(tls: true, plaintextAuth: false)
        harness.start()
        _ = harness.take()
        harness.send("CAPA\r\n")
        #expect(harness.take() == """
            +OK Capability list follows\r
            TOP\r
            UIDL\r
            SASL CRAM-MD5\r
            RESP-CODES\r
            AUTH-RESP-CODE\r
            PIPELINING\r
            LOGIN-DELAY 60\r
            EXPIRE NEVER\r
            IMPLEMENTATION mailgate\r
            STLS\r
            .\r

            """)
    }

    @Test func capaOverTLSOffersPlaintextAndNoSTLS() {
        var harness = SessionHarness(tls: true, implicitTLS: true, plaintextAuth: false, loginDelay: nil)
        harness.start()
        _ = harness.take()
        harness.send("capa\r\n")
        let output = harness.take()
        #expect(output.contains("\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\n"))
        #expect(!output.contains("STLS"))
        #expect(!output.contains("LOGIN-DELAY"))
        #expect(harness.session.info.tls)
    }

    @Test func capaWithPlaintextAllowedAndNoCertificate() {
        var harness = SessionHarness(tls: false, plaintextAuth: true)
        harness.start()
        _ = harness.take()
        harness.send("CAPA\r\n")
        let output = harness.take()
        #expect(output.contains("\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5\r\n"))
        #expect(!output.contains("STLS"))
    }

    @Test func capaAfterLoginOmitsLoginCapabilities() {
        var harness = SessionHarness(tls: true, plaintextAuth: true)
        harness.login()
        harness.send("CAPA\r\n")
        let output = harness.take()
        #expect(output == "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nLOGIN-DELAY 60\r\nEXPIRE NEVER\r\nIMPLEMENTATION mailgate\r\n.\r\n")
    }

    @Test func stlsDiscardsPipelinedInputAndEnablesPlaintext() {
        var harness = SessionHarness(tls: true, plaintextAuth: false)
        harness.start()
        _ = harness.take()
        harness.send("USER alice@example.test\r\n")
        #expect(harness.take() == "-ERR [AUTH] Plaintext authentication requires TLS\r\n")
        // An attacker appends commands in clear after STLS: they must never run.
        harness.send("STLS\r\nUSER mallory@example.test\r\nPASS x\r\n")
        #expect(harness.take() == "+OK Begin TLS negotiation\r\n")
        #expect(harness.tlsStarts == 1)
        #expect(harness.credentials.isEmpty)
        #expect(harness.session.info.tls)
        harness.send("PASS secret\r\n")
        #expect(harness.take() == "-ERR No username given, send USER first\r\n")
        harness.send("USER alice@example.test\r\nPASS secret\r\n")
        #expect(harness.take() == "+OK\r\n+OK Logged in, maildrop has 3 messages (107 octets)\r\n")
    }

    @Test func stlsRefusals() {
        var harness = SessionHarness(tls: false)
        harness.start()
        _ = harness.take()
        harness.send("STLS\r\n")
        #expect(harness.take() == "-ERR STLS not available\r\n")
        var secure = SessionHarness(implicitTLS: true)
        secure.start()
        _ = secure.take()
        secure.send("STLS\r\n")
        #expect(secure.take() == "-ERR TLS already active\r\n")
        var loggedIn = SessionHarness(plaintextAuth: true)
        loggedIn.login()
        loggedIn.send("STLS\r\n")
        #expect(loggedIn.take() == "-ERR Command not valid in TRANSACTION state\r\n")
        #expect(loggedIn.tlsStarts == 0)
    }

    @Test func unknownAndMisplacedCommands() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.send("FROB\r\nSTAT\r\nRETR 1\r\nNOOP\r\nLAST\r\n")
        #expect(harness.take() == "-ERR Unknown command\r\n-ERR Not logged in\r\n-ERR Not logged in\r\n-ERR Not logged in\r\n-ERR Unknown command\r\n")
        #expect(!harness.closed)
    }

    @Test func invalidBytesInACommand() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.run(harness.session.receive([0x53, 0x54, 0x00, 0x41, 0x0D, 0x0A, 0xFF, 0x0D, 0x0A]))
        #expect(harness.take() == "-ERR Invalid characters in command\r\n-ERR Invalid characters in command\r\n")
    }

    @Test func longLinesAreRefusedAndServiceContinues() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.send("USER " + String(repeating: "x", count: 600) + "\r\nCAPA\r\n")
        let output = harness.take()
        #expect(output.hasPrefix("-ERR Line too long\r\n+OK Capability list follows\r\n"))
        // A line with no end at all is not buffered: the buffer stays bounded.
        for _ in 0..<100 { harness.send(String(repeating: "y", count: 1000)) }
        #expect(harness.session.buffer.count <= POP3Session.maxAuthLine)
        harness.send("\r\nQUIT\r\n")
        #expect(harness.take() == "-ERR Line too long\r\n+OK pop.example.test POP3 server signing off\r\n")
        #expect(harness.closed)
    }

    @Test func tooManyErrorsCloses() {
        var limits = Limits()
        limits.maxErrors = 3
        var harness = SessionHarness(limits: limits)
        harness.start()
        _ = harness.take()
        harness.send("X\r\nX\r\nX\r\nX\r\nCAPA\r\n")
        #expect(harness.take() == "-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Unknown command\r\n-ERR Too many errors, closing connection\r\n")
        #expect(harness.closed)
    }

    @Test func byteAtATimeGivesTheSameResult() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.sendBytewise("user alice%example.test\r\npass secret\r\nstat\r\nlist 2\r\nretr 2\r\nquit\r\n")
        #expect(harness.take() == """
            +OK\r
            +OK Logged in, maildrop has 3 messages (107 octets)\r
            +OK 3 107\r
            +OK 2 47\r
            +OK 47 octets\r
            Subject: two\r
            X: y\r
            \r
            line 1\r
            ..dotted\r
            line 3\r
            .\r
            +OK pop.example.test POP3 server signing off\r

            """)
        #expect(harness.closed)
    }

    @Test func quitInAuthorization() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        harness.send("QUIT\r\nCAPA\r\n")
        #expect(harness.take() == "+OK pop.example.test POP3 server signing off\r\n")
        #expect(harness.closed)
        #expect(harness.session.isClosed)
        #expect(harness.session.receive(Array("CAPA\r\n".utf8)).isEmpty)
    }

    @Test func timeoutClosesSilentlyAndDeletesNothing() {
        var harness = SessionHarness()
        harness.login()
        harness.send("DELE 1\r\n")
        _ = harness.take()
        harness.run(harness.session.timedOut())
        #expect(harness.take() == "")
        #expect(harness.closed)
        #expect(harness.commits.isEmpty)
    }

    @Test func shutdownWhenIdle() {
        var harness = SessionHarness()
        harness.login()
        harness.send("DELE 1\r\n")
        _ = harness.take()
        harness.run(harness.session.shutdown())
        #expect(harness.take() == "-ERR [SYS/TEMP] Server shutting down\r\n")
        #expect(harness.closed)
        #expect(harness.commits.isEmpty)
    }

    @Test func shutdownWaitsForTheActionInFlight() {
        var harness = SessionHarness()
        harness.login()
        let actions = harness.session.receive(Array("RETR 1\r\nSTAT\r\n".utf8))
        guard case .sendMessage = actions.first else { Issue.record("expected a transfer"); return }
        #expect(harness.session.shutdown().isEmpty)
        harness.run(harness.session.messageSent(.sent))
        #expect(harness.take() == "-ERR [SYS/TEMP] Server shutting down\r\n")
        #expect(harness.closed)
    }

    @Test func connectionDropLosesNothing() {
        var harness = SessionHarness()
        harness.login()
        harness.send("DELE 1\r\nDELE 2\r\n")
        _ = harness.take()
        harness.session.connectionClosed()
        #expect(harness.session.isClosed)
        #expect(harness.session.receive(Array("QUIT\r\n".utf8)).isEmpty)
        #expect(harness.commits.isEmpty)
    }

    @Test func lateCallbacksAreIgnored() {
        var harness = SessionHarness()
        harness.start()
        _ = harness.take()
        #expect(harness.session.authFinished(.success(user: "x@y.test")).isEmpty)
        #expect(harness.session.maildropOpened(.opened([])).isEmpty)
        #expect(harness.session.messageSent(.sent).isEmpty)
        #expect(harness.session.deletionsCommitted(success: true).isEmpty)
        #expect(harness.session.tlsStarted().isEmpty)
        #expect(harness.session.hookFinished(HookResult(verdict: .next)).isEmpty)
        #expect(harness.session.state == .authorization)
    }
}

@Suite struct POP3SessionFloodTests {
    @Test func floodWhileWaitingIsCutOff() {
        var harness = SessionHarness()
        harness.login()
        let first = harness.session.receive(Array("RETR 1\r\n".utf8))
        #expect(first.count == 1)
        let chunk = Array(String(repeating: "NOOP\r\n", count: 10_000).utf8)
        var closed = false
        for _ in 0..<30 where !closed {
            closed = harness.session.receive(chunk) == [.close]
        }
        #expect(closed)
        #expect(harness.session.isClosed)
    }
}
