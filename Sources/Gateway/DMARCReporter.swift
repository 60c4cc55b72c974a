// Sends DMARC aggregate reports (RFC 7489 §7.2) from the rows StoreDMARCReports kept:
// for each finished period and policy domain, one report (DMARCReportAggregator →
// XML → gzip → DMARCReportMessage) to each `rua` mailto destination of the newest row,
// through the normal outbound queue (or a local mailbox when the destination is ours).
// Before a destination gets it: the §7.1 external-destination check (over the server's
// resolver) and its `!size` limit (over: not sent, logged). The period's rows are taken
// from the store first (read and removed at once: two reporters never send the same
// report) and put back only when every destination failed its check temporarily, so
// the next run retries (the retention purge still bounds that). Used by the server's periodic task
// (GatewayServer.scheduleDMARCReports) and by `mailgate dmarc report --send`.
import Foundation
import Logging
import MailAuth
import MailCore
import MailStore
import Policy

public struct DMARCReporter: Sendable {
    public enum DestinationOutcome: Sendable, Equatable, CustomStringConvertible {
        case queued(queueID: String?, bytes: Int)
        case notAuthorized
        case temporaryFailure
        case tooLarge(bytes: Int, limit: UInt64)
        case failed(String)

        public var description: String {
            switch self {
            case .queued(let id, let bytes): "queued \(id ?? "locally") (\(bytes) bytes)"
            case .notAuthorized: "not sent: no RFC 7489 §7.1 authorization record"
            case .temporaryFailure: "not sent: the §7.1 authorization lookup failed (retried later)"
            case .tooLarge(let bytes, let limit): "not sent: \(bytes) bytes over the destination's limit of \(limit)"
            case .failed(let why): "not sent: \(why)"
            }
        }
    }

    public struct Outcome: Sendable {
        public var summary: DMARCReportDomainSummary
        public var reportID: String
        public var records: Int
        public var destinations: [(address: String, outcome: DestinationOutcome)]
    }

    let store: LMDBStore
    let dns: any DNSLookupService
    let logger: Logger
    let hostname: String
    let settings: DMARCReportSettings
    let organizationalDomain: @Sendable (String) -> String

    public init(store: LMDBStore, dns: any DNSLookupService, configuration: GatewayConfiguration, logger: Logger,
                organizationalDomain: @escaping @Sendable (String) -> String = DMARCReporter.defaultOrganizationalDomain) {
        self.store = store
        self.dns = dns
        self.logger = logger
        self.hostname = configuration.hostname
        self.settings = configuration.dmarc
        self.organizationalDomain = organizationalDomain
    }

    /// The RFC 7489 §3.2 organizational domain for the §7.1 check: from the public
    /// suffix list DMARC evaluation uses (Policy.PublicSuffixes: read at start and on
    /// reload; without the file, the last two labels).
    public static let defaultOrganizationalDomain: @Sendable (String) -> String = {
        PublicSuffixes.current.organizationalDomain($0)
    }

    var intervalSeconds: UInt64 { max(1, UInt64(settings.interval.components.seconds)) }

    /// The (period, domain) pairs with rows whose period ended by `now` (or, with
    /// `includeCurrent`, began before it).
    public func pending(now: Double, includeCurrent: Bool = false) throws(StoreError) -> [DMARCReportDomainSummary] {
        let current = StoreDMARCReports.period(containing: now, interval: settings.interval)
        return try store.dmarcReportDomains(before: includeCurrent ? current + 1 : current)
    }

    /// Builds and queues the reports of `pending(now:includeCurrent:)`.
    public func run(now: Double, includeCurrent: Bool = false) async -> [Outcome] {
        let summaries: [DMARCReportDomainSummary]
        do { summaries = try pending(now: now, includeCurrent: includeCurrent) } catch {
            logger.error("cannot read dmarc report rows", metadata: ["error": "\(error)"])
            return []
        }
        var outcomes: [Outcome] = []
        for summary in summaries {
            if let outcome = await report(summary, now: now) { outcomes.append(outcome) }
        }
        return outcomes
    }

