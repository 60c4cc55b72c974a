// mailgate.http.request through the real engine with a fake client (LuaVM+HTTP.swift,
// PolicyHTTP.swift, the prelude's option checks): the request as the host sees it,
// body = tx passed natively, responses and errors as Lua sees them, waiting without a
// VM, the bounds, and mailgate.json.decode (LuaVM+JSON.swift).
import Foundation
import MailCore
import Testing
@testable import Policy

/// Canned answers; every request is kept. With `holding`, answers wait for `release()`.
final class FakeHTTPClient: PolicyHTTPClient, @unchecked Sendable {
    private let lock = NSLock()
    private var held: [@Sendable () -> Void] = []
    private(set) var requests: [(request: PolicyHTTPRequest, timeout: Duration)] = []
    var answer: Result<PolicyHTTPResponse, PolicyHTTPError> = .success(PolicyHTTPResponse(status: 200, body: Array("ok".utf8)))
    var holding = false

    func send(_ request: PolicyHTTPRequest, timeout: Duration,
              completion: @escaping @Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void) {
        lock.lock()
        requests.append((request, timeout))
        let result = answer
        if holding {
            held.append { completion(result) }
            lock.unlock()
            return
        }
        lock.unlock()
        DispatchQueue.global().async { completion(result) }
    }

    func release() {
        lock.lock()
        let waiting = held
        held = []
        lock.unlock()
        for completion in waiting { DispatchQueue.global().async(execute: completion) }
    }

    var heldCount: Int { lock.lock(); defer { lock.unlock() }; return held.count }
    var last: PolicyHTTPRequest? { lock.lock(); defer { lock.unlock() }; return requests.last?.request }
}

private let message = Array("From: a@example.org\r\nTo: b@example.test\r\nSubject: hi\r\n\r\nbody \u{00e9}\r\n".utf8)

/// Runs `body` (Lua returning a string) in the data hook; the string, or "FAILED: errors".
private func inData(_ body: String, client: FakeHTTPClient?, settings: [String: PolicyValue] = [:],
                    configure: (inout PolicyConfiguration) -> Void = { _ in }) throws -> String {
    let host = TestPolicyHost()
    host.httpClient = client
    let dir = PolicyDirectory()
    dir.write("p.lua", """
    return { data = function(tx)
      local value = (function() \(body) end)()
      tx:set_result("out", tostring(value))
      return mailgate.next
    end }
    """)
    var configuration = dir.configuration(["p"], settings: settings)
    configure(&configuration)
    let engine = try PolicyEngine(configuration: configuration, host: host)
    var info = transaction(recipients: ["b@example.test"], size: message.count, headers: HeaderFields.parse(message))
    info.message = MessageContent(bytes: message)
    let result = engine.run(.data(info))
    if result == .policyFailure { return "FAILED: \(host.errors().joined(separator: " | "))" }
    guard case .string(let text)? = info.results.value("out") else { return "no result" }
    return text
}

