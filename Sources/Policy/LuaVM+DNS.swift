// `mailgate.dns`: lookups through the host's shared asynchronous resolver. A lookup
// makes the hook call wait (LuaVM+Waiting.swift) unless the resolver answers at once
// from its cache. Returns `records` or `nil, err`, err being "nxdomain" or "nodata"
// (answers) or a failure ("servfail", "refused", "timeout", "malformed", "too_large",
// "unreachable"). Wrong arguments and too many lookups in one call raise errors.
import CLua
import CLuaShim
import Foundation
import MailCore

extension LuaVM {
    static let luaLookupTypes: [DNSRecordType] = [.a, .aaaa, .mx, .txt, .ptr]

    func dnsQuery(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let given = call.string(1), let name = Self.lookupName(given) else {
            return call.fail("expected a domain name of 1 to 253 bytes (labels of 1 to 63) as argument #1")
        }
        guard let typeName = call.string(2), let type = DNSRecordType(name: typeName),
              Self.luaLookupTypes.contains(type) else {
            return call.fail("expected a record type as argument #2: A, AAAA, MX, TXT or PTR")
        }
        guard !loading, canWait else {
            return call.fail(loading ? "not available while policies load (main chunk or init)"
                : "cannot wait here: call it from a hook function or a coroutine, not from a metamethod, iterator or comparator run by C code")
        }
        guard hostWaits < configuration.maxHostWaits else {
            return call.fail("more than \(configuration.maxHostWaits) DNS lookups in one hook call")
        }
        hostWaits += 1
        guard let resolver = host.dns else {
            stack.pushNil()
            stack.push(DNSFailure.unreachable.rawValue)
            return 2
        }
        let wait = HostWait()
        resolver.lookup(name, type, timeout: lookupTimeout()) { result in
            wait.complete { vm, stack in vm.pushLookupResult(result, stack) }
        }
        return waitFor(wait, stack)
    }

    /// mailgate.dns.query_all({{name, type}, …}): the lookups at once (their waits
    /// overlap), then a list of `{records = …}` or `{err = …}` in the same order.
    func dnsQueryAll(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard stack.type(at: 1) == LUA_TTABLE else {
            return call.fail("expected a list of questions such as {{\"name.example\", \"A\"}, {\"name.example\", \"MX\"}}")
        }
        let count = stack.rawLength(at: 1)
        var questions: [(String, DNSRecordType)] = []
        guard count <= configuration.maxHostWaits else {
            return call.fail("more than \(configuration.maxHostWaits) DNS lookups in one hook call")
        }
        let base = stack.top
        for index in stride(from: 1, through: count, by: 1) {
            var question: (String, DNSRecordType)?
            if stack.pushRawIndex(1, index) == LUA_TTABLE {
                let table = stack.absolute(-1)
                stack.pushRawIndex(table, 1)
                stack.pushRawIndex(table, 2)
                if let given = stack.string(at: -2), let name = Self.lookupName(given),
                   let typeName = stack.string(at: -1), let type = DNSRecordType(name: typeName),
                   Self.luaLookupTypes.contains(type) {
                    question = (name, type)
                }
            }
            stack.top = base
            guard let question else {
                return call.fail("question #\(index) must be {name, type}: a domain name of 1 to 253 bytes and A, AAAA, MX, TXT or PTR")
            }
            questions.append(question)
        }
        guard !loading, canWait else {
            return call.fail(loading ? "not available while policies load (main chunk or init)"
                : "cannot wait here: call it from a hook function or a coroutine, not from a metamethod, iterator or comparator run by C code")
        }
        guard hostWaits + questions.count <= configuration.maxHostWaits else {
            return call.fail("more than \(configuration.maxHostWaits) DNS lookups in one hook call")
        }
        hostWaits += questions.count
        let wait = HostWait()
        let gathered = GatheredLookups(count: questions.count) { results in
            wait.complete { vm, stack in vm.pushLookupResults(results, stack) }
        }
        guard let resolver = host.dns else {
            for offset in questions.indices { gathered.record(offset, .failure(.unreachable)) }
            return waitFor(wait, stack)
        }
        let timeout = lookupTimeout()
        for (offset, question) in questions.enumerated() {
            resolver.lookup(question.0, question.1, timeout: timeout) { result in gathered.record(offset, result) }
        }
        if questions.isEmpty { gathered.finishEmpty() }
        return waitFor(wait, stack)
    }

