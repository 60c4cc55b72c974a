// Sequence sets (RFC 3501 §9 sequence-set, RFC 5182 "$"): ranges of message
// sequence numbers or UIDs where `*` stands for the largest one in the mailbox. The
// parser keeps `*` symbolic; the session resolves it against the mailbox.

public struct SequenceRange: Sendable, Equatable, Hashable {
    /// nil stands for `*`.
    public var first: UInt32?
    public var last: UInt32?
    public init(_ first: UInt32?, _ last: UInt32?) { self.first = first; self.last = last }
    public init(_ single: UInt32?) { self.first = single; self.last = single }

    /// The inclusive range once `*` is replaced by `star` (ends may be given reversed: 4:2 = 2:4).
    public func resolved(star: UInt32) -> ClosedRange<UInt32> {
        let a = first ?? star, b = last ?? star
        return min(a, b)...max(a, b)
    }
}

public enum SequenceSet: Sendable, Equatable, Hashable {
    case ranges([SequenceRange])
    /// `$`: the result saved by a previous SEARCH RETURN (SAVE) (RFC 5182).
    case lastResult

    public init(_ ranges: [SequenceRange]) { self = .ranges(ranges) }

    /// Whether `number` is in the set when `*` means `star` (false for `$`).
    public func contains(_ number: UInt32, star: UInt32) -> Bool {
        guard case .ranges(let ranges) = self else { return false }
        return ranges.contains { $0.resolved(star: star).contains(number) }
    }

    /// A compact set (runs joined into ranges) for sorted or unsorted numbers, as sent
    /// in COPYUID/APPENDUID/VANISHED/MODIFIED: 1:3,7,9:10.
    public static func compact(_ numbers: [UInt32]) -> SequenceSet {
        let sorted = Array(Set(numbers)).sorted()
        var ranges: [SequenceRange] = []
        for number in sorted {
            if let last = ranges.last, let end = last.last, end &+ 1 == number, end != UInt32.max {
                ranges[ranges.count - 1].last = number
            } else {
                ranges.append(SequenceRange(number))
            }
        }
        return .ranges(ranges)
    }

    /// Wire form: "1:3,7,9:*" or "$".
    public var wire: String {
        switch self {
        case .lastResult: return "$"
        case .ranges(let ranges):
            return ranges.map { range -> String in
                let a = range.first.map(String.init) ?? "*"
                if range.first == range.last { return a }
                return a + ":" + (range.last.map(String.init) ?? "*")
            }.joined(separator: ",")
        }
    }

    /// A set listing `numbers` in the order given, runs of consecutive ascending numbers
    /// joined (COPYUID's destination must pair with the sorted source, RFC 4315 §3).
    public static func ordered(_ numbers: [UInt32]) -> SequenceSet {
        var ranges: [SequenceRange] = []
        for number in numbers {
            if let last = ranges.last, let end = last.last, end != UInt32.max, end &+ 1 == number {
                ranges[ranges.count - 1].last = number
            } else {
                ranges.append(SequenceRange(number))
            }
        }
        return .ranges(ranges)
    }
}
