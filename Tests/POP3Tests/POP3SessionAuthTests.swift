import Testing
import Foundation
@testable import POP3
import MailCore
import Policy

@Suite struct POP3SessionAuthTests {
    func started(tls: Bool = true, implicitTLS: Bool = false, plaintextAuth: Bool = true) -> SessionHarness {
        var harness = SessionHarness(tls: tls, implicitTLS: implicitTLS, plaintextAuth: plaintextAuth)
        harness.start()
        _ = harness.take()
        return harness
    }

    func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test func userPassLoginOpensTheMaildrop() {
        var harness = started()
        harness.send("USER webmaster%example.test\r\n")
        #expect(harness.take() == "+OK\r\n")
        harness.send("PASS s3cret with spaces\r\n")
        #expect(harness.take() == "-ERR [AUTH] Authentication failed\r\n")
        #expect(harness.credentials.last! == (.plain(authorizationID: "", user: "webmaster%example.test", password: "s3cret with spaces"), "USER"))
        harness.send("USER alice%example.test\r\nPASS secret\r\n")
        #expect(harness.take() == "+OK\r\n+OK Logged in, maildrop has 3 messages (107 octets)\r\n")
        #expect(harness.openedFor == ["alice@example.test"])
        #expect(harness.session.info.authUser == "alice@example.test")
        #expect(harness.session.state == .transaction)
    }

    @Test func passWithoutUserAndUserResetByOtherAuthCommands() {
        var harness = started()
        harness.send("PASS secret\r\nUSER alice@example.test\r\nAUTH\r\nPASS secret\r\n")
        #expect(harness.take() == "-ERR No username given, send USER first\r\n+OK\r\n+OK Supported mechanisms follow\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\n.\r\n-ERR No username given, send USER first\r\n")
        #expect(harness.credentials.isEmpty)
    }

