import Foundation
import Testing
@testable import MailStore

@Suite struct DMARCReportsTests {
    static func group(_ n: UInt8) -> [UInt8] { [UInt8](repeating: n, count: 16) }

    /// The non-blocking write, waited for.
    static func record(_ store: LMDBStore, period: UInt64, domain: String, group: [UInt8], row: String,
                       maxGroups: Int = LMDBStore.dmarcMaxGroups, maxDomains: Int = LMDBStore.dmarcMaxDomains) throws -> Bool {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<Bool, StoreError> = .success(false)
        store.recordDMARCReportRow(period: period, domain: domain, group: group, row: Array(row.utf8),
                                   maxGroups: maxGroups, maxDomains: maxDomains) { result in
            outcome = result
            done.signal()
        }
        done.wait()
        return try outcome.get()
    }

    @Test func groupsCountAndAreOneRangePerPeriodAndDomain() throws {
        try withStore { store, _ throws in
            #expect(try Self.record(store, period: 86_400, domain: "Example.com", group: Self.group(1), row: "a"))
            #expect(try Self.record(store, period: 86_400, domain: "example.com", group: Self.group(1), row: "a2"))
            #expect(try Self.record(store, period: 86_400, domain: "example.com", group: Self.group(0), row: "z"))
            #expect(try Self.record(store, period: 86_400, domain: "example.org", group: Self.group(2), row: "b"))
            #expect(try Self.record(store, period: 172_800, domain: "example.com", group: Self.group(3), row: "c"))
            let all = try store.dmarcReportDomains()
            #expect(all.map { "\($0.period) \($0.domain) \($0.groups) \($0.messages)" }
                    == ["86400 example.com 2 3", "86400 example.org 1 1", "172800 example.com 1 1"])
            #expect(try store.dmarcReportDomains(before: 172_800).count == 2)
            let groups = try store.dmarcReportGroups(period: 86_400, domain: "example.com")
            #expect(groups == [DMARCReportGroup(key: Self.group(0), count: 1, row: Array("z".utf8)),
                               DMARCReportGroup(key: Self.group(1), count: 2, row: Array("a2".utf8))])
            try store.removeDMARCReports(period: 86_400, domain: "example.com")
            #expect(try store.dmarcReportDomains().map(\.domain) == ["example.org", "example.com"])
            #expect(try store.dmarcReportGroups(period: 86_400, domain: "example.com").isEmpty)
            #expect(try store.purgeDMARCReports(before: 172_800) == 1)
            #expect(try store.dmarcReportDomains().map(\.period) == [172_800])
        }
    }

    @Test func capsBoundWhatIsKept() throws {
        try withStore { store, _ throws in
            #expect(try Self.record(store, period: 0, domain: "a.example", group: Self.group(1), row: "x", maxGroups: 2))
            #expect(try Self.record(store, period: 0, domain: "a.example", group: Self.group(2), row: "x", maxGroups: 2))
            #expect(try !Self.record(store, period: 0, domain: "a.example", group: Self.group(3), row: "x", maxGroups: 2))
            // A known group still counts at the cap.
            #expect(try Self.record(store, period: 0, domain: "a.example", group: Self.group(1), row: "x", maxGroups: 2))
            #expect(try !Self.record(store, period: 0, domain: "b.example", group: Self.group(1), row: "x", maxDomains: 1))
            let summary = try #require(try store.dmarcReportDomains().first)
            #expect(summary.groups == 2 && summary.messages == 3 && summary.dropped == 1)
            #expect(try store.dmarcReportDomains().count == 1)
            #expect(throws: StoreError.self) {
                try Self.record(store, period: 0, domain: "a.example", group: [1, 2], row: "x")
            }
            #expect(throws: StoreError.self) {
                try Self.record(store, period: 0, domain: "bad\u{0}domain", group: Self.group(1), row: "x")
            }
            #expect(throws: StoreError.self) {
                try Self.record(store, period: 0, domain: "a.example", group: Self.group(1),
                                row: String(repeating: "x", count: LMDBStore.dmarcMaxRowBytes + 1))
            }
        }
    }

    /// A reporter takes the rows (nobody else gets them) and can put them back.
    @Test func takeIsOnceAndRestoreMerges() throws {
        try withStore { store, _ throws in
            _ = try Self.record(store, period: 60, domain: "example.com", group: Self.group(1), row: "a")
            _ = try Self.record(store, period: 60, domain: "example.com", group: Self.group(1), row: "a")
            _ = try Self.record(store, period: 60, domain: "example.org", group: Self.group(2), row: "b")
            let taken = try store.takeDMARCReports(period: 60, domain: "example.com")
            #expect(taken == [DMARCReportGroup(key: Self.group(1), count: 2, row: Array("a".utf8))])
            #expect(try store.takeDMARCReports(period: 60, domain: "example.com").isEmpty)
            #expect(try store.dmarcReportDomains().map(\.domain) == ["example.org"])
            // Recorded meanwhile, then the taken rows come back: counts add up.
            _ = try Self.record(store, period: 60, domain: "example.com", group: Self.group(1), row: "a3")
            try store.restoreDMARCReports(period: 60, domain: "example.com", groups: taken)
            let summaries = try store.dmarcReportDomains()
            #expect(summaries.map { "\($0.domain) \($0.groups) \($0.messages)" } == ["example.com 1 3", "example.org 1 1"])
            #expect(try store.dmarcReportGroups(period: 60, domain: "example.com").map(\.count) == [3])
            #expect(try store.purgeDMARCReports(before: 61) == 2)
            #expect(try store.dmarcReportDomains().isEmpty)
        }
    }
}
