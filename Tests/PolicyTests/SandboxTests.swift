// The sandbox: what a policy can reach, and that a hostile or broken script
// only ever costs a 451 for that step.
import Foundation
import MailCore
import Testing
@testable import Policy

/// Runs `body` as the connect hook and returns (result, host); the hook's value
/// is turned into a verdict by the script itself.
private func runConnect(_ body: String, budget: Int = 100_000, memory: Int = 4 * 1024 * 1024,
                        host: TestPolicyHost = TestPolicyHost()) throws -> (HookResult, TestPolicyHost, PolicyEngine, PolicyDirectory) {
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
    \(body)
    end
    return p
    """, host: host, budget: budget, memory: memory)
    return (engine.connect(), host, engine, dir)
}

/// A script that answers reject(550, ..., tostring(expression)): the text shows
/// what the sandbox gave it. It runs with the default budget of a million
/// instructions (pattern work on large subjects is charged against it).
private func evaluate(_ expression: String) throws -> String? {
    let (result, host, _, _) = try runConnect("return mailgate.reject(550, nil, tostring(\(expression)))", budget: 1_000_000)
    if result == .policyFailure { Issue.record("policy failed: \(host.errors())") }
    return result.reply?.text
}

@Test(arguments: ["io", "debug", "package", "dofile", "loadfile", "load", "loadstring",
                  "xpcall", "collectgarbage", "warn", "string.dump", "os.execute", "os.exit", "os.remove",
                  "os.rename", "os.getenv", "os.tmpname", "os.setlocale"])
func dangerousGlobalsAreAbsent(name: String) throws {
    #expect(try evaluate(name) == "nil")
}

@Test(arguments: ["os.time", "os.clock", "os.date", "string.upper", "table.insert", "math.floor", "utf8.char",
                  "coroutine.wrap", "pcall", "setmetatable", "mailgate.reject", "mailgate.log.info"])
func safeGlobalsArePresent(name: String) throws {
    let text = try evaluate("type(\(name))")
    #expect(text == "function")
}

@Test func binaryChunksCannotBeLoaded() throws {
    let dir = PolicyDirectory()
    dir.write("p.lua", "\u{1b}Lua\u{54}\u{00}garbage")
    #expect(throws: PolicyLoadError.self) {
        try PolicyEngine(configuration: dir.configuration(["p"]), host: TestPolicyHost())
    }
}

@Test func gcMetamethodIsRefused() throws {
    let (result, host, _, _) = try runConnect("""
      setmetatable({}, { __gc = function() while true do end end })
      return mailgate.next
    """)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("__gc") == true)
    let (falseGC, _, _, _) = try runConnect("""
      local mt = { __gc = false }
      setmetatable({}, mt)
      return mailgate.next
    """)
    #expect(falseGC == .policyFailure)
}

@Test func libraryOverrideInOnePolicyDoesNotAffectAnother() throws {
    let dir = PolicyDirectory()
    dir.write("evil.lua", """
    pcall(function() string.upper = function() return "pwned" end end)
    pcall(rawset, string, "upper", function() return "pwned" end)
    pcall(function() getmetatable("").__index.upper = function() return "pwned" end end)
    pcall(function() mailgate.next = mailgate.accept end)
    pcall(rawset, mailgate, "reject", function() return mailgate.accept end)
    upper = function() return "pwned" end
    return { connect = function() return mailgate.next end }
    """)
    dir.write("good.lua", """
    return { connect = function(s) return mailgate.reject(550, nil, string.upper("ok") .. ("x"):upper()) end }
    """)
    let host = TestPolicyHost()
    let engine = try PolicyEngine(configuration: dir.configuration(["evil", "good"]), host: host)
    let result = engine.connect()
    #expect(result.reply?.text == "OKX")
    #expect(host.errors().isEmpty)
}

@Test func readOnlyTablesRefuseWrites() throws {
    for statement in ["string.upper = nil", "mailgate.next = 1", "mailgate.log.info = 1", "rawset(math, 'pi', 3)",
                      "setmetatable(string, {})", "mailgate.config.hostname = 'x'", "os.time = nil",
                      "rawset(mailgate.next, 1, 'accept')", "mailgate.next.kind = 'accept'"] {
        let (result, host, _, _) = try runConnect("\(statement)\nreturn mailgate.next")
        #expect(result == .policyFailure, "\(statement)")
        #expect(host.errors().first?.contains("p.lua:3:") == true, "\(statement): \(host.errors())")
    }
}

@Test func globalsOfOnePolicyAreInvisibleToAnother() throws {
    let dir = PolicyDirectory()
    dir.write("a.lua", "shared = 'from a'\nreturn {}")
    dir.write("b.lua", "return { connect = function() return mailgate.reject(550, nil, tostring(shared)) end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["a", "b"]), host: TestPolicyHost())
    #expect(engine.connect().reply?.text == "nil")
}

@Test func infiniteLoopIsStoppedAndTheEngineKeepsWorking() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      if session.client_ip == "192.0.2.66" then
        while true do end
      end
      return mailgate.accept
    end
    return p
    """, host: host, budget: 10_000)
    let start = Date()
    #expect(engine.connect("192.0.2.66") == .policyFailure)
    #expect(Date().timeIntervalSince(start) < 1)
    #expect(host.errors().first?.contains("p.lua:4: instruction budget of 10000 exceeded") == true, "\(host.errors())")
    #expect(engine.connect() == HookResult(verdict: .accept))
}

