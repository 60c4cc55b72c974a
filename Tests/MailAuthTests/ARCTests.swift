import XCTest
import Foundation
@testable import MailAuth

final class ARCTests: XCTestCase {
    let data = "/usr/lib/python3/dist-packages/dkim/tests/data/"

    /// dkimpy's own ARC vector (tests/test_arc.py): test.message sealed by example.com
    /// with test.private at t=12345; key record test.txt.
    func dkimpyVector() throws -> (message: String, records: [String: [String]]) {
        let message = try String(contentsOfFile: data + "test.message", encoding: .utf8).replacingOccurrences(of: "\n", with: "\r\n")
        let sealed = "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.com; s=test; t=12345;\r\n b=MBw2+L1/4PuYWJlt1tZlDtbOvyfbyH2t2N6DinFV/BIaB2LqbDKTYjXXk9HuuK1/qEkTd\r\n TxCYScIrtVO7pFbGiSawMuLatVzHNCqTURa1zBTXr2mKW1hgdmrtMMUcMVCYxr1AJpu6IYX\r\n VMIoOAn7tIDdO0VLokK6FnIXTWEAplQ=\r\n"
            + "ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed;\r\n d=example.com; s=test; t=12345; h=message-id : date : from : to :\r\n subject : from; bh=wE7NXSkgnx9PGiavN4OZhJztvkqPDlemV3OGuEnLwNo=;\r\n b=a0f6qc3k9eECTSR155A0TQS+LjqPFWfI/brQBA83EUz00SNxj1wmWykvs1hhBVeM0r1kE\r\n Qc6CKbzRYaBNSiFj4q8JBpRIujLz1qLyGmPuAI6ddu/Z/1hQxgpVcp/odmI1UMV2R+d+yQ7\r\n tUp3EQxF/GYNt22rV4rNmDmANZVqJ90=\r\n"
            + "ARC-Authentication-Results: i=1; lists.example.org; arc=none;\r\n  spf=pass smtp.mfrom=jqd@d1.example;\r\n  dkim=pass (1024-bit key) header.i=@d1.example;\r\n  dmarc=pass\r\n"
        let key = try String(contentsOfFile: data + "test.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (sealed + message, ["test._domainkey.example.com": [key]])
    }

    func verifier(_ records: [String: [String]]) -> ARCVerifier {
        ARCVerifier(dns: StaticDNS(records), now: { 1_765_000_000 })
    }

    func testDkimpyVectorVerifies() async throws {
        let (message, records) = try dkimpyVector()
        let outcome = await verifier(records).verify(AuthMessage(message))
        XCTAssertEqual(outcome.result, .pass, outcome.problem ?? "")
        XCTAssertEqual(outcome.instances, 1)
        XCTAssertEqual(outcome.sealDomains, ["example.com"])
        let tampered = await verifier(records).verify(AuthMessage(message.replacingOccurrences(of: "Subject: Testing", with: "Subject: Testing!")))
        XCTAssertEqual(tampered.result, .fail)
        let reordered = message.replacingOccurrences(of: "cv=none", with: "cv=pass")
        let badCV = await verifier(records).verify(AuthMessage(reordered))
        XCTAssertEqual(badCV.result, .fail)
    }

    func testUnsealedAndBrokenStructures() async throws {
        let plain = await verifier([:]).verify(AuthMessage("From: a@b.example\r\n\r\nx\r\n"))
        XCTAssertEqual(plain.result, .none)
        let (message, records) = try dkimpyVector()
        for broken in [
            message.replacingOccurrences(of: "ARC-Seal: i=1", with: "ARC-Seal: i=2"),
            message.replacingOccurrences(of: "ARC-Seal: i=1", with: "ARC-Seal: i=x"),
            message.replacingOccurrences(of: "ARC-Authentication-Results: i=1", with: "ARC-Authentication-Results: i=51"),
            "ARC-Seal: i=1; cv=none; a=rsa-sha256; d=example.com; s=test; b=AAAA\r\n" + message,
            message.replacingOccurrences(of: "ARC-Seal: i=1; cv=none;", with: "ARC-Seal: i=1; cv=none; h=from;"),
            message.replacingOccurrences(of: "a=rsa-sha256; d=example.com; s=test; t=12345;\r\n b=MBw", with: "a=rsa-sha1; d=example.com; s=test; t=12345;\r\n b=MBw"),
        ] {
            let outcome = await verifier(records).verify(AuthMessage(broken))
            XCTAssertEqual(outcome.result, .fail, broken.prefix(80).description)
            XCTAssertNotNil(outcome.problem)
        }
        let noKey = await verifier([:]).verify(AuthMessage(message))
        XCTAssertEqual(noKey.result, .fail)
    }

    func testSealThenVerifyTwoHops() async throws {
        for algorithm in DKIMAlgorithm.allCases {
            let first = try DKIMKeyPair.generate(algorithm)
            let second = try DKIMKeyPair.generate(.ed25519SHA256)
            let records = ["arc._domainkey.forwarder.example": [first.dnsRecord], "hop._domainkey.list.example": [second.dnsRecord]]
            let original = "From: Joe <joe@origin.example>\r\nTo: list@forwarder.example\r\nSubject: hello\r\n\r\nBody.\r\n"
            let sealer = ARCSealer(domain: "forwarder.example", selector: "arc", key: first)
            let fields = try sealer.seal(AuthMessage(original), authResults: "mx.forwarder.example; spf=pass smtp.mailfrom=origin.example",
                                         chain: .none, now: 1_765_000_000)
            XCTAssertEqual(fields.count, 3)
            XCTAssertTrue(fields[0].hasPrefix("ARC-Seal: i=1; cv=none;"))
            XCTAssertTrue(fields[2].hasPrefix("ARC-Authentication-Results: i=1; mx.forwarder.example;"))
            let once = fields.joined() + original
            let hop1 = await verifier(records).verify(AuthMessage(once))
            XCTAssertEqual(hop1.result, .pass, hop1.problem ?? "")

            // A list adds a footer, then seals with cv=pass.
            let modified = once + "-- \r\nlist footer\r\n"
            let broken = await verifier(records).verify(AuthMessage(modified))
            XCTAssertEqual(broken.result, .fail)   // the newest AMS no longer matches
            let listSealer = ARCSealer(domain: "list.example", selector: "hop", key: second)
            let more = try listSealer.seal(AuthMessage(modified), authResults: "list.example; arc=pass", chain: .pass,
                                           now: 1_765_000_100)
            XCTAssertTrue(more[0].hasPrefix("ARC-Seal: i=2; cv=pass;"))
            let twice = await verifier(records).verify(AuthMessage(more.joined() + modified))
            XCTAssertEqual(twice.result, .pass, twice.problem ?? "")
            XCTAssertEqual(twice.sealDomains, ["forwarder.example", "list.example"])

            XCTAssertThrowsError(try sealer.seal(AuthMessage(once), authResults: "x; arc=none", chain: .none, now: 0))
            XCTAssertThrowsError(try sealer.seal(AuthMessage(original), authResults: "x; arc=pass", chain: .pass, now: 0))
        }
    }

    func runPython(_ script: String, _ arguments: [String]) throws -> String {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw NSError(domain: "ARCTests", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "\(python) is missing (make test-deps installs it)"])
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }

