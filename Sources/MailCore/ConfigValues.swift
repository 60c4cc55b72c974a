import Foundation

// Human-written config values: durations ("90s", "1h", "1h30m") and sizes ("10MB").

public enum ConfigValues {
    /// Parses "90s", "5m", "1h", "2d", "1h30m", "250ms" or a bare number of seconds.
    public static func duration(_ text: String) -> Duration? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        if text.isEmpty { return nil }
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        var total: Duration = .zero
        var number = ""
        var unit = ""
        var sawPart = false
        func flush() -> Bool {
            guard let value = Int(number), value >= 0 else { return false }
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86400)
            case "w": total += .seconds(value * 604800)
            default: return false
            }
            number = ""; unit = ""; sawPart = true
            return true
        }
        for char in text {
            if char.isNumber {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(char)
            } else if char.isLetter {
                guard !number.isEmpty else { return nil }
                unit.append(char)
            } else { return nil }
        }
        guard flush(), sawPart else { return nil }
        return total
    }

    /// Parses "10485760", "10MB", "512KB", "2GB", "10M", "1.5GB" (1 KB = 1024 bytes).
    public static func size(_ text: String) -> Int64? {
        let text = text.trimmingCharacters(in: .whitespaces).uppercased()
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(digits), value >= 0 else { return nil }
        let multiplier: Double
        switch unit {
        case "", "B": multiplier = 1
        case "K", "KB", "KIB": multiplier = 1024
        case "M", "MB", "MIB": multiplier = 1024 * 1024
        case "G", "GB", "GIB": multiplier = 1024 * 1024 * 1024
        case "T", "TB", "TIB": multiplier = 1024 * 1024 * 1024 * 1024
        default: return nil
        }
        let bytes = value * multiplier
        guard bytes < Double(Int64.max) else { return nil }
        return Int64(bytes)
    }

    /// Formats a duration the way `duration(_:)` reads it ("1h", "90s").
    public static func format(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds % 86400 == 0 && seconds > 0 { return "\(seconds / 86400)d" }
        if seconds % 3600 == 0 && seconds > 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 && seconds > 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}

extension Duration {
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
