// What `mailgate status` and metrics show about the loaded policy chain.
import Foundation

public struct PolicyStatus: Sendable, Equatable {
    /// 1 for the first load, +1 for every successful reload.
    public var generation: Int
    /// When the running set was loaded.
    public var loadedAt: Date
    /// The last failed reload's error ("file:line: message"), nil once a reload succeeds.
    public var lastReloadError: String?
    /// The running chain, in order.
    public var policies: [String]
    /// The running shadow policies (`[policy] shadow`).
    public var shadow: [String]
    /// Shadow calls whose answer differed from the live chain's, by shadow policy
    /// (since the server started; reloads keep counting).
    public var shadowDisagreements: [String: Int]
    /// Shadow calls run and compared so far.
    public var shadowCalls: Int

    public init(generation: Int, loadedAt: Date, lastReloadError: String?, policies: [String],
                shadow: [String] = [], shadowDisagreements: [String: Int] = [:], shadowCalls: Int = 0) {
        self.generation = generation; self.loadedAt = loadedAt
        self.lastReloadError = lastReloadError; self.policies = policies
        self.shadow = shadow; self.shadowDisagreements = shadowDisagreements; self.shadowCalls = shadowCalls
    }
}
