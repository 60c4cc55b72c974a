// One generation of loaded policies: `vmCount` VMs, each with the whole chain (and
// the shadow policies after it), and the scheduling of hook calls onto them. A call
// starts on an idle VM in the caller's thread; when none is idle it queues, and the
// next VM released takes it, on that VM's serial queue. A call that used its time slice is
// continued on its VM's queue; a call that waits for a host operation is parked, its
// VM released to serve others, and continued on the same VM (the only one holding
// its Lua thread) once the answer is in: first thing when that VM is next released,
// or at once when it is idle. No thread ever blocks for a VM or an operation.
//
// A set lives as long as a caller or a parked call holds it, so calls in flight
// finish on the old set after a reload. A VM still over its memory cap after a call
// is replaced by a fresh one of the same chain (built off the caller's thread), once
// no parked call needs it.
import Foundation
import CLuaShim

/// Where the set's own background work runs: deadlines of parked calls and VM
/// rebuilds. Serial queues get a thread of their own from libdispatch whenever they
/// have work (the global concurrent queues do not, once as many threads as cores are
/// blocked, and callers of `run` block), so nothing here can starve.
enum PolicyQueues {
    static let deadlines = DispatchQueue(label: "mailgate.policy.deadlines")
    static let rebuilds = DispatchQueue(label: "mailgate.policy.rebuilds")
}

final class PolicyVMSet: @unchecked Sendable {
    let generation: Int
    let loadedAt: Date
    let policyNames: [String]
    let shadowNames: [String]
    private let configuration: PolicyConfiguration
    private let host: any PolicyHost
    private let sources: [PolicySource]
    private let shadowSources: [PolicySource]
    /// By `Hook.ordinal`: whether at least one live policy defines the hook, and
    /// whether a shadow one does (the same in every VM).
    private let handlesOrdinal: [Bool]
    private let shadowHandlesOrdinal: [Bool]
    private let lock = NSLock()
    private var idle: [LuaVM]
    /// Calls waiting for any VM, oldest first.
    private var backlog: [(HookCall, PendingHookCall, Bool)] = []
    private var backlogStart = 0
    private var replacements = 0
    private let shadowRecorder: ShadowRecorder?

    /// Compiles every script and runs every `init` in every VM; throws on the first error.
    init(configuration: PolicyConfiguration, host: any PolicyHost, generation: Int,
         shadowRecorder: ShadowRecorder? = nil) throws(PolicyLoadError) {
        let sources = try PolicySource.resolve(configuration)
        let shadowSources = try PolicySource.resolve(configuration, names: configuration.shadow)
        var machines: [LuaVM] = []
        for index in 0..<max(configuration.vmCount, 1) {
            machines.append(try LuaVM(configuration: configuration, host: host, sources: sources,
                                      shadowSources: shadowSources, reportUnknownKeys: index == 0))
        }
        self.idle = machines
        self.handlesOrdinal = Hook.allCases.map { hook in
            machines[0].policies[..<sources.count].contains { $0.hooks[hook.ordinal] != nil }
        }
        self.shadowHandlesOrdinal = Hook.allCases.map { machines[0].shadowHandles($0) }
        self.generation = generation
        self.loadedAt = Date()
        self.policyNames = sources.map(\.name)
        self.shadowNames = shadowSources.map(\.name)
        self.configuration = configuration
        self.host = host
        self.sources = sources
        self.shadowSources = shadowSources
        self.shadowRecorder = shadowRecorder
    }

    /// A hook no live policy defines answers `.next` without taking a VM.
    func handles(_ hook: Hook) -> Bool { handlesOrdinal[hook.ordinal] }

    /// Starts `call`: in place on an idle VM (with a slice, after which it continues
    /// on the VM's queue), or queued for the next free VM.
    func start(_ call: HookCall, sliceMicroseconds: Int64) -> HookStart {
        guard handles(call.hook) else {
            let result = HookResult(verdict: .next)
            shadow(call, live: result)
            return .finished(result)
        }
        lock.lock()
        guard let vm = idle.popLast() else {
            let pending = PendingHookCall()
            backlog.append((call, pending, false))
            lock.unlock()
            return .pending(pending)
        }
        lock.unlock()
        return drive(vm, vm.start(call, sliceMicroseconds: sliceMicroseconds), pending: nil, call: call)
    }

    /// Runs `call` to its end, blocking the calling thread (tests, the CLI, callers
    /// that are on a thread pool anyway). Never call it from a VM's queue.
    func run(_ call: HookCall) -> HookResult {
        switch start(call, sliceMicroseconds: 0) {
        case .finished(let result): return result
        case .pending(let pending): return pending.wait()
        }
    }

    /// Carries a VM's call on from `progress`; the VM is held until the call is parked
    /// or finished.
    private func drive(_ vm: LuaVM, _ progress: LuaVM.Progress, pending: PendingHookCall?, call: HookCall?,
                       isShadow: Bool = false) -> HookStart {
        switch progress {
        case .finished(let result):
            let failed = vm.lastCallFailed
            release(vm)
            if isShadow {
                if let call, !failed { shadowRecorder?.compare(call, shadowResult: result, pending: pending) }
                else { shadowRecorder?.failed() }
                return .finished(result)  // nobody waits for a shadow call
            } else if let call {
                shadow(call, live: result)
            }
            if let pending {
                pending.complete(result)
                return .pending(pending)
            }
            return .finished(result)
        case .suspended:
            let pending = pending ?? PendingHookCall()
            vm.queue.async { [self] in
                _ = drive(vm, vm.continueCall(), pending: pending, call: call, isShadow: isShadow)
            }
            return .pending(pending)
        case .waiting(let wait):
            let pending = pending ?? PendingHookCall()
            pending.call = call
            pending.isShadow = isShadow
            let parked = vm.park(wait, pending: pending)
            if let milliseconds = parked.millisecondsToDeadline {
                // The deadline counts the wait: past it the call goes on, and stops.
                PolicyQueues.deadlines.asyncAfter(deadline: .now() + .milliseconds(Int(milliseconds) + 5)) {
                    wait.complete { _, stack in
                        stack.pushNil()
                        stack.push("timeout")
                        return 2
                    }
                }
            }
            release(vm)
            wait.whenAnswered { [self] in unpark(parked) }
            return .pending(pending)
        }
    }

