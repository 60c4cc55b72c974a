import Testing
@testable import MailCore

@Suite struct XTextTests {
    @Test func roundTripAndStrictness() {
        #expect(XText.encode("a+b=c d\u{E9}") == "a+2Bb+3Dc+20d+C3+A9")
        #expect(XText.decode("a+2Bb+3Dc+20d+C3+A9") == "a+b=c d\u{E9}")
        #expect(XText.decode("bad+2") == nil)
        #expect(XText.decode("lower+2b") == nil, "hexchar is upper case (RFC 3461 §4)")
        #expect(XText.decode("a=b") == nil)
        #expect(XText.decode("bad+ZZ") == nil)
        #expect(!XText.isValid("") && !XText.isValid("has space") && XText.isValid("rfc822;x+40y"))
        #expect(XText.isValidParameter("abc", maxLength: 3))
        #expect(!XText.isValidParameter("abcd", maxLength: 3))
        #expect(!XText.isValidParameter("a+0Db", maxLength: 100), "decodes to a control")
    }
}
