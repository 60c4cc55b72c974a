// Charset: names and aliases, the single-byte tables, lenient reading of undeclared
// or wrongly declared 8-bit text.
import Testing
@testable import MailCore

@Suite struct CharsetTests {
    @Test func namesAndAliases() {
        #expect(Charset(named: "UTF-8") == .utf8)
        #expect(Charset(named: "utf8") == .utf8)
        #expect(Charset(named: "US-ASCII") == .usASCII)
        #expect(Charset(named: "ISO-8859-1") == .latin1)
        #expect(Charset(named: "latin1") == .latin1)
        #expect(Charset(named: "iso-8859-15") == .latin9)
        #expect(Charset(named: "Windows-1252") == .windows1252)
        #expect(Charset(named: "cp1252") == .windows1252)
        #expect(Charset(named: "KOI8-R") == nil)
        #expect(Charset(named: "") == nil)
    }

    @Test func singleByteCharsets() {
        let bytes: [UInt8] = [0x47, 0x72, 0xFC, 0xDF, 0x65, 0x20, 0xA4, 0x20, 0x80, 0x93, 0x94]
        #expect(Charset.latin9.decode(bytes) == "Grüße € \u{80}\u{93}\u{94}")
        #expect(Charset.windows1252.decode(bytes) == "Grüße ¤ €“”")
        // Latin-1 is read as Windows-1252: "smart quotes" in mail labelled ISO-8859-1.
        #expect(Charset.latin1.decode(bytes) == "Grüße ¤ €“”")
        // The five bytes Windows-1252 leaves unassigned keep their code point.
        #expect(Charset.windows1252.decode([0x81, 0x8D, 0x8F, 0x90, 0x9D]).unicodeScalars.map(\.value) == [0x81, 0x8D, 0x8F, 0x90, 0x9D])
        #expect(Charset.latin9.decode([0xA6, 0xA8, 0xB4, 0xB8, 0xBC, 0xBD, 0xBE]) == "ŠšŽžŒœŸ")
    }

    @Test func utf8AndLenientText() {
        #expect(Charset.utf8.decode(Array("Köln".utf8)) == "Köln")
        #expect(Charset.utf8.decode([0x4B, 0xF6, 0x6C, 0x6E]) == "K\u{FFFD}ln")       // invalid UTF-8
        #expect(Charset.usASCII.decode(Array("Köln".utf8)) == "Köln")                 // 8-bit UTF-8 in "ASCII"
        #expect(Charset.usASCII.decode([0x4B, 0xF6, 0x6C, 0x6E]) == "Köln")           // 8-bit Latin-1 in "ASCII"
        #expect(Charset.lenient([0x93, 0x61, 0x94]) == "“a”")
        #expect(Charset.lenient([]) == "")
    }
}
