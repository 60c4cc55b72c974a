// Messages signed by other implementations, from dkimpy's test data (python3-dkim):
// an Exim-signed Ed25519 message and the RFC 8463 message signed simple/simple.
import XCTest
@testable import MailAuth

final class DKIMThirdPartyVectorTests: XCTestCase {
    let data = "/usr/lib/python3/dist-packages/dkim/tests/data/"

    func read(_ name: String) throws -> String { try String(contentsOfFile: data + name, encoding: .utf8) }

    func testEximEd25519Signature() async throws {
        let message = try read("ed25519test2.msg")
        let records = ["sed._domainkey.test.ex": [try read("eximtest.dns").trimmingCharacters(in: .whitespacesAndNewlines)]]
        let outcomes = await DKIMVectors.verifier(records).verify(AuthMessage(message))
        XCTAssertEqual(outcomes.map(\.result), [.pass], outcomes.first?.problem ?? "")
    }

    func testRFC8463MessageSignedSimpleSimple() async throws {
        let message = try read("rfc6376.signed.msg")
        let records = [
            "brisbane._domainkey.football.example.com": [DKIMVectors.rfc8463Ed25519Key],
            "test._domainkey.football.example.com": [try read("test.txt").trimmingCharacters(in: .whitespacesAndNewlines)],
        ]
        let outcomes = await DKIMVectors.verifier(records).verify(AuthMessage(message))
        XCTAssertEqual(outcomes.map(\.result), [.pass, .pass], outcomes.map { $0.problem ?? "" }.description)
    }
}
