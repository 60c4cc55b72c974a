// EncodedWords: RFC 2047 B and Q words in the supported charsets, whitespace between
// words, characters split across words, RFC 2231 languages, unknown charsets and
// broken words kept as written, and linear time on hostile input.
import Testing
@testable import MailCore

@Suite struct EncodedWordsTests {
    func decode(_ value: String) -> String { EncodedWords.decode(value) }

    @Test func bAndQWords() {
        #expect(decode("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?=") == "Grüße")
        #expect(decode("=?utf-8?b?R3LDvMOfZQ==?=") == "Grüße")
        #expect(decode("=?ISO-8859-1?Q?J=F6rg_M=FCller?= <joerg@example.de>") == "Jörg Müller <joerg@example.de>")
        #expect(decode("=?iso-8859-15?q?=A4?=") == "€")
        #expect(decode("=?windows-1252?Q?=93hi=94?=") == "“hi”")
        #expect(decode("=?US-ASCII?Q?plain_text?=") == "plain text")
    }

    @Test func whitespaceBetweenWords() {
        // RFC 2047 §8 examples.
        #expect(decode("(=?ISO-8859-1?Q?a?=)") == "(a)")
        #expect(decode("(=?ISO-8859-1?Q?a?= b)") == "(a b)")
        #expect(decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)") == "(ab)")
        #expect(decode("(=?ISO-8859-1?Q?a?=  \t =?ISO-8859-1?Q?b?=)") == "(ab)")
        #expect(decode("(=?ISO-8859-1?Q?a_b?=)") == "(a b)")
        #expect(decode("(=?ISO-8859-1?Q?a?= =?ISO-8859-15?Q?_b?=)") == "(a b)")
        #expect(decode("=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?B?S8O2bG4=?=") == "Grüße aus Köln")
        #expect(decode("=?UTF-8?Q?a?= =?ISO-8859-1?Q?=E9?=") == "aé")   // different charsets, still no space
    }

    @Test func multiByteCharacterSplitAcrossWords() {
        // "ü" is C3 BC: some encoders cut between the two bytes.
        #expect(decode("=?UTF-8?Q?Gr=C3?= =?UTF-8?Q?=BCn?=") == "Grün")
        #expect(decode("=?UTF-8?B?R3LD?= =?UTF-8?B?vG4=?=") == "Grün")
    }

    @Test func languageAndCase() {
        #expect(decode("=?UTF-8*de?Q?Gr=C3=BC=C3=9Fe?=") == "Grüße")
        #expect(decode("=?utf-8?q?x=3dy?=") == "x=y")
    }

    @Test func keptAsWritten() {
        #expect(decode("=?KOI8-R?Q?=F0=D2=C9?=") == "=?KOI8-R?Q?=F0=D2=C9?=")            // unknown charset
        #expect(decode("=?UTF-8?X?abc?=") == "=?UTF-8?X?abc?=")                          // unknown encoding
        #expect(decode("=?UTF-8?Q?no end") == "=?UTF-8?Q?no end")
        #expect(decode("=?UTF-8?Q?a b?=") == "=?UTF-8?Q?a b?=")                          // whitespace inside
        #expect(decode("a =? b ?= c") == "a =? b ?= c")
        #expect(decode("=??Q?x?=") == "=??Q?x?=")
        #expect(decode("plain subject") == "plain subject")
        #expect(decode("") == "")
        #expect(decode("=?KOI8-R?Q?x?= =?UTF-8?Q?y?=") == "=?KOI8-R?Q?x?= y")
    }

    @Test func wordsAfterJunk() {
        #expect(decode("=?=?UTF-8?Q?ok?=") == "=?ok")
        #expect(decode("x=?UTF-8?Q?=C3=A9?=y") == "xéy")   // lenient: not at a word boundary
    }

    @Test func hostileInputStaysLinear() {
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            _ = decode(String(repeating: "=?", count: 50_000))
            _ = decode(String(repeating: "=?a?q?", count: 20_000))
            _ = decode("=?UTF-8?Q?" + String(repeating: "=?UTF-8?Q?x", count: 10_000))
        }
        #expect(elapsed < .seconds(2))
    }
}
