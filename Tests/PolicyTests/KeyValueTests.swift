// mailgate.kv through the real engine (LuaVM+KeyValue.swift, PolicyKeyValueStore.swift):
// get/set/incr/delete, expiry on the host's clock, limits as errors at the calling line.
import Foundation
import MailCore
import Testing
@testable import Policy

/// Runs `body` (Lua statements ending in `return <expr>`) in a connect hook; the
/// tostring() of the result, or "FAILED: <errors>".
private func run(_ body: String, host: TestPolicyHost, dir: PolicyDirectory = PolicyDirectory()) throws -> String {
    let engine = try dir.engine("""
    return { connect = function(session)
      local value = (function() \(body) end)()
      return mailgate.reject(550, nil, tostring(value))
    end }
    """, host: host)
    let result = engine.connect()
    if result == .policyFailure { return "FAILED: \(host.errors())" }
    return result.reply?.text ?? "nil"
}

@Suite struct KeyValueTests {
    @Test func setGetTypes() throws {
        let host = TestPolicyHost()
        #expect(try run("mailgate.kv.set('s', 'text', 60) return mailgate.kv.get('s')", host: host) == "text")
        #expect(try run("mailgate.kv.set('i', 42, '5m') return math.type(mailgate.kv.get('i'))", host: host) == "integer")
        #expect(try run("mailgate.kv.set('f', 2.5, 60) return mailgate.kv.get('f')", host: host) == "2.5")
        #expect(try run("mailgate.kv.set('g', 3.0, 60) return math.type(mailgate.kv.get('g'))", host: host) == "float")
        #expect(try run("return mailgate.kv.get('missing')", host: host) == "nil")
        #expect(host.memoryKeyValues.snapshot["i"] == KeyValueEntry(value: .integer(42), expires: host.now() + 300))
    }

    @Test func expiryFollowsTheHostClock() throws {
        let host = TestPolicyHost()
        #expect(try run("mailgate.kv.set('k', 'v', 60) return mailgate.kv.get('k')", host: host) == "v")
        host.advance(59)
        #expect(try run("return mailgate.kv.get('k')", host: host) == "v")
        host.advance(1)
        #expect(try run("return mailgate.kv.get('k')", host: host) == "nil")
        #expect(try run("return mailgate.kv.delete('k')", host: host) == "false")
    }

    @Test func incrementKeepsExpiryOfAnExistingKey() throws {
        let host = TestPolicyHost()
        #expect(try run("return mailgate.kv.incr('n', 1, 100)", host: host) == "1")
        host.advance(50)
        #expect(try run("return mailgate.kv.incr('n', 5, 1000)", host: host) == "6")
        #expect(try run("return mailgate.kv.incr('n')", host: host) == "7")
        #expect(try run("return mailgate.kv.incr('n', -10)", host: host) == "-3")
        host.advance(50)   // the first TTL (100 s) has passed: a new key again
        #expect(try run("return mailgate.kv.incr('n', 2, '1h')", host: host) == "2")
        #expect(host.memoryKeyValues.snapshot["n"]?.expires == host.now() + 3600)
    }

    @Test func deleteSaysWhetherTheKeyExisted() throws {
        let host = TestPolicyHost()
        #expect(try run("mailgate.kv.set('d', 1, 60) return tostring(mailgate.kv.delete('d')) .. tostring(mailgate.kv.delete('d'))",
                        host: host) == "truefalse")
    }

    @Test func errorsAreAtTheCallingLine() throws {
        let cases: [(String, String)] = [
            ("mailgate.kv.set('k', 'v')", "mailgate.kv.set: expected a TTL"),
            ("mailgate.kv.set('k', 'v', 0)", "expected a TTL"),
            ("mailgate.kv.set('k', 'v', 366 * 86400 + 1)", "expected a TTL"),
            ("mailgate.kv.set('k', {}, 60)", "expected a string or number value"),
            ("mailgate.kv.set('', 'v', 60)", "expected a key of 1 to 512 bytes"),
            ("mailgate.kv.get(string.rep('k', 513))", "expected a key of 1 to 512 bytes"),
            ("mailgate.kv.set('k', string.rep('v', 65537), 60)", "more than 65536"),
            ("mailgate.kv.incr('new')", "\\\"new\\\" is new: a TTL is required"),
            ("mailgate.kv.incr('k', 1.5, 60)", "expected an integer amount"),
            ("mailgate.kv.set('s', 'text', 60); mailgate.kv.incr('s', 1)", "does not hold an integer"),
            ("mailgate.kv.set('big', math.maxinteger, 60); mailgate.kv.incr('big', 1)", "would overflow"),
        ]
        for (statement, expected) in cases {
            let host = TestPolicyHost()
            let dir = PolicyDirectory()
            let engine = try dir.engine("""
            return { connect = function(session)
              \(statement)
              return mailgate.next
            end }
            """, host: host)
            #expect(engine.connect() == .policyFailure, "\(statement)")
            let error = host.errors().first ?? ""
            #expect(error.contains("p.lua:2:"), "\(statement): \(error)")
            #expect(error.contains(expected.replacingOccurrences(of: "\\\"", with: "\"")), "\(statement): \(error)")
        }
        // 512 bytes and 64 KiB are allowed.
        let host = TestPolicyHost()
        #expect(try run("mailgate.kv.set(string.rep('k', 512), string.rep('v', 65536), 60) return #mailgate.kv.get(string.rep('k', 512))",
                        host: host) == "65536")
    }

    @Test func writesCountAgainstTheStoreWriteBound() throws {
        let host = TestPolicyHost()
        let result = try run("for i = 1, 200 do mailgate.kv.set('k' .. i, i, 60) end return 'done'", host: host)
        #expect(result.contains("more than 100 store writes"), "\(result)")
        // Reads are not writes.
        #expect(try run("for i = 1, 200 do mailgate.kv.get('k') end return 'done'", host: host) == "done")
    }

    @Test func stateIsSharedByEveryVM() throws {
        let host = TestPolicyHost()
        let dir = PolicyDirectory()
        dir.write("p.lua", """
        return { connect = function(session)
          return mailgate.reject(550, nil, tostring(mailgate.kv.incr('hits', 1, 60)))
        end }
        """)
        let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 3), host: host)
        let texts = try (0..<9).map { _ in try #require(engine.connect().reply?.text) }
        #expect(Set(texts) == Set((1...9).map(String.init)))
    }

    @Test func memoryStoreSweeps() {
        let store = MemoryKeyValueStore()
        store.set("a", .string("x"), expires: 10)
        store.set("b", .integer(1), expires: 20)
        #expect(store.sweep(now: 15) == 1)
        #expect(store.get("b", now: 15) == .integer(1))
        #expect(store.get("b", now: 20) == nil)
        #expect(store.increment("c", by: 1, newExpiry: nil, now: 0) == .failure(.ttlRequired))
    }
}
