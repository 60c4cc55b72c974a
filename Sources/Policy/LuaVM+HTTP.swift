// `mailgate.http.request{…}`: one HTTP request through the host's client
// (PolicyHost.http). Like a DNS lookup it makes the hook call wait (LuaVM+Waiting.swift)
// without holding a VM, counts against the same per-call bound of waiting host calls
// (`[limits] policy_dns_lookups`), and times out before the call's deadline.
// `body = tx` sends the received message as the session holds it: its bytes never
// enter Lua. Returns `{status, headers = {lower-case name = value}, body}` or
// `nil, err` (PolicyHTTPError's words); bad arguments raise errors.
//
// The prelude (SandboxPrelude.swift) checks the option table and flattens it into
// positional arguments: (method, url, headers as {name, value, …}, body string,
// tx serial, timeout, max_response).
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    static let defaultHTTPResponseLimit = 1024 * 1024
    static let maxHTTPResponseLimit = 16 * 1024 * 1024
    static let maxHTTPHeaders = 100
    static let maxHTTPHeaderBytes = 32 * 1024
    /// Headers the client writes itself: a policy setting them would break the framing.
    static let hostHTTPHeaders: Set<String> = ["host", "content-length", "transfer-encoding", "connection", "te", "upgrade"]

    func httpRequest(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let urlText = call.string(2), let url = PolicyHTTPURL(urlText) else {
            return call.fail("url must be an http:// or https:// URL such as \"http://127.0.0.1:11333/checkv2\", got \(stack.isNil(at: 2) ? "nothing" : "\"\(String(call.string(2)?.prefix(100) ?? "?"))\"")")
        }
        let headers: [HeaderField]
        switch httpHeaders(stack) {
        case .success(let fields): headers = fields
        case .failure(let problem): return call.fail(problem.text)
        }
        var body = PolicyHTTPRequest.Body.none
        if !stack.isNil(at: 5) {
            guard let serial = stack.integer(at: 5), serial == callSerial, let (transaction, _) = activeTransaction else {
                return call.fail("body = tx: only the transaction of the hook call in progress can be sent")
            }
            guard activeHook == .data || activeHook == .deliver, let message = transaction.message else {
                return call.fail("body = tx is only available in the data and deliver hooks")
            }
            body = .message(message)
        } else if !stack.isNil(at: 4) {
            guard let text = lua_tolstring_bytes(stack, 4) else { return call.fail("body must be a string or tx") }
            guard text.count <= configuration.bodySizeLimit else {
                return call.fail("a string body is at most [limits] policy_body_size (\(configuration.bodySizeLimit) bytes); send the message itself with body = tx")
            }
            body = .bytes(text)
        }
        var method = body.count > 0 || body.isMessage ? "POST" : "GET"
        if !stack.isNil(at: 1) {
            guard let given = call.string(1), (1...16).contains(given.utf8.count),
                  given.utf8.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                return call.fail("method must be a word such as \"GET\" or \"POST\"")
            }
            method = given.uppercased()
        }
        var timeout = configuration.httpTimeout
        if !stack.isNil(at: 6) {
            guard let seconds = call.seconds(6), seconds > 0 else {
                return call.fail("timeout must be a positive duration such as 5, \"5s\" or \"500ms\"")
            }
            timeout = min(timeout, .milliseconds(Int64((seconds * 1000).rounded(.up))))
        }
        let hardLimit = min(Self.maxHTTPResponseLimit, configuration.memoryLimit)
        var maxResponse = min(Self.defaultHTTPResponseLimit, hardLimit)
        if !stack.isNil(at: 7) {
            var given: Int?
            if lua_isinteger(stack.state, 7) != 0 { given = stack.integer(at: 7) }
            else if let text = call.string(7), let bytes = ConfigValues.size(text) { given = Int(clamping: bytes) }
            guard let given, given > 0 else { return call.fail("max_response must be a positive size such as 65536 or \"1MB\"") }
            guard given <= hardLimit else {
                return call.fail("max_response is at most \(hardLimit) bytes (16 MiB, and never more than the VM's memory limit)")
            }
            maxResponse = given
        }
        guard !loading, canWait else {
            return call.fail(loading ? "not available while policies load (main chunk or init)"
                : "cannot wait here: call it from a hook function or a coroutine, not from a metamethod, iterator or comparator run by C code")
        }
        guard hostWaits < configuration.maxHostWaits else {
            return call.fail("more than \(configuration.maxHostWaits) waiting host calls (DNS lookups and HTTP requests) in one hook call")
        }
        hostWaits += 1
        guard let client = host.http else {
            stack.pushNil()
            stack.push(PolicyHTTPError.unreachable.rawValue)
            return 2
        }
        let request = PolicyHTTPRequest(method: method, url: url, headers: headers, body: body, maxResponseBytes: maxResponse)
        let wait = HostWait()
        client.send(request, timeout: waitTimeout(timeout)) { result in
            wait.complete { vm, stack in vm.pushHTTPResult(result, stack) }
        }
        return waitFor(wait, stack)
    }

    /// `limit`, but shorter than what the call has left, so the operation's own
    /// "timeout" comes before the call's deadline (as DNS lookups do).
    func waitTimeout(_ limit: Duration) -> Duration {
        let left = mg_call_time_left_ms(current)
        guard left >= 0 else { return limit }
        return min(limit, Duration.milliseconds(max(left * 9 / 10 - 20, 1)))
    }

    private struct HeaderProblem: Error { var text: String }

    /// Argument 3: nil, or the prelude's flat list {name, value, name, value, …}.
    private func httpHeaders(_ stack: LuaStack) -> Result<[HeaderField], HeaderProblem> {
        guard !stack.isNil(at: 3) else { return .success([]) }
        guard stack.type(at: 3) == LUA_TTABLE else { return .failure(.init(text: "headers must be a table {Name = \"value\"}")) }
        let count = stack.rawLength(at: 3)
        guard count / 2 <= Self.maxHTTPHeaders else { return .failure(.init(text: "more than \(Self.maxHTTPHeaders) headers")) }
        var fields: [HeaderField] = []
        var total = 0
        let base = stack.top
        defer { stack.top = base }
        for index in stride(from: 1, to: count, by: 2) {
            stack.pushRawIndex(3, index)
            stack.pushRawIndex(3, index + 1)
            guard let name = stack.string(at: -2), (1...256).contains(name.utf8.count),
                  name.utf8.allSatisfy(Self.isTokenByte) else {
                return .failure(.init(text: "header names are 1 to 256 letters, digits or !#$%&'*+-.^_`|~"))
            }
            guard !Self.hostHTTPHeaders.contains(name.lowercased()) else {
                return .failure(.init(text: "the \(name) header is set by the host"))
            }
            guard stack.type(at: -1) == LUA_TSTRING || stack.type(at: -1) == LUA_TNUMBER, let value = stack.string(at: -1),
                  value.utf8.allSatisfy({ $0 >= 32 && $0 != 127 || $0 == 9 }) else {
                return .failure(.init(text: "the value of header \(name) must be a string (or a list of strings) without line breaks or control characters"))
            }
            total += name.utf8.count + value.utf8.count + 4
            guard total <= Self.maxHTTPHeaderBytes else {
                return .failure(.init(text: "the headers take more than \(Self.maxHTTPHeaderBytes) bytes"))
            }
            fields.append(HeaderField(name: name, value: value))
            stack.top = base
        }
        return .success(fields)
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// `{status, headers, body}` or `nil, err` for Lua.
    func pushHTTPResult(_ result: Result<PolicyHTTPResponse, PolicyHTTPError>, _ stack: LuaStack) -> Int32 {
        let response: PolicyHTTPResponse
        switch result {
        case .failure(let error):
            stack.pushNil()
            stack.push(error.rawValue)
            return 2
        case .success(let received): response = received
        }
        let bytes = 256 + response.body.count + response.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 96 }
        guard reserveHostMemory(bytes) else {
            stack.pushNil()
            stack.push(PolicyHTTPError.tooLarge.rawValue)
            return 2
        }
        // Repeated fields are joined as RFC 9110 §5.3 allows (Set-Cookie aside, which
        // no policy needs).
        var headers: [String: String] = [:]
        var order: [String] = []
        for field in response.headers {
            let name = field.name.lowercased()
            if let seen = headers[name] { headers[name] = seen + ", " + field.value } else {
                headers[name] = field.value
                order.append(name)
            }
        }
        stack.newTable(fieldCount: 3)
        stack.push(response.status); stack.setField(-2, "status")
        stack.newTable(fieldCount: order.count)
        for name in order {
            stack.push(headers[name]!)
            stack.setField(-2, name)
        }
        stack.setField(-2, "headers")
        stack.push(bytes: response.body[...])
        stack.setField(-2, "body")
        return 1
    }
}

extension PolicyHTTPRequest.Body {
    var isMessage: Bool {
        if case .message = self { return true }
        return false
    }
}

/// The bytes of the string at `index` (any bytes: a body need not be UTF-8); nil when
/// the value is not a string.
private func lua_tolstring_bytes(_ stack: LuaStack, _ index: Int32) -> [UInt8]? {
    guard stack.type(at: index) == LUA_TSTRING else { return nil }
    var length = 0
    guard let pointer = lua_tolstring(stack.state, index, &length) else { return nil }
    return [UInt8](UnsafeRawBufferPointer(start: pointer, count: length))
}
