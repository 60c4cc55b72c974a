// The limits of one hook call (issue 11 §3–5): the instruction budget over every
// coroutine the call makes, the cost of C library calls, the wall-clock deadline,
// suspension of a long call started on an event loop, memory built by the host, and
// the bound on store writes. Each hostile script must end as a 451 quickly, and the
// VM must serve the next call.
import CLuaShim
import Foundation
import MailCore
import Testing
@testable import Policy

/// Runs `body` as the connect hook of a fresh engine; returns the result, the host
/// (for its log) and the wall time of the call.
private func connect(_ body: String, budget: Int = 1_000_000, memory: Int = 8 * 1024 * 1024,
                     settings: [String: PolicyValue] = [:], deadline: Duration = .seconds(5),
                     host: TestPolicyHost = TestPolicyHost()) throws -> (HookResult, TestPolicyHost, Double) {
    let dir = PolicyDirectory()
    dir.write("p.lua", "local p = {}\nfunction p.connect(session)\n\(body)\nend\nreturn p\n")
    var configuration = dir.configuration(["p"], settings: settings, budget: budget, memory: memory)
    configuration.deadline = deadline
    let engine = try PolicyEngine(configuration: configuration, host: host)
    let start = Date()
    let result = engine.connect()
    return (result, host, Date().timeIntervalSince(start))
}

/// The connect hook's reply text for `return mailgate.reject(550, nil, <expression>)`.
private func value(_ expression: String) throws -> String {
    let (result, host, _) = try connect("return mailgate.reject(550, nil, tostring(\(expression)))")
    return result.reply?.text ?? "FAILED: \(host.errors())"
}

// MARK: §3 the budget belongs to the hook call

@Test(arguments: [
    // nested wraps, each finishing inside one count interval
    """
    local function nest(depth)
      if depth == 0 then return 1 end
      return coroutine.wrap(function() return nest(depth - 1) end)()
    end
    while true do nest(5) end
    """,
    // create/resume of short coroutines
    "while true do coroutine.resume(coroutine.create(function() return 1 end)) end",
    // the busy loop inside a coroutine
    "coroutine.wrap(function() while true do end end)()",
    // yielding back and forth
    "local co = coroutine.wrap(function() while true do coroutine.yield() end end)\nwhile true do co() end",
    // close runs __close handlers of a suspended coroutine
    """
    while true do
      local co = coroutine.create(function()
        local guard <close> = setmetatable({}, { __close = function() for i = 1, 50 do end end })
        coroutine.yield()
      end)
      coroutine.resume(co)
      coroutine.close(co)
    end
    """,
])
func everyCoroutineDrawsFromTheCallsBudget(script: String) throws {
    let (result, host, seconds) = try connect(script, budget: 100_000)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("instruction budget of 100000 exceeded") == true, "\(host.errors())")
    #expect(seconds < 1)
}

@Test(arguments: [
    "pcall(coroutine.wrap(function() while true do end end))\nreturn mailgate.accept",
    "pcall(function() while true do end end)\nreturn mailgate.accept",
    "local ok = coroutine.resume(coroutine.create(function() while true do end end))\nreturn mailgate.accept",
    "pcall(function() while true do end end)\nerror({ code = 1 })",
    "pcall(function() while true do end end)\nerror(setmetatable({}, { __tostring = function() return 'x' end }))",
    "local co = coroutine.create(function() pcall(function() while true do end end) return 'done' end)\nlocal _, v = coroutine.resume(co)\nreturn mailgate.reject(550, nil, v)",
    "pcall(string.rep, 'x', 1e6)\npcall(function() while true do end end)\nreturn mailgate.accept",
])
func aSpentCallFailsWhateverTheScriptDoesAfter(script: String) throws {
    let (result, host, seconds) = try connect(script, budget: 100_000)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("instruction budget of 100000 exceeded") == true, "\(host.errors())")
    #expect(seconds < 1)
}

@Test func theHookFunctionIsNotACoroutineToTheScript() throws {
    #expect(try value("coroutine.isyieldable()") == "false")
    #expect(try value("select(2, coroutine.running())") == "true")
    #expect(try value("select(2, pcall(coroutine.yield, 1))").contains("attempt to yield from outside a coroutine"))
    let (result, host, _) = try connect("coroutine.yield()\nreturn mailgate.accept")
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("p.lua:3: attempt to yield from outside a coroutine") == true, "\(host.errors())")
}

