// Running one hook through the chain on one VM: each policy that defines the
// hook, in order, on the state's call thread with a fresh instruction budget and
// deadline; the first final verdict wins. Any failure (Lua error, budget,
// deadline, memory, bad return) ends the chain with `HookResult.policyFailure` and
// an error log "file:line: message", unless the policy's `on_error` is "next" (the
// failure is logged and the chain goes on). A call started with a time slice (on an
// event loop) may suspend itself once the slice is used: `start` then answers
// `.suspended` and `continueCall` runs the rest, on another thread, with the VM still
// reserved for it. A call may also come back `.waiting` for a host operation
// (LuaVM+Waiting.swift). Shadow policies (`[policy] shadow`) sit after the live chain
// in `policies` and run as a call of their own (`start(_:shadow:)`).
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
        /// The call used its slice: continue it with `continueCall` on a thread that may block.
        case suspended
        /// The call waits for a host operation: park it (`park`) and continue it with
        /// `continueParked` once the operation answered.
        case waiting(HostWait)
    }

    /// Starts `call` on the live chain (or, with `shadow`, on the shadow policies);
    /// with a slice, it may come back `.suspended`; any call may come back `.waiting`.
    func start(_ call: HookCall, sliceMicroseconds: Int64, shadow: Bool = false) -> Progress {
        activeHook = call.hook
        activeCall = call
        switch call {
        case .rcpt(_, let recipient), .deliver(_, let recipient, _): callAddress = recipient
        case .mailFrom(_, let sender): callAddress = sender
        default: callAddress = nil
        }
        // A tx table lives in one VM, so serials need only be unique per VM: the
        // counter never goes back, also when a parked call comes back with its own.
        lastSerial &+= 1
        callSerial = lastSerial
        addedHeaders = []
        authResults = []
        newSubject = nil
        chosenFolder = nil
        lastCallFailed = false
        nextPolicy = shadow ? liveCount : 0
        chainEnd = shadow ? policies.count : liveCount
        return proceed(slice: sliceMicroseconds)
    }

    /// Continues a call that came back `.suspended` (or was just attached again).
    func continueCall() -> Progress {
        let policy = policies[nextPolicy]
        let outcome = conclude(mg_call_continue(state, &resultCount), policy: policy)
        if case .suspended = outcome { return suspension() }
        switch settle(outcome, policy: policy) {
        case .finished(let result): return .finished(result)
        default:
            nextPolicy += 1
            return proceed(slice: 0)
        }
    }

    /// Whether the shadow segment has any policy defining `hook`.
    func shadowHandles(_ hook: Hook) -> Bool {
        policies[liveCount...].contains { $0.hooks[hook.ordinal] != nil }
    }

    /// Runs the chain from `nextPolicy` to `chainEnd`.
    private func proceed(slice: Int64) -> Progress {
        let ordinal = activeHook!.ordinal
        let policies = self.policies  // one retain, not an exclusivity check per access
        while nextPolicy < chainEnd {
            let policy = policies[nextPolicy]
            if let function = policy.hooks[ordinal] {
                activePolicy = policy.name
                let outcome = invoke(function, activeCall!, policy: policy, arguments: policy.declaredArguments[ordinal],
                                     slice: slice)
                if case .suspended = outcome { return suspension() }
                if case .finished(let result) = settle(outcome, policy: policy) { return .finished(result) }
            }
            nextPolicy += 1
        }
        var result = HookResult(verdict: .next, addedHeaders: addedHeaders)
        result.authenticationResults = authResults
        result.newSubject = newSubject
        result.folder = chosenFolder
        return .finished(end(result))
    }

    /// A call thread that yielded: at the end of its slice, or to wait for the host.
    private func suspension() -> Progress {
        guard mg_call_waiting(state) != 0, let wait = pendingWait else { return .suspended }
        pendingWait = nil
        return .waiting(wait)
    }

    /// `.finished` when the outcome ends the chain; `.suspended` (meaning: go on with
    /// the next policy) for `.next` and a failure of a policy whose `on_error` is "next".
    private func settle(_ outcome: PolicyOutcome, policy: LoadedPolicy) -> Progress {
        switch outcome {
        case .next, .suspended:
            return .suspended
        case .final(let verdict, let delivery):
            var result = HookResult(verdict: verdict, addedHeaders: addedHeaders, delivery: delivery)
            result.authenticationResults = authResults
            result.newSubject = newSubject
            result.folder = chosenFolder
            result.decidedBy = policy.name
            return .finished(end(result))
        case .failure(let message):
            if nextPolicy >= liveCount {
                host.log(.error, policy: policy.name, "shadow policy failed (changes nothing): \(message)")
                lastCallFailed = true
                return .finished(end(HookResult(verdict: .next)))
            }
            if policy.failureMeansNext {
                host.log(.error, policy: policy.name, "\(message) (on_error = \"next\": carrying on with the chain)")
                return .suspended
            }
            host.log(.error, policy: policy.name, message)
            lastCallFailed = true
            var result = HookResult.policyFailure
            result.decidedBy = policy.name
            return .finished(end(result))
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
        hostWaits = 0
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
