// The policy engine the Gateway talks to: runs hook calls through the current
// VM set (blocking; call it from a thread pool) and swaps in a freshly compiled
// set on reload, keeping the old one when anything in the new one fails.
import Foundation

public final class PolicyEngine: Sendable {
    private let host: any PolicyHost
    private let lock = NSLock()
    private let reloadLock = NSLock()
    // Guarded by `lock`.
    nonisolated(unsafe) private var current: PolicyVMSet
    nonisolated(unsafe) private var currentConfiguration: PolicyConfiguration
    nonisolated(unsafe) private var lastReloadError: String?

    /// Loads the chain: compiles every script into `vmCount` VMs and runs each `init`.
    public init(configuration: PolicyConfiguration, host: any PolicyHost) throws(PolicyLoadError) {
        self.host = host
        self.current = try PolicyVMSet(configuration: configuration, host: host, generation: 1)
        self.currentConfiguration = configuration
    }

    /// Runs `call` through the chain. Never throws: a failing policy yields
    /// `HookResult.policyFailure` (451 4.3.0) and an error log with file:line.
    public func run(_ call: HookCall) -> HookResult {
        lock.lock()
        let set = current
        lock.unlock()
        return set.run(call)
    }

    /// `run` without waiting: nil when every VM is busy (the caller then uses a thread
    /// that may block). Lets an event loop run a hook in place: Lua is bounded by the
    /// instruction budget, and the host's hot calls do not wait on the disk.
    public func runIfIdle(_ call: HookCall) -> HookResult? {
        lock.lock()
        let set = current
        lock.unlock()
        switch set.start(call, sliceMicroseconds: 0) {
        case .finished(let result)?: return result
        case .suspended(let call)?: return call.finish()  // not reached without a slice
        case nil: return nil
        }
    }

    /// Starts `call` on an idle VM, for an event loop: nil when every VM is busy (use
    /// `run` on a thread that may block). A call still running after the configured
    /// slice (`eventLoopSlice`) suspends itself and comes back `.suspended`: finish it on
    /// a thread pool, so a policy burning its budget never holds the loop for longer.
    public func start(_ call: HookCall) -> HookStart? {
        lock.lock()
        let set = current
        let slice = currentConfiguration.eventLoopSlice
        lock.unlock()
        let microseconds = max(Int64((slice.seconds * 1_000_000).rounded()), 1)
        return set.start(call, sliceMicroseconds: microseconds)
    }

    /// VMs of the running set replaced for staying over their memory limit.
    public var replacedVMs: Int {
        lock.lock()
        let set = current
        lock.unlock()
        return set.replacementCount
    }

    /// Whether any policy of the running chain defines `hook`. When none does, a call
    /// would return `.next` without touching Lua, so callers can skip the thread hop.
    public func handles(_ hook: Hook) -> Bool {
        lock.lock()
        let set = current
        lock.unlock()
        return set.handles(hook)
    }

    /// Compiles `configuration` into a new VM set and swaps it in atomically. On any
    /// error the running set stays, the error is logged and kept in `status`, and thrown.
    public func reload(_ configuration: PolicyConfiguration) throws(PolicyLoadError) {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        lock.lock()
        let nextGeneration = current.generation + 1
        lock.unlock()
        do {
            let set = try PolicyVMSet(configuration: configuration, host: host, generation: nextGeneration)
            lock.lock()
            current = set
            currentConfiguration = configuration
            lastReloadError = nil
            lock.unlock()
        } catch {
            lock.lock()
            lastReloadError = error.description
            lock.unlock()
            host.log(.error, policy: "reload", "policy reload failed, keeping generation \(nextGeneration - 1): \(error)")
            throw error
        }
    }

    public var status: PolicyStatus {
        lock.lock()
        defer { lock.unlock() }
        return PolicyStatus(generation: current.generation, loadedAt: current.loadedAt,
                            lastReloadError: lastReloadError, policies: current.policyNames)
    }

    /// The configuration of the running set.
    public var configuration: PolicyConfiguration {
        lock.lock()
        defer { lock.unlock() }
        return currentConfiguration
    }
}
