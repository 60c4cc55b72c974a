// Hook calls that wait for the host. A host function that starts an operation (a
// DNS lookup) hands the VM a `HostWait` and returns MG_HOST_WAIT; the call then
// suspends itself and comes back `.waiting`. The VM set parks it: its Lua thread,
// budget, deadline and per-call fields are detached into a `ParkedCall`, so the VM
// serves other calls meanwhile. When the operation answers (or the call's deadline
// passes) the set attaches the call to the same VM again and continues it; the host
// function then pushes the answer (`HostWait.answer`) as its results.
import CLua
import CLuaShim
import Foundation
import MailCore

/// One operation a hook call waits for. Completed exactly once, by the operation or
/// by the call's deadline, whichever comes first; the set learns of it through
/// `whenAnswered`, which may be registered before or after the answer arrives.
final class HostWait: @unchecked Sendable {
    /// Pushes the operation's results onto the call's stack when it goes on; returns
    /// their count (or -1 after pushing an error message, as host functions do).
    typealias Answer = @Sendable (LuaVM, LuaStack) -> Int32

    private let lock = NSLock()
    private var answer: Answer?
    private var onAnswer: (@Sendable () -> Void)?

    /// Completes the wait; later completions are ignored. Returns whether this one counted.
    @discardableResult
    func complete(_ answer: @escaping Answer) -> Bool {
        lock.lock()
        guard self.answer == nil else {
            lock.unlock()
            return false
        }
        self.answer = answer
        let waiter = onAnswer
        onAnswer = nil
        lock.unlock()
        waiter?()
        return true
    }

    /// The answer, once there is one.
    var completedAnswer: Answer? {
        lock.lock()
        defer { lock.unlock() }
        return answer
    }

    /// Runs `body` once the wait is complete (at once when it already is).
    func whenAnswered(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        if answer != nil {
            lock.unlock()
            body()
            return
        }
        onAnswer = body
        lock.unlock()
    }
}

/// A hook call detached from its VM while it waits.
final class ParkedCall: @unchecked Sendable {
    let vm: LuaVM
    let wait: HostWait
    let pending: PendingHookCall
    fileprivate(set) var snapshot = mg_call_snapshot()
    fileprivate(set) var state: LuaVM.CallState

    fileprivate init(vm: LuaVM, wait: HostWait, pending: PendingHookCall, state: LuaVM.CallState) {
        self.vm = vm
        self.wait = wait
        self.pending = pending
        self.state = state
    }

    /// Milliseconds left until the call's deadline (0 when it has passed; nil: none).
    var millisecondsToDeadline: Int64? {
        guard snapshot.deadline_ns != 0 else { return nil }
        let now = LuaVM.monotonicNanoseconds()
        return snapshot.deadline_ns > now ? Int64((snapshot.deadline_ns - now) / 1_000_000) : 0
    }
}

extension LuaVM {
    /// The fields of `LuaVM` that belong to the call in progress.
    struct CallState {
        var activePolicy: String
        var activeHook: Hook?
        var activeCall: HookCall?
        var callAddress: MailAddress?
        var callSerial: Int
        var nextPolicy: Int
        var chainEnd: Int
        var addedHeaders: [HeaderField]
        var authResults: [String]
        var newSubject: String?
        var chosenFolder: String?
        var storeWrites: Int
        var hostBuiltBytes: Int
        var hostWaits: Int
    }

    /// Detaches the call that just came back `.waiting` so the VM can serve others.
    func park(_ wait: HostWait, pending: PendingHookCall) -> ParkedCall {
        let parked = ParkedCall(vm: self, wait: wait, pending: pending, state: CallState(
            activePolicy: activePolicy, activeHook: activeHook, activeCall: activeCall, callAddress: callAddress,
            callSerial: callSerial, nextPolicy: nextPolicy, chainEnd: chainEnd, addedHeaders: addedHeaders,
            authResults: authResults, newSubject: newSubject, chosenFolder: chosenFolder, storeWrites: storeWrites, hostBuiltBytes: hostBuiltBytes, hostWaits: hostWaits))
        mg_call_detach(state, &parked.snapshot)
        activeHook = nil; activeCall = nil; callAddress = nil; activePolicy = ""
        addedHeaders = []
        authResults = []
        newSubject = nil
        chosenFolder = nil
        parkedCalls += 1
        return parked
    }

    /// Attaches `parked` again and continues it with its answer.
    func continueParked(_ parked: ParkedCall) -> Progress {
        let saved = parked.state
        activePolicy = saved.activePolicy; activeHook = saved.activeHook; activeCall = saved.activeCall
        callAddress = saved.callAddress; callSerial = saved.callSerial; nextPolicy = saved.nextPolicy
        chainEnd = saved.chainEnd; addedHeaders = saved.addedHeaders; authResults = saved.authResults
        newSubject = saved.newSubject; chosenFolder = saved.chosenFolder
        storeWrites = saved.storeWrites
        hostBuiltBytes = saved.hostBuiltBytes; hostWaits = saved.hostWaits
        mg_call_attach(state, &parked.snapshot)
        parkedCalls -= 1
        resumeAnswer = parked.wait.completedAnswer
        return continueCall()
    }

    /// The host function's results after a wait (dispatch id MG_HOST_RESUME).
    func pushResumeAnswer(_ stack: LuaStack) -> Int32 {
        guard let answer = resumeAnswer else {
            stack.push("the host operation could not be waited for here")
            return -1
        }
        resumeAnswer = nil
        return answer(self, stack)
    }

    /// Asks the call in progress to wait for `wait` (a host function returns the
    /// result as its own). When `wait` is already complete (a cached answer) nothing
    /// waits: the answer is pushed at once.
    func waitFor(_ wait: HostWait, _ stack: LuaStack) -> Int32 {
        if let answer = wait.completedAnswer { return answer(self, stack) }
        pendingWait = wait
        return MG_HOST_WAIT
    }

    /// Whether the host function running now may make the call wait.
    var canWait: Bool { mg_can_wait(current) != 0 }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
