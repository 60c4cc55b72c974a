// SearchNeedle: folding (ASCII, Unicode lowercase, final sigma), substring matching
// incl. overlapping prefixes, the empty needle, and linear time on repetitive input.
import Testing
@testable import IMAP

@Suite struct SearchNeedleTests {
    func occurs(_ needle: String, _ text: String) -> Bool { SearchNeedle(needle).occurs(in: SearchNeedle.fold(text)) }

    @Test func folding() {
        #expect(SearchNeedle.fold("Hello WORLD") == Array("hello world".utf8))
        #expect(SearchNeedle.fold("GRÜẞE") == Array("grüße".utf8))
        #expect(SearchNeedle.fold("ΟΔΟΣ") == SearchNeedle.fold("οδοσ"))
        #expect(SearchNeedle.fold("οδος") == SearchNeedle.fold("οδοσ"))
        #expect(SearchNeedle.fold("ÉLODÍE") == Array("élodíe".utf8))
    }

    @Test func substringMatching() {
        #expect(occurs("lo wo", "Hello World"))
        #expect(occurs("HELLO", "say hello"))
        #expect(occurs("Köln", "aus KÖLN"))
        #expect(!occurs("Koln", "aus Köln"))
        #expect(occurs("aab", "aaab"))                // the KMP fallback
        #expect(occurs("abab", "abaabab"))
        #expect(!occurs("abc", "ab"))
        #expect(occurs("", "anything"))
        #expect(occurs("", ""))
        #expect(SearchNeedle("").isEmpty)
        #expect(!occurs("x", ""))
    }

    @Test func repetitiveTextStaysLinear() {
        let needle = SearchNeedle(String(repeating: "a", count: 20_000) + "b")
        let text = SearchNeedle.fold(String(repeating: "a", count: 400_000))
        let clock = ContinuousClock()
        let elapsed = clock.measure { #expect(!needle.occurs(in: text)) }
        #expect(elapsed < .seconds(2))
    }
}
