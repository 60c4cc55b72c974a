import XCTest
@testable import MailAuth

final class TagListTests: XCTestCase {
    func testParsesTagsInOrderWithFoldingAroundValues() throws {
        let list = try TagList(parsing: "v=1; a=rsa-sha256;\r\n\tc=relaxed/simple; d=example.net;\r\n b=AbC dEf;")
        XCTAssertEqual(list.tags.map(\.name), ["v", "a", "c", "d", "b"])
        XCTAssertEqual(list["c"], "relaxed/simple")
        XCTAssertEqual(TagList.removingWhitespace(list["b"]!), "AbCdEf")
        XCTAssertNil(list["x"])
    }

    func testRefusesDuplicateMalformedAndOversizedLists() {
        XCTAssertThrowsError(try TagList(parsing: "v=1; v=2")) { XCTAssertEqual($0 as? TagList.ParseError, .duplicateTag("v")) }
        XCTAssertThrowsError(try TagList(parsing: "v=1; novalue")) { error in
            guard case .malformedTag = error as? TagList.ParseError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try TagList(parsing: "1a=2"))
        XCTAssertThrowsError(try TagList(parsing: String(repeating: "a", count: TagList.maxLength + 1))) {
            XCTAssertEqual($0 as? TagList.ParseError, .tooLong)
        }
        let many = (0...TagList.maxTags).map { "t\($0)=x" }.joined(separator: ";")
        XCTAssertThrowsError(try TagList(parsing: many)) { XCTAssertEqual($0 as? TagList.ParseError, .tooManyTags) }
    }

    func testEmptyValuesAndTrailingSeparatorAreAllowed() throws {
        let list = try TagList(parsing: "v=DKIM1; p=; ")
        XCTAssertEqual(list["p"], "")
        XCTAssertEqual(list.tags.count, 2)
    }
}
