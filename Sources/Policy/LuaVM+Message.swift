// tx:body(), tx:message(), tx:parts() and tx:part_text(): the Swift side. The bytes
// come from the transaction's MessageContent (shared, never copied per policy); a
// string reaches Lua only when a script asks, at most `bodySizeLimit` bytes at a time
// (`[limits] policy_body_size`), charged against the VM's memory limit. The prelude
// caches what it got in a weak table keyed by the tx table, so one policy call builds
// each value once.
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    func messageCall(_ call: HostArguments) -> Int32 {
        let stack = call.stack
        let which = call.function == .messageBytes ? (call.string(2) ?? "body") : ""
        let name = call.function == .messageBytes ? "tx:\(which)" : call.function.apiName
        func fail(_ message: String) -> Int32 {
            stack.push("\(name): \(message)")
            return -1
        }
        guard let serial = stack.integer(at: 1), serial == callSerial, let (transaction, _) = activeTransaction else {
            return fail("only available during the hook call that received this transaction")
        }
        guard activeHook == .data || activeHook == .deliver, let message = transaction.message else {
            return fail("only available in the data and deliver hooks")
        }
        let limit = configuration.bodySizeLimit
        switch call.function {
        case .messageBytes:
            let range = which == "message" ? 0..<message.count : message.bodyStart..<message.count
            var slice = range
            if stack.isNil(at: 3) && stack.isNil(at: 4) {
                guard range.count <= limit else {
                    return fail("the \(which) is \(range.count) bytes, more than [limits] policy_body_size (\(limit)): "
                                + "read it in chunks with tx:\(which)(offset, length)")
                }
            } else {
                guard lua_isinteger(stack.state, 3) != 0, let offset = stack.integer(at: 3), offset >= 0 else {
                    return fail("expected a byte offset (an integer from 0) as argument #1")
                }
                var length = limit
                if !stack.isNil(at: 4) {
                    guard lua_isinteger(stack.state, 4) != 0, let given = stack.integer(at: 4), given >= 0 else {
                        return fail("expected a length (a non-negative integer) as argument #2")
                    }
                    length = min(given, limit)
                }
                let start = range.lowerBound + min(offset, range.count)
                slice = start..<(start + min(length, range.upperBound - start))
            }
            guard reserveHostMemory(slice.count + 64) else {
                return fail("\(slice.count) bytes would exceed the memory limit of \(configuration.memoryLimit) bytes")
            }
            stack.push(bytes: message.bytes[slice])
            stack.push(range.count)
            return 2

        case .messageParts:
            let walk = message.walk
            let estimate = 64 + walk.leaves.reduce(0) { $0 + 600 + $1.type.utf8.count + ($1.filename?.utf8.count ?? 0) }
            guard reserveHostMemory(estimate) else { return fail("the part list would exceed the memory limit") }
            stack.newTable(arrayCount: walk.leaves.count)
            for leaf in walk.leaves {
                stack.newTable(fieldCount: 8)
                stack.push(leaf.index); stack.setField(-2, "index")
                stack.push(leaf.type); stack.setField(-2, "type")
                if let disposition = leaf.disposition { stack.push(disposition); stack.setField(-2, "disposition") }
                if let filename = leaf.filename { stack.push(filename); stack.setField(-2, "filename") }
                stack.push(leaf.size); stack.setField(-2, "size")
                if let charset = leaf.charset { stack.push(charset); stack.setField(-2, "charset") }
                if let encoding = leaf.encoding { stack.push(encoding); stack.setField(-2, "encoding") }
                stack.push(leaf.depth); stack.setField(-2, "depth")
                stack.setIndex(-2, leaf.index)
            }
            stack.push(walk.complete)
            return 2

        case .partText:
            let leaves = message.walk.leaves
            guard lua_isinteger(stack.state, 2) != 0, let index = stack.integer(at: 2), index >= 1, index <= leaves.count else {
                return fail("expected a part index from 1 to \(leaves.count) (see tx:parts()) as argument #1")
            }
            var maxBytes = limit
            if !stack.isNil(at: 3) {
                guard lua_isinteger(stack.state, 3) != 0, let given = stack.integer(at: 3), given >= 0 else {
                    return fail("expected a maximum length in bytes (a non-negative integer) as argument #2")
                }
                maxBytes = min(given, limit)
            }
            let part = leaves[index - 1].part
            // Quoted-printable takes at most 3 bytes per decoded byte: this much raw
            // input always covers `maxBytes` of text, and bounds the work.
            let rawLimit = maxBytes.multipliedReportingOverflow(by: 3).partialValue + 1024
            let text = part.decodedText(in: message.bytes, rawLimit: rawLimit)
            let (cut, shortened) = Self.prefix(text, maxBytes: maxBytes)
            guard reserveHostMemory(cut.utf8.count + 64) else { return fail("the text would exceed the memory limit") }
            stack.push(cut)
            stack.push(shortened || part.bodyRange.count > rawLimit)
            return 2

        default:
            preconditionFailure("not a message function")
        }
    }

    /// At most `maxBytes` of `text`, cut between characters; true when something was cut.
    static func prefix(_ text: String, maxBytes: Int) -> (String, Bool) {
        guard text.utf8.count > maxBytes else { return (text, false) }
        var end = text.utf8.startIndex
        var used = 0
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            if used + size > maxBytes { break }
            used += size
            end = text.utf8.index(end, offsetBy: size)
        }
        return (String(text[..<end]), true)
    }
}

extension LuaStack {
    /// Pushes raw bytes as a Lua string (message bytes need not be UTF-8).
    func push(bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { buffer in
            _ = lua_pushlstring(state, buffer.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                               buffer.count)
        }
    }
}
