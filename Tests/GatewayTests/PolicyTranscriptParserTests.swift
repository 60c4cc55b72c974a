// The transcript reader: every key typed, unknown ones refused with file:line, the
// expect syntax, paths relative to the transcript.
import Foundation
import Testing
@testable import Gateway
import MailCore
import Policy

@Suite struct PolicyTranscriptParserTests {
    func parse(_ text: String) throws(TranscriptError) -> PolicyTranscript {
        try PolicyTranscriptParser.parse(text, file: "t.toml", baseDirectory: "/srv/t")
    }

    func error(_ text: String) -> TranscriptError? {
        do { _ = try parse(text); return nil } catch { return error }
    }

    @Test func readsEveryKey() throws {
        let transcript = try parse("""
        description = "all keys"
        chain = ["relay", "limits"]
        now = 1800000000
        hostname = "mx.example.test"
        [limits]
        max_message_size = "2KB"
        max_recipients = 3
        policy_instruction_budget = 20000
        policy_deadline = "500ms"
        policy_dns_lookups = 4
        policy_dns_timeout = 1
        [policy]
        directory = "../policies"
        plugin_directory = "/opt/plugins"
        [policy.relay]
        trusted_networks = ["10.0.0.0/8"]
        [connection]
        client_ip = "::ffff:192.0.2.9"
        client_port = 4000
        listener = "pop3s"
        auth_user = "alice@example.com"
        [store]
        domains = ["Example.COM"]
        accounts = ["Alice@example.com"]
        aliases = { "postmaster@example.com" = "alice@example.com" }
        catchall = { "example.com" = "alice@example.com" }
        whitelist = { "192.0.2.7" = "1h" }
        kv = { "greylist:k" = "v", "n" = 3, "f" = 0.5, "t" = { value = "x", ttl = "5m" } }
        counters = { "conn:192.0.2.1" = 4 }
        [[dns]]
        name = "10.2.0.192.bl.example.test."
        type = "A"
        answer = ["127.0.0.2"]
        [[dns]]
        name = "example.org"
        type = "mx"
        answer = ["20 mx2.example.org", "10 MX1.example.org."]
        ttl = 60
        [[dns]]
        name = "broken.example"
        type = "TXT"
        error = "timeout"
        [[step]]
        hook = "connect"
        client_ip = "192.0.2.1"
        expect = "next"
        [[step]]
        wait = "6m"
        comment = "later"
        [[step]]
        hook = "mail_from"
        address = ""
        size = 100
        expect = "reject 554 5.7.1"
        expect_text = "listed"
        expect_policy = "dnsbl"
        expect_log = ["listed"]
        [[step]]
        hook = "data"
        text = "Subject: hi\\n\\nbody\\n"
        expect = "next"
        expect_headers = ["X-Spam-DNSBL"]
        [[step]]
        hook = "deliver"
        address = "alice@example.com"
        local = true
        expect = "folder Junk Mail"
        """)
        #expect(transcript.chain == ["relay", "limits"])
        #expect(transcript.now == 1_800_000_000)
        #expect(transcript.maxMessageSize == 2048 && transcript.maxRecipients == 3)
        #expect(transcript.instructionBudget == 20000 && transcript.deadline == .milliseconds(500))
        #expect(transcript.dnsLookups == 4 && transcript.dnsTimeout == .seconds(1))
        #expect(transcript.policyDirectory == "/srv/policies")
        #expect(transcript.pluginDirectory == "/opt/plugins")
        #expect(transcript.settings["relay"] == ["trusted_networks": ["10.0.0.0/8"]])
        #expect(transcript.connection.clientIP == "192.0.2.9")
        #expect(transcript.connection.protocolName == "pop3" && transcript.connection.tls)
        #expect(transcript.store.domains == ["example.com"])
        #expect(transcript.store.accounts == ["alice@example.com"])
        #expect(transcript.store.whitelist["192.0.2.7"] == .some(3600))
        #expect(transcript.store.kv == ["greylist:k": .init(.string("v")), "n": .init(.integer(3)), "f": .init(.double(0.5)),
                                        "t": .init(.string("x"), ttl: 300)])
        #expect(transcript.dns[0].name == "10.2.0.192.bl.example.test")
        #expect(transcript.dns[1].result == .records([.mx(preference: 20, exchange: "mx2.example.org"),
                                                      .mx(preference: 10, exchange: "mx1.example.org")], ttl: 60))
        #expect(transcript.dns[2].result == .failure(.timeout))
        #expect(transcript.steps.count == 5)
        #expect(transcript.steps[1].action == .wait(360, text: "6m"))
        #expect(transcript.steps[1].comment == "later")
        guard case .hook(let mail) = transcript.steps[2].action, case .hook(let data) = transcript.steps[3].action,
              case .hook(let deliver) = transcript.steps[4].action else {
            Issue.record("steps are not hooks"); return
        }
        #expect(mail.address == nil && mail.size == 100)
        #expect(mail.expect == .init(kind: .reject, code: 554, enhanced: "5.7.1"))
        #expect(mail.expectText == "listed" && mail.expectPolicy == "dnsbl" && mail.expectLog == ["listed"])
        #expect(data.message == Array("Subject: hi\r\n\r\nbody\r\n".utf8))
        #expect(deliver.expect == .init(kind: .folder, argument: "Junk Mail") && deliver.local == true)
        #expect(transcript.steps[2].line == 50)
    }

    @Test func unknownKeysAreRefusedWithTheirLine() {
        let top = error("""
        description = "x"
        colour = "blue"
        [[step]]
        hook = "connect"
        expect = "next"
        """)
        #expect(top?.description.hasPrefix("t.toml:2: colour: unknown key") == true)

        let inStep = error("""
        [[step]]
        hook = "connect"
        expect = "next"

        [[step]]
        hook = "rcpt"
        adress = "a@example.com"
        expect = "next"
        """)
        #expect(inStep?.line == 7)
        #expect(inStep?.message.contains("step[2].adress: unknown key for hook \"rcpt\"") == true)

        let inSection = error("""
        [store]
        domains = ["example.com"]

        [connection]
        client_ip = "192.0.2.1"
        client = "x"
        [[step]]
        hook = "connect"
        expect = "next"
        """)
        #expect(inSection?.line == 6)

        // A key that belongs to another hook.
        let wrongHook = error("""
        [[step]]
        hook = "helo"
        name = "x"
        address = "a@example.com"
        expect = "next"
        """)
        #expect(wrongHook?.line == 4)
    }

    @Test func badTypesAreRefusedWithTheirLine() {
        let cases: [(String, Int, String)] = [
            ("now = \"soon\"\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 1, "now: expected seconds"),
            ("chain = \"relay\"\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 1, "chain: expected a list of strings"),
            ("[connection]\ntls = \"yes\"\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 2, "connection.tls: expected true or false"),
            ("[connection]\nclient_ip = \"nope\"\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 2, "is not an IP address"),
            ("[store]\ncounters = { \"k\" = \"3\" }\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 2, "store.counters.k: expected an integer"),
            ("[[dns]]\nname = \"x\"\ntype = \"A\"\nanswer = [\"::1\"]\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 4, "not an A address"),
            ("[[dns]]\nname = \"x\"\ntype = \"SRV\"\nerror = \"nxdomain\"\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 3, "not a record type"),
            ("[[step]]\nhook = \"rcpt\"\naddress = \"<a@b.example>\"\nexpect = \"next\"", 3, "is not an address"),
            ("[[step]]\nhook = \"mail_from\"\naddress = \"a@b.example\"\nsize = \"big\"\nexpect = \"next\"", 4, "expected an integer"),
            ("[[step]]\nhook = \"connect\"\nexpect = 250", 3, "expected a string"),
            ("[[step]]\nhook = \"mailfrom\"\nexpect = \"next\"", 2, "is not a hook transcripts can run"),
            ("[[step]]\nwait = \"soon\"", 2, "expected a duration"),
            ("[[step]]\nhook = \"connect\"", 1, "needs expect"),
            ("[policy]\nrelay = 3\n[[step]]\nhook = \"connect\"\nexpect = \"next\"", 2, "expected a table of settings"),
            ("description = \"no steps\"", 0, "a transcript needs at least one step"),
        ]
        for (text, line, message) in cases {
            let failure = error(text)
            #expect(failure != nil, "accepted: \(text)")
            #expect(failure?.line == (line == 0 ? nil : line), "\(text) -> \(failure?.description ?? "-")")
            #expect(failure?.message.contains(message) == true, "\(text) -> \(failure?.description ?? "-")")
        }
    }

    @Test func tomlSyntaxErrorsCarryTheParsersLine() {
        let failure = error("[[step]]\nhook = \"connect\nexpect = \"next\"\n")
        #expect(failure?.line == 2)
    }

    @Test func expectSyntax() {
        typealias E = PolicyTranscript.Expectation
        func parse(_ text: String) -> E? { try? E.parse(text).get() }
        func reason(_ text: String) -> String? {
            if case .failure(let error) = E.parse(text) { return error.reason }
            return nil
        }
        #expect(parse("next") == E(kind: .next))
        #expect(parse("Accept") == E(kind: .accept))
        #expect(parse("reject") == E(kind: .reject))
        #expect(parse("reject 554") == E(kind: .reject, code: 554))
        #expect(parse("defer  451   4.7.1") == E(kind: .defer, code: 451, enhanced: "4.7.1"))
        #expect(parse("disconnect 421 4.7.0") == E(kind: .disconnect, code: 421, enhanced: "4.7.0"))
        #expect(parse("disconnect 554") == E(kind: .disconnect, code: 554))
        #expect(parse("redirect new@example.com") == E(kind: .redirect, argument: "new@example.com"))
        #expect(parse("route smarthost") == E(kind: .route, argument: "smarthost"))
        #expect(parse("discard") == E(kind: .discard))
        #expect(reason("")?.contains("empty") == true)
        #expect(reason("refuse")?.contains("is not a verdict") == true)
        #expect(reason("reject 451")?.contains("not a reply code for reject") == true)
        #expect(reason("defer 554")?.contains("not a reply code for defer") == true)
        #expect(reason("reject 55")?.contains("not a reply code") == true)
        #expect(reason("reject 554 4.7.1")?.contains("not an enhanced code matching 554") == true)
        #expect(reason("reject 554 5.7")?.contains("not an enhanced code") == true)
        #expect(reason("reject 554 5.7.1 listed here")?.contains("expect_text") == true)
        #expect(reason("next please")?.contains("takes nothing") == true)
        #expect(reason("folder")?.contains("needs an argument") == true)
        #expect(reason("redirect not-an-address")?.contains("is not an address") == true)
    }

    @Test func deliverVerdictsOnlyInDeliverSteps() {
        let failure = error("[[step]]\nhook = \"rcpt\"\naddress = \"a@b.example\"\nexpect = \"discard\"")
        #expect(failure?.line == 4 && failure?.message.contains("is a deliver verdict") == true)
    }

    @Test func messageFilesAreRelativeToTheTranscript() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailgate-transcript-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("m"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "Subject: x\n\nbody\n".write(to: directory.appendingPathComponent("m/one.eml"), atomically: true, encoding: .utf8)
        let path = directory.appendingPathComponent("t.toml").path
        try "[[step]]\nhook = \"data\"\nmessage = \"m/one.eml\"\nexpect = \"next\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let transcript = try PolicyTranscriptParser.load(path: path, checkSyntax: false)
        guard case .hook(let step) = transcript.steps[0].action else { Issue.record("not a hook step"); return }
        #expect(step.message == Array("Subject: x\r\n\r\nbody\r\n".utf8))

        try "[[step]]\nhook = \"data\"\nmessage = \"m/missing.eml\"\nexpect = \"next\"\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TranscriptError.self) { try PolicyTranscriptParser.load(path: path, checkSyntax: false) }
    }
}
