// One generation of loaded policies: `vmCount` VMs, each with the whole chain,
// and a blocking pool that lends one VM per hook call. A set lives as long as a
// caller holds it, so calls in flight finish on the old set after a reload. A VM
// still over its memory cap after a call is replaced by a fresh one of the same
// chain (built off the caller's thread), so one hostile message cannot leave it
// failing every later call.
import Foundation

final class PolicyVMSet: @unchecked Sendable {
    let generation: Int
    let loadedAt: Date
    let policyNames: [String]
    private let configuration: PolicyConfiguration
    private let host: any PolicyHost
    private let sources: [PolicySource]
    /// By `Hook.ordinal`: whether at least one policy of the chain defines the hook
    /// (the same in every VM).
    private let handlesOrdinal: [Bool]
    private let condition = NSCondition()
    private var idle: [LuaVM]
    private var replacements = 0

    /// Compiles every script and runs every `init` in every VM; throws on the first error.
    init(configuration: PolicyConfiguration, host: any PolicyHost, generation: Int) throws(PolicyLoadError) {
        let sources = try PolicySource.resolve(configuration)
        var machines: [LuaVM] = []
        for index in 0..<max(configuration.vmCount, 1) {
            machines.append(try LuaVM(configuration: configuration, host: host, sources: sources,
                                      reportUnknownKeys: index == 0))
        }
        self.idle = machines
        self.handlesOrdinal = Hook.allCases.map { hook in
            machines[0].policies.contains { $0.hooks[hook.ordinal] != nil }
        }
        self.generation = generation
        self.loadedAt = Date()
        self.policyNames = sources.map(\.name)
        self.configuration = configuration
        self.host = host
        self.sources = sources
    }

    /// A hook no policy defines answers `.next` without taking a VM.
    func handles(_ hook: Hook) -> Bool { handlesOrdinal[hook.ordinal] }

    /// Starts `call` on an idle VM if there is one right now; nil (nothing run) when all
    /// are busy. With a slice the call may come back suspended, its VM still reserved.
    func start(_ call: HookCall, sliceMicroseconds: Int64) -> HookStart? {
        guard handles(call.hook) else { return .finished(HookResult(verdict: .next)) }
        condition.lock()
        guard let vm = idle.popLast() else {
            condition.unlock()
            return nil
        }
        condition.unlock()
        switch vm.start(call, sliceMicroseconds: sliceMicroseconds) {
        case .finished(let result):
            release(vm)
            return .finished(result)
        case .suspended:
            return .suspended(SuspendedHookCall(set: self, vm: vm))
        }
    }

    /// Runs `call` on an idle VM, waiting for one if all are busy.
    func run(_ call: HookCall) -> HookResult {
        guard handles(call.hook) else { return HookResult(verdict: .next) }
        condition.lock()
        while idle.isEmpty { condition.wait() }
        let vm = idle.removeLast()
        condition.unlock()
        defer { release(vm) }
        return vm.run(call)
    }

    /// Finishes a call `start` suspended and gives its VM back.
    func finish(_ vm: LuaVM) -> HookResult {
        defer { release(vm) }
        return vm.finish()
    }

    private func release(_ vm: LuaVM) {
        guard vm.needsReplacement else {
            give(vm)
            return
        }
        let limit = configuration.memoryLimit
        host.log(.warning, policy: "engine",
                 "a Lua VM stayed over its memory limit of \(limit) bytes after a call; replacing it with a fresh one")
        DispatchQueue.global().async { [self] in
            do {
                give(try LuaVM(configuration: configuration, host: host, sources: sources), replacing: true)
            } catch {
                host.log(.error, policy: "engine", "could not rebuild a Lua VM, keeping the old one: \(error)")
                vm.needsReplacement = false
                give(vm)
            }
        }
    }

    private func give(_ vm: LuaVM, replacing: Bool = false) {
        condition.lock()
        idle.append(vm)
        if replacing { replacements += 1 }
        condition.signal()
        condition.unlock()
    }

    /// Runs `body` on every idle VM (tests).
    func withIdleVMs(_ body: (LuaVM) -> Void) {
        condition.lock()
        defer { condition.unlock() }
        idle.forEach(body)
    }

    /// VMs replaced so far, once their replacements are in the pool.
    var replacementCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return replacements
    }
}

/// A hook call that used its time slice on an event loop and suspended itself; its
/// VM stays reserved until `finish` (call it exactly once, on a thread that may
/// block: the rest of the call runs there).
public final class SuspendedHookCall: @unchecked Sendable {
    private let set: PolicyVMSet
    private let vm: LuaVM

    init(set: PolicyVMSet, vm: LuaVM) {
        self.set = set
        self.vm = vm
    }

    public func finish() -> HookResult { set.finish(vm) }
}

/// What starting a hook call on an event loop gave.
public enum HookStart: Sendable {
    case finished(HookResult)
    case suspended(SuspendedHookCall)
}
