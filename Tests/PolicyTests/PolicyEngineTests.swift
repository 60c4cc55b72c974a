// The chain, reload and concurrency behaviour of PolicyEngine.
import Foundation
import MailCore
import Testing
@testable import Policy

@Test func chainRunsInOrderUntilAFinalVerdict() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("first.lua", "return { connect = function() mailgate.log.info('first') return mailgate.next end }")
    dir.write("nohook.lua", "return { rcpt = function() return mailgate.accept end }")
    dir.write("second.lua", "return { connect = function() mailgate.log.info('second') return mailgate.reject(554, nil, 'second') end }")
    dir.write("third.lua", "return { connect = function() mailgate.log.info('third') return mailgate.accept end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["first", "nohook", "second", "third"]), host: host)
    #expect(engine.connect().reply?.text == "second")
    #expect(host.logs.map(\.message) == ["first", "second"])
    #expect(host.logs.map(\.policy) == ["first", "second"])
    #expect(engine.run(.helo(session(), name: "x")) == HookResult(verdict: .next))
    #expect(engine.status.policies == ["first", "nohook", "second", "third"])
}

@Test func everyPolicyHasItsOwnBudgetAndItsOwnErrors() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    // Each spends well over half of the budget: together they would exceed one budget.
    let spend = "local n = 0 for i = 1, 3000 do n = n + i end"
    dir.write("first.lua", "return { connect = function() \(spend) return mailgate.next end }")
    dir.write("second.lua", "return { connect = function() \(spend) return mailgate.next end }")
    dir.write("third.lua", "return { connect = function(s)\n  if s.client_ip == '192.0.2.66' then\n    error('third failed')\n  end\n  return mailgate.reject(554, nil, 'third')\nend }")
    let engine = try PolicyEngine(configuration: dir.configuration(["first", "second", "third"], budget: 10_000), host: host)
    #expect(engine.connect().reply?.text == "third")
    #expect(host.errors().isEmpty)
    #expect(engine.connect("192.0.2.66") == .policyFailure)
    #expect(host.logs.filter { $0.level == .error }.map(\.policy) == ["third"])
    #expect(host.errors().first?.contains("third.lua:3: third failed") == true, "\(host.errors())")
    // The VM serves the next call normally.
    #expect(engine.connect().reply?.text == "third")
}

@Test func pluginDirectoryIsTheFallback() throws {
    let dir = PolicyDirectory()
    try "return { connect = function() return mailgate.reject(550, nil, 'plugin') end }"
        .write(toFile: dir.plugins + "/extra.lua", atomically: true, encoding: .utf8)
    let engine = try PolicyEngine(configuration: dir.configuration(["extra"]), host: TestPolicyHost())
    #expect(engine.connect().reply?.text == "plugin")
}

@Test func loadErrorsNameFileAndLine() throws {
    let dir = PolicyDirectory()
    dir.write("broken.lua", "local p = {}\nfunction p.connect(\n  return\nend\nreturn p")
    #expect {
        try PolicyEngine(configuration: dir.configuration(["broken"]), host: TestPolicyHost())
    } throws: { error in
        guard let error = error as? PolicyLoadError else { return false }
        return error.file == dir.file("broken.lua") && error.line == 3
            && error.description.hasPrefix(dir.file("broken.lua") + ":3: ")
    }
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: dir.configuration(["missing"]), host: TestPolicyHost()) }
    dir.write("notable.lua", "return 42")
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: dir.configuration(["notable"]), host: TestPolicyHost()) }
    dir.write("badhook.lua", "return { rcpt = 'yes' }")
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: dir.configuration(["badhook"]), host: TestPolicyHost()) }
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: dir.configuration(["../etc/passwd"]), host: TestPolicyHost()) }
    dir.write("ok.lua", "return {}")
    #expect(throws: PolicyLoadError.self) { try PolicyEngine(configuration: dir.configuration(["ok", "ok"]), host: TestPolicyHost()) }
}

@Test func unknownHookNamesAreReported() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("typo.lua", "return { mailfrom = function() return mailgate.next end }")
    _ = try PolicyEngine(configuration: dir.configuration(["typo"]), host: host)
    #expect(host.logs.filter { $0.level == .warning && $0.message.contains("\"mailfrom\" is not a hook name") }.count == 1)
}

@Test func reloadSwapsToTheNewSet() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'one') end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["p"]), host: host)
    #expect(engine.status.generation == 1)
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'two') end }")
    try engine.reload(dir.configuration(["p"]))
    #expect(engine.connect().reply?.text == "two")
    #expect(engine.status.generation == 2)
    #expect(engine.status.lastReloadError == nil)
}

