// One Lua state with the sandbox and every policy of a chain loaded into it.
// It serves one hook call at a time (the pool hands it out), so the per-call
// fields below need no lock. The C state calls back into this object through
// `hostDispatch`; the state is closed in deinit, so it never outlives it.
import CLua
import CLuaShim
import Foundation
import MailCore

final class LuaVM: @unchecked Sendable {
    struct LoadedPolicy {
        let name: String
        let file: String
        /// Registry references of the hook functions, indexed by `Hook.ordinal`.
        var hooks: [Int32?]
        /// How many arguments each hook function declares (nil: vararg, all of them):
        /// arguments it does not declare are never built.
        var declaredArguments: [Int32?]
        /// Wall time one call of this policy may take, in milliseconds.
        var deadlineMilliseconds: Int64 = 5000
        /// `on_error = "next"`: a failure is logged and the chain goes on.
        var failureMeansNext = false
    }

    /// Registry references to what the sandbox prelude returned.
    struct SandboxRefs {
        var makeEnv: Int32 = 0
        var verdicts: Int32 = 0
        var txMetatable: Int32 = 0
        var addressMetatable: Int32 = 0
        /// The private key under which a transaction table keeps the serial of its call.
        var txCallKey: Int32 = 0
        /// `mailgate.next`, the answer of most calls: recognised by identity.
        var nextVerdict: Int32 = 0
    }

    let host: any PolicyHost
    let configuration: PolicyConfiguration
    private(set) var state: OpaquePointer!
    /// The Lua thread host functions and argument builders push onto: the main state,
    /// or during a host call the thread (call thread or coroutine) that made it.
    var current: OpaquePointer!
    private(set) var policies: [LoadedPolicy] = []
    private(set) var refs = SandboxRefs()

    // The call in progress (read by host functions).
    var activePolicy = ""
    var activeHook: Hook?
    /// The hook call in progress and its serial: a transaction table builds its
    /// `session`, `recipients`, `headers` and `mail_from` from it on first use.
    var activeCall: HookCall?
    /// The call's recipient (rcpt, deliver) or sender (mail_from), already parsed: the
    /// address policies ask the host about most.
    var callAddress: MailAddress?
    var callSerial = 0
    /// The last serial handed out by this VM (`callSerial` is the running call's).
    var lastSerial = 0
    /// The policy of the chain the call in progress is at, and how many results its
    /// function returned.
    var nextPolicy = 0
    /// Where the segment of `policies` the call runs ends: the live chain, or the
    /// shadow policies after it.
    var chainEnd = 0
    var resultCount: Int32 = 0
    /// Host operations (DNS lookups) the policy call in progress has waited for.
    var hostWaits = 0
    /// Set by a host function that returns MG_HOST_WAIT: what the call waits for.
    var pendingWait: HostWait?
    /// The answer a parked call is continued with (pushed by MG_HOST_RESUME).
    var resumeAnswer: HostWait.Answer?
    /// Calls detached from this VM while they wait: the VM holds their threads, so
    /// it is not replaced while any is parked.
    var parkedCalls = 0
    /// Where this VM's calls go on when they do not finish where they started (after a
    /// slice, a wait, or a wait for the VM): one serial queue per VM, since a VM runs one
    /// call at a time, and serial queues always get a thread (PolicyQueues).
    let queue = DispatchQueue(label: "mailgate.policy.vm")
    /// Runs the mail-authentication evaluations this VM's calls start.
    var authExecutor: InlineTaskExecutor { .shared }
    /// Parked calls of this VM whose answer came while it was busy, oldest first
    /// (guarded by the VM set's lock).
    var resumable: [ParkedCall] = []
    /// True when the last call ended in a failure (error, budget, memory, deadline).
    var lastCallFailed = false
    /// How many policies of `policies` form the live chain; the rest are shadows.
    private(set) var liveCount = 0
    var loading = false
    var addedHeaders: [HeaderField] = []
    var authResults: [String] = []
    var newSubject: String?
    var chosenFolder: String?
    /// Store writes (counters.incr, whitelist.add/remove) made by the policy call in
    /// progress: at most `PolicyConfiguration.maxStoreWrites`.
    var storeWrites = 0
    /// Bytes of tables and strings host calls built for the policy call in progress
    /// (tx.headers and the like): at most the memory limit per call.
    var hostBuiltBytes = 0
    /// Set when the VM was still over its memory limit after a call: the set replaces it.
    var needsReplacement = false
    var networkCache: [String: IPNetwork] = [:]
    var lastParsedIP: (text: String, ip: IPAddress?)?

