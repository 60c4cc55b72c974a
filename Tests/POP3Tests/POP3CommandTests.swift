import Testing
@testable import POP3

@Suite struct POP3CommandTests {
    func parse(_ line: String) throws(POP3Error) -> POP3Command { try POP3CommandParser.parse(Substring(line)) }

    @Test func keywordsAreCaseInsensitive() throws {
        #expect(try parse("stat") == .stat)
        #expect(try parse("Quit") == .quit)
        #expect(try parse("capa") == .capa)
        #expect(try parse("sTlS") == .stls)
        #expect(try parse("noop") == .noop)
        #expect(try parse("rset") == .rset)
    }

    @Test func arguments() throws {
        #expect(try parse("USER webmaster%midominio.com") == .user("webmaster%midominio.com"))
        #expect(try parse("PASS pass with  spaces ") == .pass("pass with  spaces "))
        #expect(try parse("APOP mrose c4c9334bac560ecc979e58001b3e22fb") == .apop(user: "mrose", digest: "c4c9334bac560ecc979e58001b3e22fb"))
        #expect(try parse("APOP mrose C4C9334BAC560ECC979E58001B3E22FB") == .apop(user: "mrose", digest: "c4c9334bac560ecc979e58001b3e22fb"))
        #expect(try parse("LIST") == .list(nil))
        #expect(try parse("list 2") == .list(2))
        #expect(try parse("UIDL") == .uidl(nil))
        #expect(try parse("UIDL 10") == .uidl(10))
        #expect(try parse("RETR 1") == .retr(1))
        #expect(try parse("DELE 3") == .dele(3))
        #expect(try parse("TOP 1 0") == .top(1, lines: 0))
        #expect(try parse("top 2 10") == .top(2, lines: 10))
        #expect(try parse("STAT ") == .stat)
        #expect(try parse("RETR 99999999999999999999999") == .retr(Int.max))
    }

    @Test func auth() throws {
        #expect(try parse("AUTH") == .auth(mechanism: nil, initialResponse: nil))
        #expect(try parse("auth plain") == .auth(mechanism: "PLAIN", initialResponse: nil))
        #expect(try parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==") == .auth(mechanism: "PLAIN", initialResponse: "AGFsaWNlAHNlY3JldA=="))
        #expect(try parse("AUTH PLAIN =") == .auth(mechanism: "PLAIN", initialResponse: "="))
    }

    @Test func syntaxErrorsCarryReplies() {
        #expect(throws: POP3Error("Unknown command")) { try parse("LAST") }
        #expect(throws: POP3Error("Unknown command")) { try parse("") }
        #expect(throws: POP3Error("Syntax: USER name")) { try parse("USER") }
        #expect(throws: POP3Error("Syntax: USER name")) { try parse("USER a b") }
        #expect(throws: POP3Error("Syntax: PASS password")) { try parse("PASS") }
        #expect(throws: POP3Error("Syntax: APOP name digest")) { try parse("APOP mrose") }
        #expect(throws: POP3Error("Syntax: APOP name digest (digest is 32 hex digits)")) { try parse("APOP mrose xyz") }
        #expect(throws: POP3Error("Syntax: STAT takes no arguments")) { try parse("STAT 1") }
        #expect(throws: POP3Error("Syntax: RETR message")) { try parse("RETR") }
        #expect(throws: POP3Error("Syntax: RETR needs a number, got \"-1\"")) { try parse("RETR -1") }
        #expect(throws: POP3Error("Syntax: LIST needs a number, got \"one\"")) { try parse("LIST one") }
        #expect(throws: POP3Error("Syntax: LIST [message]")) { try parse("LIST 1 2") }
        #expect(throws: POP3Error("Syntax: TOP message lines")) { try parse("TOP 1") }
        #expect(throws: POP3Error("Syntax: AUTH mechanism [initial-response]")) { try parse("AUTH PLAIN a b") }
    }
}
