// Cost figures for docs/performance.md: RSA-2048 and Ed25519 sign and verify, and the
// body hash, per message. Without MAILGATE_BENCH=1 every step runs a few times and only
// its result is checked (a signed message must verify); with it, the full iteration
// counts run and the figures are printed, which mean something only in a release build:
//   MAILGATE_CORE_ONLY=MailAuth swift build -c release --build-tests -Xswiftc -enable-testing --scratch-path .build-ma-release
//   MAILGATE_BENCH=1 swift test -c release --skip-build --scratch-path .build-ma-release --filter DKIMCostBench
import XCTest
import Foundation
@testable import MailAuth

final class DKIMCostBench: XCTestCase {
    func seconds(_ iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
    }

    /// Full iteration counts and printed figures only when asked for.
    let measuring = ProcessInfo.processInfo.environment["MAILGATE_BENCH"] == "1"
    func iterations(_ full: Int) -> Int { measuring ? full : 2 }

    func report(_ name: String, _ perCall: Double) {
        guard measuring else { return }
        print(String(format: "BENCH %-44@ %9.1f µs", name as NSString, perCall * 1e6))
    }

    func testCosts() async throws {
        let body10k = String(repeating: "The quick brown fox jumps over the lazy dog.  \r\n", count: 210)
        let message = "From: Bob <bob@example.org>\r\nTo: amy@example.net\r\nSubject: bench\r\n"
            + "Date: Mon, 07 Dec 2026 17:00:00 +0000\r\nMessage-ID: <x@example.org>\r\n\r\n" + body10k
        for algorithm in DKIMAlgorithm.allCases {
            let key = try DKIMKeyPair.generate(algorithm)
            let signer = DKIMSigner(domain: "example.org", selector: "s", key: key)
            let n = iterations(algorithm == .rsaSHA256 ? 300 : 3000)
            // Signing a fresh message each time: header parse + body hash + signature.
            report("sign \(algorithm.rawValue) (10 KB message, all in)", try seconds(n) {
                _ = try signer.signatureField(for: AuthMessage(message), now: 1_765_000_000)
            })
            let digest = Crypto_SHA256(Array("x".utf8))
            report("  \(algorithm.rawValue) signature alone", try seconds(n) { _ = try key.sign(digest: digest) })
            let signed = try signer.signatureField(for: AuthMessage(message), now: 1_765_000_000) + message
            let verifier = DKIMVerifier(dns: StaticDNS(["s._domainkey.example.org": [key.dnsRecord]]),
                                        now: { 1_765_000_000 })
            var total = 0.0
            let rounds = iterations(algorithm == .rsaSHA256 ? 1000 : 2000)
            for _ in 0..<rounds {
                let start = DispatchTime.now().uptimeNanoseconds
                let outcome = await verifier.verify(AuthMessage(signed))
                total += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                XCTAssertEqual(outcome.first?.result, .pass)
            }
            report("verify \(algorithm.rawValue) (10 KB, key record parsed)", total / Double(rounds))
        }
        for size in [10_000, 100_000, 1_000_000] {
            let body = String(repeating: "The quick brown fox jumps over the lazy dog.  \r\n", count: size / 48)
            let text = "From: a@example.org\r\n\r\n" + body
            let n = iterations(max(20, 20_000_000 / size))
            report("body hash relaxed, \(size / 1000) KB", seconds(n) { _ = AuthMessage(text).bodyHash(.relaxed) })
            report("body hash simple, \(size / 1000) KB", seconds(n) { _ = AuthMessage(text).bodyHash(.simple) })
        }
    }
}

import Crypto
func Crypto_SHA256(_ bytes: [UInt8]) -> SHA256.Digest { SHA256.hash(data: bytes) }