    init(configuration: PolicyConfiguration, host: any PolicyHost, sources: [PolicySource],
         shadowSources: [PolicySource] = [], reportUnknownKeys: Bool = false) throws(PolicyLoadError) {
        self.configuration = configuration
        self.host = host
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard let state = mg_state_open(max(configuration.memoryLimit, 0), hostDispatch, context) else {
            throw PolicyLoadError(file: "mailgate", message:
                "cannot create a Lua state within the memory limit of \(configuration.memoryLimit) bytes")
        }
        self.state = state
        self.current = state
        try installSandbox()
        for source in sources {
            try load(source, reportUnknownKeys: reportUnknownKeys)
        }
        liveCount = sources.count
        for source in shadowSources {
            try load(source, reportUnknownKeys: reportUnknownKeys)
        }
    }

    deinit { mg_state_close(state) }

    var stack: LuaStack { LuaStack(current) }

    // MARK: sandbox

    private func installSandbox() throws(PolicyLoadError) {
        let stack = self.stack
        let base = stack.top
        defer { stack.top = base }
        let file = String(cString: mg_sandbox_chunkname())
        let status = SandboxPrelude.source.withCString { text in
            mg_load_text(state, text, strlen(text), mg_sandbox_chunkname())
        }
        guard status == LUA_OK else {
            throw PolicyLoadError(file: file, message: stack.string(at: -1) ?? "cannot compile the sandbox")
        }
        stack.newTable(fieldCount: HostFunction.allCases.count + 1)
        for function in HostFunction.allCases {
            mg_push_host_function(state, function.rawValue)
            stack.setField(-2, function.luaName)
        }
        mg_push_sandbox_error_function(state)
        stack.setField(-2, "raise")
        stack.push(PolicyValue.table(configuration.globals))
        mg_budget_arm(state, Int64(configuration.loadInstructionBudget))
        guard mg_pcall(state, 2, 1) == LUA_OK else {
            throw PolicyLoadError(file: file, message: failureMessage(file: file))
        }
        let exports = stack.absolute(-1)
        func reference(_ key: String) -> Int32 {
            stack.pushRawField(exports, key)
            return stack.makeRef()
        }
        refs.makeEnv = reference("make_env")
        refs.verdicts = reference("verdicts")
        refs.txMetatable = reference("tx_mt")
        refs.addressMetatable = reference("address_mt")
        refs.txCallKey = reference("tx_call")
        refs.nextVerdict = reference("next_verdict")
    }

    // MARK: loading a policy

