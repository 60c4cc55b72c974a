// `mailgate.json.decode(text)`: JSON (an answer from rspamd or another service) into
// Lua values, natively: MailCore's bounded JSONParser reads it, then the tree is built
// in the VM, charged against its memory limit first. Objects become tables keyed by
// name, arrays 1-based lists, null becomes nil (a hole in a list, an absent key), numbers
// integers when they have no fraction or exponent. Returns the value, or
// `nil, err` with err "malformed" (with where: "malformed: expected ',' at byte 12"),
// "too_large" (more than [limits] policy_body_size, or the memory limit) or
// "too_complex" (deeper than 64 levels or more than 100000 values). A non-string
// argument raises an error.
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    func jsonDecode(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        guard stack.type(at: 1) == LUA_TSTRING else { return call.fail("expected a JSON text (a string) as argument #1") }
        var length = 0
        guard let pointer = lua_tolstring(stack.state, 1, &length) else { return call.fail("expected a JSON text") }
        guard length <= configuration.bodySizeLimit else {
            stack.pushNil()
            stack.push("too_large")
            return 2
        }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self)
        let parsed: (JSONValue, weight: Int)
        do throws(JSONError) { parsed = try JSONParser.parse(bytes) }
        catch {
            stack.pushNil()
            switch error {
            case .tooComplex: stack.push("too_complex")
            case .malformed(let what, let offset): stack.push("malformed: \(what) at byte \(offset)")
            }
            return 2
        }
        // A table slot or a string header per value, on top of the string bytes.
        guard reserveHostMemory(parsed.weight * 4 + 64) else {
            stack.pushNil()
            stack.push("too_large")
            return 2
        }
        // Two slots per level of nesting (the table and the value being set).
        guard lua_checkstack(stack.state, Int32(2 * JSONLimits().maxDepth + 8)) != 0 else {
            stack.pushNil()
            stack.push("too_complex")
            return 2
        }
        pushJSON(parsed.0, stack)
        return 1
    }

    private func pushJSON(_ value: JSONValue, _ stack: LuaStack) {
        switch value {
        case .null: stack.pushNil()
        case .bool(let flag): stack.push(flag)
        case .integer(let number): stack.push(number)
        case .number(let number): stack.push(number)
        case .string(let text): stack.push(text)
        case .array(let elements):
            stack.newTable(arrayCount: elements.count)
            for (offset, element) in elements.enumerated() {
                if case .null = element { continue }
                pushJSON(element, stack)
                stack.setIndex(-2, offset + 1)
            }
        case .object(let members):
            stack.newTable(fieldCount: members.count)
            for (name, member) in members {
                pushJSON(member, stack)
                stack.setField(-2, name)
            }
        }
    }
}
