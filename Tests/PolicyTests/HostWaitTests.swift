// Hook calls that wait for the host (mailgate.dns) without holding a VM, the
// engine's on_error and shadow policies, require() from plugins/lib, api_version.
import Foundation
import MailCore
import Testing
@testable import Policy

private func waitUntil(_ condition: () -> Bool, seconds: Double = 5) {
    let end = Date().addingTimeInterval(seconds)
    while !condition() && Date() < end { usleep(1000) }
}

private let lookupPolicy = """
local p = {}
function p.connect(session)
  if session.client_ip ~= "192.0.2.10" then return mailgate.accept end
  local records, err = mailgate.dns.a("listed.example")
  if records then return mailgate.reject(554, "5.7.1", "listed " .. table.concat(records, ",")) end
  return mailgate.reject(550, nil, "err " .. tostring(err))
end
return p
"""

@Test func aWaitingCallHoldsNoVM() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.holding = true
    resolver.answer("listed.example", .a, .records([.address("127.0.0.2")], ttl: 60))
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", lookupPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 1), host: host)
    guard case .pending(let waiting) = engine.start(.connect(session())) else {
        Issue.record("the lookup did not make the call wait")
        return
    }
    // The only VM serves other calls while the first waits.
    for _ in 0..<5 {
        guard case .finished(let other) = engine.start(.connect(session(ip: "192.0.2.99"))) else {
            Issue.record("the VM was held by the waiting call")
            return
        }
        #expect(other == HookResult(verdict: .accept))
    }
    #expect(resolver.heldCount == 1)
    resolver.release()
    let result = waiting.wait()
    #expect(result.reply?.code == 554)
    #expect(result.reply?.text == "listed 127.0.0.2")
    #expect(result.decidedBy == "p")
}

@Test func manyCallsWaitAtOnceOnFewVMs() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.holding = true
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", lookupPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 2), host: host)
    var pending: [PendingHookCall] = []
    for _ in 0..<50 {
        guard case .pending(let call) = engine.start(.connect(session())) else {
            Issue.record("a call did not wait")
            return
        }
        pending.append(call)
    }
    waitUntil { resolver.heldCount == 50 }
    // Every call reached its lookup although there are two VMs.
    #expect(resolver.heldCount == 50)
    resolver.release()
    for call in pending { #expect(call.wait().reply?.text == "err nxdomain") }
}

@Test func aCachedAnswerDoesNotSuspend() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.answer("listed.example", .a, .records([.address("127.0.0.2"), .address("127.0.0.4")], ttl: 60))
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", lookupPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 1), host: host)
    guard case .finished(let result) = engine.start(.connect(session())) else {
        Issue.record("an immediate answer suspended the call")
        return
    }
    #expect(result.reply?.text == "listed 127.0.0.2,127.0.0.4")
}

@Test(arguments: [
    (DNSLookupResult.nxdomain, "err nxdomain"), (.nodata, "err nodata"), (.failure(.servfail), "err servfail"),
    (.failure(.timeout), "err timeout"), (.failure(.tooLarge), "err too_large"), (.failure(.malformed), "err malformed"),
])
func lookupOutcomesAreErrorValues(outcome: DNSLookupResult, text: String) throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.delay = .milliseconds(5)
    resolver.answer("listed.example", .a, outcome)
    host.resolver = resolver
    let dir = PolicyDirectory()
    let engine = try dir.engine(lookupPolicy, host: host)
    #expect(engine.connect().reply?.text == text)
}

@Test func withoutAResolverLookupsAreUnreachable() throws {
    let dir = PolicyDirectory()
    let engine = try dir.engine(lookupPolicy)
    #expect(engine.connect().reply?.text == "err unreachable")
}

@Test func recordShapesPerType() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.delay = .milliseconds(2)
    resolver.answer("example.org", .mx, .records([.mx(preference: 20, exchange: "MX2.example.org"),
                                                  .mx(preference: 10, exchange: "mx1.example.org")], ttl: 300))
    resolver.answer("example.org", .txt, .records([.text("v=spf1 -all")], ttl: 300))
    resolver.answer("10.2.0.192.in-addr.arpa", .ptr, .records([.name("Host.Example.org")], ttl: 300))
    resolver.answer("example.org", .aaaa, .records([.address("2001:db8::1")], ttl: 300))
    host.resolver = resolver
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      local mx = mailgate.dns.mx("example.org.")
      local txt = mailgate.dns.txt("example.org")
      local ptr = mailgate.dns.ptr(session.client_ip)
      local aaaa = mailgate.dns.query("example.org", "aaaa")
      return mailgate.reject(550, nil, mx[1].preference .. " " .. mx[1].exchange .. " " .. mx[2].exchange
        .. " | " .. txt[1] .. " | " .. ptr[1] .. " | " .. aaaa[1])
    end
    return p
    """, host: host)
    #expect(engine.connect().reply?.text == "10 mx1.example.org mx2.example.org | v=spf1 -all | host.example.org | 2001:db8::1")
}

@Test func reverseNamesForDNSBLs() throws {
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      return mailgate.reject(550, nil, mailgate.dns.reverse("192.0.2.10", "bl.example") .. " "
        .. mailgate.dns.reverse("192.0.2.10") .. " " .. tostring(mailgate.dns.reverse("not an ip")))
    end
    return p
    """)
    #expect(engine.connect().reply?.text == "10.2.0.192.bl.example 10.2.0.192.in-addr.arpa nil")
    #expect(IPAddress("2001:db8::567:89ab")!.reverseName(zone: "bl.example")
        == "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example")
}

