import XCTest
@testable import MailAuth

final class GzipTests: XCTestCase {
    func testRoundTripsWithAGzipHeader() throws {
        let text = Array(String(repeating: "<record>aggregate</record>\n", count: 2000).utf8)
        let packed = try Gzip.compress(text)
        XCTAssertEqual(Array(packed.prefix(2)), [0x1f, 0x8b])
        XCTAssertLessThan(packed.count, text.count / 10)
        XCTAssertEqual(Gzip.decompress(packed), text)
        XCTAssertEqual(Gzip.decompress(try Gzip.compress([])), [])
    }

    func testDecompressIsBounded() throws {
        let packed = try Gzip.compress([UInt8](repeating: 0, count: 1 << 20))
        XCTAssertNil(Gzip.decompress(packed, limit: 1000))
        XCTAssertNil(Gzip.decompress(Array("not gzip".utf8)))
        XCTAssertNil(Gzip.decompress(Array(packed.prefix(packed.count / 2))))
    }
}
