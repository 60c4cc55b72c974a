// Everything the engine needs to build a VM set: where the scripts are, the chain
// order, per-policy settings, the globals exposed as `mailgate.config`, and limits.
import MailCore

public struct PolicyConfiguration: Sendable, Equatable {
    /// The chain shipped by default (DESIGN.md, "Names the acceptance checks rely on").
    public static let defaultChain = ["ratelimit", "badmailfrom", "relay", "open_smtp", "limits"]

    /// Where `name` is looked up first, as `directory/name.lua`. Also the base of
    /// relative paths given to `mailgate.list`.
    public var directory: String
    /// The fallback for names not found in `directory`: `pluginDirectory/name.lua`.
    public var pluginDirectory: String
    /// Policy names in the order their hooks run.
    public var chain: [String]
    /// Policies run after the live chain on the same hook calls, whose verdicts are
    /// only compared with the live answer and logged (`[policy] shadow`).
    public var shadow: [String] = []
    /// Per-policy settings keyed by policy name; each becomes that policy's `config`
    /// global and the argument of its `init(config)`. A non-table value is ignored.
    public var settings: [String: PolicyValue]
    /// Read-only `mailgate.config` for every policy (hostname, max_message_size, ...).
    public var globals: [String: PolicyValue]
    /// Lua instructions one hook function may run per call (load and `init` get 100 times this).
    public var instructionBudget: Int
    /// Bytes one Lua VM may hold.
    public var memoryLimit: Int
    /// VMs in the pool: how many hook calls can run at the same time.
    public var vmCount: Int
    /// Wall time one policy's hook call may take (`[limits] policy_deadline`); a
    /// policy's `deadline` setting (`[policy.NAME] deadline`) overrides it.
    public var deadline: Duration
    /// Store writes (counters.incr, whitelist.add/remove) one policy's hook call may make.
    public var maxStoreWrites: Int
    /// How long a hook call started on an event loop runs there before it suspends
    /// itself and is continued on the thread pool (`PolicyEngine.start`).
    public var eventLoopSlice: Duration
    /// Waiting host calls (DNS lookups and HTTP requests together) one policy's hook
    /// call may make (`[limits] policy_dns_lookups`).
    public var maxHostWaits: Int = 20
    /// The longest a DNS lookup may take (`[limits] policy_dns_timeout`); never more
    /// than the time the call has left before its deadline.
    public var dnsTimeout: Duration = .seconds(3)
    /// The longest one `mailgate.http.request` may take (`[limits] policy_http_timeout`),
    /// and the default of its `timeout`; never more than the time the call has left.
    public var httpTimeout: Duration = .seconds(10)
    /// `[limits] policy_body_size`: the most tx:body(), tx:message() and tx:part_text()
    /// hand to Lua in one string.
    public var bodySizeLimit: Int = Limits().policyBodySize

    public init(directory: String = "policies", pluginDirectory: String = "plugins",
                chain: [String] = PolicyConfiguration.defaultChain,
                settings: [String: PolicyValue] = [:], globals: [String: PolicyValue] = [:],
                instructionBudget: Int = Limits().policyInstructionBudget,
                memoryLimit: Int = Limits().policyMemoryLimit,
                vmCount: Int = Limits().policyVMs, deadline: Duration = .seconds(5),
                maxStoreWrites: Int = 100, eventLoopSlice: Duration = .milliseconds(2)) {
        self.directory = directory
        self.pluginDirectory = pluginDirectory
        self.chain = chain
        self.settings = settings
        self.globals = globals
        self.instructionBudget = instructionBudget
        self.memoryLimit = memoryLimit
        self.vmCount = vmCount
        self.deadline = deadline
        self.maxStoreWrites = maxStoreWrites
        self.eventLoopSlice = eventLoopSlice
    }

    /// The deadline of `policy` in milliseconds: its `deadline` setting ("2s", "500ms"
    /// or a number of seconds) or the common one. Nil when the setting is invalid.
    func deadlineMilliseconds(for policy: String) -> Int64? {
        var duration = deadline
        if case .table(let table)? = settings[policy], let value = table["deadline"] {
            switch value {
            case .string(let text):
                guard let parsed = ConfigValues.duration(text) else { return nil }
                duration = parsed
            case .integer(let seconds): duration = .seconds(seconds)
            case .double(let seconds) where seconds.isFinite: duration = .milliseconds(Int64((seconds * 1000).rounded()))
            default: return nil
            }
        }
        let milliseconds = Int64((duration.seconds * 1000).rounded(.up))
        return milliseconds > 0 ? milliseconds : nil
    }

    /// Whether a failure of `policy` carries on as `mailgate.next` (its `on_error`
    /// setting: "defer", the default, or "next"). Nil when the setting is invalid.
    func failureMeansNext(for policy: String) -> Bool? {
        guard case .table(let table)? = settings[policy], let value = table["on_error"] else { return false }
        switch value {
        case .string("defer"): return false
        case .string("next"): return true
        default: return nil
        }
    }

    /// Load and `init` run longer than a hook call (a large list file, set-up loops).
    var loadInstructionBudget: Int {
        let (product, overflow) = instructionBudget.multipliedReportingOverflow(by: 100)
        return overflow ? Int.max : product
    }
}
