// Running one hook through the chain on one VM: each policy that defines the
// hook, in order, with a fresh instruction budget; the first final verdict wins.
// Any failure (Lua error, budget, memory, bad return) ends the chain with
// `HookResult.policyFailure` and an error log "file:line: message".
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    enum PolicyOutcome {
        case next
        case final(Verdict, DeliveryAction)
        case failure(String)
    }

    func run(_ call: HookCall) -> HookResult {
        let hook = call.hook
        let ordinal = hook.ordinal
        activeHook = hook
        activeCall = call
        switch call {
        case .rcpt(_, let recipient), .deliver(_, let recipient, _): callAddress = recipient
        case .mailFrom(_, let sender): callAddress = sender
        default: callAddress = nil
        }
        callSerial &+= 1
        addedHeaders = []
        defer { activeHook = nil; activeCall = nil; callAddress = nil; activePolicy = "" }
        let policies = self.policies  // one retain, not an exclusivity check per access
        for policy in policies {
            guard let function = policy.hooks[ordinal] else { continue }
            activePolicy = policy.name
            switch invoke(function, call, policy: policy, arguments: policy.declaredArguments[ordinal]) {
            case .next:
                continue
            case .final(let verdict, let delivery):
                return HookResult(verdict: verdict, addedHeaders: addedHeaders, delivery: delivery)
            case .failure(let message):
                host.log(.error, policy: policy.name, message)
                return .policyFailure
            }
        }
        return HookResult(verdict: .next, addedHeaders: addedHeaders)
    }

    private func invoke(_ function: Int32, _ call: HookCall, policy: LoadedPolicy, arguments: Int32?) -> PolicyOutcome {
        let stack = self.stack
        let base = stack.top
        defer { stack.top = base }
        stack.pushRef(function)
        let argumentCount = pushArguments(for: call, upTo: arguments ?? Int32.max)
        mg_budget_arm(state, Int64(configuration.instructionBudget))
        guard mg_pcall(state, argumentCount, 1) == LUA_OK else {
            let message = failureMessage(file: policy.file)
            if mg_memory_limit_hit(state) != 0 { mg_collect_garbage(state) }
            return .failure(message)
        }
        return decodeVerdict(at: stack.absolute(-1), hook: call.hook, file: policy.file)
    }
}
