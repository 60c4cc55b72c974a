import Testing
@testable import MailCore

@Suite struct LineEndingsTests {
    func normalized(_ text: String) -> String {
        String(decoding: LineEndings.normalized(Array(text.utf8)), as: UTF8.self)
    }

    @Test func bareLineEndsBecomeCRLF() {
        #expect(normalized("a\nb\rc\r\nd\r") == "a\r\nb\r\nc\r\nd\r\n")
        #expect(normalized("Subject: x\rFrom: y\r\n") == "Subject: x\r\nFrom: y\r\n")
        #expect(normalized("\r\r\n\n") == "\r\n\r\n\r\n")
        #expect(normalized("clean\r\n") == "clean\r\n")
        #expect(!LineEndings.needsNormalizing(Array("a\r\nb\r\n".utf8)))
        #expect(LineEndings.needsNormalizing(Array("a\r".utf8)))
    }
}