@Test func reloadWithASyntaxErrorKeepsTheOldSet() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'one') end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["p"]), host: host)
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'two') end\n!!")
    #expect(throws: PolicyLoadError.self) { try engine.reload(dir.configuration(["p"])) }
    #expect(engine.connect().reply?.text == "one")
    let status = engine.status
    #expect(status.generation == 1)
    #expect(status.lastReloadError?.hasPrefix(dir.file("p.lua") + ":2: ") == true, "\(status.lastReloadError ?? "")")
    #expect(host.errors().contains { $0.contains(dir.file("p.lua") + ":2:") })
    // A later good reload clears the error.
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'three') end }")
    try engine.reload(dir.configuration(["p"]))
    #expect(engine.status.lastReloadError == nil)
    #expect(engine.status.generation == 2)
}

@Test func reloadWithAnInitErrorKeepsTheOldSet() throws {
    let dir = PolicyDirectory()
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'one') end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["p"]), host: TestPolicyHost())
    dir.write("p.lua", """
    local p = {}
    function p.init(config)
      error("cannot start: " .. config.reason)
    end
    function p.connect() return mailgate.accept end
    return p
    """)
    #expect {
        try engine.reload(dir.configuration(["p"], settings: ["p": ["reason": "bad config"]]))
    } throws: { error in
        (error as? PolicyLoadError)?.description == dir.file("p.lua") + ":3: cannot start: bad config"
    }
    #expect(engine.connect().reply?.text == "one")
}

@Test func initReceivesConfigAndSettingsBecomeTheConfigGlobal() throws {
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    local seen
    function p.init(c) seen = c.greeting .. "/" .. tostring(c == config) .. "/" .. #c.list .. "/" .. c.nested.n end
    function p.connect() return mailgate.reject(550, nil, seen .. "/" .. mailgate.config.hostname) end
    return p
    """, settings: ["p": ["greeting": "hi", "list": [1, 2, 3], "nested": ["n": 2.5]]],
    globals: ["hostname": "mx.example.test"])
    #expect(engine.connect().reply?.text == "hi/true/3/2.5/mx.example.test")
}

@Test func callsInFlightFinishOnTheOldSet() throws {
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    return { connect = function(s)
      if s.client_ip == "192.0.2.99" then
        local t = os.clock() + 0.3
        while os.clock() < t do end
      end
      return mailgate.reject(550, nil, 'old')
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], budget: 100_000_000), host: TestPolicyHost())
    let slow = ResultBox()
    let thread = Thread { slow.value = engine.connect("192.0.2.99") }
    thread.start()
    Thread.sleep(forTimeInterval: 0.05)
    dir.write("p.lua", "return { connect = function() return mailgate.reject(550, nil, 'new') end }")
    try engine.reload(dir.configuration(["p"]))
    #expect(engine.connect().reply?.text == "new")
    while slow.value == nil { Thread.sleep(forTimeInterval: 0.01) }
    #expect(slow.value?.reply?.text == "old")
}

@Test func manyThreadsRunConcurrently() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost(users: ["alice@example.test"])
    dir.write("p.lua", """
    return { rcpt = function(tx, rcpt)
      if mailgate.users.exists(rcpt.address) then return mailgate.next end
      return mailgate.reject(550, "5.1.1", "unknown " .. rcpt.address)
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 4), host: host)
    let failures = Counter()
    DispatchQueue.concurrentPerform(iterations: 16) { worker in
        for index in 0..<500 {
            let known = index % 2 == 0
            let rcpt = known ? "alice@example.test" : "u\(worker)x\(index)@example.test"
            let outcome = engine.run(.rcpt(transaction(), recipient: address(rcpt)))
            let expected = known ? HookResult(verdict: .next)
                : HookResult(verdict: .reject(Reply(550, "5.1.1", "unknown \(rcpt)")))
            if outcome != expected { failures.increment() }
        }
    }
    #expect(failures.value == 0)
    #expect(host.errors().isEmpty)
}

@Test func reloadUnderLoadNeverFailsACall() throws {
    let dir = PolicyDirectory()
    dir.write("p.lua", "return { connect = function() return mailgate.accept end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 3), host: TestPolicyHost())
    let failures = Counter()
    let done = Counter()
    let group = DispatchGroup()
    for _ in 0..<4 {
        DispatchQueue.global().async(group: group) {
            while done.value == 0 {
                if engine.connect().verdict != .accept { failures.increment() }
            }
        }
    }
    for _ in 0..<20 { try engine.reload(dir.configuration(["p"], vms: 3)) }
    done.increment()
    group.wait()
    #expect(failures.value == 0)
    #expect(engine.status.generation == 21)
}

final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: HookResult?
    var value: HookResult? {
        get { lock.lock(); defer { lock.unlock() }; return _value }
        set { lock.lock(); _value = newValue; lock.unlock() }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var _value = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return _value }
    func increment() { lock.lock(); _value += 1; lock.unlock() }
}