    private func load(_ source: PolicySource, reportUnknownKeys: Bool) throws(PolicyLoadError) {
        let stack = self.stack
        let base = stack.top
        defer { stack.top = base; loading = false; activePolicy = "" }
        activePolicy = source.name
        loading = true
        storeWrites = 0
        hostBuiltBytes = 0
        let budget = Int64(configuration.loadInstructionBudget)

        // config table (slot base+1), then the policy's own _ENV (slot base+2).
        if case .table = configuration.settings[source.name] {
            stack.push(configuration.settings[source.name]!)
        } else {
            stack.newTable()
        }
        let config = stack.absolute(-1)
        stack.pushRef(refs.makeEnv)
        stack.pushValue(config)
        mg_budget_arm(state, budget)
        guard mg_pcall(state, 1, 1) == LUA_OK else {
            throw PolicyLoadError(file: source.file, message: failureMessage(file: source.file))
        }
        let env = stack.absolute(-1)

        let status = source.text.withUnsafeBufferPointer { text in
            text.baseAddress!.withMemoryRebound(to: CChar.self, capacity: text.count) { bytes in
                mg_load_text(state, bytes, text.count, "@" + source.file)
            }
        }
        guard status == LUA_OK else {
            throw PolicyLoadError.fromLua(file: source.file, message: failureMessage(file: source.file))
        }
        stack.pushValue(env)
        _ = mg_set_env(state, -2)
        mg_budget_arm(state, budget)
        guard mg_pcall(state, 0, 1) == LUA_OK else {
            throw PolicyLoadError.fromLua(file: source.file, message: failureMessage(file: source.file))
        }
        guard stack.type(at: -1) == LUA_TTABLE else {
            throw PolicyLoadError(file: source.file, message:
                "a policy must return a table of hook functions, got \(typeName(at: -1))")
        }
        let table = stack.absolute(-1)

        var policy = LoadedPolicy(name: source.name, file: source.file, hooks: Array(repeating: nil, count: Hook.allCases.count),
                                  declaredArguments: Array(repeating: nil, count: Hook.allCases.count))
        guard let deadline = configuration.deadlineMilliseconds(for: source.name) else {
            throw PolicyLoadError(file: source.file, message:
                "[policy.\(source.name)] deadline must be a positive duration such as \"2s\" or \"500ms\"")
        }
        policy.deadlineMilliseconds = deadline
        switch configuration.failureMeansNext(for: source.name) {
        case .some(let next): policy.failureMeansNext = next
        case .none:
            throw PolicyLoadError(file: source.file, message:
                "[policy.\(source.name)] on_error must be \"defer\" (the default: 451 4.3.0) or \"next\" (carry on as if the policy said mailgate.next)")
        }
        for hook in Hook.allCases {
            let type = stack.pushRawField(table, hook.rawValue)
            if type == LUA_TFUNCTION {
                let declared = mg_declared_parameters(state, -1)
                policy.declaredArguments[hook.ordinal] = declared >= 0 ? declared : nil
                policy.hooks[hook.ordinal] = stack.makeRef()
            } else {
                defer { stack.pop() }
                if type != LUA_TNIL {
                    throw PolicyLoadError(file: source.file, message:
                        "hook \"\(hook.rawValue)\" must be a function, got \(typeName(at: -1))")
                }
            }
        }
        if reportUnknownKeys { reportUnknownFunctions(in: table, policy: source) }

        let initType = stack.pushRawField(table, "init")
        if initType == LUA_TFUNCTION {
            stack.pushValue(config)
            mg_budget_arm(state, budget)
            guard mg_pcall(state, 1, 0) == LUA_OK else {
                throw PolicyLoadError.fromLua(file: source.file, message: failureMessage(file: source.file))
            }
        } else if initType != LUA_TNIL {
            throw PolicyLoadError(file: source.file, message: "\"init\" must be a function, got \(typeName(at: -1))")
        }
        policies.append(policy)
    }

    /// A typo such as `mailfrom` would silently never run: say so once per load.
    private func reportUnknownFunctions(in table: Int32, policy: PolicySource) {
        let stack = self.stack
        let known = Set(Hook.allCases.map(\.rawValue) + ["init"])
        stack.pushNil()
        while lua_next(state, table) != 0 {
            if stack.type(at: -1) == LUA_TFUNCTION, let key = stack.string(at: -2), !known.contains(key) {
                host.log(.warning, policy: policy.name,
                         "\(policy.file): \"\(key)\" is not a hook name and is never called (hooks: \(Hook.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            stack.pop()
        }
    }

    // MARK: helpers

    func typeName(at index: Int32) -> String {
        String(cString: lua_typename(current, lua_type(current, index)))
    }

    /// The message of the failed protected call on top of the stack, with the full
    /// file path; memory and budget failures get a clear text.
    func failureMessage(file: String) -> String {
        if mg_memory_limit_hit(state) != 0 && (stack.string(at: -1) ?? "").hasSuffix("not enough memory") {
            return "\(file): memory limit of \(configuration.memoryLimit) bytes exceeded"
        }
        return LuaMessage.locate(stack.string(at: -1) ?? "unknown error", file: file)
    }
}

extension Hook {
    /// Position in `Hook.allCases`, for array lookups on the hot path.
    var ordinal: Int {
        switch self {
        case .connect: 0
        case .helo: 1
        case .auth: 2
        case .mailFrom: 3
        case .rcpt: 4
        case .data: 5
        case .deliver: 6
        case .disconnect: 7
        case .bounce: 8
        case .delivered: 9
        case .deferred: 10
        }
    }
}

/// The single entry point of every host-function trampoline.
private let hostDispatch: mg_host_dispatch = { state, context, id in
    guard let state, let context else { return 0 }
    let vm = Unmanaged<LuaVM>.fromOpaque(context).takeUnretainedValue()
    let outer = vm.current
    vm.current = state
    defer { vm.current = outer }
    if id == MG_HOST_RESUME { return vm.pushResumeAnswer(LuaStack(state)) }
    guard let function = HostFunction(rawValue: id) else { return 0 }
    return vm.callHost(function, LuaStack(state))
}
