import MailCore
import Testing
@testable import Policy

@Test func addAuthResultCollectsResinfosInChainOrder() throws {
    let dir = PolicyDirectory()
    dir.write("a.lua", """
    return { data = function(tx)
      tx:add_auth_result("spf", "pass", {{"smtp.mailfrom", "remote.example"}})
      return mailgate.next
    end }
    """)
    dir.write("b.lua", """
    return { data = function(tx)
      tx:add_auth_result("dkim", "fail", {["header.s"] = "sel", ["header.d"] = "remote.example"}, "body hash did not verify")
      tx:add_auth_result("dmarc", "none")
      return mailgate.next
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a", "b"]), host: TestPolicyHost())
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next)
    #expect(result.authenticationResults == [
        "spf=pass smtp.mailfrom=remote.example",
        "dkim=fail reason=\"body hash did not verify\" header.d=remote.example header.s=sel",
        "dmarc=none",
    ])
}

@Test func addAuthResultRefusesBadInputAndOtherHooks() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("a.lua", """
    return {
      data = function(tx)
        local bad = {
          pcall(tx.add_auth_result, tx, "spf;x", "pass"),
          pcall(tx.add_auth_result, tx, "spf", "pass\\r\\nBcc: x"),
          pcall(tx.add_auth_result, tx, "spf", "pass", {mailfrom = "x"}),
          (pcall(tx.add_auth_result, tx, "spf", "pass", "not a table")),
        }
        for index, ok in ipairs(bad) do if ok then return mailgate.reject(550, nil, "case " .. index) end end
        return mailgate.next
      end,
      rcpt = function(tx) tx:add_auth_result("spf", "pass") return mailgate.next end,
    }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next, "\(result)")
    #expect(result.authenticationResults.isEmpty)
    #expect(engine.run(.rcpt(transaction(), recipient: address("a@example.test"))) == .policyFailure)
    #expect(host.errors().first?.contains("only available in the data hook") == true)
}
