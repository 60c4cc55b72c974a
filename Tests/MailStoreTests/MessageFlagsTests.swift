import Testing
@testable import MailStore

@Suite struct MessageFlagsTests {
    @Test func systemFlagsAreCanonicalKeywordsKeptAsGiven() throws {
        #expect(try MessageFlags.normalized(["\\SEEN", "\\answered", "$Forwarded", "$forwarded", "\\Seen"])
            == ["\\Seen", "\\Answered", "$Forwarded"])
        #expect(MessageFlags.apply(.add, ["b"], to: ["A"]) == ["A", "b"])
        #expect(MessageFlags.apply(.remove, ["a"], to: ["A", "b"]) == ["b"])
        #expect(MessageFlags.apply(.replace, ["c"], to: ["A"]) == ["c"])
        #expect(MessageFlags.equalSets(["a", "B"], ["b", "A"]))
        #expect(!MessageFlags.equalSets(["a"], ["a", "b"]))
    }

    @Test func hostileFlagsAreRefused() {
        for bad in ["\\Recent", "\\", "", " ", "a]", "a%", "a*", "{3}", "\u{1}", String(repeating: "x", count: 129)] {
            expectError(.invalid) { _ = try MessageFlags.normalized([bad]) }
        }
        expectError(.invalid) { _ = try MessageFlags.normalized((0..<65).map { "k\($0)" }) }
        expectError(.invalid) { _ = try MessageFlags.normalized(Array(repeating: "k", count: 100_000)) }
    }
}