@Test func pcallCannotSwallowTheBudgetStop() throws {
    let (result, host, _, _) = try runConnect("""
      for i = 1, 1000 do
        pcall(function() while true do end end)
      end
      while true do pcall(error, "x") end
    """, budget: 5_000)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("instruction budget") == true)
}

@Test func coroutinesShareTheBudget() throws {
    let (result, host, _, _) = try runConnect("""
      local co = coroutine.wrap(function() while true do coroutine.yield() end end)
      while true do co() end
    """, budget: 5_000)
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("instruction budget") == true)
}

@Test func closeHandlersCannotEscapeTheBudget() throws {
    let (result, _, engine, _) = try runConnect("""
      local guard <close> = setmetatable({}, { __close = function() while true do end end })
      while true do end
    """, budget: 5_000)
    #expect(result == .policyFailure)
    #expect(engine.connect() == .policyFailure)
}

@Test func memoryBombIsStopped() throws {
    let host = TestPolicyHost()
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      if session.client_ip == "192.0.2.66" then
        local t = {}
        local chunk = string.rep("x", 1024)
        for i = 1, 1e9 do t[i] = chunk .. i end
      end
      return mailgate.accept
    end
    return p
    """, host: host, budget: 100_000_000, memory: 2 * 1024 * 1024)
    #expect(engine.connect("192.0.2.66") == .policyFailure)
    #expect(host.errors().first?.contains("memory limit of 2097152 bytes exceeded") == true, "\(host.errors())")
    #expect(engine.connect() == HookResult(verdict: .accept))
}

@Test func oneHugeAllocationIsRefused() throws {
    let (result, host, _, _) = try runConnect("local s = string.rep('x', 1e9) return mailgate.next")
    #expect(result == .policyFailure)
    #expect(host.errors().first?.contains("memory limit") == true)
}

@Test func runtimeErrorIsLoggedWithFileAndLine() throws {
    let (result, host, _, dir) = try runConnect("""
      local x = nil
      return x.field
    """)
    #expect(result == .policyFailure)
    #expect(result.reply == Reply(451, "4.3.0", "Temporary policy failure, please try again later"))
    let line = try #require(host.errors().first)
    #expect(line.hasPrefix(dir.file("p.lua") + ":4: attempt to index a nil value"), "\(line)")
    #expect(host.logs.first?.policy == "p")
}

@Test func nonStringErrorObjectsStillGetAPosition() throws {
    let (result, host, _, dir) = try runConnect("error({ code = 1 })")
    #expect(result == .policyFailure)
    #expect(host.errors().first == dir.file("p.lua") + ":3: (error object is a table value)")
}

@Test func patternFunctionsAreBounded() throws {
    let (subject, host, _, dir) = try runConnect("""
      local big = string.rep("a", 70000)
      return mailgate.reject(550, nil, tostring(big:find("a")))
    """)
    #expect(subject == .policyFailure)
    #expect(host.errors().first?.hasPrefix(dir.file("p.lua") + ":4: string.find: subject of 70000 bytes") == true, "\(host.errors())")

    let (pattern, host2, _, _) = try runConnect("""
      return mailgate.reject(550, nil, tostring(string.match("abc", string.rep("a?", 200))))
    """)
    #expect(pattern == .policyFailure)
    #expect(host2.errors().first?.contains("pattern of 400 bytes exceeds") == true)

    #expect(try evaluate("string.gsub('hello world', 'o', '0')") == "hell0 w0rld")
    #expect(try evaluate("('Mixed'):lower()") == "mixed")
}

@Test func backtrackingPatternsStopWithTheBudget() throws {
    let start = Date()
    let (catastrophic, host, _, _) = try runConnect("""
      local s = string.rep("a", 60000)
      return mailgate.reject(550, nil, tostring(s:find(string.rep("a-", 60) .. "b")))
    """)
    #expect(catastrophic == .policyFailure)
    #expect(host.errors().first?.contains("p.lua:4: instruction budget of 100000 exceeded") == true, "\(host.errors())")
    #expect(Date().timeIntervalSince(start) < 1)
    // Linear cases stay allowed on large subjects.
    #expect(try evaluate("select(2, string.rep('a b ', 10000):gsub('%s+', '_'))") == "20000")
    #expect(try evaluate("string.rep('x', 60000):find('xxy', 1, true)") == "nil")
    #expect(try evaluate("string.rep('a', 60000):find('^a-b')") == "nil")
    #expect(try evaluate("('alice@example.test'):match('(%w+)@(%w+)%.(%w+)')") == "alice")
}

@Test func emptyRepeatAndHugeTableRangesDoNotHang() throws {
    #expect(try evaluate("#string.rep('', 1 << 60)") == "0")
    let start = Date()
    let (concat, _, _, _) = try runConnect("""
      local t = setmetatable({}, { __index = function() return "" end, __len = function() return 1 << 60 end })
      return mailgate.reject(550, nil, table.concat(t))
    """)
    #expect(concat == .policyFailure)
    let (move, _, _, _) = try runConnect("table.move({}, 1, 1 << 60, 2) return mailgate.next")
    #expect(move == .policyFailure)
    let (insert, _, _, _) = try runConnect("""
      table.insert(setmetatable({}, { __len = function() return 1 << 40 end }), 1, "x")
      return mailgate.next
    """)
    #expect(insert == .policyFailure)
    #expect(Date().timeIntervalSince(start) < 2)
}

@Test func stringMetatableIsHidden() throws {
    #expect(try evaluate("getmetatable('')") == "string")
    #expect(try evaluate("getmetatable(string)") == "read-only")
    #expect(try evaluate("getmetatable(_ENV)") == "sandbox")
}

@Test func pairsAndIpairsWorkOnReadOnlyTables() throws {
    let dir = PolicyDirectory()
    let engine = try dir.engine("""
    return { connect = function()
      local n = 0
      for k, v in pairs(string) do n = n + 1 end
      local list = {}
      for i, v in ipairs(mailgate.config.names) do list[#list + 1] = v end
      return mailgate.reject(550, nil, (n > 10 and "many" or "few") .. " " .. table.concat(list, ",") .. " " .. #mailgate.config.names)
    end }
    """, globals: ["names": ["a", "b"]])
    #expect(engine.connect().reply?.text == "many a,b 2")
}

@Test func printGoesToTheLog() throws {
    let (_, host, _, _) = try runConnect("print('a', 1, nil) return mailgate.next")
    #expect(host.logs.contains { $0.level == .info && $0.message == "a\t1\tnil" })
}
