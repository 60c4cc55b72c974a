// The session core: greeting, states, capabilities, LOGOUT, errors, limits, IDLE.
import Testing
import MailCore
import Policy
@testable import IMAP

@Suite struct IMAPSessionTests {
    @Test func greetingCarriesCapabilities() {
        let h = IMAPSessionHarness(plaintextAuth: false)
        #expect(h.output.hasPrefix("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED AUTH=CRAM-MD5] imap.example.test IMAP ready\r\n"))
    }

    @Test func connectHookRefusalSaysByeAndCloses() {
        let h = IMAPSessionHarness(greet: false)
        h.run(h.session.start().flatMap { action -> [IMAPAction] in
            if case .runHook = action { return h.session.hookFinished(HookResult(verdict: .reject(Reply(554, nil, "go away")))) }
            return [action]
        })
        #expect(h.output == "* BYE go away\r\n")
        #expect(h.closed)
    }

    @Test func commandsInTheWrongState() {
        let h = IMAPSessionHarness()
        #expect(h.send("a SELECT INBOX") == "a BAD Log in first\r\n")
        #expect(h.send("b FETCH 1 FLAGS") == "b BAD Log in first\r\n")
        _ = h.send("c LOGIN alice@example.test secret")
        #expect(h.send("d LOGIN alice@example.test secret") == "d BAD Already authenticated\r\n")
        #expect(h.send("e FETCH 1 FLAGS") == "e BAD No mailbox selected\r\n")
        #expect(h.send("f EXPUNGE") == "f BAD No mailbox selected\r\n")
    }

    @Test func capabilityAfterLoginListsExtensions() {
        let h = IMAPSessionHarness.loggedIn()
        let reply = h.send("a CAPABILITY")
        for cap in ["UIDPLUS", "MOVE", "CONDSTORE", "ESEARCH", "APPENDLIMIT=10485760", "LIST-STATUS", "QUOTA", "NAMESPACE"] {
            #expect(reply.contains(" \(cap)"))
        }
        #expect(!reply.contains("LOGINDISABLED"))
        #expect(reply.hasSuffix("a OK CAPABILITY completed\r\n"))
    }

    @Test func logoutSaysByeThenOK() {
        let h = IMAPSessionHarness()
        #expect(h.send("a LOGOUT") == "* BYE Logging out\r\na OK LOGOUT completed\r\n")
        #expect(h.closed)
        #expect(h.session.state == .logout)
    }

    @Test func malformedInputIsBADNeverATrap() {
        let h = IMAPSessionHarness.selected()
        #expect(h.send("a FETCH").hasPrefix("a BAD"))
        #expect(h.send("b FROB").hasPrefix("b BAD"))
        #expect(h.send("").hasPrefix("* BAD"))
        #expect(h.send("c FETCH 1 FLAGS").hasPrefix("c BAD Invalid message sequence number"))
    }

    @Test func tooManyErrorsCloses() {
        var limits = Limits(); limits.maxErrors = 2
        let h = IMAPSessionHarness(limits: limits)
        _ = h.send("a FROB"); _ = h.send("b FROB")
        #expect(h.send("c FROB").contains("* BYE Too many errors"))
        #expect(h.closed)
    }

    @Test func pipelinedCommandsAnsweredInOrder() {
        let h = IMAPSessionHarness()
        let reply = h.feed(Array("a LOGIN alice@example.test secret\r\nb SELECT INBOX\r\nc NOOP\r\n".utf8))
        let a = reply.range(of: "a OK")!, b = reply.range(of: "b OK")!, c = reply.range(of: "c OK")!
        #expect(a.lowerBound < b.lowerBound && b.lowerBound < c.lowerBound)
    }

    @Test func idOrNamespaceOrEnable() {
        let h = IMAPSessionHarness.loggedIn()
        #expect(h.send("a ID NIL") == "* ID (\"name\" \"mailgate\")\r\na OK ID completed\r\n")
        #expect(h.send("b NAMESPACE") == "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nb OK NAMESPACE completed\r\n")
        #expect(h.send("c ENABLE CONDSTORE X-UNKNOWN") == "* ENABLED CONDSTORE\r\nc OK ENABLE completed\r\n")
        #expect(h.send("d ENABLE CONDSTORE") == "* ENABLED\r\nd OK ENABLE completed\r\n")
    }

    @Test func enableNeedsLogin() {
        let h = IMAPSessionHarness()
        #expect(h.send("a ENABLE CONDSTORE") == "a BAD Log in first\r\n")
    }

    @Test func idleWakesOnChangesAndEndsWithDone() {
        let store = InMemoryIMAPStore()
        let h = IMAPSessionHarness.selected(store: store)
        #expect(h.send("a IDLE") == "+ idling\r\n")
        #expect(h.idleEvents == [true])
        #expect(h.session.idleTimeout == .seconds(3600))
        store.deliver("Subject: hi\r\n\r\nbody\r\n")
        #expect(h.changed() == "* 1 EXISTS\r\n* 1 RECENT\r\n")
        #expect(h.send("DONE") == "a OK IDLE terminated\r\n")
        #expect(h.idleEvents == [true, false])
        #expect(h.send("b NOOP") == "b OK NOOP completed\r\n")
    }

    @Test func idleInAuthenticatedStateAndBadEnd() {
        let h = IMAPSessionHarness.loggedIn()
        #expect(h.send("a IDLE") == "+ idling\r\n")
        #expect(h.send("NOPE") == "a BAD Expected DONE\r\n")
    }

    @Test func timeoutSaysBye() {
        let h = IMAPSessionHarness()
        h.run(h.session.timedOut())
        #expect(h.output.hasSuffix("* BYE Autologout; idle for too long\r\n"))
        #expect(h.closed)
    }

    @Test func shutdownSaysBye() {
        let h = IMAPSessionHarness.loggedIn()
        h.run(h.session.shutdown())
        #expect(h.output.hasSuffix("* BYE [UNAVAILABLE] Server shutting down\r\n"))
        #expect(h.closed)
    }

    @Test func literalGetsContinuation() {
        let h = IMAPSessionHarness()
        #expect(h.feed(Array("a LOGIN {18}\r\n".utf8)) == "+ Ready for literal data\r\n")
        #expect(h.send("alice@example.test secret").hasPrefix("a OK [CAPABILITY"))
    }
}
