import XCTest
@testable import MailAuth

final class AuthMessageTests: XCTestCase {
    func testHeaderFieldsKeepFoldingAndFindTheBody() {
        let message = AuthMessage("Subject: a\r\n b\r\nFrom : x@y.example\r\n\r\nbody\r\n")
        XCTAssertEqual(message.headerFields.map(\.name), ["Subject", "From"])
        XCTAssertEqual(message.headerFields[0].raw, Array("Subject: a\r\n b".utf8))
        XCTAssertEqual(message.headerFields[0].value, "a b")
        XCTAssertEqual(message.headerFields[1].lowercasedName, "from")
        XCTAssertEqual(String(decoding: message.body, as: UTF8.self), "body\r\n")
    }

    func testBareLFIsReadAsCRLF() {
        let message = AuthMessage("Subject: a\n b\nFrom: x@y.example\n\nbody\n")
        XCTAssertEqual(message.headerFields[0].raw, Array("Subject: a\r\n b".utf8))
        XCTAssertEqual(String(decoding: message.body, as: UTF8.self), "body\n")
    }

    func testMessagesWithoutBodyOrJunk() {
        XCTAssertEqual(AuthMessage("").headerFields.count, 0)
        XCTAssertEqual(AuthMessage("From: a@b.example").bodyStart, "From: a@b.example".utf8.count)
        let junk = AuthMessage(" leading continuation\r\nno colon here\r\nX: y\r\n\r\n")
        XCTAssertEqual(junk.headerFields.map(\.name), ["X"])
        XCTAssertEqual(AuthMessage("\r\nbody").bodyStart, 2)
    }

    func testFromDomains() {
        func domains(_ from: String) -> [String] { AuthMessage("From: \(from)\r\n\r\n").fromDomains }
        XCTAssertEqual(domains("Joe <joe@Football.Example.COM>"), ["football.example.com"])
        XCTAssertEqual(domains("joe@example.com (Joe, \"x@evil.example\")"), ["example.com"])
        XCTAssertEqual(domains("\"Joe <joe@evil.example>\" <joe@good.example>"), ["good.example"])
        XCTAssertEqual(domains("a@one.example, b@two.example, c@one.example"), ["one.example", "two.example"])
        XCTAssertEqual(domains("Team: a@one.example, b@two.example;"), ["one.example", "two.example"])
        XCTAssertEqual(domains("<@route.example:joe@example.com>"), ["example.com"])
        XCTAssertEqual(domains("example.com."), [])
        XCTAssertEqual(domains("joe@example.com."), ["example.com"])
        XCTAssertEqual(domains("undisclosed-recipients:;"), [])
        XCTAssertEqual(domains(""), [])
        XCTAssertEqual(domains("joe@exa mple..com"), [])
        let two = AuthMessage("From: a@one.example\r\nFrom: b@two.example\r\n\r\n")
        XCTAssertEqual(two.fromDomains, ["one.example", "two.example"])
    }

    func testBodyHashIsComputedOncePerKey() {
        let message = AuthMessage("From: a@b.example\r\n\r\nbody\r\n")
        _ = message.bodyHash(.relaxed)
        _ = message.bodyHash(.relaxed)
        _ = message.bodyHash(.simple)
        _ = message.bodyHash(.relaxed, length: 2)
        _ = message.bodyHash(.relaxed, length: 2)
        XCTAssertEqual(message.bodyHashComputations, 3)
    }
}
