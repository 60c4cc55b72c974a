// `mailgate.kv.*` and `tx:set_result` / `tx:result`: the Swift side (see
// LuaVM+HostCalls.swift for the calling convention). Bad arguments and values over
// the limits are Lua errors at the calling line; set/incr/delete count as store writes.
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    func keyValueCall(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let key = call.string(1), KeyValueLimits.isValidKey(key) else {
            return call.fail("expected a key of 1 to \(KeyValueLimits.maxKeyBytes) bytes as argument #1")
        }
        switch call.function {
        case .kvGet:
            guard let value = host.kvGet(key) else { stack.pushNil(); return 1 }
            switch value {
            case .string(let text):
                guard reserveHostMemory(text.utf8.count + 64) else { return call.fail("the value would exceed the memory limit") }
                stack.push(text)
            case .integer(let number): stack.push(number)
            case .double(let number): stack.push(number)
            }
            return 1

        case .kvSet:
            let value: KeyValue
            if stack.type(at: 2) == LUA_TNUMBER {
                if lua_isinteger(stack.state, 2) != 0, let number = stack.integer(at: 2) {
                    value = .integer(number)
                } else {
                    guard let number = stack.number(at: 2), number.isFinite else { return call.fail("expected a finite number") }
                    value = .double(number)
                }
            } else if stack.type(at: 2) == LUA_TSTRING, let text = call.string(2) {
                guard text.utf8.count <= KeyValueLimits.maxValueBytes else {
                    return call.fail("the value is \(text.utf8.count) bytes, more than \(KeyValueLimits.maxValueBytes)")
                }
                value = .string(text)
            } else {
                return call.fail("expected a string or number value as argument #2, got \(typeName(at: 2))")
            }
            guard let ttl = ttl(call, 3, required: true) else { return call.fail(Self.ttlProblem(3)) }
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            host.kvSet(key, value, ttlSeconds: ttl!)
            return 0

        case .kvIncrement:
            var amount = 1
            if !stack.isNil(at: 2) {
                guard lua_isinteger(stack.state, 2) != 0, let given = stack.integer(at: 2) else {
                    return call.fail("expected an integer amount as argument #2")
                }
                amount = given
            }
            guard let ttl = ttl(call, 3, required: false) else { return call.fail(Self.ttlProblem(3)) }
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            switch host.kvIncrement(key, by: amount, ttlSeconds: ttl) {
            case .success(let sum):
                stack.push(sum)
                return 1
            case .failure(.notAnInteger): return call.fail("\"\(key)\" does not hold an integer")
            case .failure(.overflow): return call.fail("\"\(key)\" would overflow")
            case .failure(.ttlRequired): return call.fail("\"\(key)\" is new: a TTL is required as argument #3")
            }

        case .kvDelete:
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            stack.push(host.kvDelete(key))
            return 1

        default:
            preconditionFailure("not a kv function")
        }
    }

    /// The TTL at `index` in seconds: nil (outer) when invalid, .some(nil) when absent
    /// and not required.
    private func ttl(_ call: HostArguments, _ index: Int32, required: Bool) -> Double?? {
        if call.stack.isNil(at: index) { return required ? nil : .some(nil) }
        guard let seconds = call.seconds(index), seconds > 0, seconds <= KeyValueLimits.maxTTLSeconds else { return nil }
        return .some(seconds)
    }

    private static func ttlProblem(_ index: Int32) -> String {
        "expected a TTL of more than 0 and at most 366 days (seconds or a duration such as \"5m\") as argument #\(index)"
    }

    // MARK: tx results

    func resultCall(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard let serial = stack.integer(at: 1), serial == callSerial, let (transaction, _) = activeTransaction else {
            return call.fail("only available during the hook call that received this transaction")
        }
        guard let name = call.string(2), !name.isEmpty, name.utf8.count <= TransactionResults.maxNameBytes else {
            return call.fail("expected a result name of 1 to \(TransactionResults.maxNameBytes) bytes")
        }
        // Shadow policies run after the live chain (nextPolicy past liveCount): their
        // results stay among themselves.
        let shadow = nextPolicy >= liveCount
        if call.function == .getResult {
            guard let value = transaction.results.value(name, shadow: shadow) else { stack.pushNil(); return 1 }
            let bytes = TransactionResults.serializedSize(value) * 2 + 64
            guard reserveHostMemory(bytes) else { return call.fail("the result would exceed the memory limit") }
            stack.push(value)
            return 1
        }
        var value: PolicyValue?
        if !stack.isNil(at: 3) {
            var budget = TransactionResults.maxValueBytes
            switch readResult(stack, at: 3, depth: 1, budget: &budget) {
            case .success(let read): value = read
            case .failure(let problem): return call.fail(problem.message)
            }
        }
        guard transaction.results.set(name, value, shadow: shadow) else {
            return call.fail("the transaction's results would pass \(TransactionResults.maxTotalBytes) bytes")
        }
        return 0
    }

    struct ResultProblem: Error { let message: String }

    /// A string, number, boolean or plain table of those at `index` (tables: a sequence
    /// or string keys, nested at most `TransactionResults.maxDepth` levels), charged
    /// against `budget` bytes.
    private func readResult(_ stack: LuaStack, at index: Int32, depth: Int,
                            budget: inout Int) -> Result<PolicyValue, ResultProblem> {
        let index = stack.absolute(index)
        let value: PolicyValue
        switch stack.type(at: index) {
        case LUA_TSTRING:
            let text = stack.string(at: index) ?? ""
            budget -= text.utf8.count
            value = .string(text)
        case LUA_TNUMBER:
            budget -= 8
            if lua_isinteger(stack.state, index) != 0, let number = stack.integer(at: index) {
                value = .integer(number)
            } else {
                value = .double(stack.number(at: index) ?? 0)
            }
        case LUA_TBOOLEAN:
            budget -= 8
            value = .bool(stack.bool(at: index) ?? false)
        case LUA_TTABLE:
            guard depth <= TransactionResults.maxDepth else {
                return .failure(ResultProblem(message: "tables nest more than \(TransactionResults.maxDepth) levels"))
            }
            budget -= 8
            var fields: [String: PolicyValue] = [:]
            var elements: [Int: PolicyValue] = [:]
            stack.pushNil()
            while lua_next(stack.state, index) != 0 {
                defer { stack.pop() }
                if budget < 0 { break }
                let element: PolicyValue
                switch readResult(stack, at: -1, depth: depth + 1, budget: &budget) {
                case .success(let read): element = read
                case .failure(let problem): return .failure(problem)
                }
                if stack.type(at: -2) == LUA_TSTRING, let key = stack.string(at: -2) {
                    budget -= key.utf8.count
                    fields[key] = element
                } else if lua_isinteger(stack.state, -2) != 0, let key = stack.integer(at: -2) {
                    elements[key] = element
                } else {
                    return .failure(ResultProblem(message: "table keys must be strings or sequence positions"))
                }
            }
            if !elements.isEmpty {
                guard fields.isEmpty, elements.keys.min() == 1, elements.keys.max() == elements.count else {
                    return .failure(ResultProblem(message: "a table must be a sequence (1..n) or have only string keys"))
                }
                value = .array((1...elements.count).map { elements[$0]! })
            } else {
                value = .table(fields)
            }
        default:
            return .failure(ResultProblem(message: "expected a string, number, boolean or table value, got \(typeName(at: index))"))
        }
        guard budget >= 0 else {
            return .failure(ResultProblem(message: "the value is larger than \(TransactionResults.maxValueBytes) bytes"))
        }
        return .success(value)
    }
}