@Suite struct HTTPHostCallTests {
    @Test func postsTheMessageNatively() throws {
        let client = FakeHTTPClient()
        client.answer = .success(PolicyHTTPResponse(status: 200, headers: [HeaderField(name: "Content-Type", value: "application/json"),
                                                                           HeaderField(name: "X-Two", value: "a"),
                                                                           HeaderField(name: "x-two", value: "b")],
                                                    body: Array("{\"action\":\"no action\"}".utf8)))
        let out = try inData("""
        local r = mailgate.http.request{ method = "post", url = "http://127.0.0.1:11333/checkv2",
          headers = { IP = "192.0.2.10", Rcpt = { "a@x.example", "b@y.example" } }, body = tx, timeout = "2s" }
        return r.status .. " " .. r.headers["content-type"] .. " " .. r.headers["x-two"] .. " " .. r.body
        """, client: client)
        #expect(out == "200 application/json a, b {\"action\":\"no action\"}")
        let request = try #require(client.last)
        #expect(request.method == "POST")
        #expect(request.url == PolicyHTTPURL(secure: false, host: "127.0.0.1", port: 11333, target: "/checkv2"))
        #expect(request.headers == [HeaderField(name: "IP", value: "192.0.2.10"), HeaderField(name: "Rcpt", value: "a@x.example"),
                                    HeaderField(name: "Rcpt", value: "b@y.example")])
        guard case .message(let content) = request.body else {
            Issue.record("the body was not the message itself")
            return
        }
        #expect(content.bytes == message)
        #expect(request.maxResponseBytes == 1024 * 1024)
        let timeout = try #require(client.requests.last?.timeout)
        #expect(timeout <= .seconds(2) && timeout > .seconds(1))
    }

    @Test func stringBodiesAndDefaults() throws {
        let client = FakeHTTPClient()
        #expect(try inData("""
        local r = mailgate.http.request{ url = "http://rspamd.example/ping" }
        return r.body
        """, client: client) == "ok")
        #expect(client.last?.method == "GET")
        if case .some(.none) = client.last?.body {} else { Issue.record("a GET without body sent one") }
        #expect(client.requests.last?.timeout ?? .zero <= .seconds(5))  // the call's deadline (5 s) bounds the 10 s default
        _ = try inData("""
        return mailgate.http.request{ url = "http://[::1]:8080/x?y=1", body = "abc\\0def", max_response = "64KB" }.status
        """, client: client)
        let request = try #require(client.last)
        #expect(request.method == "POST")
        #expect(request.url.host == "::1" && request.url.authority == "[::1]:8080" && request.url.target == "/x?y=1")
        if case .bytes(let bytes) = request.body { #expect(bytes == Array("abc\0def".utf8)) } else { Issue.record("no string body") }
        #expect(request.maxResponseBytes == 64 * 1024)
    }

    @Test(arguments: PolicyHTTPError.allCases)
    func failuresAreErrorValues(error: PolicyHTTPError) throws {
        let client = FakeHTTPClient()
        client.answer = .failure(error)
        #expect(try inData("""
        local r, err = mailgate.http.request{ url = "http://127.0.0.1:1/" }
        return tostring(r) .. " " .. err
        """, client: client) == "nil \(error.rawValue)")
    }

    @Test func withoutAClientRequestsAreUnreachable() throws {
        #expect(try inData("""
        local r, err = mailgate.http.request{ url = "http://127.0.0.1:1/" }
        return tostring(r) .. " " .. err
        """, client: nil) == "nil unreachable")
    }

    @Test(arguments: [
        ("mailgate.http.request(\"http://x/\")", "expected a table"),
        ("mailgate.http.request{ url = \"ftp://x/\" }", "url must be an http://"),
        ("mailgate.http.request{ url = \"http://user@x/\" }", "url must be"),
        ("mailgate.http.request{ url = \"http://x:99999/\" }", "url must be"),
        ("mailgate.http.request{ url = \"http://x/\", bogus = 1 }", "unknown option bogus"),
        ("mailgate.http.request{ url = \"http://x/\", body = {} }", "body must be a string or the transaction"),
        ("mailgate.http.request{ url = \"http://x/\", headers = { [\"Bad Name\"] = \"v\" } }", "header names are"),
        ("mailgate.http.request{ url = \"http://x/\", headers = { X = \"a\\r\\nInjected: 1\" } }", "without line breaks"),
        ("mailgate.http.request{ url = \"http://x/\", headers = { [\"Content-Length\"] = \"5\" } }", "set by the host"),
        ("mailgate.http.request{ url = \"http://x/\", method = \"GET /\" }", "method must be"),
        ("mailgate.http.request{ url = \"http://x/\", timeout = -1 }", "timeout must be"),
        ("mailgate.http.request{ url = \"http://x/\", max_response = \"1GB\" }", "max_response is at most"),
    ])
    func badArgumentsRaise(code: String, message: String) throws {
        let out = try inData("return \(code)", client: FakeHTTPClient())
        #expect(out.hasPrefix("FAILED: "), "\(out)")
        #expect(out.contains(message), "\(out)")
        #expect(out.contains("p.lua:"), "the error names the policy line: \(out)")
    }

    @Test func aStringBodyIsBounded() throws {
        let out = try inData("return mailgate.http.request{ url = \"http://x/\", body = string.rep(\"a\", 2000) }",
                             client: FakeHTTPClient()) { $0.bodySizeLimit = 1000 }
        #expect(out.contains("policy_body_size"), "\(out)")
    }

    @Test func requestsCountAgainstTheWaitLimit() throws {
        let out = try inData("""
        for i = 1, 5 do mailgate.http.request{ url = "http://x/" } end
        return "done"
        """, client: FakeHTTPClient()) { $0.maxHostWaits = 3 }
        #expect(out.contains("more than 3 waiting host calls"), "\(out)")
    }

    @Test func aWaitingRequestHoldsNoVM() throws {
        let host = TestPolicyHost()
        let client = FakeHTTPClient()
        client.holding = true
        host.httpClient = client
        let dir = PolicyDirectory()
        dir.write("p.lua", """
        local p = {}
        function p.connect(session)
          if session.client_ip ~= "192.0.2.10" then return mailgate.accept end
          local r = mailgate.http.request{ url = "http://127.0.0.1:11333/ping" }
          return mailgate.reject(550, nil, "got " .. r.body)
        end
        return p
        """)
        let engine = try PolicyEngine(configuration: dir.configuration(["p"], vms: 1), host: host)
        guard case .pending(let waiting) = engine.start(.connect(session())) else {
            Issue.record("the request did not make the call wait")
            return
        }
        for _ in 0..<3 {
            guard case .finished(let other) = engine.start(.connect(session(ip: "192.0.2.99"))) else {
                Issue.record("the VM was held by the waiting call")
                return
            }
            #expect(other == HookResult(verdict: .accept))
        }
        client.release()
        #expect(waiting.wait().reply?.text == "got ok")
    }

    @Test func aResponseOverTheMemoryLimitIsTooLarge() throws {
        let client = FakeHTTPClient()
        client.answer = .success(PolicyHTTPResponse(status: 200, body: Array(repeating: 65, count: 3 * 1024 * 1024)))
        let out = try inData("""
        local r, err = mailgate.http.request{ url = "http://x/", max_response = 2000000 }
        return tostring(r) .. " " .. tostring(err)
        """, client: client) { $0.memoryLimit = 2 * 1024 * 1024 }
        #expect(out == "nil too_large", "\(out)")
    }

    @Test func notWhileLoading() throws {
        let host = TestPolicyHost()
        host.httpClient = FakeHTTPClient()
        let dir = PolicyDirectory()
        dir.write("p.lua", "mailgate.http.request{ url = \"http://x/\" }\nreturn {}")
        #expect(throws: (any Error).self) { try PolicyEngine(configuration: dir.configuration(["p"]), host: host) }
    }
}

@Suite struct JSONDecodeTests {
    @Test func decodesIntoLuaValues() throws {
        let out = try inData(#"""
        local v = mailgate.json.decode([[{"action":"add header","score":6.5,"n":3,"ok":true,"none":null,]] ..
          [["list":[1,null,"x"],"symbols":{"A":{"score":1.25,"options":["o1","o2"]}},"u":"caf\u00e9 \ud83d\ude00"}]])
        return table.concat({ v.action, v.score, math.type(v.n), tostring(v.ok), tostring(v.none), #v.list,
          tostring(v.list[2]), v.list[3], v.symbols.A.score, v.symbols.A.options[2], v.u }, "|")
        """#, client: nil)
        #expect(out == "add header|6.5|integer|true|nil|3|nil|x|1.25|o2|café 😀")
    }

    @Test(arguments: [
        ("{", "malformed"), ("[1,]", "malformed"), ("{\"a\":1} x", "malformed"), ("01", "malformed"),
        ("\"\\x\"", "malformed"), ("nul", "malformed"), ("", "malformed"),
        (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "too_complex"),
    ])
    func badJSONIsAnErrorValue(text: String, expected: String) throws {
        let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let out = try inData("""
        local v, err = mailgate.json.decode("\(escaped)")
        return tostring(v) .. " " .. tostring(err)
        """, client: nil)
        #expect(out.hasPrefix("nil \(expected)"), "\(out)")
    }

    @Test func oversizedJSONIsTooLarge() throws {
        let out = try inData("""
        local v, err = mailgate.json.decode("[" .. string.rep("1,", 1000) .. "1]")
        return tostring(v) .. " " .. tostring(err)
        """, client: nil) { $0.bodySizeLimit = 100 }
        #expect(out == "nil too_large")
    }

    @Test func aNonStringRaises() throws {
        let out = try inData("return mailgate.json.decode({})", client: nil)
        #expect(out.contains("mailgate.json.decode: expected a JSON text"), "\(out)")
    }
}

@Suite struct PolicyHTTPURLTests {
    @Test func parses() {
        #expect(PolicyHTTPURL("http://127.0.0.1:11333") == PolicyHTTPURL(secure: false, host: "127.0.0.1", port: 11333, target: "/"))
        #expect(PolicyHTTPURL("HTTPS://Rspamd.Example/checkv2")
            == PolicyHTTPURL(secure: true, host: "rspamd.example", port: 443, target: "/checkv2"))
        #expect(PolicyHTTPURL("http://h?q=1")?.target == "/?q=1")
        #expect(PolicyHTTPURL("http://[2001:db8::1]/")?.authority == "[2001:db8::1]")
        for bad in ["", "http://", "http:///x", "http://a b/", "http://h/#frag", "http://u:p@h/", "http://h:0/", "http://h:/",
                    "http://[1.2.3.4]/", "http://[::1/", "gopher://h/", "http://h:65536/", "http://h\u{7f}/"] {
            #expect(PolicyHTTPURL(bad) == nil, "\(bad)")
        }
    }
}
