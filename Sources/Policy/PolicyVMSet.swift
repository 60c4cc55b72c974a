// One generation of loaded policies: `vmCount` VMs, each with the whole chain,
// and a blocking pool that lends one VM per hook call. A set lives as long as a
// caller holds it, so calls in flight finish on the old set after a reload.
import Foundation

final class PolicyVMSet: @unchecked Sendable {
    let generation: Int
    let loadedAt: Date
    let policyNames: [String]
    /// By `Hook.ordinal`: whether at least one policy of the chain defines the hook
    /// (the same in every VM).
    private let handlesOrdinal: [Bool]
    private let condition = NSCondition()
    private var idle: [LuaVM]

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
    }

    /// A hook no policy defines answers `.next` without taking a VM.
    func handles(_ hook: Hook) -> Bool { handlesOrdinal[hook.ordinal] }

    /// Runs `call` on an idle VM if there is one right now; nil (nothing run) when all are busy.
    func runIfIdle(_ call: HookCall) -> HookResult? {
        guard handles(call.hook) else { return HookResult(verdict: .next) }
        condition.lock()
        guard let vm = idle.popLast() else {
            condition.unlock()
            return nil
        }
        condition.unlock()
        defer {
            condition.lock()
            idle.append(vm)
            condition.signal()
            condition.unlock()
        }
        return vm.run(call)
    }

    /// Runs `call` on an idle VM, waiting for one if all are busy.
    func run(_ call: HookCall) -> HookResult {
        guard handles(call.hook) else { return HookResult(verdict: .next) }
        condition.lock()
        while idle.isEmpty { condition.wait() }
        let vm = idle.removeLast()
        condition.unlock()
        defer {
            condition.lock()
            idle.append(vm)
            condition.signal()
            condition.unlock()
        }
        return vm.run(call)
    }
}
