// When a deferred recipient is tried again, and when it has been queued too long.
// Pure functions of (queued at, failed attempts, now). The default grows like qmail's
// (attempt n at queued + (20·n)² s: 6m40s, 26m40s, 1h, 1h47m, …); configured
// `retry_intervals` are used in turn, then the last one repeats. The next attempt is
// never later than the expiry, so the final try happens when the lifetime ends and a
// failure then bounces (with "…in the queue too long").
import MailCore

public struct RetrySchedule: Sendable, Equatable {
    /// Gaps between attempts; empty means qmail's quadratic schedule.
    public var intervals: [Duration]
    /// `queue_lifetime`: after this a temporary failure becomes a bounce.
    public var lifetime: Duration
    /// A NOTIFY=DELAY sender is warned once when a message is still queued after this.
    public var delayWarning: Duration

    public init(intervals: [Duration] = [], lifetime: Duration = .seconds(24 * 3600),
                delayWarning: Duration = .seconds(4 * 3600)) {
        self.intervals = intervals.filter { $0 > .zero }
        self.lifetime = lifetime
        self.delayWarning = delayWarning
    }

    /// From config strings ("1m", "1h"…); nil when one does not parse.
    public init?(intervals texts: [String], lifetime: Duration = .seconds(24 * 3600)) {
        var parsed: [Duration] = []
        for text in texts {
            guard let value = ConfigValues.duration(text), value > .zero else { return nil }
            parsed.append(value)
        }
        self.init(intervals: parsed, lifetime: lifetime)
    }

    public enum Decision: Sendable, Equatable {
        case retry(at: Double)
        /// Give up: the lifetime is over.
        case bounce
    }

    public func expiry(created: Double) -> Double { created + lifetime.seconds }

    public func isExpired(created: Double, now: Double) -> Bool { now >= expiry(created: created) }

    /// After a temporary failure; `attempts` counts every attempt so far, this one included.
    public func afterTemporaryFailure(created: Double, attempts: Int, now: Double) -> Decision {
        if isExpired(created: created, now: now) { return .bounce }
        return .retry(at: min(nextAttempt(created: created, attempts: attempts, now: now), expiry(created: created)))
    }

    /// Unclamped time of the next attempt after `attempts` attempts (≥ now).
    public func nextAttempt(created: Double, attempts: Int, now: Double) -> Double {
        let count = max(1, attempts)
        if intervals.isEmpty {
            let step = 20.0 * Double(min(count, 10_000))
            return max(now, created + step * step)
        }
        return now + intervals[min(count, intervals.count) - 1].seconds
    }

    /// True when a delay notice is due for a recipient that asked for one (NOTIFY=DELAY)
    /// and has not had it yet.
    public func delayNoticeDue(created: Double, now: Double, notify: String?, alreadySent: Bool) -> Bool {
        guard !alreadySent, let notify, Notify(notify).delay else { return false }
        return now - created >= delayWarning.seconds && !isExpired(created: created, now: now)
    }
}

/// RFC 3461 NOTIFY as stored ("SUCCESS,FAILURE", "NEVER", nil = not given).
public struct Notify: Sendable, Equatable {
    public var success = false
    public var failure = true
    public var delay = false

    public init(_ text: String?) {
        guard let text else { return }
        let items = Set(text.uppercased().split(separator: ",").map { String($0).trimmingCharacters(in: " ") })
        success = items.contains("SUCCESS")
        failure = items.contains("FAILURE")
        delay = items.contains("DELAY")
    }
}
