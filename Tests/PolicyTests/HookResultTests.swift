// HookResult.decidedBy: the policy whose final verdict or failure ended the chain
// (what `mailgate policy test` prints); not part of equality.
import Testing
@testable import Policy

@Suite struct HookResultTests {
    @Test func theDecidingPolicyIsNamed() throws {
        let dir = PolicyDirectory()
        dir.write("a.lua", "return { rcpt = function() return mailgate.next end }")
        dir.write("b.lua", """
        return {
          rcpt = function(tx, rcpt)
            if rcpt.local_part == "fail" then error("boom") end
            if rcpt.local_part == "no" then return mailgate.reject(550, nil, "no") end
            return mailgate.next
          end,
        }
        """)
        let engine = try PolicyEngine(configuration: dir.configuration(["a", "b"]), host: TestPolicyHost())
        let refused = engine.run(.rcpt(transaction(), recipient: address("no@example.test")))
        #expect(refused.decidedBy == "b")
        let failed = engine.run(.rcpt(transaction(), recipient: address("fail@example.test")))
        #expect(failed.decidedBy == "b" && failed == .policyFailure)
        let passed = engine.run(.rcpt(transaction(), recipient: address("yes@example.test")))
        #expect(passed.decidedBy == nil && passed == HookResult(verdict: .next))
    }
}
