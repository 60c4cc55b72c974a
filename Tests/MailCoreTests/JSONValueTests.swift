// JSONParser (JSONValue.swift): RFC 8259 values, escapes, numbers, and the bounds.
import MailCore
import Testing

private func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
    try JSONParser.parse(Array(text.utf8), limits: limits).0
}

@Suite struct JSONValueTests {
    @Test func values() throws {
        #expect(try parse(" {\"a\": [1, -2, 2.5, 1e2, true, false, null], \"b\": {}} ")
            == .object([("a", .array([.integer(1), .integer(-2), .number(2.5), .number(100), .bool(true), .bool(false), .null])),
                        ("b", .object([]))]))
        #expect(try parse("\"x\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"") == .string("x\"\\/\u{8}\u{c}\n\r\té😀"))
        #expect(try parse("\"\\ud800x\"") == .string("\u{FFFD}x"))
        #expect(try parse("\"\\udc00\"") == .string("\u{FFFD}"))
        #expect(try parse("\"caf\u{e9}\"") == .string("café"))
        #expect(try parse("123456789012345678901234567890") == .number(123456789012345678901234567890))
        #expect(try parse("[]") == .array([]))
    }

    @Test(arguments: ["", " ", "{", "[1,]", "{\"a\"}", "{\"a\":1,}", "01", "-", "1.", "1e", "+1", "tru", "nul",
                      "\"abc", "\"\\x\"", "\"\\u12\"", "\"a\u{1}b\"", "[1] 2", "{'a':1}", "NaN", "1e999"])
    func malformed(text: String) {
        #expect(throws: JSONError.self) { try parse(text) }
    }

    @Test func bounds() throws {
        let deep = String(repeating: "[", count: 10) + String(repeating: "]", count: 10)
        #expect(throws: JSONError.tooComplex) { try parse(deep, limits: JSONLimits(maxDepth: 5)) }
        #expect(try parse(deep, limits: JSONLimits(maxDepth: 10)) != .null)
        let wide = "[" + Array(repeating: "1", count: 100).joined(separator: ",") + "]"
        #expect(throws: JSONError.tooComplex) { try parse(wide, limits: JSONLimits(maxValues: 50)) }
        // Very deep input fails fast on the default depth instead of overflowing the stack.
        let hostile = String(repeating: "[", count: 100_000)
        #expect(throws: JSONError.tooComplex) { try parse(hostile) }
    }
}
