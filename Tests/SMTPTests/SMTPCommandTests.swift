import Testing
@testable import SMTP
import MailCore

@Suite struct SMTPCommandTests {
    func parse(_ line: String) throws(MailError) -> SMTPCommand {
        try SMTPCommandParser.parse(Substring(line), postmasterDomain: "example.test")
    }

    @Test func mailWithParameters() throws {
        let command = try parse("mail from: <a@b.test> SIZE=100 BODY=8BITMIME")
        #expect(command == .mail(reversePath: try MailAddress.parse("a@b.test"), parameters: ["SIZE": "100", "BODY": "8BITMIME"]))
        #expect(try parse("MAIL FROM:<>") == .mail(reversePath: nil, parameters: [:]))
    }

    @Test func sourceRouteIsStripped() throws {
        #expect(try parse("RCPT TO:<@relay.test,@other.test:user@final.test>")
                == .rcpt(forwardPath: try MailAddress.parse("user@final.test"), parameters: [:]))
    }

    @Test func postmasterWithoutDomain() throws {
        #expect(try parse("RCPT TO:<Postmaster>") == .rcpt(forwardPath: MailAddress(localPart: "postmaster", domain: "example.test"), parameters: [:]))
    }

    @Test func syntaxErrorsCarryReplies() {
        #expect(throws: MailError(501, "5.5.4", "Syntax: MAIL FROM:<address> (angle brackets required)")) { try parse("MAIL FROM:a@b.test") }
        #expect(throws: MailError(500, "5.5.2", "Command unrecognized")) { try parse("FROB") }
        #expect(throws: MailError(501, "5.1.2", "Bad recipient address syntax (domain)")) { try parse("RCPT TO:<a@b.test.>") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: EHLO hostname")) { try parse("EHLO") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: BDAT chunk-size [LAST]")) { try parse("BDAT x") }
    }

    @Test func malformedPathsAndPrefixes() {
        #expect(throws: MailError(501, "5.5.4", "Syntax: MAIL FROM:<address>")) { try parse("MAIL FRO") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: MAIL FROM:<address>")) { try parse("MAIL FROM <a@b.test>") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: RCPT TO:<address> (missing '>')")) { try parse("RCPT TO:<a@b.test") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: RCPT TO:<address> (missing '>')")) { try parse("RCPT TO:<\"a>b@b.test") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: RCPT TO:<address> (angle brackets required)")) { try parse("RCPT TO:") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: MAIL FROM:<address>")) { try parse("MAIL FROM:<a@b.test>SIZE=1") }
        #expect(throws: MailError(501, "5.1.3", "Bad address syntax")) { try parse("RCPT TO:<@relay.test>") }
        #expect(throws: MailError(501, "5.5.4", "Syntax: EHLO hostname")) { try parse("EHLO two words") }
        #expect(throws: MailError(501, "5.5.4", "Bad parameter syntax")) { try parse("MAIL FROM:<a@b.test> =1") }
    }

    @Test func prefixIsCaseInsensitiveAndQuotedPairsStayInside() throws {
        #expect(try parse("rcpt tO:<user@example.test>") == .rcpt(forwardPath: try MailAddress.parse("user@example.test"), parameters: [:]))
        #expect(try parse("EHLO  client.test  ") == .ehlo("client.test"))
        let quoted = try parse("RCPT TO:<\"a\\\">b\"@example.test> NOTIFY=NEVER")
        #expect(quoted == .rcpt(forwardPath: MailAddress(localPart: "a\">b", domain: "example.test"), parameters: ["NOTIFY": "NEVER"]))
    }

    @Test func quotedLocalPartWithBracket() throws {
        let command = try parse("RCPT TO:<\"a>b\"@example.test>")
        #expect(command == .rcpt(forwardPath: MailAddress(localPart: "a>b", domain: "example.test"), parameters: [:]))
    }
}
