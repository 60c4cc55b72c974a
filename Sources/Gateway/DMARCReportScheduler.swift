// The server's periodic DMARC aggregate report task: every few seconds (a tenth of
// `[dmarc] interval`, between 1 s and 30 s) it looks for finished periods and runs the
// DMARCReporter on them, off the event loops (a serial queue; one run at a time), then
// purges rows older than `[dmarc] retention` and wakes the queue runner. Reload hands
// the new `[dmarc]` settings to the recorder; a run reads the configuration it starts with.
import Dispatch
import Foundation
import Logging
import MailStore

final class DMARCReportScheduler: @unchecked Sendable {
    // @unchecked: `timer` and `running` are touched only on `queue`.
    let context: ServerContext
    let recorder: StoreDMARCReports
    let queue = DispatchQueue(label: "mailgate.dmarc.reports")
    private var timer: DispatchSourceTimer?
    private var running = false

    init(context: ServerContext, recorder: StoreDMARCReports) {
        self.context = context
        self.recorder = recorder
    }

    func start() {
        let interval = context.configuration.dmarc.interval.components.seconds
        let tick = Double(min(30, max(1, interval / 10)))
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + tick, repeating: tick)
            timer.setEventHandler { [weak self] in self?.tick() }
            timer.resume()
            self.timer = timer
        }
    }

    func reloaded(_ configuration: GatewayConfiguration) {
        recorder.update(configuration.dmarc)
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    private func tick() {
        let configuration = context.configuration
        guard configuration.dmarc.reports, !running else { return }
        running = true
        let context = context
        let reporter = DMARCReporter(store: context.store, dns: context.dns, configuration: configuration,
                                     logger: context.logger)
        Task { [self] in
            let now = Date().timeIntervalSince1970
            let outcomes = await reporter.run(now: now)
            let retention = UInt64(configuration.dmarc.retention.components.seconds)
            let cutoff = UInt64(max(0, now)) > retention ? UInt64(now) - retention : 0
            if let purged = try? context.store.purgeDMARCReports(before: cutoff), purged > 0 {
                context.logger.notice("dmarc report rows past retention removed", metadata: ["domains": "\(purged)"])
            }
            if outcomes.contains(where: Self.queuedRemotely) { context.wakeQueueRunner() }
            queue.async { self.running = false }
        }
    }

    /// True when a report went to the outbound queue (not only to local mailboxes).
    static func queuedRemotely(_ outcome: DMARCReporter.Outcome) -> Bool {
        outcome.destinations.contains { destination in
            guard case .queued(let id?, _) = destination.outcome else { return false }
            return !id.isEmpty
        }
    }
}