    private func pushLookupResults(_ results: [DNSLookupResult], _ stack: LuaStack) -> Int32 {
        stack.newTable(arrayCount: results.count)
        for (offset, result) in results.enumerated() {
            stack.newTable(fieldCount: 1)
            let count = pushLookupResult(result, stack)
            if count == 1 {
                stack.setField(-2, "records")
            } else {
                stack.setField(-3, "err")
                stack.pop()
            }
            stack.setIndex(-2, offset + 1)
        }
        return 1
    }

    /// The resolver's timeout: the configured one, but always shorter than what the
    /// call has left, so the lookup's own "timeout" comes before the call's deadline.
    func lookupTimeout() -> Duration {
        let configured = configuration.dnsTimeout
        let left = mg_call_time_left_ms(current)
        guard left >= 0 else { return configured }
        let usable = Duration.milliseconds(max(left * 9 / 10 - 20, 1))
        return min(configured, usable)
    }

    /// `records` or `nil, err` for Lua.
    func pushLookupResult(_ result: DNSLookupResult, _ stack: LuaStack) -> Int32 {
        guard case .records(let records, _) = result else {
            stack.pushNil()
            stack.push(result.errorName ?? "error")
            return 2
        }
        let bytes = records.reduce(64) { total, record in
            switch record {
            case .address(let text), .text(let text), .name(let text): total + text.utf8.count + 64
            case .mx(_, let exchange): total + exchange.utf8.count + 200
            }
        }
        guard reserveHostMemory(bytes) else {
            stack.pushNil()
            stack.push(DNSFailure.tooLarge.rawValue)
            return 2
        }
        let ordered: [DNSRecordData] = records.sorted { left, right in
            if case .mx(let a, _) = left, case .mx(let b, _) = right { return a < b }
            return false
        }
        stack.newTable(arrayCount: ordered.count)
        for (offset, record) in ordered.enumerated() {
            switch record {
            case .address(let text), .text(let text): stack.push(text)
            case .name(let name): stack.push(name.lowercased())
            case .mx(let preference, let exchange):
                stack.newTable(fieldCount: 2)
                stack.push(preference); stack.setField(-2, "preference")
                stack.push(exchange.lowercased()); stack.setField(-2, "exchange")
            }
            stack.setIndex(-2, offset + 1)
        }
        return 1
    }

    /// mailgate.dns.reverse(ip [, zone]): the name to look up for `ip` under `zone`
    /// (a DNSBL) or under in-addr.arpa / ip6.arpa; nil when `ip` is not an address.
    func dnsReverse(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let text = call.string(1) else { return call.fail("expected an IP address as argument #1") }
        var zone: String?
        if !stack.isNil(at: 2) {
            guard let given = call.string(2), let name = Self.lookupName(given) else {
                return call.fail("expected a zone such as \"zen.spamhaus.org\" as argument #2")
            }
            zone = name
        }
        guard let ip = IPAddress(text) else {
            stack.pushNil()
            return 1
        }
        let name = ip.reverseName(zone: zone)
        guard name.utf8.count <= 253 else { return call.fail("the name for \(ip) under \(zone ?? "") is longer than 253 bytes") }
        stack.push(name)
        return 1
    }

    /// `text` as a name to look up: without a trailing dot, 1 to 253 bytes, labels of
    /// 1 to 63 bytes of printable ASCII without spaces. Nil otherwise.
    static func lookupName(_ text: String) -> String? {
        var name = Substring(text)
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty, name.utf8.count <= 253 else { return nil }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        }
        return String(name)
    }
}

/// The answers of several lookups, handed on once the last one is in.
private final class GatheredLookups: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [DNSLookupResult?]
    private var missing: Int
    private let done: @Sendable ([DNSLookupResult]) -> Void

    init(count: Int, done: @escaping @Sendable ([DNSLookupResult]) -> Void) {
        results = Array(repeating: nil, count: count)
        missing = count
        self.done = done
    }

    func record(_ offset: Int, _ result: DNSLookupResult) {
        lock.lock()
        guard results[offset] == nil else {
            lock.unlock()
            return
        }
        results[offset] = result
        missing -= 1
        let finished = missing == 0
        lock.unlock()
        if finished { done(results.map { $0! }) }
    }

    func finishEmpty() { done([]) }
}
