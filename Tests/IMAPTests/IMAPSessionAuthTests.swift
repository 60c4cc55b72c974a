// LOGIN, AUTHENTICATE PLAIN/LOGIN/CRAM-MD5 with SASL-IR, LOGINDISABLED, STARTTLS, and
// how auth outcomes (policy verdicts) are answered.
import Foundation
import Testing
import MailCore
import Policy
@testable import IMAP

@Suite struct IMAPSessionAuthTests {
    func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    @Test func loginWithPercentForm() {
        let h = IMAPSessionHarness()
        #expect(h.send("a LOGIN \"alice%example.test\" secret").hasPrefix("a OK [CAPABILITY IMAP4rev1"))
        #expect(h.session.state == .authenticated)
        #expect(h.session.info.authUser == "alice@example.test")
        #expect(h.credentials.first?.1 == "LOGIN")
    }

    @Test func badPasswordIsAuthenticationFailed() {
        let h = IMAPSessionHarness()
        #expect(h.send("a LOGIN alice@example.test nope") == "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n")
        #expect(h.session.state == .notAuthenticated)
    }

    @Test func plaintextRefusedBeforeTLS() {
        let h = IMAPSessionHarness(plaintextAuth: false)
        #expect(h.send("a LOGIN alice@example.test secret") == "a NO [PRIVACYREQUIRED] Plaintext authentication requires TLS (use STARTTLS)\r\n")
        #expect(h.send("b AUTHENTICATE PLAIN").hasPrefix("b NO [PRIVACYREQUIRED]"))
        #expect(h.send("c STARTTLS") == "c OK Begin TLS negotiation now\r\n")
        #expect(h.tlsStarts == 1)
        let caps = h.send("d CAPABILITY")
        #expect(!caps.contains("LOGINDISABLED") && !caps.contains("STARTTLS") && caps.contains("AUTH=PLAIN"))
        #expect(h.send("e LOGIN alice@example.test secret").hasPrefix("e OK"))
    }

    @Test func starttlsNotAvailable() {
        let h = IMAPSessionHarness(tls: false)
        #expect(h.send("a STARTTLS") == "a BAD TLS not available\r\n")
    }

    @Test func authenticatePlainWithAndWithoutInitialResponse() {
        let h = IMAPSessionHarness()
        #expect(h.send("a AUTHENTICATE PLAIN \(b64("\0alice@example.test\0secret"))").hasPrefix("a OK"))
        let h2 = IMAPSessionHarness()
        #expect(h2.send("a AUTHENTICATE PLAIN") == "+ \r\n")
        #expect(h2.send(b64("\0alice@example.test\0secret")).hasPrefix("a OK"))
        #expect(h2.credentials.first?.1 == "PLAIN")
    }

    @Test func authenticateLogin() {
        let h = IMAPSessionHarness()
        #expect(h.send("a AUTHENTICATE LOGIN") == "+ \(b64("Username:"))\r\n")
        #expect(h.send(b64("alice@example.test")) == "+ \(b64("Password:"))\r\n")
        #expect(h.send(b64("secret")).hasPrefix("a OK"))
    }

    @Test func authenticateCramMD5() {
        let h = IMAPSessionHarness(plaintextAuth: false)
        #expect(h.send("a AUTHENTICATE CRAM-MD5") == "+ \(b64("<1.2@imap.example.test>"))\r\n")
        _ = h.send(b64("alice@example.test 0123456789abcdef0123456789abcdef"))
        #expect(h.credentials.first?.0 == .cramMD5(user: "alice@example.test", challenge: "<1.2@imap.example.test>",
                                                     digest: "0123456789abcdef0123456789abcdef"))
    }

    @Test func loginNamesWithControlsAreRefused() {
        let h = IMAPSessionHarness()
        #expect(h.send("a LOGIN {4+}\r\nb\rob secret") == "a BAD Invalid user name\r\n")
        #expect(h.credentials.isEmpty)
    }

    @Test func saslCancelAndGarbage() {
        let h = IMAPSessionHarness()
        _ = h.send("a AUTHENTICATE PLAIN")
        #expect(h.send("*") == "a BAD Authentication cancelled\r\n")
        _ = h.send("b AUTHENTICATE PLAIN")
        #expect(h.send("!!!") == "b BAD Invalid base64 in authentication response\r\n")
        #expect(h.send("c AUTHENTICATE GSSAPI") == "c NO [CANNOT] Unsupported authentication mechanism\r\n")
    }

    @Test func policyVerdicts() {
        let h = IMAPSessionHarness()
        h.authenticate = { _ in IMAPAuthOutcome(verdict: .deferred(Reply(451, "4.7.0", "slow down")), verifiedUser: "x") }
        #expect(h.send("a LOGIN alice@example.test secret") == "a NO [UNAVAILABLE] slow down\r\n")
        h.authenticate = { _ in IMAPAuthOutcome(verdict: .disconnect(Reply(554, nil, "bye now")), verifiedUser: nil) }
        #expect(h.send("b LOGIN alice@example.test secret") == "b NO [AUTHENTICATIONFAILED] bye now\r\n* BYE bye now\r\n")
        #expect(h.closed)
    }

    @Test func policyCannotAdmitBadLogin() {
        #expect(IMAPAuthOutcome(verdict: .accept, verifiedUser: nil) == .failure)
        #expect(IMAPAuthOutcome(verdict: .next, verifiedUser: "a@b") == .success(user: "a@b"))
    }
}
