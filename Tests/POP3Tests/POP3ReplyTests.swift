import Testing
@testable import POP3
import MailCore

@Suite struct POP3ReplyTests {
    @Test func singleLineForms() {
        #expect(POP3Reply.ok().wire == "+OK\r\n")
        #expect(POP3Reply.ok("2 320").wire == "+OK 2 320\r\n")
        #expect(POP3Reply.error("Authentication failed", code: "AUTH").wire == "-ERR [AUTH] Authentication failed\r\n")
        #expect(POP3Reply.continuation("").wire == "+ \r\n")
        #expect(POP3Reply.continuation("VXNlcm5hbWU6").wire == "+ VXNlcm5hbWU6\r\n")
    }

    @Test func multiLineIsStuffedAndTerminated() {
        let reply = POP3Reply.ok("follows", lines: ["TOP", ".hidden", ""])
        #expect(reply.wire == "+OK follows\r\nTOP\r\n..hidden\r\n\r\n.\r\n")
        #expect(POP3Reply.ok("empty", lines: []).wire == "+OK empty\r\n.\r\n")
        #expect(reply.description == "+OK follows")
    }

    @Test func lineBreaksInTextCannotSplitTheStatusLine() {
        #expect(POP3Reply.error("a\r\n+OK injected").wire == "-ERR a  +OK injected\r\n")
    }

    @Test func policyRepliesKeepTheirResponseCode() {
        let delay = POP3Reply.policyError(Reply(421, "4.7.0", "[LOGIN-DELAY] Login allowed once per 60 seconds"),
                                          permanentCode: POP3ResponseCode.auth)
        #expect(delay.wire == "-ERR [LOGIN-DELAY] Login allowed once per 60 seconds\r\n")
        #expect(POP3Reply.policyError(Reply(554, "5.7.1", "[sys/perm] gone"), permanentCode: "AUTH").wire
                == "-ERR [SYS/PERM] gone\r\n")
    }

    @Test func policyRepliesWithoutCodeAreClassifiedBySeverity() {
        #expect(POP3Reply.policyError(Reply(454, "4.7.0", "Too many failed logins, try again later"), permanentCode: "AUTH").wire
                == "-ERR [SYS/TEMP] Too many failed logins, try again later\r\n")
        #expect(POP3Reply.policyError(Reply(535, "5.7.8", "Not you"), permanentCode: "AUTH").wire == "-ERR [AUTH] Not you\r\n")
        #expect(POP3Reply.policyError(Reply(code: 550, enhanced: nil, lines: ["one", "two"]), permanentCode: "SYS/PERM").wire
                == "-ERR [SYS/PERM] one two\r\n")
        // Brackets that are not a response code stay text.
        #expect(POP3Reply.policyError(Reply(550, nil, "[not a code!] x"), permanentCode: "AUTH").wire
                == "-ERR [AUTH] [not a code!] x\r\n")
        #expect(POP3Reply.policyError(Reply(550, nil, "[] x"), permanentCode: "AUTH").wire == "-ERR [AUTH] [] x\r\n")
    }
}
