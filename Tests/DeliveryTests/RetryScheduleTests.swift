import Testing
@testable import Delivery

@Suite struct RetryScheduleTests {
    let queued = 1_800_000_000.0

    @Test func defaultGrowsLikeQmail() {
        let schedule = RetrySchedule()
        // Attempt n+1 at queued + (20·n)² seconds.
        let times = (1...5).map { schedule.nextAttempt(created: queued, attempts: $0, now: queued) - queued }
        #expect(times == [400, 1600, 3600, 6400, 10000])
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps == gaps.sorted() && gaps.first! > 400)
        // About 14 tries fit in the default 24 h lifetime.
        let tries = (1...100).filter { schedule.nextAttempt(created: queued, attempts: $0, now: queued) - queued < 86400 }
        #expect(tries.count == 14)
    }

    @Test func aLateRunnerRetriesAtOnceNotInThePast() {
        let schedule = RetrySchedule()
        let now = queued + 5000
        #expect(schedule.nextAttempt(created: queued, attempts: 1, now: now) == now)
    }

    @Test func configuredIntervalsThenTheLastRepeats() throws {
        let schedule = try #require(RetrySchedule(intervals: ["1m", "5m", "15m", "30m", "1h"]))
        let gaps = (1...7).map { schedule.nextAttempt(created: queued, attempts: $0, now: queued) - queued }
        #expect(gaps == [60, 300, 900, 1800, 3600, 3600, 3600])
        #expect(RetrySchedule(intervals: ["1m", "soon"]) == nil)
        #expect(RetrySchedule(intervals: ["0s"]) == nil)
    }

    @Test func retriesAreClampedToTheLifetimeThenBounce() {
        let schedule = RetrySchedule(intervals: [.seconds(3600)], lifetime: .seconds(5400))
        #expect(schedule.afterTemporaryFailure(created: queued, attempts: 1, now: queued) == .retry(at: queued + 3600))
        // The next gap would pass the lifetime: the last try happens exactly at expiry…
        #expect(schedule.afterTemporaryFailure(created: queued, attempts: 2, now: queued + 3600) == .retry(at: queued + 5400))
        // …and failing then gives up.
        #expect(schedule.afterTemporaryFailure(created: queued, attempts: 3, now: queued + 5400) == .bounce)
        #expect(schedule.isExpired(created: queued, now: queued + 5400) && !schedule.isExpired(created: queued, now: queued + 5399))
    }

    @Test func delayNoticesOnlyWhenAskedAndOnce() {
        let schedule = RetrySchedule()
        let later = queued + 5 * 3600
        #expect(schedule.delayNoticeDue(created: queued, now: later, notify: "DELAY,FAILURE", alreadySent: false))
        #expect(!schedule.delayNoticeDue(created: queued, now: later, notify: "DELAY", alreadySent: true))
        #expect(!schedule.delayNoticeDue(created: queued, now: later, notify: nil, alreadySent: false))
        #expect(!schedule.delayNoticeDue(created: queued, now: later, notify: "FAILURE", alreadySent: false))
        #expect(!schedule.delayNoticeDue(created: queued, now: queued + 3600, notify: "delay", alreadySent: false))
    }

    @Test func notifyParsing() {
        #expect(Notify(nil) == Notify(nil) && Notify(nil).failure && !Notify(nil).success && !Notify(nil).delay)
        let never = Notify("NEVER")
        #expect(!never.failure && !never.success && !never.delay)
        let all = Notify("success, failure,DELAY")
        #expect(all.success && all.failure && all.delay)
    }
}
