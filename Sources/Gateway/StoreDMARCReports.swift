// The DMARC report recorder behind `PolicyHost.dmarcReports`: each row evaluated by
// `mailgate.dmarc.check` goes to the store's `dmarc_reports` table under its period
// (the UTC day by default) and policy domain, written behind through the group-
// committing writer (a hook may run on an event loop: it never waits for the fsync).
// Rows without a usable source IP or rua are not kept (they could not be reported);
// the store's caps bound what a flood of distinct rows can cost.
import Foundation
import Logging
import MailAuth
import MailCore
import MailStore
import NIOConcurrencyHelpers

final class StoreDMARCReports: DMARCReportRecorder, Sendable {
    let store: LMDBStore
    let logger: Logger
    /// `[dmarc]`, swapped on reload.
    let settings: NIOLockedValueBox<DMARCReportSettings>

    init(store: LMDBStore, logger: Logger, settings: DMARCReportSettings) {
        self.store = store
        self.logger = logger
        self.settings = NIOLockedValueBox(settings)
    }

    func update(_ settings: DMARCReportSettings) {
        self.settings.withLockedValue { $0 = settings }
    }

    func record(_ row: DMARCReportRow) {
        let settings = settings.withLockedValue { $0 }
        guard settings.reports, !DMARCReportURI.parseList(row.ruaURIs.joined(separator: ",")).isEmpty,
              IPAddress(row.sourceIP) != nil, row.time.isFinite, row.time >= 0 else { return }
        let bytes: [UInt8]
        do { bytes = Array(try JSONEncoder().encode(row)) } catch { return }
        let period = Self.period(containing: row.time, interval: settings.interval)
        let domain = row.policyDomain.lowercased()
        let logger = logger
        store.recordDMARCReportRow(period: period, domain: domain, group: row.groupKey, row: bytes) { result in
            switch result {
            case .success(true): break
            case .success(false):
                logger.debug("dmarc report row not kept (cap reached)", metadata: ["domain": "\(domain)"])
            case .failure(let error):
                logger.warning("cannot record dmarc report row", metadata: ["domain": "\(domain)", "error": "\(error)"])
            }
        }
    }

    /// The start of the period holding `time`: multiples of the interval since the epoch
    /// (so a day starts at UTC midnight).
    static func period(containing time: Double, interval: Duration) -> UInt64 {
        let length = max(1, UInt64(interval.components.seconds))
        let seconds = UInt64(max(0, min(time, 1e12)))
        return seconds / length * length
    }
}
