import Testing
@testable import MailCore

@Test func asciiSubjectsAreWrittenAsTheyAre() {
    #expect(EncodedWords.encode("*** SPAM *** offer") == "*** SPAM *** offer")
}

@Test func nonASCIISubjectsBecomeEncodedWordsThatDecodeBack() {
    let subject = "*** SPAM *** Grüße aus Köln, 日本語のテキストがここにあります、とても長い件名です"
    let encoded = EncodedWords.encode(subject)
    #expect(encoded.hasPrefix("=?UTF-8?B?"))
    #expect(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    for word in encoded.split(separator: " ") { #expect(word.utf8.count <= 75) }
    #expect(EncodedWords.decode(encoded) == subject)
}

@Test func removingFieldsTakesFoldedLinesAndKeepsTheBody() {
    let message = Array("Subject: one\r\n two\r\nFrom: a@b\r\nsubject: again\r\n\r\nSubject: body\r\n".utf8)
    let cleaned = HeaderFields.removingFields(named: "Subject", from: message).map { String(decoding: $0, as: UTF8.self) }
    #expect(cleaned == "From: a@b\r\n\r\nSubject: body\r\n")
    #expect(HeaderFields.removingFields(named: "Subject", from: Array("From: a@b\r\n\r\n".utf8)) == nil)
}
