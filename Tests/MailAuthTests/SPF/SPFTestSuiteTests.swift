// Runs every scenario of the RFC 7208 test suite (openspf.org 2014.04, as Debian ships
// it in python3-spf) against SPFChecker with the suite's zone in a FakeDNS. The YAML is
// converted once to Fixtures/rfc7208-tests.json by scripts/spf-suite-to-json.
// Scenarios that need behaviour outside check() are listed in `skipped` with the reason.
import Foundation
import XCTest
import MailCore
@testable import MailAuth

final class SPFTestSuiteTests: XCTestCase {
    struct Suite: Decodable {
        struct Record: Decodable { var type: String; var value: [String]?; var only: String? }
        struct Test: Decodable {
            var name: String, spec: String, helo: String, host: String, mailfrom: String
            var results: [String]
            var explanation: String?
        }
        struct Scenario: Decodable { var description: String; var zone: [String: [Record]]; var tests: [Test] }
        var scenarios: [Scenario]
    }

    /// Tests whose expectations depend on behaviour check() does not have, by design.
    static let skipped: [String: String] = [:]

    static func loadSuite() throws -> Suite {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/rfc7208-tests.json")
        return try JSONDecoder().decode(Suite.self, from: Data(contentsOf: url))
    }

    static func dns(for zone: [String: [Suite.Record]]) -> FakeDNS {
        let dns = FakeDNS()
        for (name, records) in zone {
            for record in records {
                let value = record.value ?? []
                switch record.type {
                case "TIMEOUT": dns.add(name, .timeout(record.only.flatMap(DNSRecordType.init(name:))))
                case "TXT": dns.txt(name, value.joined())
                case "A": dns.add(name, .record(.a, .address(value[0])))
                case "AAAA": dns.add(name, .record(.aaaa, .address(value[0])))
                case "MX": dns.mx(name, Int(value[0]) ?? 0, SPFChecker.trimDot(value[1]))
                case "PTR": dns.ptr(name, SPFChecker.trimDot(value[0]))
                case "CNAME": dns.add(name, .cname(SPFChecker.trimDot(value[0])))
                default: XCTFail("unknown record type \(record.type)")
                }
            }
        }
        return dns
    }

    func testRFC7208Suite() async throws {
        let suite = try Self.loadSuite()
        var passed = 0, failed: [String] = [], skipped: [String] = []
        for scenario in suite.scenarios {
            let dns = Self.dns(for: scenario.zone)
            let checker = SPFChecker(dns: dns, receivingHost: "receivingdomain.example", now: { 1_400_000_000 })
            for test in scenario.tests {
                if let reason = Self.skipped[test.name] { skipped.append("\(test.name): \(reason)"); continue }
                let outcome = await checker.check(ip: test.host, helo: test.helo, mailFrom: test.mailfrom)
                var ok = test.results.contains(outcome.result.rawValue)
                if ok, let expected = test.explanation, expected != "DEFAULT" {
                    ok = outcome.explanation == expected
                }
                if ok, test.explanation == "DEFAULT" { ok = outcome.explanation == nil }
                if ok {
                    passed += 1
                } else {
                    failed.append("\(test.name) [\(test.spec)]: expected \(test.results) \(test.explanation ?? ""), got \(outcome.result.rawValue) '\(outcome.explanation ?? "")' \(outcome.problem ?? "")")
                }
            }
        }
        let total = passed + failed.count + skipped.count
        print("RFC 7208 suite: \(passed)/\(total) passed, \(failed.count) failed, \(skipped.count) skipped")
        for line in skipped { print("  skipped \(line)") }
        for line in failed { print("  FAILED \(line)") }
        XCTAssertEqual(failed, [])
    }
}
