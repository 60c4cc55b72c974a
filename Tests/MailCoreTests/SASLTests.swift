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

    @Test(arguments: ["bob\r\nX-Injected: 1", "bob\r", "bob\n", "b\u{1}ob", "bob\u{7F}", "b\tob"])
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