@Test func coroutinesStillBehaveAsInLua() throws {
    #expect(try value("""
    (function()
      local gen = coroutine.wrap(function(n) for i = 1, n do coroutine.yield(i) end return 'end' end)
      local sum = 0
      for _ = 1, 10 do sum = sum + gen(10) end
      return sum .. ' ' .. gen()
    end)()
    """) == "55 end")
    #expect(try value("""
    (function()
      local co = coroutine.create(function(a, b) local c = coroutine.yield(a + b) return c * 2 end)
      local _, x = coroutine.resume(co, 1, 2)
      local _, y = coroutine.resume(co, 10)
      local ok, message = coroutine.resume(co)
      return table.concat({ x, y, coroutine.status(co), tostring(ok), message }, ' ')
    end)()
    """) == "3 20 dead false cannot resume dead coroutine")
    #expect(try value("select(2, pcall(coroutine.wrap(function() error('inner') end)))").hasSuffix("inner"))
    #expect(try value("coroutine.wrap(function() return coroutine.isyieldable() end)()") == "true")
    #expect(try value("select(2, coroutine.resume(coroutine.create(function() error({}) end)))").hasPrefix("table"))
}

// MARK: §4 the cost of C calls

/// 80 ranges in one class.
private let wideClass = "[" + (0..<80).map { _ in "b-c" }.joined() + "]"

@Test(arguments: [
    "s:find('\(wideClass)*x')",
    "s:find('\(wideClass)')",
    "s:find('a*b')",
    "s:find('.-b')",
    "s:match('^(a*)%1b')",
    "s:find('%b(x')",
    "s:gsub('%f[%w]a*', '')",
    "s:gsub('a', 'bb')",
    "s:find(string.rep('a-', 20) .. 'b')",
    "string.rep('x', 1e5)",
    "table.concat(t)",
    "utf8.len(s)",
    "string.format('%99d%s', 1, s)",
    "s:upper()",
    "s .. s",
    "string.byte(s, 1, -1)",
    "table.sort(t, function(a, b) return a < b end)",
])
func aWholeBudgetOfCCallsRunsInBoundedTime(call: String) throws {
    // Under a pcall: a call refused as too costly for one call is retried until the
    // budget is spent, as a hostile script would.
    let (result, host, seconds) = try connect("""
    local s = string.rep('a', 5800)
    local t = {}
    for i = 1, 1000 do t[i] = tostring(i) end
    for i = 1, 1e9 do pcall(function() local _ = \(call) end) end
    """)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("instruction budget of 1000000 exceeded") == true, "\(host.errors())")
    // A budget of a million instructions is a few ms of plain Lua: C work at its
    // charged price must stay within the same order (debug builds are slower).
    #expect(seconds < 0.5, "\(call): \(seconds) s")
}

@Test func oneCostlyPatternCallStopsInsideTheCall() throws {
    let (result, host, seconds) = try connect("""
    local s = string.rep('a', 60000)
    return mailgate.reject(550, nil, tostring(s:find(string.rep('a-', 60) .. 'b')))
    """)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("p.lua:4: pattern too costly: more than 1048576 steps in one call") == true,
            "\(host.errors())")
    #expect(seconds < 0.5)
}

@Test func oneCallCannotBeChargedBeyondTheLimitOfACall() throws {
    let (result, host, _) = try connect("""
    local t = {}
    for i = 1, 300000 do t[i] = i end
    table.sort(t)
    return mailgate.accept
    """, budget: 1_000_000_000, memory: 32 * 1024 * 1024)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("call too costly") == true, "\(host.errors())")
}

@Test func patternFunctionsKeepLuasSemantics() throws {
    #expect(try value("('hello world'):gsub('(%w+)', '<%1>')") == "<hello> <world>")
    #expect(try value("select(2, ('hello world'):gsub('o', '0', 1))") == "1")
    #expect(try value("('abc'):gsub('', '-')") == "-a-b-c-")
    #expect(try value("('$name is $age'):gsub('%$(%w+)', { name = 'bob', age = 7 })") == "bob is 7")
    #expect(try value("('x = 1, y = 2'):gsub('(%w+) = (%w+)', '%2 = %1')") == "1 = x, 2 = y")
    #expect(try value("('abc'):gsub('%w', function(c) return c:upper() .. '.' end)") == "A.B.C.")
    #expect(try value("('hello'):gsub('l', false and 'x' or { })") == "hello")
    #expect(try value("table.concat({ ('key=val'):match('(%w+)=(%w+)') }, ',')") == "key,val")
    #expect(try value("table.concat({ ('hello'):find('l') }, ',')") == "3,3")
    #expect(try value("table.concat({ ('hello'):find('l', 1, true) }, ',')") == "3,3")
    #expect(try value("table.concat({ ('hello'):find('(l)(l)') }, ',')") == "3,4,l,l")
    #expect(try value("table.concat({ ('a.b'):find('.', 1, true) }, ',')") == "2,2")
    #expect(try value("('a+b'):find('+', 1, true)") == "2")
    #expect(try value("('hello'):find('xyz')") == "nil")
    #expect(try value("('hello'):find('l', -2)") == "4")
    #expect(try value("('hello'):find('', 10)") == "nil")
    #expect(try value("('hello'):find('', 6)") == "6")
    #expect(try value("table.concat({ ('hello'):match('()ll()') }, ',')") == "3,5")
    #expect(try value("('THE (quick) fox'):find('%f[%a]%a+', 5)") == "6")
    #expect(try value("('f(a(b)c)d'):match('%b()')") == "(a(b)c)")
    #expect(try value("('abcabc'):match('^(abc)%1$')") == "abc")
    #expect(try value("('  trim me  '):match('^%s*(.-)%s*$')") == "trim me")
    #expect(try value("('2024-01-05'):match('^(%d+)-(%d+)-(%d+)$')") == "2024")
    #expect(try value("('x'):match('^y?x$')") == "x")
    #expect(try value("('[tag]'):match('%[(.-)%]')") == "tag")
    #expect(try value("('a,b,,c'):gsub(',', ';')") == "a;b;;c")
    #expect(try value("""
    (function() local out = {} for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do out[#out + 1] = k .. v end return table.concat(out, ' ') end)()
    """) == "a1 b2")
    #expect(try value("(function() local n = 0 for _ in ('abc'):gmatch('') do n = n + 1 end return n end)()") == "4")
    #expect(try value("(function() local n = 0 for w in ('one two'):gmatch('%a+', 4) do n = n + #w end return n end)()") == "3")
    #expect(try value("select(2, pcall(string.find, 'a', '[a'))").contains("malformed pattern (missing ']')"))
    #expect(try value("select(2, pcall(string.find, 'a', '%'))").contains("malformed pattern (ends with '%')"))
    #expect(try value("select(2, pcall(string.gsub, 'a', '(a)', '%2'))").contains("invalid capture index %2"))
    #expect(try value("select(2, pcall(string.find, 'a', '(a'))").contains("unfinished capture"))
    #expect(try value("select(2, pcall(string.rep('a', 300).find, 'a', string.rep('(', 40) .. string.rep(')', 40)))").contains("too many captures"))
}

// MARK: §4 the deadline

@Test func theDeadlineEndsACallThatWouldRunOn() throws {
    let (result, host, seconds) = try connect("while true do end", budget: 1_000_000_000_000, deadline: .milliseconds(200))
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("p.lua:3: deadline of 200ms exceeded") == true, "\(host.errors())")
    #expect(seconds >= 0.2 && seconds < 1)
}

@Test func aPolicysOwnDeadlineOverridesTheCommonOne() throws {
    let (result, host, seconds) = try connect("while true do coroutine.wrap(function() end)() end", budget: 1_000_000_000_000,
                                              settings: ["p": ["deadline": "100ms"]], deadline: .seconds(30))
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("deadline of 100ms exceeded") == true, "\(host.errors())")
    #expect(seconds < 1)
    #expect(throws: PolicyLoadError.self) {
        _ = try connect("return mailgate.next", settings: ["p": ["deadline": "soon"]])
    }
}

@Test func theDeadlineIsCheckedBeforeHostCalls() throws {
    let (result, host, seconds) = try connect("while true do mailgate.now() end", budget: 1_000_000_000_000,
                                              deadline: .milliseconds(100))
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("deadline of 100ms exceeded") == true, "\(host.errors())")
    #expect(seconds < 1)
}

// MARK: §4 suspension on an event loop

@Test func aLongCallSuspendsItselfAndFinishesElsewhere() throws {
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    local p = {}
    function p.connect(session)
      if session.client_ip == "192.0.2.1" then return mailgate.accept end
      -- the work runs in a coroutine under a pcall: the suspension passes through both
      local ok, sum = pcall(coroutine.wrap(function()
        local n = 0
        for i = 1, 3000000 do n = n + i % 7 end
        coroutine.yield(n)
      end))
      return mailgate.reject(550, nil, tostring(ok) .. " " .. tostring(sum))
    end
    return p
    """)
    var configuration = dir.configuration(["p"], budget: 100_000_000, vms: 1)
    configuration.eventLoopSlice = .milliseconds(1)
    let engine = try PolicyEngine(configuration: configuration, host: TestPolicyHost())
    // A quick call finishes in its slice.
    guard case .finished(let quick) = engine.start(.connect(session(ip: "192.0.2.1"))) else {
        Issue.record("a quick call did not finish in place")
        return
    }
    #expect(quick == HookResult(verdict: .accept))
    let started = Date()
    guard case .pending(let suspended) = engine.start(.connect(session())) else {
        Issue.record("a long call was not suspended")
        return
    }
    #expect(Date().timeIntervalSince(started) < 0.05)
    // Its VM stays reserved: with one VM a second call queues instead of starting.
    guard case .pending(let queued) = engine.start(.connect(session(ip: "192.0.2.1"))) else {
        Issue.record("a second call started on a reserved VM")
        return
    }
    let result = suspended.wait()
    #expect(result.reply?.text == "true 8999997")
    #expect(queued.wait() == HookResult(verdict: .accept))
    guard case .finished(let after) = engine.start(.connect(session(ip: "192.0.2.1"))) else {
        Issue.record("the VM did not come back")
        return
    }
    #expect(after == HookResult(verdict: .accept))
}

// MARK: §5 memory and store writes

@Test func copiesOfAHugeHeaderFailTheCallAndNotTheVM() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    local p = {}
    function p.data(tx)
      local copies = {}
      for i = 1, 16 do
        copies[i] = tx.headers
        rawset(tx, "headers", nil)
      end
      return mailgate.accept
    end
    return p
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["p"], memory: 32 * 1024 * 1024, vms: 1), host: host)
    let folded = String(repeating: "word word\r\n ", count: 600_000) + String(repeating: "x", count: 100_000)
    let big = transaction(headers: [HeaderField(name: "X-Big", value: folded)])
    #expect(big.headers[0].value.utf8.count > 7_000_000)
    #expect(engine.run(.data(big)) == .policyFailure)
    #expect(host.errors().first?.contains("memory limit of 33554432 bytes") == true, "\(host.errors())")
    // The VM serves the next message.
    #expect(engine.run(.data(transaction(headers: [HeaderField(name: "Subject", value: "hi")]))) == HookResult(verdict: .accept))
}

