// The Swift side of every `mailgate.*` host function. Runs inside a C trampoline:
// arguments are read with non-raising calls only, and an error is reported by
// pushing its message and returning -1 (the trampoline raises it, with the
// policy's file:line, after this function has returned).
import CLua
import CLuaShim
import Foundation
import MailCore

extension LuaVM {
    static let maxLogMessage = 4096
    /// What the store accepts (MailStore's `counterKey`): a longer key used to pass here
    /// and then fail in the store, where the policy saw no error.
    static let maxCounterKey = 400
    static let maxAddedHeaders = 100
    static let maxListFileBytes = 16 * 1024 * 1024

    func callHost(_ function: HostFunction, _ stack: LuaStack) -> Int32 {
        let call = HostArguments(stack: stack, function: function)
        switch function {
        case .log:
            guard let levelName = call.string(1), let message = call.string(2) else { return call.fail("expected (level, message)") }
            let level: PolicyLogLevel
            switch levelName {
            case "debug": level = .debug
            case "info": level = .info
            case "warn", "warning": level = .warning
            case "error": level = .error
            default: return call.fail("unknown level \"\(levelName)\" (debug, info, warn, error)")
            }
            host.log(level, policy: activePolicy, String(message.utf8.prefix(Self.maxLogMessage)) ?? message)
            return 0

        case .isLocal, .hasCatchAll:
            guard let domain = call.string(1) else { return call.fail("expected a domain") }
            let name = domain.lowercased()
            // A domain literal ([192.0.2.1]) is never one of ours: no relay tricks.
            let answer = name.hasPrefix("[") || name.isEmpty ? false
                : function == .isLocal ? host.isLocalDomain(name) : host.hasCatchAll(name)
            stack.push(answer)
            return 1

        case .userExists, .aliasExists:
            guard let text = call.string(1) else { return call.fail("expected an address") }
            guard let address = parsedAddress(text), !address.isDomainLiteral else {
                stack.push(false)
                return 1
            }
            stack.push(function == .userExists ? host.userExists(address) : host.aliasExists(address))
            return 1

        case .whitelistContains:
            guard let text = call.string(1) else { return call.fail("expected an IP address") }
            stack.push(ipAddress(text).map { host.whitelistContains($0.description) } ?? false)
            return 1

        case .whitelistAdd:
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            guard let text = call.string(1), let ip = IPAddress(text) else { return call.fail("expected an IP address") }
            guard let ttl = call.seconds(2), ttl > 0 else { return call.fail("expected a positive TTL in seconds as argument #2") }
            let user = call.string(3)
            host.whitelistAdd(ip.description, user: user, ttlSeconds: Int(ttl.rounded(.up)))
            return 0

        case .whitelistRemove:
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            guard let text = call.string(1), let ip = IPAddress(text) else { return call.fail("expected an IP address") }
            host.whitelistRemove(ip.description)
            return 0

        case .counterIncrement, .counterGet:
            guard let key = call.string(1), !key.isEmpty, key.utf8.count <= Self.maxCounterKey else {
                return call.fail("expected a counter key of 1 to \(Self.maxCounterKey) bytes")
            }
            guard let window = call.seconds(2), window >= 1 else { return call.fail("expected a window of at least 1 second as argument #2") }
            let windowSeconds = Int(window.rounded(.up))
            if function == .counterGet {
                stack.push(host.counterGet(key, windowSeconds: windowSeconds))
                return 1
            }
            guard countStoreWrite() else { return call.fail(storeWriteRefusal) }
            var amount = 1
            if !stack.isNil(at: 3) {
                guard let given = stack.integer(at: 3), given >= 0 else { return call.fail("expected a non-negative integer amount as argument #3") }
                amount = given
            }
            stack.push(host.counterIncrement(key, amount: amount, windowSeconds: windowSeconds))
            return 1

        case .inNetworks:
            guard let text = call.string(1) else { return call.fail("expected an IP address") }
            var networks: [IPNetwork] = []
            let top = stack.top
            if top >= 2 && !(top == 2 && stack.isNil(at: 2)) {
                for index in 2...top {
                    guard let cidr = stack.string(at: index) else { return call.fail("expected CIDR strings such as \"10.0.0.0/8\"") }
                    guard let network = network(cidr) else { return call.fail("invalid network \"\(cidr)\"") }
                    networks.append(network)
                }
            }
            stack.push(ipAddress(text).map { IPNetwork.anyContains(networks, $0) } ?? false)
            return 1

        case .parseIP:
            guard let text = call.string(1), let ip = IPAddress(text) else { stack.pushNil(); return 1 }
            stack.push(ip.description)
            stack.push(ip.isV4 ? 4 : 6)
            return 2

        case .now:
            pushNumber(host.now(), stack)
            return 1

        case .list:
            return readList(call)

        case .duration:
            guard let seconds = call.seconds(1) else { return call.fail("expected a duration such as 60, \"90s\" or \"1h\"") }
            pushNumber(seconds, stack)
            return 1

        case .size:
            if let number = stack.number(at: 1), number >= 0 { pushNumber(number, stack); return 1 }
            guard let text = call.string(1), let bytes = ConfigValues.size(text) else {
                return call.fail("expected a size such as 10485760 or \"10MB\"")
            }
            stack.push(Int(bytes))
            return 1

        case .parseAddress:
            guard let text = call.string(1), let address = try? MailAddress.parse(text, allowUTF8: true) else {
                stack.pushNil()
                return 1
            }
            pushAddress(address)
            return 1

        case .addHeader:
            return addHeader(call)

        case .setSubject:
            return setSubject(call)

        case .setFolder:
            guard activeHook == .data else { return call.fail("only available in the data hook") }
            guard let name = call.string(1), !name.isEmpty, name.utf8.count <= 255,
                  !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
                return call.fail("expected a folder name of 1 to 255 bytes without control characters")
            }
            if nextPolicy < liveCount { chosenFolder = name }
            return 0

        case .dnsQuery:
            return dnsQuery(call)

        case .dnsReverse:
            return dnsReverse(call)

        case .dnsQueryAll:
            return dnsQueryAll(call)

        case .readLibrary:
            return readLibrary(call)

        case .transactionField:
            guard let serial = stack.integer(at: 1), let key = call.string(2) else { return call.fail("expected (call, field)") }
            guard serial == callSerial, let (transaction, mailFrom) = activeTransaction else {
                return call.fail("tx.\(key) can only be read during the hook call that received this transaction")
            }
            let bytes = Self.estimatedSize(of: key, transaction)
            guard reserveHostMemory(bytes) else {
                return call.fail("building tx.\(key) (about \(bytes) bytes) would exceed the memory limit of \(configuration.memoryLimit) bytes")
            }
            guard pushTransactionField(key, of: transaction, mailFrom: mailFrom) else { stack.pushNil(); return 1 }
            return 1

        case .kvGet, .kvSet, .kvIncrement, .kvDelete: return keyValueCall(call)
        case .setResult, .getResult: return resultCall(call)
        case .messageBytes, .messageParts, .partText: return messageCall(call)
        case .addAuthResult: return addAuthResult(call)
        case .spfCheck: return spfCheck(call)
        case .dkimVerify: return dkimVerify(call)
        case .dmarcCheck: return dmarcCheck(call)
        case .arcVerify: return arcVerify(call)
        case .httpRequest: return httpRequest(call)
        case .jsonDecode: return jsonDecode(call)
        }
    }

    /// One more store write for the policy call in progress; false beyond the bound
    /// (a loop must not flood the store's single writer).
    func countStoreWrite() -> Bool {
        guard storeWrites < configuration.maxStoreWrites else { return false }
        storeWrites += 1
        return true
    }

    var storeWriteRefusal: String {
        "more than \(configuration.maxStoreWrites) store writes in one hook call"
    }

    /// Accounts for `bytes` about to be built by the host with the cap off: refused
    /// when the call's host-built values would pass the memory limit, or the VM would
    /// still be over it after a collection.
    func reserveHostMemory(_ bytes: Int) -> Bool {
        let limit = configuration.memoryLimit
        hostBuiltBytes += bytes
        guard hostBuiltBytes <= limit else { return false }
        if Int(mg_memory_used(current)) + bytes > limit {
            mg_collect_garbage(current)
            if Int(mg_memory_used(current)) + bytes > limit { return false }
        }
        return true
    }

    /// An upper estimate of what a lazily built transaction field takes in the VM
    /// (strings with their headers, tables with their slots).
    static func estimatedSize(of key: String, _ transaction: TransactionInfo) -> Int {
        switch key {
        case "headers":
            return 64 + transaction.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 160 }
        case "recipients":
            return 64 + transaction.recipients.reduce(0) { $0 + 3 * $1.address.utf8.count + 200 }
        case "session":
            return 600 + transaction.session.clientIP.utf8.count + (transaction.session.heloName?.utf8.count ?? 0)
                + (transaction.session.authUser?.utf8.count ?? 0) + transaction.session.id.utf8.count
        default:
            return 400
        }
    }

    /// CIDR parsing is cached per VM: the same few networks come up on every call.
    private func network(_ cidr: String) -> IPNetwork? {
        if let cached = networkCache[cidr] { return cached }
        guard let parsed = IPNetwork(cidr) else { return nil }
        if networkCache.count >= 1024 { networkCache.removeAll(keepingCapacity: true) }
        networkCache[cidr] = parsed
        return parsed
    }

    /// The client's address comes up in several calls per hook: the last one parsed is kept.
    private func ipAddress(_ text: String) -> IPAddress? {
        if let last = lastParsedIP, last.text == text { return last.ip }
        let ip = IPAddress(text)
        lastParsedIP = (text, ip)
        return ip
    }

    /// The address a policy asks about is nearly always the call's own recipient or
    /// sender (`rcpt.address`): that one is already parsed.
    private func parsedAddress(_ text: String) -> MailAddress? {
        if let callAddress, callAddress.address == text { return callAddress }
        return try? MailAddress.parse(text)
    }

    func pushNumber(_ value: Double, _ stack: LuaStack) {
        if value.rounded() == value, abs(value) < 9.0e15 { stack.push(Int(value)) } else { stack.push(value) }
    }

    /// mailgate.list(path): lines of a file under the policy directory, lower-cased,
    /// without blanks and `#` comments. Returns (list, exists). Load/init only.
    private func readList(_ call: HostArguments) -> Int32 {
        guard loading else { return call.fail("only available while policies load (main chunk or init)") }
        guard let relative = call.string(1), !relative.isEmpty else { return call.fail("expected a file name") }
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !relative.hasPrefix("/"), !components.contains(".."), !relative.contains("\0") else {
            return call.fail("\"\(relative)\" must be a path inside the policy directory")
        }
        let directory = configuration.directory
        let path = directory.isEmpty ? relative : (directory.hasSuffix("/") ? directory : directory + "/") + relative
        var isDirectory: ObjCBool = false
        let stack = call.stack
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            stack.newTable()
            stack.push(false)
            return 2
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            return call.fail("cannot read \(path)")
        }
        guard data.count <= Self.maxListFileBytes else { return call.fail("\(path) is larger than \(Self.maxListFileBytes) bytes") }
        let text = String(decoding: data, as: UTF8.self)
        var entries: [String] = []
        for line in text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let entry = line.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            entries.append(entry.lowercased())
        }
        stack.newTable(arrayCount: entries.count)
        for (offset, entry) in entries.enumerated() {
            stack.push(entry)
            stack.setIndex(-2, offset + 1)
        }
        stack.push(true)
        return 2
    }

    /// tx:set_subject(text) in the data hook: the message's Subject is replaced by `text`
    /// (the last call wins; shadow policies change nothing).
    private func setSubject(_ call: HostArguments) -> Int32 {
        guard activeHook == .data else { return call.fail("only available in the data hook") }
        guard let text = call.string(1), text.utf8.count <= 900,
              !text.utf8.contains(where: { $0 < 0x20 && $0 != 9 || $0 == 0x7F }) else {
            return call.fail("expected a subject of at most 900 bytes without line breaks or control characters")
        }
        guard nextPolicy < liveCount else { return 0 }
        newSubject = text
        return 0
    }

    /// tx:add_header(name, value) in the data hook: collected for HookResult.addedHeaders.
    private func addHeader(_ call: HostArguments) -> Int32 {
        guard activeHook == .data else { return call.fail("only available in the data hook") }
        guard let name = call.string(1), !name.isEmpty, name.utf8.count <= 76,
              name.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ":") }) else {
            return call.fail("expected a header name of 1 to 76 printable characters without ':'")
        }
        guard let value = call.string(2), value.utf8.count <= 998,
              value.utf8.allSatisfy({ $0 >= 32 && $0 != 127 || $0 == 9 }) else {
            return call.fail("expected a header value of at most 998 bytes without line breaks or control characters")
        }
        guard addedHeaders.count < Self.maxAddedHeaders else { return call.fail("more than \(Self.maxAddedHeaders) added headers") }
        addedHeaders.append(HeaderField(name: name, value: value))
        return 0
    }
}

/// Argument access and error reporting for one host call.
struct HostArguments {
    let stack: LuaStack
    let function: HostFunction

    func string(_ index: Int32) -> String? { stack.string(at: index) }

    /// Seconds from a number or a duration string ("90s", "1h").
    func seconds(_ index: Int32) -> Double? {
        if let number = stack.number(at: index) { return number >= 0 && number.isFinite ? number : nil }
        guard let text = stack.string(at: index), let duration = ConfigValues.duration(text) else { return nil }
        return duration.seconds
    }

    func fail(_ message: String) -> Int32 {
        stack.push("\(function.apiName): \(message)")
        return -1
    }
}
