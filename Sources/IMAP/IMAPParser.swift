// The IMAP command parser: one complete command (an IMAPCommandFrame from the framer,
// or any byte string in tests) in, a TaggedCommand or an IMAPError carrying the tag
// and a BAD reason out. Recursive descent over bytes with the RFC 3501 §9 primitives;
// literals are read inline (the framer has already collected their bytes). Bounded
// by the Limits (nesting depth, items per list); never traps on any input.
import MailCore

public struct IMAPParser: Sendable {
    public var limits: Limits

    public init(limits: Limits = Limits()) { self.limits = limits }

    public func parse(_ frame: IMAPCommandFrame) throws(IMAPError) -> TaggedCommand {
        var cursor = IMAPCursor(frame.bytes, limits: limits)
        return try cursor.command()
    }

    public func parse(_ string: String) throws(IMAPError) -> TaggedCommand {
        try parse(IMAPCommandFrame(string))
    }
}

/// The byte cursor with the grammar's primitives; the commands are in extensions.
struct IMAPCursor {
    let bytes: [UInt8]
    var index = 0
    var tag: String?
    let limits: Limits
    var depth = 0

    init(_ bytes: [UInt8], limits: Limits) { self.bytes = bytes; self.limits = limits }

    // MARK: - basics

    func fail(_ text: String) -> IMAPError { IMAPError(tag: tag, text) }

