// `mailgate dmarc report [--send]`: the DMARC aggregate reports waiting in the store
// (period, policy domain, rows, messages), and with --send, queue them now — every
// period up to now, the current one included — instead of waiting for the server's
// periodic task. Safe while the server runs (the queue runner sends them at its scan).
import ArgumentParser
import Foundation
import Gateway
import Logging
import MailCore
import MailStore

struct DMARCReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show pending DMARC aggregate reports; --send queues them now.")
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Queue the reports of every period up to now (the current one included).") var send = false

    func run() throws {
        try guarded {
            let configuration = try global.load()
            let store = try global.openStore()
            defer { store.close() }
            let now = Date().timeIntervalSince1970
            if !send {
                let logger = Logger(label: "mailgate")
                let reporter = DMARCReporter(store: store, dns: NoLookups(), configuration: configuration, logger: logger)
                let pending = try reporter.pending(now: now, includeCurrent: true)
                if pending.isEmpty { print("no pending DMARC reports") }
                for summary in pending {
                    let end = min(Double(summary.period) + configuration.dmarc.interval.seconds, now)
                    print("\(MessageDate.short(Double(summary.period))) – \(MessageDate.short(end)) UTC\t\(summary.domain)\t"
                          + "\(summary.groups) rows\t\(summary.messages) messages"
                          + (summary.dropped > 0 ? "\t\(summary.dropped) dropped (row cap)" : ""))
                }
                return
            }
            var logger = Logger(label: "mailgate")
            logger.logLevel = .warning
            let outcomes = DMARCReporter.runOnce(store: store, configuration: configuration, logger: logger, now: now)
            if outcomes.isEmpty { print("no pending DMARC reports") }
            for outcome in outcomes {
                print("\(outcome.summary.domain)\t\(outcome.summary.messages) messages\t\(outcome.records) records\treport \(outcome.reportID)")
                if outcome.destinations.isEmpty { print("  no usable rua destination") }
                for destination in outcome.destinations {
                    print("  \(destination.address): \(destination.outcome)")
                }
            }
        }
    }
}

/// The listing needs no DNS.
private struct NoLookups: DNSLookupService {
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        completion(.failure(.timeout))
    }
}
