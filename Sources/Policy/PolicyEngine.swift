// The policy engine the Gateway talks to: starts hook calls on the current VM set
// (PolicyVMSet schedules them: in place, queued, continued after a slice or a wait
// for the host on the VM's own serial queue, all without blocking a thread) and swaps in a freshly compiled set
// on reload, keeping the old one when anything in the new one fails.
import Foundation

public final class PolicyEngine: Sendable {
    private let host: any PolicyHost
    private let shadowRecorder: ShadowRecorder
    private let lock = NSLock()
    private let reloadLock = NSLock()
    // Guarded by `lock`.
    nonisolated(unsafe) private var current: PolicyVMSet
    nonisolated(unsafe) private var currentConfiguration: PolicyConfiguration
    nonisolated(unsafe) private var lastReloadError: String?

    /// Loads the chain: compiles every script into `vmCount` VMs and runs each `init`.
    public init(configuration: PolicyConfiguration, host: any PolicyHost) throws(PolicyLoadError) {
        self.host = host
        self.shadowRecorder = ShadowRecorder(host: host)
        self.current = try PolicyVMSet(configuration: configuration, host: host, generation: 1,
                                       shadowRecorder: configuration.shadow.isEmpty ? nil : shadowRecorder)
        self.currentConfiguration = configuration
    }

    private var runningSet: PolicyVMSet {
        lock.lock()
        defer { lock.unlock() }
        return current
    }

    /// Runs `call` through the chain, blocking the calling thread until it finished
    /// (never from a VM's queue). Never throws: a failing policy yields
    /// `HookResult.policyFailure` (451 4.3.0) and an error log with file:line.
    public func run(_ call: HookCall) -> HookResult {
        runningSet.run(call)
    }

    /// Starts `call`, for an event loop: on an idle VM in place, where a call still
    /// running after the configured slice (`eventLoopSlice`) suspends itself and goes
    /// on off the loop, or queued for the next free VM. `.pending` delivers the
    /// result later, on another thread; nothing blocks meanwhile.
    public func start(_ call: HookCall) -> HookStart {
        lock.lock()
        let set = current
        let slice = currentConfiguration.eventLoopSlice
        lock.unlock()
        let microseconds = max(Int64((slice.seconds * 1_000_000).rounded()), 1)
        return set.start(call, sliceMicroseconds: microseconds)
    }

    /// VMs of the running set replaced for staying over their memory limit.
    public var replacedVMs: Int { runningSet.replacementCount }

    /// Whether any policy of the running chain defines `hook`. When none does, a call
    /// would return `.next` without touching Lua, so callers can skip the thread hop.
    public func handles(_ hook: Hook) -> Bool { runningSet.handles(hook) }

    /// Compiles `configuration` into a new VM set and swaps it in atomically. On any
    /// error the running set stays, the error is logged and kept in `status`, and thrown.
    public func reload(_ configuration: PolicyConfiguration) throws(PolicyLoadError) {
        reloadLock.lock()
        defer { reloadLock.unlock() }
        lock.lock()
        let nextGeneration = current.generation + 1
        lock.unlock()
        do {
            let set = try PolicyVMSet(configuration: configuration, host: host, generation: nextGeneration,
                                      shadowRecorder: configuration.shadow.isEmpty ? nil : shadowRecorder)
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
        let set = current
        let error = lastReloadError
        lock.unlock()
        let counts = shadowRecorder.counts
        return PolicyStatus(generation: set.generation, loadedAt: set.loadedAt, lastReloadError: error,
                            policies: set.policyNames, shadow: set.shadowNames,
                            shadowDisagreements: counts.disagreements, shadowCalls: counts.compared)
    }

    /// Waits until no shadow call is running (tests).
    public func waitForShadowCalls(timeout: Duration = .seconds(5)) {
        let end = Date().addingTimeInterval(timeout.seconds)
        while shadowRecorder.busy && Date() < end { usleep(1000) }
    }

    /// The configuration of the running set.
    public var configuration: PolicyConfiguration {
        lock.lock()
        defer { lock.unlock() }
        return currentConfiguration
    }
}