    var atEnd: Bool { index >= bytes.count }
    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }
    func peek(is char: Character) -> Bool { peek() == char.asciiValue }

    mutating func expect(_ char: Character, _ what: String? = nil) throws(IMAPError) {
        guard let value = char.asciiValue, peek() == value else {
            throw fail("Expected \(what ?? "\"\(char)\"")\(found)")
        }
        index += 1
    }

    /// " near …" for error texts (printable, short).
    var found: String {
        guard index < bytes.count else { return " at end of command" }
        let sample = bytes[index..<min(bytes.count, index + 16)].map { $0 >= 0x20 && $0 < 0x7f ? $0 : UInt8(ascii: "?") }
        return " near \"\(String(decoding: sample, as: UTF8.self))\""
    }

    mutating func space() throws(IMAPError) { try expect(" ", "a space") }

    mutating func skip(_ char: Character) -> Bool {
        if peek(is: char) { index += 1; return true }
        return false
    }

    mutating func end() throws(IMAPError) {
        guard atEnd else { throw fail("Unexpected text after the command\(found)") }
    }

    mutating func enter() throws(IMAPError) {
        depth += 1
        guard depth <= limits.maxIMAPNesting else { throw fail("Too deeply nested (over \(limits.maxIMAPNesting) levels)") }
    }
    mutating func leave() { depth -= 1 }

    func checkCount(_ count: Int) throws(IMAPError) {
        guard count <= limits.maxIMAPItems else { throw fail("Too many items (over \(limits.maxIMAPItems))") }
    }

    // MARK: - atoms, numbers

    /// 1*ATOM-CHAR (empty: error).
    mutating func atomBytes(_ allowed: (UInt8) -> Bool = IMAPGrammar.isAtomChar) throws(IMAPError) -> ArraySlice<UInt8> {
        let start = index
        while index < bytes.count && allowed(bytes[index]) { index += 1 }
        guard index > start else { throw fail("Expected an atom\(found)") }
        return bytes[start..<index]
    }

    mutating func atom() throws(IMAPError) -> String { String(decoding: try atomBytes(), as: UTF8.self) }

    /// The next atom upper-cased, without consuming it.
    func peekKeyword() -> String {
        var end = index
        while end < bytes.count && IMAPGrammar.isAtomChar(bytes[end]) && end - index < 32 { end += 1 }
        return String(decoding: bytes[index..<end], as: UTF8.self).uppercased()
    }

    /// Consumes `word` (case-insensitive) if the next atom is exactly it (with `whole`
    /// false: if the input starts with it, as "BODY" in "BODY.PEEK[").
    mutating func keyword(_ word: String, whole: Bool = true) -> Bool {
        let length = word.utf8.count
        guard index + length <= bytes.count else { return false }
        var i = 0
        for char in word.utf8 {
            var byte = bytes[index + i]
            if byte >= 0x61 && byte <= 0x7a { byte -= 0x20 }
            guard byte == char else { return false }
            i += 1
        }
        if whole && index + length < bytes.count && IMAPGrammar.isAtomChar(bytes[index + length]) {
            return false
        }
        index += length
        return true
    }

    mutating func number() throws(IMAPError) -> UInt64 {
        let start = index
        var value: UInt64 = 0
        while let byte = peek(), byte >= 48 && byte <= 57 {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(UInt64(byte - 48))
            guard !o1 && !o2 else { throw fail("Number too large") }
            value = plus; index += 1
        }
        guard index > start else { throw fail("Expected a number\(found)") }
        return value
    }

    mutating func number32() throws(IMAPError) -> UInt32 {
        let value = try number()
        guard value <= UInt64(UInt32.max) else { throw fail("Number too large") }
        return UInt32(value)
    }

    mutating func nzNumber() throws(IMAPError) -> UInt32 {
        let value = try number32()
        guard value > 0 else { throw fail("Expected a non-zero number") }
        return value
    }

    /// mod-sequence-value: 1*DIGIT up to 2^63-1 (RFC 7162).
    mutating func modSequence() throws(IMAPError) -> UInt64 {
        let value = try number()
        guard value <= UInt64(Int64.max) else { throw fail("Mod-sequence too large") }
        return value
    }

    // MARK: - strings

    mutating func quoted() throws(IMAPError) -> [UInt8] {
        try expect("\"")
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else { throw fail("Unterminated quoted string") }
            index += 1
            switch byte {
            case UInt8(ascii: "\""): return result
            case UInt8(ascii: "\\"):
                guard let next = peek(), next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") else {
                    throw fail("Bad escape in quoted string")
                }
                result.append(next); index += 1
            case 0, 10, 13: throw fail("CR, LF or NUL in quoted string")
            default: result.append(byte)
            }
        }
    }

    /// `{n}`/`{n+}` CRLF and n bytes; with `allowBinary`, `~{n}` too (returns binary: true).
    mutating func literal(allowBinary: Bool = false) throws(IMAPError) -> (bytes: [UInt8], binary: Bool) {
        var binary = false
        if allowBinary && skip("~") { binary = true }
        try expect("{")
        let size = try number()
        _ = skip("+")
        try expect("}")
        guard index + 1 < bytes.count, bytes[index] == 13, bytes[index + 1] == 10 else {
            throw fail("Expected CRLF after a literal's size")
        }
        index += 2
        guard size <= UInt64(bytes.count - index) else { throw fail("Literal shorter than announced") }
        let data = Array(bytes[index..<(index + Int(size))])
        index += Int(size)
        if !binary && data.contains(0) { throw fail("NUL in a literal (use literal8)") }
        return (data, binary)
    }

    mutating func string() throws(IMAPError) -> [UInt8] {
        if peek(is: "\"") { return try quoted() }
        if peek(is: "{") { return try literal().bytes }
        throw fail("Expected a string\(found)")
    }

    mutating func astring() throws(IMAPError) -> [UInt8] {
        if peek(is: "\"") || peek(is: "{") { return try string() }
        return Array(try atomBytes(IMAPGrammar.isAStringChar))
    }

    mutating func astringText() throws(IMAPError) -> String { String(decoding: try astring(), as: UTF8.self) }

    /// An astring whose atom form may also hold list wildcards ("%", "*").
    mutating func loginText() throws(IMAPError) -> String {
        if peek(is: "\"") || peek(is: "{") { return String(decoding: try string(), as: UTF8.self) }
        return String(decoding: try atomBytes(IMAPGrammar.isListChar), as: UTF8.self)
    }

    mutating func nstring() throws(IMAPError) -> [UInt8]? {
        if keyword("NIL") { return nil }
        return try string()
    }

    mutating func mailbox() throws(IMAPError) -> MailboxName { MailboxName(try astring()) }

    /// list-mailbox: 1*list-char or a string.
    mutating func listMailbox() throws(IMAPError) -> [UInt8] {
        if peek(is: "\"") || peek(is: "{") { return try string() }
        return Array(try atomBytes(IMAPGrammar.isListChar))
    }

    // MARK: - sequence sets

    mutating func sequenceSet() throws(IMAPError) -> SequenceSet {
        if skip("$") { return .lastResult }
        var ranges: [SequenceRange] = []
        repeat {
            let first = try seqNumber()
            var last = first
            if skip(":") { last = try seqNumber() }
            ranges.append(SequenceRange(first, last))
            try checkCount(ranges.count)
        } while skip(",")
        return .ranges(ranges)
    }

    mutating func seqNumber() throws(IMAPError) -> UInt32? {
        if skip("*") { return nil }
        guard let byte = peek(), byte >= 48 && byte <= 57 else { throw fail("Expected a sequence set\(found)") }
        return try nzNumber()
    }

    /// Whether a sequence set starts here (digit, "*" or "$").
    func atSequenceSet() -> Bool {
        guard let byte = peek() else { return false }
        return (byte >= 48 && byte <= 57) || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "$")
    }

    // MARK: - flags

    /// flag: "\" atom or a keyword atom (`\*` is server-only and refused here). NIL is
    /// not taken as a keyword: `STORE 1 FLAGS (NIL)` is BAD, as Dovecot answers ("Flags
    /// list contains non-atoms"), instead of creating a keyword a client meant as "none".
    mutating func flag() throws(IMAPError) -> String {
        if skip("\\") { return "\\" + (try atom()) }
        let start = index
        let keyword = try atom()
        guard keyword.uppercased() != "NIL" else { index = start; throw fail("NIL is not a flag") }
        return keyword
    }

    mutating func flagList() throws(IMAPError) -> [String] {
        try expect("(", "a flag list")
        var flags: [String] = []
        if skip(")") { return flags }
        repeat {
            flags.append(try flag())
            try checkCount(flags.count)
        } while skip(" ")
        try expect(")")
        return flags
    }

    // MARK: - dates

    mutating func monthName() throws(IMAPError) -> Int {
        guard index + 3 <= bytes.count else { throw fail("Expected a month name") }
        let name = String(decoding: bytes[index..<(index + 3)], as: UTF8.self).uppercased()
        guard let month = IMAPDate.months.firstIndex(of: name) else { throw fail("Bad month \"\(name)\"") }
        index += 3
        return month + 1
    }

    mutating func digits(_ min: Int, _ max: Int) throws(IMAPError) -> Int {
        var value = 0, count = 0
        while count < max, let byte = peek(), byte >= 48 && byte <= 57 {
            value = value * 10 + Int(byte - 48); index += 1; count += 1
        }
        guard count >= min else { throw fail("Expected \(min) digit(s)\(found)") }
        return value
    }

    /// date: date-text or DQUOTE date-text DQUOTE; date-text = 1*2DIGIT "-" month "-" 4DIGIT.
    mutating func date() throws(IMAPError) -> IMAPDate {
        let quotedForm = skip("\"")
        let day = try digits(1, 2)
        try expect("-")
        let month = try monthName()
        try expect("-")
        let year = try digits(4, 4)
        if quotedForm { try expect("\"") }
        guard IMAPDate.isValid(year: year, month: month, day: day) else { throw fail("Invalid date") }
        return IMAPDate(year: year, month: month, day: day)
    }

    /// date-time: DQUOTE date-day-fixed "-" month "-" year SP time SP zone DQUOTE.
    mutating func dateTime() throws(IMAPError) -> IMAPDateTime {
        try expect("\"", "a date-time")
        _ = skip(" ")
        let day = try digits(1, 2)
        try expect("-")
        let month = try monthName()
        try expect("-")
        let year = try digits(4, 4)
        try space()
        let hour = try digits(2, 2); try expect(":")
        let minute = try digits(2, 2); try expect(":")
        let second = try digits(2, 2)
        try space()
        let sign: Int
        if skip("+") { sign = 1 } else if skip("-") { sign = -1 } else { throw fail("Expected a zone") }
        let zone = try digits(4, 4)
        try expect("\"")
        guard IMAPDate.isValid(year: year, month: month, day: day), hour < 24, minute < 60, second < 61,
              zone / 100 < 24, zone % 100 < 60 else { throw fail("Invalid date-time") }
        return IMAPDateTime(date: IMAPDate(year: year, month: month, day: day), hour: hour, minute: minute,
                            second: second, zoneMinutes: sign * (zone / 100 * 60 + zone % 100))
    }
}
