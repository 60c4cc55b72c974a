// Running one hook through the chain on one VM: each policy that defines the
// hook, in order, on the state's call thread with a fresh instruction budget and
// deadline; the first final verdict wins. Any failure (Lua error, budget,
// deadline, memory, bad return) ends the chain with `HookResult.policyFailure` and
// an error log "file:line: message". A call started with a time slice (on an event
// loop) may suspend itself once the slice is used: `start` then answers
// `.suspended` and `finish` runs the rest, on another thread, with the VM still
// reserved for it.
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    enum PolicyOutcome {
        case next
        case final(Verdict, DeliveryAction)
        case failure(String)
        case suspended
    }

    enum Progress {
        case finished(HookResult)
        case suspended
    }

    /// Runs `call` to its end (on a thread that may block).
    func run(_ call: HookCall) -> HookResult {
        switch start(call, sliceMicroseconds: 0) {
        case .finished(let result): return result
        case .suspended: return finish()  // not reached without a slice
        }
    }

    /// Starts `call`; with a slice, it may come back `.suspended` (call `finish`).
    func start(_ call: HookCall, sliceMicroseconds: Int64) -> Progress {
        activeHook = call.hook
        activeCall = call
        switch call {
        case .rcpt(_, let recipient), .deliver(_, let recipient, _): callAddress = recipient
        case .mailFrom(_, let sender): callAddress = sender
        default: callAddress = nil
        }
        callSerial &+= 1
        addedHeaders = []
        nextPolicy = 0
        return proceed(slice: sliceMicroseconds)
    }

    /// Continues a suspended call to its end.
    func finish() -> HookResult {
        let outcome = conclude(mg_call_continue(state, &resultCount), policy: policies[nextPolicy])
        switch settle(outcome, policy: policies[nextPolicy]) {
        case .finished(let result): return result
        case .suspended:
            nextPolicy += 1
            switch proceed(slice: 0) {
            case .finished(let result): return result
            case .suspended: preconditionFailure("a call without a slice never suspends")
            }
        }
    }

    /// Runs the chain from `nextPolicy` on.
    private func proceed(slice: Int64) -> Progress {
        let ordinal = activeHook!.ordinal
        let policies = self.policies  // one retain, not an exclusivity check per access
        while nextPolicy < policies.count {
            let policy = policies[nextPolicy]
            if let function = policy.hooks[ordinal] {
                activePolicy = policy.name
                let outcome = invoke(function, activeCall!, policy: policy, arguments: policy.declaredArguments[ordinal],
                                     slice: slice)
                if case .suspended = outcome { return .suspended }
                if case .finished(let result) = settle(outcome, policy: policy) { return .finished(result) }
            }
            nextPolicy += 1
        }
        return .finished(end(HookResult(verdict: .next, addedHeaders: addedHeaders)))
    }

    /// `.finished` when the outcome ends the chain; `.suspended` (meaning: go on with
    /// the next policy) for `.next`.
    private func settle(_ outcome: PolicyOutcome, policy: LoadedPolicy) -> Progress {
        switch outcome {
        case .next, .suspended:
            return .suspended
        case .final(let verdict, let delivery):
            return .finished(end(HookResult(verdict: verdict, addedHeaders: addedHeaders, delivery: delivery)))
        case .failure(let message):
            host.log(.error, policy: policy.name, message)
            return .finished(end(.policyFailure))
        }
    }

    private func end(_ result: HookResult) -> HookResult {
        activeHook = nil; activeCall = nil; callAddress = nil; activePolicy = ""
        // A VM still over its cap after a collection would fail every later call.
        if mg_memory_used(state) > mg_memory_limit(state) {
            mg_collect_garbage(state)
            if mg_memory_used(state) > mg_memory_limit(state) { needsReplacement = true }
        }
        return result
    }

    private func invoke(_ function: Int32, _ call: HookCall, policy: LoadedPolicy, arguments: Int32?,
                        slice: Int64) -> PolicyOutcome {
        let stack = self.stack
        stack.pushRef(function)
        let argumentCount = pushArguments(for: call, upTo: arguments ?? Int32.max)
        storeWrites = 0
        hostBuiltBytes = 0
        let status = mg_call_begin(state, argumentCount, Int64(configuration.instructionBudget),
                                   policy.deadlineMilliseconds, slice, &resultCount)
        return conclude(status, policy: policy)
    }

    /// The outcome of a call thread run that ended with `status` (results or the
    /// message on top of the main stack).
    private func conclude(_ status: Int32, policy: LoadedPolicy) -> PolicyOutcome {
        if status == LUA_YIELD { return .suspended }
        let stack = self.stack
        let base = stack.top - (status == LUA_OK ? resultCount : 1)
        defer { stack.top = base }
        if mg_stop_reason(state) != 0 {
            // Spent: failed whatever the script did afterwards (caught the error,
            // returned a verdict); its results are ignored.
            mg_push_stop_message(state)
            let message = LuaMessage.locate(stack.string(at: -1) ?? "stopped", file: policy.file)
            if mg_memory_limit_hit(state) != 0 { mg_collect_garbage(state) }
            return .failure(message)
        }
        guard status == LUA_OK else {
            let message = failureMessage(file: policy.file)
            if mg_memory_limit_hit(state) != 0 { mg_collect_garbage(state) }
            return .failure(message)
        }
        if resultCount == 0 { stack.pushNil() }
        return decodeVerdict(at: base + 1, hook: activeHook!, file: policy.file)
    }
}
