import Testing
@testable import MailCore

@Suite struct MIMEParametersTests {
    @Test func contentTypes() {
        let plain = MIMEParameters.parse("text/plain; charset=\"UTF-8\"; format=flowed")
        #expect(plain.value == "text/plain")
        #expect(plain.parameters == [MIMEParameter("charset", "UTF-8"), MIMEParameter("format", "flowed")])
        let comments = MIMEParameters.parse("text/plain (body) ; charset=us-ascii (Plain text)")
        #expect(comments.value == "text/plain")
        #expect(comments.parameters == [MIMEParameter("charset", "us-ascii")])
        let quoted = MIMEParameters.parse("multipart/mixed;\r\n boundary=\"a \\\"b\\\" c\"")
        #expect(quoted.parameters == [MIMEParameter("boundary", "a \"b\" c")])
        #expect(MIMEParameters.parse("").value == nil)
        #expect(MIMEParameters.parse("; name=x").parameters == [MIMEParameter("name", "x")])
        #expect(MIMEParameters.parse("attachment; filename=report 2022.pdf").parameters == [MIMEParameter("filename", "report")])
        #expect(MIMEParameters.parse("attachment; junk; filename=a.txt").parameters == [MIMEParameter("filename", "a.txt")])
    }

    @Test func rfc2231() {
        let split = MIMEParameters.parse("attachment; filename*0=\"long \"; filename*1=\"name.txt\"")
        #expect(split.parameters == [MIMEParameter("filename", "long name.txt")])
        let encoded = MIMEParameters.parse("attachment; filename*=iso-8859-1'en'%A3%20rates.txt")
        #expect(encoded.parameters == [MIMEParameter("filename*", "iso-8859-1'en'%A3%20rates.txt")])
        let mixed = MIMEParameters.parse("inline; filename*1=\" x.png\"; filename*0*=UTF-8''%E2%82%AC")
        #expect(mixed.parameters == [MIMEParameter("filename*", "UTF-8''%E2%82%AC%20x.png")])
    }

    @Test func languageLists() {
        #expect(MIMEParameters.list("de, en-GB") == ["de", "en-GB"])
        #expect(MIMEParameters.list("en (English)") == ["en"])
        #expect(MIMEParameters.list("") == [])
    }
}