    /// dkimpy's arc_sign, live, checked by us (a second hop on top of its vector too).
    func testDkimpySealsVerify() async throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "/usr/bin/python3 is missing")
        let (message, records) = try dkimpyVector()
        let script = """
        import dkim, sys
        message = open(sys.argv[1], 'rb').read()
        key = open(sys.argv[2], 'rb').read()
        message = message.replace(b'Authentication-Results: lists.example.org; arc=none;', b'Authentication-Results: lists.example.org; arc=pass;')
        sys.stdout.buffer.write(b''.join(dkim.arc_sign(message, b'test', b'example.com', key, b'lists.example.org')) + message)
        """
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("arc-\(UUID().uuidString).eml")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data(message.utf8).write(to: path)
        let twice = try runPython(script, [path.path, data + "test.private"])
        let outcome = await verifier(records).verify(AuthMessage(twice))
        XCTAssertEqual(outcome.result, .pass, "\(outcome.problem ?? "") \(twice.prefix(300))")
        XCTAssertEqual(outcome.instances, 2)
    }

    /// Our seals checked by dkimpy's arc_verify (python3-dkim). dkimpy's ARC knows only
    /// rsa-sha256, so the Ed25519 seal is checked by us alone (testSealThenVerifyTwoHops).
    func testDkimpyAcceptsOurSeals() throws {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "/usr/bin/python3 is missing")
        for algorithm in [DKIMAlgorithm.rsaSHA256] {
            let key = try DKIMKeyPair.generate(algorithm)
            let original = "From: Joe <joe@origin.example>\r\nTo: a@b.example\r\nSubject: hi\r\nDate: Mon, 07 Dec 2026 17:00:00 +0000\r\n\r\nBody  text.\r\n"
            let fields = try ARCSealer(domain: "forwarder.example", selector: "arc", key: key)
                .seal(AuthMessage(original), authResults: "mx.forwarder.example; spf=pass smtp.mailfrom=origin.example",
                      chain: .none, now: Date().timeIntervalSince1970)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arc-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try Data((fields.joined() + original).utf8).write(to: directory.appendingPathComponent("m.eml"))
            let script = """
            import dkim, sys
            record = sys.argv[2].encode()
            cv, results, reason = dkim.arc_verify(open(sys.argv[1], 'rb').read(), dnsfunc=lambda name, timeout=5: record)
            print(cv.decode() if cv else 'none', reason)
            """
            let output = try runPython(script, [directory.appendingPathComponent("m.eml").path, key.dnsRecord])
            XCTAssertTrue(output.hasPrefix("pass"), "\(algorithm): \(output)")
        }
    }
}