@Test func aLookupInsideACoroutineWaitsToo() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.holding = true
    resolver.answer("a.example", .a, .records([.address("192.0.2.1")], ttl: 60))
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    local p = {}
    function p.connect(session)
      local co = coroutine.wrap(function()
        local r = mailgate.dns.a("a.example")
        coroutine.yield(r[1])
        return "second"
      end)
      local first = co()
      return mailgate.reject(550, nil, first .. " " .. co())
    end
    return p
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 1), host: host)
    guard case .pending(let waiting) = engine.start(.connect(session())) else {
        Issue.record("the lookup in a coroutine did not wait")
        return
    }
    waitUntil { resolver.heldCount == 1 }
    resolver.release()
    #expect(waiting.wait().reply?.text == "192.0.2.1 second")
}

@Test func aLookupWhereCCodeCannotYieldIsAClearError() throws {
    let host = TestPolicyHost()
    host.resolver = TestResolver()
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      local t = { "b", "a" }
      table.sort(t, function(x, y) mailgate.dns.a("a.example") return x < y end)
      return mailgate.accept
    end
    return p
    """, host: host)
    #expect(engine.connect() == .policyFailure)
    #expect(host.errors().first?.contains("p.lua:4: mailgate.dns.query: cannot wait here") == true, "\(host.errors())")
}

@Test func lookupsPerCallAreBounded() throws {
    let host = TestPolicyHost()
    host.resolver = TestResolver()
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      for i = 1, 25 do mailgate.dns.a("n" .. i .. ".example") end
      return mailgate.accept
    end
    return p
    """, host: host)
    #expect(engine.connect() == .policyFailure)
    #expect(host.errors().first?.contains("more than 20 DNS lookups in one hook call") == true, "\(host.errors())")
}