    func report(_ summary: DMARCReportDomainSummary, now: Double) async -> Outcome? {
        let groups: [DMARCReportGroup]
        // Taken (read and removed at once): a concurrent `dmarc report --send` or server
        // task finds nothing left to send twice. Put back below when nothing went out.
        do { groups = try store.takeDMARCReports(period: summary.period, domain: summary.domain) } catch {
            logger.error("cannot read dmarc report rows", metadata: ["domain": "\(summary.domain)", "error": "\(error)"])
            return nil
        }
        let decoder = JSONDecoder()
        let rows: [(row: DMARCReportRow, count: Int)] = groups.compactMap { group in
            guard let row = try? decoder.decode(DMARCReportRow.self, from: Data(group.row)) else { return nil }
            return (row, Int(clamping: group.count))
        }
        let end = max(summary.period + 1, min(summary.period + intervalSeconds, UInt64(max(0, now)))) - 1
        let unique = Self.uniqueID()
        let reportID = "\(summary.period).\(unique)@\(hostname)"
        let metadata = DMARCAggregateReport.Metadata(
            orgName: settings.organization(hostname: hostname), email: settings.sender(hostname: hostname),
            extraContactInfo: settings.contact, reportID: reportID,
            begin: Int64(summary.period), end: Int64(end))
        guard let report = DMARCReportAggregator.report(rows: rows, metadata: metadata),
              let newest = rows.max(by: { $0.row.time < $1.row.time })?.row else { return nil }
        let gzipped: [UInt8]
        do { gzipped = try Gzip.compress(Array(DMARCReportXML.document(report).utf8)) } catch {
            logger.error("cannot gzip dmarc report", metadata: ["domain": "\(summary.domain)"])
            restore(summary, groups)
            return nil
        }
        let authorization = DMARCReportAuthorization(dns: dns, organizationalDomain: organizationalDomain)
        var destinations: [(address: String, outcome: DestinationOutcome)] = []
        for uri in DMARCReportURI.parseList(newest.ruaURIs.joined(separator: ",")) {
            let outcome = await send(report, gzipped: gzipped, to: uri, unique: unique, authorization: authorization,
                                     now: now)
            destinations.append((uri.address, outcome))
            let metadata: Logger.Metadata = ["domain": "\(summary.domain)", "rua": "\(uri.address)",
                                             "report_id": "\(reportID)", "records": "\(report.records.count)",
                                             "messages": "\(report.messageCount)", "outcome": "\(outcome)"]
            if case .queued = outcome { logger.info("dmarc report queued", metadata: metadata) }
            else { logger.notice("dmarc report not sent", metadata: metadata) }
        }
        if !destinations.isEmpty && destinations.allSatisfy({ $0.outcome == .temporaryFailure }) {
            restore(summary, groups)
        }
        return Outcome(summary: summary, reportID: reportID, records: report.records.count, destinations: destinations)
    }

    /// Rows back into the store for the next run (the retention purge still bounds them).
    func restore(_ summary: DMARCReportDomainSummary, _ groups: [DMARCReportGroup]) {
        do { try store.restoreDMARCReports(period: summary.period, domain: summary.domain, groups: groups) } catch {
            logger.error("cannot keep dmarc report rows for a retry", metadata: ["domain": "\(summary.domain)", "error": "\(error)"])
        }
    }

    func send(_ report: DMARCAggregateReport, gzipped: [UInt8], to uri: DMARCReportURI, unique: String,
              authorization: DMARCReportAuthorization, now: Double) async -> DestinationOutcome {
        switch await authorization.check(policyDomain: report.policy.domain, destination: uri) {
        case .notAuthorized: return .notAuthorized
        case .temporaryFailure: return .temporaryFailure
        case .sameOrganization, .authorized: break
        }
        let sender = settings.sender(hostname: hostname)
        let message = DMARCReportMessage.build(report: report, gzippedXML: gzipped, from: sender, to: uri.address,
                                               submitter: hostname, uniqueID: unique,
                                               messageID: "dmarc.\(unique).\(report.metadata.begin)@\(hostname)", now: now)
        if let limit = uri.maxBytes, UInt64(message.bytes.count) > limit {
            return .tooLarge(bytes: message.bytes.count, limit: limit)
        }
        return await queue(message.bytes, sender: sender, recipient: uri.address, now: now)
    }

    /// Into the store like any accepted message: local mailboxes (aliases followed) or the queue.
    func queue(_ content: [UInt8], sender: String, recipient: String, now: Double) async -> DestinationOutcome {
        guard let address = try? MailAddress.parse(recipient) else { return .failed("\(recipient) is not an address") }
        var plan = MessageDelivery.Plan()
        MessageDelivery.route(address, folder: "INBOX", parameters: [:], depth: 0, plan: &plan, store: store)
        guard !plan.local.isEmpty || !plan.remote.isEmpty else { return .failed("no mailbox or route for \(recipient)") }
        var bytes = Array(HeaderText.returnPath(sender).utf8)
        bytes.append(contentsOf: content)
        let remote = plan.remote.isEmpty ? nil : QueueEntry(id: LMDBStore.makeQueueID(), sender: sender,
                                                           recipients: plan.remote, created: now)
        do {
            let result = try await store.deliver(DeliveryRequest(message: bytes, local: plan.local, remote: remote,
                                                                 internalDate: now))
            return .queued(queueID: result.queueID, bytes: content.count)
        } catch {
            return .failed("cannot store the report: \(error)")
        }
    }

    /// Letters and digits (the filename's unique-id).
    static func uniqueID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36) + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    }
}
