import XCTest
import Crypto
@testable import MailAuth

final class DKIMCanonicalizationTests: XCTestCase {
    func canonicalBody(_ body: String, _ mode: DKIMCanonicalization) -> String {
        var out: [UInt8] = []
        Array(body.utf8).withUnsafeBufferPointer { buffer in
            BodyCanonicalizer.canonicalize(buffer, mode) { out.append(contentsOf: $0) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func testBodyTable() {
        let table: [(String, String, String)] = [
            // body, simple, relaxed
            ("", "\r\n", ""),
            ("\r\n", "\r\n", ""),
            ("\r\n\r\n\r\n", "\r\n", ""),
            ("a\r\n", "a\r\n", "a\r\n"),
            ("a", "a\r\n", "a\r\n"),
            ("a\r\n\r\n\r\n", "a\r\n", "a\r\n"),
            ("a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n", "a\r\n\r\nb\r\n"),
            (" C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n", " C\r\nD E\r\n"),
            ("a  \t b\t\r\n \t \r\n", "a  \t b\t\r\n \t \r\n", "a b\r\n"),
            ("a\nb\n\n", "a\r\nb\r\n", "a\r\nb\r\n"),         // bare LF read as CRLF
            ("a\rb\r\n", "a\rb\r\n", "a\rb\r\n"),             // a lone CR is data
            ("x\r\n \r\ny\r\n", "x\r\n \r\ny\r\n", "x\r\n\r\ny\r\n"),
        ]
        for (body, simple, relaxed) in table {
            XCTAssertEqual(canonicalBody(body, .simple), simple, body.debugDescription)
            XCTAssertEqual(canonicalBody(body, .relaxed), relaxed, body.debugDescription)
        }
    }

    func testLargeBodyMatchesWholeHash() {
        let line = String(repeating: "0123456789 ", count: 10) + "\r\n"
        let body = String(repeating: line, count: 5000)
        let message = AuthMessage("From: a@b.example\r\n\r\n" + body)
        XCTAssertEqual(message.bodyHash(.simple).digest, Array(SHA256.hash(data: Array(body.utf8))))
        XCTAssertEqual(message.bodyHash(.simple).canonicalLength, body.utf8.count)
        let cut = message.bodyHash(.simple, length: 100)
        XCTAssertEqual(cut.digest, Array(SHA256.hash(data: Array(body.utf8.prefix(100)))))
        XCTAssertEqual(cut.canonicalLength, body.utf8.count)
    }

    func testRFC6376BodyHashes() {
        // RFC 6376 A.2 and RFC 8463 A.3 give bh= for their bodies.
        let rfc6376 = AuthMessage(DKIMVectors.rfc6376Message)
        XCTAssertEqual(Data(rfc6376.bodyHash(.simple).digest).base64EncodedString(), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=")
        let rfc8463 = AuthMessage(DKIMVectors.rfc8463Message)
        XCTAssertEqual(Data(rfc8463.bodyHash(.relaxed).digest).base64EncodedString(), "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=")
        XCTAssertEqual(Data(rfc8463.bodyHash(.simple).digest).base64EncodedString(), "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=")
    }

    func testHeaderTable() {
        let table: [(String, String, String)] = [
            ("Subject: Hello", "Subject: Hello\r\n", "subject:Hello\r\n"),
            ("SUBJECT :  Hello  World  ", "SUBJECT :  Hello  World  \r\n", "subject:Hello World\r\n"),
            ("A: X\r\n\tY\r\n Z  ", "A: X\r\n\tY\r\n Z  \r\n", "a:X Y Z\r\n"),
            ("B:", "B:\r\n", "b:\r\n"),
            ("C: \t", "C: \t\r\n", "c:\r\n"),
        ]
        for (field, simple, relaxed) in table {
            let raw = Array(field.utf8)[...]
            XCTAssertEqual(String(decoding: HeaderCanonicalizer.canonicalize(raw, .simple), as: UTF8.self), simple)
            XCTAssertEqual(String(decoding: HeaderCanonicalizer.canonicalize(raw, .relaxed), as: UTF8.self), relaxed)
        }
    }

    func testRemovingSignatureValue() {
        func removed(_ text: String) -> String {
            String(decoding: DKIMHeaderHash.removingSignatureValue(Array(text.utf8)), as: UTF8.self)
        }
        XCTAssertEqual(removed("DKIM-Signature: v=1; b=abc; bh=xyz"), "DKIM-Signature: v=1; b=; bh=xyz")
        XCTAssertEqual(removed("DKIM-Signature: v=1; bh=xyz;\r\n b = ab\r\n cd"), "DKIM-Signature: v=1; bh=xyz;\r\n b =")
        XCTAssertEqual(removed("DKIM-Signature: b=a;b=c"), "DKIM-Signature: b=;b=c")
        XCTAssertEqual(removed("DKIM-Signature: v=1"), "DKIM-Signature: v=1")
        XCTAssertEqual(removed("garbage"), "garbage")
    }
}