    @Test func plaintextRefusedWithoutTLS() {
        var harness = started(tls: true, plaintextAuth: false)
        harness.send("USER alice@example.test\r\nPASS secret\r\nAUTH PLAIN\r\nAUTH LOGIN\r\nAUTH\r\n")
        #expect(harness.take() == """
            -ERR [AUTH] Plaintext authentication requires TLS\r
            -ERR No username given, send USER first\r
            -ERR [AUTH] Plaintext authentication requires TLS\r
            -ERR [AUTH] Plaintext authentication requires TLS\r
            +OK Supported mechanisms follow\r
            CRAM-MD5\r
            .\r

            """)
        #expect(harness.credentials.isEmpty)
    }

    @Test func apopDigestPassesThroughWithTheGreetingTimestamp() {
        var harness = started(tls: false, plaintextAuth: false)
        harness.send("APOP alice@example.test 0123456789ABCDEF0123456789ABCDEF\r\n")
        #expect(harness.take() == "+OK Logged in, maildrop has 3 messages (107 octets)\r\n")
        #expect(harness.credentials.first! == (.apop(user: "alice@example.test", timestamp: "<4242.1800000000@pop.example.test>",
                                                     digest: "0123456789abcdef0123456789abcdef"), "APOP"))
        harness.send("APOP alice@example.test 0123456789abcdef0123456789abcdef\r\n")
        #expect(harness.take() == "-ERR Command not valid in TRANSACTION state\r\n")
    }

    @Test func authPlainWithInitialResponse() {
        var harness = started()
        harness.send("AUTH PLAIN \(b64("\0alice@example.test\0secret"))\r\n")
        #expect(harness.take() == "+OK Logged in, maildrop has 3 messages (107 octets)\r\n")
        #expect(harness.credentials.first! == (.plain(authorizationID: "", user: "alice@example.test", password: "secret"), "PLAIN"))
    }

    @Test func authPlainWithChallengeAndAuthorizationID() {
        var harness = started()
        harness.send("AUTH PLAIN\r\n")
        #expect(harness.take() == "+ \r\n")
        harness.send(b64("admin\0alice%example.test\0wrong") + "\r\n")
        #expect(harness.take() == "-ERR [AUTH] Authentication failed\r\n")
        #expect(harness.credentials.first! == (.plain(authorizationID: "admin", user: "alice%example.test", password: "wrong"), "PLAIN"))
    }

    @Test func authPlainEmptyInitialResponseAndMalformedOnes() {
        var harness = started()
        harness.send("AUTH PLAIN =\r\nAUTH PLAIN \(b64("only-one-part"))\r\nAUTH PLAIN !!!\r\n")
        #expect(harness.take() == "-ERR Malformed PLAIN response\r\n-ERR Malformed PLAIN response\r\n-ERR Invalid base64 in authentication response\r\n")
    }

    @Test func authLoginExchange() {
        var harness = started()
        harness.send("AUTH LOGIN\r\n")
        #expect(harness.take() == "+ VXNlcm5hbWU6\r\n")
        harness.send(b64("alice@example.test") + "\r\n")
        #expect(harness.take() == "+ UGFzc3dvcmQ6\r\n")
        harness.send(b64("secret") + "\r\n")
        #expect(harness.take() == "+OK Logged in, maildrop has 3 messages (107 octets)\r\n")
        #expect(harness.credentials.first! == (.plain(authorizationID: "", user: "alice@example.test", password: "secret"), "LOGIN"))
    }

    @Test func authLoginWithInitialResponse() {
        var harness = started()
        harness.send("AUTH LOGIN \(b64("alice@example.test"))\r\n")
        #expect(harness.take() == "+ UGFzc3dvcmQ6\r\n")
        harness.send(b64("secret") + "\r\n")
        #expect(harness.take().hasPrefix("+OK Logged in"))
    }

    @Test func cramMD5WithoutTLS() {
        var harness = started(tls: false, plaintextAuth: false)
        harness.authenticate = { _ in .success(user: "alice@example.test") }
        harness.send("AUTH CRAM-MD5 abc\r\nauth cram-md5\r\n")
        #expect(harness.take() == "-ERR CRAM-MD5 takes no initial response\r\n+ \(b64("<1.2@pop.example.test>"))\r\n")
        harness.send(b64("alice@example.test 0123456789ABCDEF0123456789abcdef") + "\r\n")
        #expect(harness.take().hasPrefix("+OK Logged in"))
        #expect(harness.credentials.first! == (.cramMD5(user: "alice@example.test", challenge: "<1.2@pop.example.test>",
                                                        digest: "0123456789abcdef0123456789abcdef"), "CRAM-MD5"))
    }

    @Test func cramMD5MalformedResponses() {
        var harness = started()
        harness.send("AUTH CRAM-MD5\r\n\(b64("nodigest"))\r\nAUTH CRAM-MD5\r\n\(b64("alice shortdigest"))\r\nAUTH CRAM-MD5\r\n\(b64(" 0123456789abcdef0123456789abcdef"))\r\n")
        let output = harness.take()
        #expect(output.components(separatedBy: "-ERR Malformed CRAM-MD5 response\r\n").count == 4)
        #expect(harness.credentials.isEmpty)
    }

    @Test func cancelAndUnknownMechanism() {
        var harness = started()
        harness.send("AUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n*\r\nAUTH GSSAPI\r\nAUTH XOAUTH2 abc\r\nCAPA\r\n")
        let output = harness.take()
        #expect(output.hasPrefix("+ VXNlcm5hbWU6\r\n-ERR Authentication cancelled\r\n+ \r\n-ERR Authentication cancelled\r\n-ERR Unsupported authentication mechanism\r\n-ERR Unsupported authentication mechanism\r\n+OK Capability list follows\r\n"))
        #expect(harness.credentials.isEmpty)
    }

    @Test func longAuthResponsesAreBoundedToo() {
        var harness = started()
        harness.send("AUTH PLAIN\r\n" + String(repeating: "A", count: 20_000) + "\r\nNOOP\r\n")
        #expect(harness.take() == "+ \r\n-ERR Line too long\r\n-ERR Not logged in\r\n")
        // An AUTH initial response may exceed the command line limit (not the hard bound).
        let response = b64("\0alice@example.test\0" + String(repeating: "p", count: 600))
        harness.send("AUTH PLAIN \(response)\r\n")
        #expect(harness.take() == "-ERR [AUTH] Authentication failed\r\n")
    }

    @Test func loginDelayFromPolicyClosesTheConnection() {
        var harness = started()
        // The ratelimit policy answers a second login within the interval like this.
        harness.authenticate = { _ in
            POP3AuthOutcome(verdict: .disconnect(Reply(421, "4.7.0", "[LOGIN-DELAY] Login allowed once per 60 seconds")),
                            verifiedUser: "alice@example.test")
        }
        harness.send("USER alice@example.test\r\nPASS secret\r\nSTAT\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [LOGIN-DELAY] Login allowed once per 60 seconds\r\n")
        #expect(harness.closed)
        #expect(harness.openedFor.isEmpty)
        #expect(harness.session.info.authUser == nil)
    }

    @Test func loginDelayAsRejectAlsoCloses() {
        var harness = started()
        harness.authenticate = { _ in .refused(Reply(550, "5.7.0", "[LOGIN-DELAY] wait")) }
        harness.send("USER alice@example.test\r\nPASS secret\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [LOGIN-DELAY] wait\r\n")
        #expect(harness.closed)
    }

    @Test func policyDeferAndRejectKeepTheSessionOpen() {
        var harness = started()
        harness.authenticate = { _ in
            POP3AuthOutcome(verdict: .deferred(Reply(454, "4.7.0", "Too many failed logins, try again later")), verifiedUser: nil)
        }
        harness.send("USER a@example.test\r\nPASS x\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [SYS/TEMP] Too many failed logins, try again later\r\n")
        harness.authenticate = { _ in .refused(Reply(535, "5.7.8", "Account disabled")) }
        harness.send("USER a@example.test\r\nPASS x\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [AUTH] Account disabled\r\n")
        harness.authenticate = { _ in .temporary("Authentication service unavailable") }
        harness.send("USER a@example.test\r\nPASS x\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [SYS/TEMP] Authentication service unavailable\r\n")
        #expect(!harness.closed)
    }

    @Test func policyDisconnectWithoutCode() {
        var harness = started()
        harness.authenticate = { _ in .disconnect(Reply(554, "5.7.1", "Go away")) }
        harness.send("USER a@example.test\r\nPASS x\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [AUTH] Go away\r\n")
        #expect(harness.closed)
    }

    @Test func outcomeFromVerdict() {
        #expect(POP3AuthOutcome(verdict: .next, verifiedUser: "a@b.test") == .success(user: "a@b.test"))
        #expect(POP3AuthOutcome(verdict: .accept, verifiedUser: nil) == .failure)
        #expect(POP3AuthOutcome(verdict: .next, verifiedUser: nil) == .failure)
        #expect(POP3AuthOutcome(verdict: .reject(Reply(535, nil, "x")), verifiedUser: "a@b.test") == .refused(Reply(535, nil, "x")))
        #expect(POP3AuthOutcome(verdict: .deferred(Reply(454, nil, "x")), verifiedUser: nil) == .refused(Reply(454, nil, "x")))
        #expect(POP3AuthOutcome(verdict: .disconnect(Reply(421, nil, "x")), verifiedUser: "a@b.test") == .disconnect(Reply(421, nil, "x")))
    }

    @Test func mailboxInUse() {
        var harness = started()
        harness.maildrop = { _ in .inUse }
        harness.send("USER alice@example.test\r\nPASS secret\r\nSTAT\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [IN-USE] Mailbox is locked by another session\r\n-ERR Not logged in\r\n")
        #expect(harness.session.info.authUser == nil)
        #expect(harness.session.state == .authorization)
        harness.authenticate = { _ in .inUse }
        harness.send("APOP alice@example.test 0123456789abcdef0123456789abcdef\r\n")
        #expect(harness.take() == "-ERR [IN-USE] Mailbox is locked by another session\r\n")
        #expect(!harness.closed)
    }

    @Test func maildropFailure() {
        var harness = started()
        harness.maildrop = { _ in .failed("Unable to open maildrop") }
        harness.send("USER alice@example.test\r\nPASS secret\r\n")
        #expect(harness.take() == "+OK\r\n-ERR [SYS/TEMP] Unable to open maildrop\r\n")
        #expect(harness.session.state == .authorization)
    }

    @Test func repeatedFailuresClose() {
        var limits = Limits()
        limits.maxErrors = 2
        var harness = SessionHarness(limits: limits)
        harness.start()
        _ = harness.take()
        harness.send("USER a@example.test\r\nPASS 1\r\nUSER a@example.test\r\nPASS 2\r\nUSER a@example.test\r\nPASS 3\r\n")
        #expect(harness.take().hasSuffix("-ERR [AUTH] Authentication failed\r\n+OK\r\n-ERR Too many errors, closing connection\r\n"))
        #expect(harness.closed)
    }

    @Test func pipelinedLoginIsAnsweredInOrder() {
        var harness = started()
        // The driver answers asynchronously: nothing after PASS runs until auth and maildrop are done.
        var actions = harness.session.receive(Array("USER alice@example.test\r\nPASS secret\r\nSTAT\r\nQUIT\r\n".utf8))
        #expect(actions.count == 2)
        guard case .authenticate = actions[1] else { Issue.record("expected authenticate"); return }
        #expect(harness.session.isWaiting)
        actions = harness.session.receive(Array("NOOP\r\n".utf8))
        #expect(actions.isEmpty)
        actions = harness.session.authFinished(.success(user: "alice@example.test"))
        #expect(actions == [.openMaildrop(user: "alice@example.test")])
        actions = harness.session.maildropOpened(.opened([]))
        #expect(actions == [.send(.ok("Logged in, maildrop has 0 messages (0 octets)")), .send(.ok("0 0")),
                            .send(.ok("pop.example.test POP3 server signing off")), .close])
    }
}
