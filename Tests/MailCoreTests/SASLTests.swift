import Foundation
import Testing
@testable import MailCore

@Suite struct SASLTests {
    func b64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
    func line(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func plainWithAndWithoutInitialResponse() {
        var (exchange, step) = SASLExchange.start(.plain, initialResponse: nil, challenge: { "" })
        #expect(step == .challenge(""))
        #expect(exchange.respond(line(b64("admin\0bob@example.test\0pw"))) ==
                .credentials(.plain(authorizationID: "admin", user: "bob@example.test", password: "pw")))
        #expect(exchange.isFinished)
        let initial = SASLExchange.start(.plain, initialResponse: b64("\0bob\0pw"), challenge: { "" })
        #expect(initial.step == .credentials(.plain(authorizationID: "", user: "bob", password: "pw")))
        #expect(initial.exchange.isFinished)
    }

    @Test func loginKeepsItsStateAfterAnInitialResponse() {
        var (exchange, step) = SASLExchange.start(.login, initialResponse: b64("bob"), challenge: { "" })
        #expect(step == .challenge(b64("Password:")))
        #expect(exchange.respond(line(b64("pw"))) == .credentials(.plain(authorizationID: "", user: "bob", password: "pw")))
    }

    @Test func emptyResponsesCancelAndGarbage() {
        var (exchange, _) = SASLExchange.start(.plain, initialResponse: nil, challenge: { "" })
        #expect(exchange.respond(line("=")) == .failed(.malformed(.plain)))
        (exchange, _) = SASLExchange.start(.plain, initialResponse: nil, challenge: { "" })
        #expect(exchange.respond([]) == .failed(.malformed(.plain)), "an empty line is an empty response, in every protocol")
        (exchange, _) = SASLExchange.start(.login, initialResponse: nil, challenge: { "" })
        #expect(exchange.respond(line(" * ")) == .failed(.cancelled))
        (exchange, _) = SASLExchange.start(.login, initialResponse: nil, challenge: { "" })
        #expect(exchange.respond(line("!!!")) == .failed(.badBase64))
        #expect(exchange.respond(line(b64("late"))) == .failed(.malformed(.login)), "a finished exchange takes nothing more")
    }

    @Test(arguments: ["bob\r\nX-Injected: 1", "bob\r", "bob\n", "b\u{1}ob", "bob\u{7F}"])
    func loginNamesWithControlsAreRefused(_ user: String) {
        var (plain, _) = SASLExchange.start(.plain, initialResponse: nil, challenge: { "" })
        #expect(plain.respond(line(b64("\0\(user)\0pw"))) == .failed(.malformed(.plain)))
        (plain, _) = SASLExchange.start(.plain, initialResponse: nil, challenge: { "" })
        #expect(plain.respond(line(b64("\(user)\0bob\0pw"))) == .failed(.malformed(.plain)), "authorization id too")
        var (login, _) = SASLExchange.start(.login, initialResponse: nil, challenge: { "" })
        #expect(login.respond(line(b64(user))) == .failed(.malformed(.login)))
        var (cram, _) = SASLExchange.start(.cramMD5, initialResponse: nil, challenge: { "<1@x>" })
        #expect(cram.respond(line(b64("\(user) 0123456789abcdef0123456789abcdef"))) == .failed(.malformed(.cramMD5)))
    }

    @Test func cramMD5() {
        var (exchange, step) = SASLExchange.start(.cramMD5, initialResponse: nil, challenge: { "<1.2@host>" })
        #expect(step == .challenge(b64("<1.2@host>")))
        #expect(exchange.respond(line(b64("bob smith 0123456789ABCDEF0123456789abcdef"))) ==
                .credentials(.cramMD5(user: "bob smith", challenge: "<1.2@host>", digest: "0123456789abcdef0123456789abcdef")))
        for bad in ["nodigest", "bob short", " 0123456789abcdef0123456789abcdef", "bob 0123456789abcdef0123456789abcdeg"] {
            (exchange, _) = SASLExchange.start(.cramMD5, initialResponse: nil, challenge: { "<1.2@host>" })
            #expect(exchange.respond(line(b64(bad))) == .failed(.malformed(.cramMD5)), "\(bad)")
        }
        #expect(SASLExchange.start(.cramMD5, initialResponse: "x", challenge: { "" }).step == .failed(.initialResponseNotAllowed))
    }

    @Test func mechanismNames() {
        #expect(SASLMechanism(named: "cram-md5") == .cramMD5)
        #expect(SASLMechanism(named: "GSSAPI") == nil)
        #expect(SASLMechanism.plain.sendsPassword && SASLMechanism.login.sendsPassword && !SASLMechanism.cramMD5.sendsPassword)
    }
}

@Suite struct HeaderTextTests {
    @Test func controlsNeverEndAHeaderLine() {
        #expect(HeaderText.line("X-Test", "a\rFrom: ceo@bank.test\nb\u{0}c") == "X-Test: a From: ceo@bank.test b c\r\n")
        #expect(HeaderText.line("Bad\r\nName", "v") == "Bad--Name: v\r\n")
        #expect(HeaderText.line("Received", "from a", continuations: ["by b\r\nX: y"]) == "Received: from a\r\n\tby b  X: y\r\n")
        #expect(HeaderText.value("caf\u{E9}") == "caf?")
        #expect(HeaderText.value("caf\u{E9}", allowUTF8: true) == "caf\u{E9}")
        #expect(HeaderText.value(String(repeating: "x", count: 2000)).utf8.count == HeaderText.maxValueLength + 3)
        #expect(HeaderText.returnPath("a@b.test") == "Return-Path: <a@b.test>\r\n")
        #expect(HeaderText.returnPath("") == "Return-Path: <>\r\n")
    }

    @Test func commentTextCannotCloseTheComment() {
        #expect(HeaderText.commentText("x) by evil (y\\") == "x\\) by evil \\(y\\\\")
    }
}

@Suite struct XTextTests {
    @Test func roundTripAndStrictness() {
        #expect(XText.encode("a+b=c d\u{E9}") == "a+2Bb+3Dc+20d+C3+A9")
        #expect(XText.decode("a+2Bb+3Dc+20d+C3+A9") == "a+b=c d\u{E9}")
        #expect(XText.decode("bad+2") == nil)
        #expect(XText.decode("lower+2b") == nil, "hexchar is upper case (RFC 3461 §4)")
        #expect(XText.decode("a=b") == nil)
        #expect(XText.decode("bad+ZZ") == nil)
        #expect(!XText.isValid("") && !XText.isValid("has space") && XText.isValid("rfc822;x+40y"))
        #expect(XText.isValidParameter("abc", maxLength: 3))
        #expect(!XText.isValidParameter("abcd", maxLength: 3))
        #expect(!XText.isValidParameter("a+0Db", maxLength: 100), "decodes to a control")
    }
}

@Suite struct CommandTextTests {
    @Test func controls() {
        #expect(CommandText.hasControlCharacters(Array("a\rb".utf8)))
        #expect(CommandText.hasControlCharacters(Array("a\u{7F}".utf8)))
        #expect(!CommandText.hasControlCharacters(Array("a\tb \u{E9}".utf8)))
        #expect(CommandText.escaped("a\r\nb\\") == "a\\x0D\\x0Ab\\x5C")
        #expect(CommandText.escaped("plain") == "plain")
    }
}
