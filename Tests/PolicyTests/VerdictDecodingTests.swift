// How hook return values map to verdicts, and that anything else fails safe.
import MailCore
import Testing
@testable import Policy

private func result(_ expression: String, hook: String = "connect") throws -> (HookResult, TestPolicyHost) {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("return { \(hook) = function() return \(expression) end }", host: host)
    let call: HookCall = hook == "deliver"
        ? .deliver(transaction(recipients: ["a@example.test"]), recipient: address("a@example.test"), local: true)
        : .connect(session())
    return (engine.run(call), host)
}

@Test func verdictsMapToReplies() throws {
    #expect(try result("mailgate.next").0 == HookResult(verdict: .next))
    #expect(try result("mailgate.accept").0 == HookResult(verdict: .accept))
    #expect(try result("mailgate.reject(554, '5.7.1', 'no')").0.verdict == .reject(Reply(554, "5.7.1", "no")))
    #expect(try result("mailgate.defer(451, '4.7.1', 'later')").0.verdict == .deferred(Reply(451, "4.7.1", "later")))
    #expect(try result("mailgate.disconnect(421, '4.7.0', 'bye')").0.verdict == .disconnect(Reply(421, "4.7.0", "bye")))
    #expect(try result("mailgate.disconnect(554, nil, 'bye')").0.verdict == .disconnect(Reply(554, nil, "bye")))
    #expect(try result("mailgate.reject(550)").0.verdict == .reject(Reply(550, nil, "Rejected by policy")))
}

@Test(arguments: ["mailgate.reject(451, '4.7.1', 'x')", "mailgate.reject(250, nil, 'ok')", "mailgate.defer(550, nil, 'x')",
                  "mailgate.disconnect(221, nil, 'x')", "mailgate.reject(550, '4.1.1', 'x')", "mailgate.reject(550, '5.1', 'x')",
                  "mailgate.reject(550, nil, 'a\\r\\nb')", "mailgate.reject(550, nil, string.rep('x', 401))",
                  "mailgate.reject('abc')", "nil", "true", "'accept'", "250", "{ kind = 'accept' }",
                  "setmetatable({}, getmetatable(mailgate.accept))", "mailgate.redirect('x@example.test')",
                  "mailgate.discard()", "mailgate.folder('Spam')", "mailgate.route('smarthost')"])
func badReturnValuesFailSafe(expression: String) throws {
    let (outcome, host) = try result(expression)
    #expect(outcome == .policyFailure)
    #expect(host.errors().count == 1)
}

@Test func bounceMayRedirectOrDiscardButNotPickAFolder() throws {
    func bounce(_ expression: String) throws -> HookResult {
        let dir = PolicyDirectory()
        let engine = try dir.engine("return { bounce = function(n) return \(expression) end }", host: TestPolicyHost())
        let notice = NoticeInfo(queueID: "Q1", kind: "failure", sender: address("a@example.test"),
                                to: address("a@example.test"), doubleBounce: false, recipients: [])
        return engine.run(.bounce(notice))
    }
    #expect(try bounce("mailgate.discard()") == HookResult(verdict: .accept, delivery: .discard))
    #expect(try bounce("mailgate.redirect('ops@example.test')")
            == HookResult(verdict: .accept, delivery: .redirect(address("ops@example.test"))))
    #expect(try bounce("mailgate.folder('Spam')") == .policyFailure)
    #expect(try bounce("mailgate.next") == HookResult(verdict: .next))
}

@Test func deliverActions() throws {
    #expect(try result("mailgate.redirect('other@example.test')", hook: "deliver").0
        == HookResult(verdict: .accept, delivery: .redirect(address("other@example.test"))))
    #expect(try result("mailgate.discard()", hook: "deliver").0 == HookResult(verdict: .accept, delivery: .discard))
    #expect(try result("mailgate.folder('Spam')", hook: "deliver").0 == HookResult(verdict: .accept, delivery: .folder("Spam")))
    #expect(try result("mailgate.next", hook: "deliver").0 == HookResult(verdict: .next))
    #expect(try result("mailgate.redirect('not an address')", hook: "deliver").0 == .policyFailure)
    #expect(try result("mailgate.folder('')", hook: "deliver").0 == .policyFailure)
    #expect(try result("mailgate.route('smarthost')", hook: "deliver").0
        == HookResult(verdict: .accept, delivery: .route("smarthost")))
    #expect(try result("mailgate.route('')", hook: "deliver").0 == .policyFailure)
    #expect(try result("mailgate.route(42)", hook: "deliver").0 == .policyFailure)
}

@Test func verdictsAreReadableButNotWritable() throws {
    let (outcome, _) = try result("""
    mailgate.reject(550, nil, mailgate.defer(451, '4.3.2', 'x').kind .. ' ' .. mailgate.defer(451, '4.3.2', 'x').code
      .. ' ' .. tostring(mailgate.reject(554, '5.7.1', 'no')))
    """)
    #expect(outcome.reply?.text == "defer 451 reject 554 5.7.1 no")
}
