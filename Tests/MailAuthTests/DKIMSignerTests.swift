import XCTest
@testable import MailAuth

final class DKIMSignerTests: XCTestCase {
    let message = """
    From: Joe <joe@example.org>\r
    To: a@example.net, b@example.net\r
    Subject: A subject that is long enough to make the header fold and fold again, on and on\r
    List-Id: <list.example.org>\r
    List-Unsubscribe: <mailto:leave@example.org>\r
    Received: from somewhere\r
    Date: Mon, 7 Dec 2026 17:00:00 +0000\r
    \r
    Hello  there. \r
    \r
    \r

    """

    func testSignedMessagesVerifyForBothAlgorithms() async throws {
        for algorithm in DKIMAlgorithm.allCases {
            let key = try DKIMKeyPair.generate(algorithm)
            let signer = DKIMSigner(domain: "Example.org", selector: "mg202612", key: key)
            let field = try signer.signatureField(for: AuthMessage(message), now: 1_765_000_000)
            XCTAssertTrue(field.replacingOccurrences(of: "\r\n\t", with: " ").hasPrefix("DKIM-Signature: v=1; a=\(algorithm.rawValue); c=relaxed/relaxed; d=example.org; s=mg202612;"), field)
            XCTAssertTrue(field.hasSuffix("\r\n"))
            for line in field.split(separator: "\r\n") { XCTAssertLessThanOrEqual(line.count, 80, field) }
            let verifier = DKIMVectors.verifier(["mg202612._domainkey.example.org": [key.dnsRecord]], now: 1_765_000_100)
            let outcome = await verifier.verify(AuthMessage(field + message))
            XCTAssertEqual(outcome.map(\.result), [.pass], outcome.first?.problem ?? "")
            XCTAssertEqual(outcome.first?.keyBits, algorithm == .rsaSHA256 ? 2048 : 256)
            // A re-folded, re-spaced copy still passes (relaxed/relaxed) …
            let refolded = (field + message).replacingOccurrences(of: "Subject: A subject", with: "Subject:\r\n   A   subject")
            try XCTAssertResult(await verifier.verify(AuthMessage(refolded))[0], .pass)
            // … an extra From does not (oversigned).
            let forged = (field + message).replacingOccurrences(of: "To: a@", with: "From: x@evil.example\r\nTo: a@")
            try XCTAssertResult(await verifier.verify(AuthMessage(forged))[0], .fail)
        }
    }

    func testSignedHeaderList() throws {
        let key = try DKIMKeyPair.generate(.ed25519SHA256)
        let signer = DKIMSigner(domain: "example.org", selector: "s", key: key)
        XCTAssertEqual(signer.signedHeaderNames(AuthMessage(message)),
                       ["from", "from", "to", "subject", "date", "list-id", "list-unsubscribe"])
        XCTAssertThrowsError(try signer.signatureField(for: AuthMessage("To: a@b.example\r\n\r\nx"), now: 0)) {
            XCTAssertEqual($0 as? DKIMSigner.SigningError, .noFrom)
        }
        XCTAssertThrowsError(try DKIMSigner(domain: "bad domain", selector: "s", key: key)
            .signatureField(for: AuthMessage(message), now: 0))
    }

    func testKeyPairPEMRoundTripAndRecords() throws {
        for algorithm in DKIMAlgorithm.allCases {
            let key = try DKIMKeyPair.generate(algorithm)
            let copy = try DKIMKeyPair(algorithm: algorithm, privateKeyPEM: key.privateKeyPEM)
            XCTAssertEqual(copy.dnsRecord, key.dnsRecord)
            XCTAssertTrue(key.dnsRecord.hasPrefix("v=DKIM1; k=\(algorithm.keyType); p="))
            XCTAssertThrowsError(try DKIMKeyPair(algorithm: algorithm, privateKeyPEM: "nonsense"))
        }
        let ed = try DKIMKeyPair.generate(.ed25519SHA256)
        XCTAssertEqual(Data(base64Encoded: ed.publicKeyBase64)?.count, 32)   // raw key, not SPKI
        XCTAssertThrowsError(try DKIMKeyPair(algorithm: .rsaSHA256, privateKeyPEM: ed.privateKeyPEM))
        // dkimpy's 1024-bit test key (PKCS#1) loads and signs.
        let pem = try String(contentsOfFile: "/usr/lib/python3/dist-packages/dkim/tests/data/test.private", encoding: .utf8)
        let old = try DKIMKeyPair(algorithm: .rsaSHA256, privateKeyPEM: pem)
        XCTAssertEqual(old.bits, 1024)
    }
}
