// The fuzz target's checks (Fuzz/Targets/dkim) run on its seed corpus and on seeded
// random mutations of it, so every `swift test` exercises the parsers with junk even
// when nobody runs libFuzzer.
import XCTest
import Foundation
import MailCore
import TestSupport
@testable import MailAuth

final class DKIMMutationTests: XCTestCase {
    struct InputKeyDNS: DNSLookupService {
        let record: String?
        func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                    _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
            guard let record else { return completion(.nxdomain) }
            completion(.records([.text(record)], ttl: 60))
        }
    }

    func check(_ bytes: [UInt8]) async {
        let message = AuthMessage(bytes: bytes)
        for domain in message.fromDomains { XCTAssertEqual(domain, domain.lowercased()) }
        for canonicalization in [DKIMCanonicalization.simple, .relaxed] {
            XCTAssertEqual(message.bodyHash(canonicalization).canonicalLength,
                           message.bodyHash(canonicalization, length: bytes.count / 3).canonicalLength)
        }
        let key = message.headerFields.first { $0.lowercasedName == "x-key" }?.value
        let outcomes = await DKIMVerifier(dns: InputKeyDNS(record: key), now: { 1_700_000_000 }).verify(message)
        XCTAssertLessThanOrEqual(outcomes.count, 8)
        for outcome in outcomes where outcome.result != .pass { XCTAssertNotNil(outcome.problem) }
        _ = await ARCVerifier(dns: InputKeyDNS(record: key), now: { 1_700_000_000 }).verify(message)
    }

    func testSeedsAndMutations() async throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Fuzz/corpus/dkim").standardized
        let seeds = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().map {
            [UInt8](try Data(contentsOf: directory.appendingPathComponent($0)))
        }
        XCTAssertFalse(seeds.isEmpty)
        var random = SeededGenerator(seed: 13)
        let pieces: [[UInt8]] = ["\r\n", "\n", " ", "\t", ";", "=", ":", "@", "<", ">", "\"", "(", ")", "b=", "h=from",
                                 "l=99999999999999999999", "DKIM-Signature: ", "ARC-Seal: i=1; ", "\r\n ", "p=", "\0", "\u{FF}"]
            .map { Array($0.utf8) }
        for seed in seeds { await check(seed) }
        for _ in 0..<1500 {
            var bytes = seeds[random.next(seeds.count)]
            for _ in 0..<(1 + random.next(6)) {
                let position = random.next(bytes.count + 1)
                switch random.next(3) {
                case 0: bytes.insert(contentsOf: pieces[random.next(pieces.count)], at: position)
                case 1: if position < bytes.count { bytes.remove(at: position) }
                default: if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
                }
            }
            await check(bytes)
        }
    }
}
