// IMAP dates: `date` ("1-Feb-1994", SEARCH) and `date-time` ("01-Feb-1994 21:52:25
// -0800", APPEND and INTERNALDATE), converted to and from epoch seconds without
// Foundation.

public struct IMAPDate: Sendable, Equatable, Hashable {
    public var year: Int, month: Int, day: Int   // month 1...12
    public init(year: Int, month: Int, day: Int) { self.year = year; self.month = month; self.day = day }

    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    /// Days since 1970-01-01 (proleptic Gregorian).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// Epoch seconds of this day's midnight in a zone `zoneMinutes` east of UTC.
    public func startEpoch(zoneMinutes: Int = 0) -> Double {
        Double(daysSinceEpoch * 86400 - zoneMinutes * 60)
    }

    /// The civil date of `daysSinceEpoch`.
    public init(daysSinceEpoch days: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (m <= 2 ? 1 : 0), month: m, day: d)
    }

    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1, year >= 1 && year <= 9999 else { return false }
        let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return day <= lengths[month - 1] + (month == 2 && leap ? 1 : 0)
    }
}

public struct IMAPDateTime: Sendable, Equatable, Hashable {
    public var date: IMAPDate
    public var hour: Int, minute: Int, second: Int
    /// Offset east of UTC in minutes (-0800 = -480).
    public var zoneMinutes: Int

    public init(date: IMAPDate, hour: Int, minute: Int, second: Int, zoneMinutes: Int) {
        self.date = date; self.hour = hour; self.minute = minute; self.second = second; self.zoneMinutes = zoneMinutes
    }

    public var epochSeconds: Double {
        date.startEpoch(zoneMinutes: zoneMinutes) + Double(hour * 3600 + minute * 60 + second)
    }

    /// The UTC date-time of `epoch` (whole seconds).
    public init(epochSeconds epoch: Double) {
        let seconds = Int(epoch.rounded(.down))
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        self.init(date: IMAPDate(daysSinceEpoch: days), hour: rest / 3600, minute: rest / 60 % 60,
                  second: rest % 60, zoneMinutes: 0)
    }

    /// `"dd-Mon-yyyy hh:mm:ss +zzzz"` with a space-padded day (RFC 3501 date-day-fixed), unquoted.
    public var wire: String {
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let day = date.day < 10 ? " \(date.day)" : "\(date.day)"
        let month = IMAPDate.months[date.month - 1]
        let monthName = month.prefix(1) + month.dropFirst().lowercased()
        var year = String(date.year)
        while year.count < 4 { year = "0" + year }
        let zone = abs(zoneMinutes)
        return "\(day)-\(monthName)-\(year) \(two(hour)):\(two(minute)):\(two(second)) "
            + (zoneMinutes < 0 ? "-" : "+") + two(zone / 60) + two(zone % 60)
    }
}
