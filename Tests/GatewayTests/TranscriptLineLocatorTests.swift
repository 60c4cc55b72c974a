// Finding a key's line in a TOML text for transcript errors: sections, arrays of
// tables, quoted keys, inline tables and multi-line strings.
import Testing
@testable import Gateway

@Suite struct TranscriptLineLocatorTests {
    @Test func lineLocatorFollowsSectionsAndArrays() {
        let locator = TranscriptLineLocator(text: """
        # comment
        a = 1
        text = \"\"\"
        b = 2
        \"\"\"
        [store]
        "quoted.key" = { x = 1 }
        [[step]]
        hook = "x"
        [[step]]
        hook = "y"
        [policy.relay]
        trusted = []
        """)
        #expect(locator.line(of: ["a"]) == 2)
        #expect(locator.line(of: ["b"]) == nil)
        #expect(locator.line(of: ["store", "quoted.key"]) == 7)
        #expect(locator.line(of: ["store", "quoted.key", "x"]) == 7)
        #expect(locator.line(of: ["step", "#1", "hook"]) == 11)
        #expect(locator.line(of: ["step", "#1"]) == 10)
        #expect(locator.line(of: ["policy", "relay", "trusted"]) == 13)
        #expect(locator.line(of: ["policy", "relay", "other"]) == 12)
    }
}
