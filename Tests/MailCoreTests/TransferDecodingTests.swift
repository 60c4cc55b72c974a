import Testing
@testable import MailCore

@Suite struct TransferDecodingTests {
    @Test func base64() {
        #expect(TransferDecoding.base64(Array("aGVsbG8gd29ybGQ=".utf8)) == Array("hello world".utf8))
        #expect(TransferDecoding.base64(Array("aGVs\r\nbG8=\r\n".utf8)) == Array("hello".utf8))
        #expect(TransferDecoding.base64(Array("a!G*V s".utf8)) == Array("hel".utf8))
        #expect(TransferDecoding.base64([]) == [])
    }

    @Test func quotedPrintable() {
        #expect(TransferDecoding.quotedPrintable(Array("caf=C3=A9 =3D ok".utf8)) == Array("café = ok".utf8))
        #expect(TransferDecoding.quotedPrintable(Array("soft=\r\nbreak=  \r\nend".utf8)) == Array("softbreakend".utf8))
        #expect(TransferDecoding.quotedPrintable(Array("trailing   \r\nnext".utf8)) == Array("trailing\r\nnext".utf8))
        #expect(TransferDecoding.quotedPrintable(Array("bad =ZZ and =".utf8)) == Array("bad =ZZ and ".utf8))
        #expect(TransferDecoding.quotedPrintable(Array("lf=\nonly".utf8)) == Array("lfonly".utf8))
    }
}