@Test func storeWritesAreBoundedPerCall() throws {
    let host = TestPolicyHost()
    let (result, _, _) = try connect("""
    for i = 1, 100 do mailgate.counters.incr("k", 60) end
    local ok, message = pcall(mailgate.counters.incr, "k", 60)
    local ok2 = pcall(mailgate.whitelist.add, "192.0.2.9", 60)
    return mailgate.reject(550, nil, tostring(ok) .. " " .. tostring(ok2) .. " " .. message)
    """, host: host)
    #expect(result.reply?.text.hasPrefix("false false ") == true)
    #expect(result.reply?.text.contains("more than 100 store writes in one hook call") == true, "\(String(describing: result.reply))")
    #expect(host.counterGet("k", windowSeconds: 60) == 100)
    #expect(host.whitelist.isEmpty)
}

@Test func aVMStillOverItsCapAfterACallIsReplaced() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    local p = {}
    function p.connect(session)
      if session.client_ip == "192.0.2.66" then kept = string.rep("x", 3 * 1024 * 1024) end
      return mailgate.accept
    end
    return p
    """)
    let set = try PolicyVMSet(configuration: dir.configuration(["p"], budget: 10_000_000, memory: 8 * 1024 * 1024, vms: 1),
                              host: host, generation: 1)
    #expect(set.run(.connect(session(ip: "192.0.2.66"))) == HookResult(verdict: .accept))
    // The VM keeps 3 MiB in a global; a cap of 2 MiB leaves it over after any call.
    set.withIdleVMs { mg_set_memory_limit($0.state, 2 * 1024 * 1024) }
    _ = set.run(.connect(session()))
    let deadline = Date().addingTimeInterval(10)
    while set.replacementCount == 0 && Date() < deadline { usleep(1000) }
    #expect(set.replacementCount == 1)
    #expect(host.logs.contains { $0.message.contains("replacing it with a fresh one") })
    // The fresh VM has the chain and none of the old one's memory.
    #expect(set.run(.connect(session())) == HookResult(verdict: .accept))
    set.withIdleVMs { vm in #expect(mg_memory_used(vm.state) < 1024 * 1024) }
}

@Test func aLoopOfCostlyCCallsIsSuspendedAfterItsSliceToo() throws {
    let dir = PolicyDirectory()
    // Few instructions, much C work: the slice must end at the next instruction after
    // the C call that used it up, not when the instruction count reaches the hook.
    dir.write("p.lua", """
    local p = {}
    function p.connect(session)
      local s = string.rep("a", 5800)
      for i = 1, 100 do pcall(s.find, s, "a*b") end
      return mailgate.accept
    end
    return p
    """)
    var configuration = dir.configuration(["p"], budget: 1_000_000_000, vms: 1)
    configuration.eventLoopSlice = .milliseconds(1)
    configuration.deadline = .seconds(120)  // the whole call takes seconds on a loaded machine
    let engine = try PolicyEngine(configuration: configuration, host: TestPolicyHost())
    let started = Date()
    guard case .pending(let suspended) = engine.start(.connect(session())) else {
        Issue.record("the call was not suspended")
        return
    }
    // Back long before the call could have finished (the loop alone takes seconds).
    #expect(Date().timeIntervalSince(started) < 0.5)
    #expect(suspended.wait() == HookResult(verdict: .accept))
}