    /// The answer of a parked call is in: continue it on its VM.
    private func unpark(_ parked: ParkedCall) {
        let vm = parked.vm
        lock.lock()
        guard let index = idle.firstIndex(where: { $0 === vm }) else {
            vm.resumable.append(parked)  // guarded by `lock`, like `idle`
            lock.unlock()
            return
        }
        idle.remove(at: index)
        lock.unlock()
        vm.queue.async { [self] in
            _ = drive(vm, vm.continueParked(parked), pending: parked.pending, call: parked.pending.call,
                      isShadow: parked.pending.isShadow)
        }
    }

    /// Gives `vm` back: to a parked call of its own whose answer is in, else to the
    /// oldest queued call, else to the idle list.
    private func release(_ vm: LuaVM) {
        if vm.needsReplacement && vm.parkedCalls == 0 {
            replace(vm)
            return
        }
        give(vm)
    }

    private func give(_ vm: LuaVM, replacing: Bool = false) {
        lock.lock()
        if replacing { replacements += 1 }
        if !vm.resumable.isEmpty {
            let parked = vm.resumable.removeFirst()
            lock.unlock()
            vm.queue.async { [self] in
                _ = drive(vm, vm.continueParked(parked), pending: parked.pending, call: parked.pending.call,
                          isShadow: parked.pending.isShadow)
            }
            return
        }
        if backlogStart < backlog.count {
            let (call, pending, isShadow) = backlog[backlogStart]
            backlogStart += 1
            if backlogStart > 64 && backlogStart * 2 > backlog.count {
                backlog.removeFirst(backlogStart)
                backlogStart = 0
            }
            lock.unlock()
            vm.queue.async { [self] in
                _ = drive(vm, vm.start(call, sliceMicroseconds: 0, shadow: isShadow), pending: pending, call: call,
                          isShadow: isShadow)
            }
            return
        }
        idle.append(vm)
        lock.unlock()
    }

    private func replace(_ vm: LuaVM) {
        let limit = configuration.memoryLimit
        host.log(.warning, policy: "engine",
                 "a Lua VM stayed over its memory limit of \(limit) bytes after a call; replacing it with a fresh one")
        PolicyQueues.rebuilds.async { [self] in
            do {
                give(try LuaVM(configuration: configuration, host: host, sources: sources, shadowSources: shadowSources),
                     replacing: true)
            } catch {
                host.log(.error, policy: "engine", "could not rebuild a Lua VM, keeping the old one: \(error)")
                vm.needsReplacement = false
                give(vm)
            }
        }
    }

    // MARK: shadow policies

    /// Runs the shadow policies on `call` after the live chain answered `live`: on
    /// a VM's queue, so the live answer never waits for them.
    private func shadow(_ call: HookCall, live: HookResult) {
        guard let recorder = shadowRecorder, shadowHandlesOrdinal[call.hook.ordinal] else { return }
        let pending = PendingHookCall()
        pending.liveResult = live
        recorder.started()
        lock.lock()
        guard let vm = idle.popLast() else {
            backlog.append((call, pending, true))
            lock.unlock()
            return
        }
        lock.unlock()
        vm.queue.async { [self] in
            _ = drive(vm, vm.start(call, sliceMicroseconds: 0, shadow: true), pending: pending, call: call,
                      isShadow: true)
        }
    }

    // MARK: tests and status

    /// Runs `body` on every idle VM (tests).
    func withIdleVMs(_ body: (LuaVM) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        idle.forEach(body)
    }

    /// VMs replaced so far, once their replacements are in the pool.
    var replacementCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return replacements
    }
}

/// A hook call that did not finish where it started: it finishes on another thread
/// (after its slice, a wait for the host, or a wait for a VM). Its result is
/// delivered once, to `whenFinished` or `wait`.
public final class PendingHookCall: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: HookResult?
    private var onFinish: (@Sendable (HookResult) -> Void)?
    // Kept for a parked call, so it can be driven on after its wait.
    var call: HookCall?
    var isShadow = false
    /// For a shadow call: the live chain's answer it is compared with.
    var liveResult: HookResult?

    init() {}

    /// Calls `body` with the result once there is one (at once if there is): on the
    /// thread that finished the call.
    public func whenFinished(_ body: @escaping @Sendable (HookResult) -> Void) {
        condition.lock()
        if let result {
            condition.unlock()
            body(result)
            return
        }
        onFinish = body
        condition.unlock()
    }

    /// Blocks until the call has finished.
    public func wait() -> HookResult {
        condition.lock()
        defer { condition.unlock() }
        while result == nil { condition.wait() }
        return result!
    }

    func complete(_ result: HookResult) {
        condition.lock()
        self.result = result
        let body = onFinish
        onFinish = nil
        condition.broadcast()
        condition.unlock()
        body?(result)
    }
}

/// What starting a hook call gave.
public enum HookStart: Sendable {
    case finished(HookResult)
    /// Finishing elsewhere; `PendingHookCall` delivers the result.
    case pending(PendingHookCall)
}
