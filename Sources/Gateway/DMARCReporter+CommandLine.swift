// `mailgate dmarc report --send` runs the reporter once, outside the server: with its
// own resolver on one event loop (the same nameserver settings as the server), blocking
// the command until every report is queued. The running server's queue runner sends
// them at its next scan.
import Foundation
import Logging
import MailStore
import NIOPosix

extension DMARCReporter {
    /// Queues the reports of every period up to `now` (the current one included, ending
    /// now) and returns what happened per domain and destination.
    public static func runOnce(store: LMDBStore, configuration: GatewayConfiguration, logger: Logger,
                               now: Double = Date().timeIntervalSince1970) -> [Outcome] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let dns = DNSResolver(configuration: DNSResolver.configuration(nameserver: configuration.nameserver.map {
            .init(host: $0.host, port: $0.port)
        }), eventLoop: group.next())
        let reporter = DMARCReporter(store: store, dns: dns, configuration: configuration, logger: logger)
        let box = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await reporter.run(now: now, includeCurrent: true)
            done.signal()
        }
        done.wait()
        return box.value
    }
}

/// Hands the outcomes from the task to the waiting command (written before the signal).
private final class OutcomeBox: @unchecked Sendable {
    var value: [DMARCReporter.Outcome] = []
}
