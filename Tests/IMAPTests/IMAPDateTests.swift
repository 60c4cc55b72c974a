import Testing
@testable import IMAP

@Suite struct IMAPDateTests {
    @Test func epochConversions() {
        #expect(IMAPDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(IMAPDate(year: 2000, month: 3, day: 1).daysSinceEpoch == 11017)
        #expect(IMAPDate(daysSinceEpoch: 11017) == IMAPDate(year: 2000, month: 3, day: 1))
        #expect(IMAPDate(daysSinceEpoch: -1) == IMAPDate(year: 1969, month: 12, day: 31))
        let dt = IMAPDateTime(date: IMAPDate(year: 1994, month: 2, day: 7), hour: 21, minute: 52, second: 25, zoneMinutes: -480)
        #expect(dt.epochSeconds == 760_686_745)
        #expect(IMAPDateTime(epochSeconds: 760_686_745).wire == " 8-Feb-1994 05:52:25 +0000")
        #expect(dt.wire == " 7-Feb-1994 21:52:25 -0800")
        #expect(IMAPDateTime(epochSeconds: 1_795_000_000).wire == "18-Nov-2026 11:06:40 +0000")
    }

    @Test func validity() {
        #expect(IMAPDate.isValid(year: 2024, month: 2, day: 29))
        #expect(!IMAPDate.isValid(year: 2023, month: 2, day: 29))
        #expect(!IMAPDate.isValid(year: 1900, month: 2, day: 29))
        #expect(!IMAPDate.isValid(year: 2023, month: 13, day: 1))
    }
}
