import Testing
@testable import MailCore

@Suite struct ConfigValuesTests {
    @Test func durations() {
        #expect(ConfigValues.duration("90s") == .seconds(90))
        #expect(ConfigValues.duration("1h30m") == .seconds(5400))
        #expect(ConfigValues.duration("24h") == .seconds(86400))
        #expect(ConfigValues.duration("soon") == nil)
        #expect(ConfigValues.duration("5x") == nil)
    }

    @Test func sizes() {
        #expect(ConfigValues.size("10MB") == 10_485_760)
        #expect(ConfigValues.size("2GB") == 2_147_483_648)
        #expect(ConfigValues.size("1234") == 1234)
        #expect(ConfigValues.size("ten") == nil)
    }
}
