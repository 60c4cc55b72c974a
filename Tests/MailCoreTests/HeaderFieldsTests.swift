import Testing
@testable import MailCore

@Suite struct HeaderFieldsTests {
    @Test func fieldsFoldingAndBody() {
        let message = Array(("Subject:  Hello\r\n\tworld \r\nFrom: a@b.test\r\nX-Odd:a:b\r\n"
            + "Bad line without colon\r\n: no name\r\n\r\nBody: not a header\r\n").utf8)
        let fields = HeaderFields.parse(message)
        #expect(fields == [HeaderField(name: "Subject", value: "Hello world"),
                           HeaderField(name: "From", value: "a@b.test"),
                           HeaderField(name: "X-Odd", value: "a:b")])
        #expect(HeaderFields.first("subject", in: fields) == "Hello world")
    }

    @Test func strayLineFeedsAndLimits() {
        let message = Array("A: 1\nstill A\r\nB: 2\r\nC: 3\r\n\r\n".utf8)
        #expect(HeaderFields.parse(message).map(\.value) == ["1still A", "2", "3"])
        #expect(HeaderFields.parse(message, maxFields: 2).count == 2)
        #expect(HeaderFields.parse(Array("\r\nbody".utf8)).isEmpty)
        #expect(HeaderFields.parse(Array("No-End: x".utf8)) == [HeaderField(name: "No-End", value: "x")])
    }
}
