// Mail authentication for Lua: tx:add_auth_result, and (with the engines of MailAuth)
// mailgate.spf.check, mailgate.dkim.verify and mailgate.dmarc.check. The engines are
// native and wait on DNS without holding the VM (LuaVM+Waiting.swift); what to do with
// their results stays in the plugins.
import CLua
import CLuaShim
import MailAuth
import MailCore

extension LuaVM {
    /// tx:add_auth_result(method, result, properties, reason) in the data hook: one
    /// resinfo of the Authentication-Results field the server writes
    /// (HookResult.authenticationResults). Shadow policies add nothing.
    func addAuthResult(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let serial = stack.integer(at: 1), serial == callSerial, activeTransaction != nil else {
            return call.fail("only available during the hook call that received this transaction")
        }
        guard activeHook == .data else { return call.fail("only available in the data hook") }
        guard let method = call.string(2), let result = call.string(3) else {
            return call.fail("expected a method and a result, such as (\"spf\", \"pass\")")
        }
        var reason: String?
        if !stack.isNil(at: 4) {
            guard let given = call.string(4) else { return call.fail("expected the reason as a string") }
            reason = given
        }
        var properties: [(name: String, value: String)] = []
        var index: Int32 = 5
        while index <= stack.top {
            guard let name = stack.string(at: index), let value = stack.string(at: index + 1),
                  value.utf8.count <= 512 else {
                return call.fail("properties must be names such as \"smtp.mailfrom\" with string values of at most 512 bytes")
            }
            properties.append((name, value))
            index += 2
        }
        guard properties.count <= 16 else { return call.fail("more than 16 properties in one result") }
        let text: String
        do {
            text = try AuthenticationResults.resinfo(method: method, result: result, reason: reason, properties: properties)
        } catch {
            return call.fail("\(error)")
        }
        guard nextPolicy < liveCount else { return 0 }
        guard authResults.count < AuthenticationResults.maxResults else {
            return call.fail("more than \(AuthenticationResults.maxResults) results for one message")
        }
        authResults.append(text)
        return 0
    }
}