@Test func badLookupArgumentsRaise() throws {
    let host = TestPolicyHost()
    host.resolver = TestResolver()
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      local ok1, e1 = pcall(mailgate.dns.query, "example.org", "SOA")
      local ok2, e2 = pcall(mailgate.dns.a, string.rep("a", 64) .. ".example")
      return mailgate.reject(550, nil, tostring(ok1) .. " " .. tostring(ok2) .. " " .. e1)
    end
    return p
    """, host: host)
    let text = engine.connect().reply?.text ?? ""
    #expect(text.hasPrefix("false false "), "\(text)")
    #expect(text.contains("expected a record type as argument #2: A, AAAA, MX, TXT or PTR"))
}

@Test func theDeadlineCountsTheWait() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.holding = true  // never answers
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", lookupPolicy)
    let configuration = dir.configuration(["p"], settings: ["p": ["deadline": "300ms"]], vms: 1)
    let engine = try PolicyEngine(configuration: configuration, host: host)
    let started = Date()
    #expect(engine.connect() == .policyFailure)
    #expect(Date().timeIntervalSince(started) < 3)
    #expect(host.errors().first?.contains("deadline of 300ms exceeded") == true, "\(host.errors())")
    // The lookup's own timeout was shorter than the call's deadline.
    #expect(resolver.questions.first.map { $0.timeout < .milliseconds(300) } == true)
}

@Test func onErrorNextCarriesOnAndDeferIsTheDefault() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    dir.write("broken.lua", "local p = {}\nfunction p.connect(s) error(\"down\") end\nreturn p\n")
    dir.write("after.lua", "local p = {}\nfunction p.connect(s) return mailgate.accept end\nreturn p\n")
    let tolerant = try PolicyEngine(configuration: dir.configuration(["broken", "after"],
                                                                     settings: ["broken": ["on_error": "next"]]),
                                    host: host)
    #expect(tolerant.connect() == HookResult(verdict: .accept))
    #expect(host.errors().first?.contains("broken.lua:2: down (on_error = \"next\": carrying on with the chain)") == true,
            "\(host.errors())")
    let strict = try PolicyEngine(configuration: dir.configuration(["broken", "after"]), host: host)
    let result = strict.connect()
    #expect(result == .policyFailure)
    #expect(result.decidedBy == "broken")
    #expect(throws: PolicyLoadError.self) {
        try PolicyEngine(configuration: dir.configuration(["broken"], settings: ["broken": ["on_error": "ignore"]]),
                         host: host)
    }
}

@Test func shadowPoliciesAreComparedButNeverApplied() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    dir.write("live.lua", "local p = {}\nfunction p.connect(s) return mailgate.next end\nreturn p\n")
    dir.write("trial.lua", """
    local p = {}
    function p.connect(s)
      if s.client_ip == "192.0.2.66" then return mailgate.reject(554, "5.7.1", "trial says no") end
      return mailgate.next
    end
    return p
    """)
    dir.write("broken.lua", "local p = {}\nfunction p.helo(s) error(\"trial bug\") end\nreturn p\n")
    var configuration = dir.configuration(["live"])
    configuration.shadow = ["trial", "broken"]
    let engine = try PolicyEngine(configuration: configuration, host: host)
    #expect(engine.connect("192.0.2.66") == HookResult(verdict: .next))
    #expect(engine.connect("192.0.2.1") == HookResult(verdict: .next))
    #expect(engine.run(.helo(session(), name: "x.example")) == HookResult(verdict: .next))
    engine.waitForShadowCalls()
    let status = engine.status
    #expect(status.shadow == ["trial", "broken"])
    #expect(status.shadowDisagreements == ["trial": 1])
    let warnings = host.logs.filter { $0.message.contains("shadow") }.map(\.message)
    #expect(warnings.contains { $0.contains("shadow disagreement: hook=connect session=s1 live=next shadow=\"reject 554 5.7.1\" shadow_policy=trial") },
            "\(warnings)")
    #expect(host.errors().contains { $0.contains("shadow policy failed (changes nothing)") && $0.contains("trial bug") })
    var clash = dir.configuration(["live"])
    clash.shadow = ["live"]
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: clash, host: host) }
}

@Test func requireLoadsSharedHelpersFromPluginsLib() throws {
    let dir = PolicyDirectory()
    try FileManager.default.createDirectory(atPath: dir.plugins + "/lib", withIntermediateDirectories: true)
    try "local M = {}\nfunction M.shout(s) return string.upper(s) end\nreturn M\n"
        .write(toFile: dir.plugins + "/lib/text.lua", atomically: true, encoding: .utf8)
    let engine = try dir.engine("""
    local text = require("text")
    local again = require("text")
    local p = {}
    function p.connect(session)
      return mailgate.reject(550, nil, text.shout("hi") .. " " .. tostring(text == again) .. " " .. mailgate.api_version)
    end
    function p.helo(session) return require("text") end
    return p
    """)
    #expect(engine.connect().reply?.text == "HI true 2")
    #expect(engine.run(.helo(session(), name: "x")) == .policyFailure)
    #expect(throws: PolicyLoadError.self) { try dir.engine("local x = require(\"../etc/passwd\")\nreturn {}") }
    #expect(throws: PolicyLoadError.self) { try dir.engine("local x = require(\"missing\")\nreturn {}") }
}

@Test func transactionFieldsSurviveAWait() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.delay = .milliseconds(20)
    host.resolver = resolver
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.data(tx)
      tx:add_header("X-Before", "1")
      local _, err = mailgate.dns.a("x.example")
      tx:add_header("X-After", err)
      return mailgate.reject(550, nil, tx.mail_from.address .. " " .. tx.recipients[1].address)
    end
    return p
    """, host: host)
    let result = engine.run(.data(transaction(recipients: ["rcpt@example.test"])))
    #expect(result.reply?.text == "sender@remote.example rcpt@example.test", "\(host.errors())")
    #expect(result.addedHeaders.map(\.name) == ["X-Before", "X-After"])
}

@Test func queryAllRunsLookupsAtOnce() throws {
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.holding = true
    resolver.answer("a.example", .a, .records([.address("192.0.2.1")], ttl: 60))
    resolver.answer("b.example", .mx, .failure(.servfail))
    host.resolver = resolver
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    local p = {}
    function p.connect(session)
      local results = mailgate.dns.query_all({ {"a.example", "A"}, {"b.example", "MX"}, {"c.example", "TXT"} })
      local parts = {}
      for i, r in ipairs(results) do parts[i] = r.records and r.records[1] or r.err end
      local ok, e = pcall(mailgate.dns.query_all, { {"x.example", "SOA"} })
      return mailgate.reject(550, nil, table.concat(parts, " ") .. " | " .. tostring(ok) .. " " .. e)
    end
    return p
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 1), host: host)
    guard case .pending(let waiting) = engine.start(.connect(session())) else {
        Issue.record("query_all did not wait")
        return
    }
    // All three questions were asked before any answer came.
    waitUntil { resolver.heldCount == 3 }
    #expect(resolver.heldCount == 3)
    resolver.release()
    let text = waiting.wait().reply?.text ?? ""
    #expect(text.hasPrefix("192.0.2.1 servfail nxdomain | false "), "\(text)")
    #expect(text.contains("question #1 must be {name, type}"))
}
