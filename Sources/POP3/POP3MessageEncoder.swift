// The RETR/TOP content transformation (RFC 1939 §3, §7): stored message bytes in, in
// chunks of any size; wire bytes out. Line ends are normalised to CRLF (CRLF, bare LF
// and bare CR each end one line), a line starting with "." gets one more ".", TOP
// stops after the header, the blank line and n body lines, and `finish` ends the
// content with ".\r\n" (after a CRLF if the last line had none). Streaming, with a few
// flags of state: memory does not depend on the message size, and runs of ordinary
// bytes (CRLF lines included) are passed through as slices of the input, not copied
// byte by byte; line ends are found eight bytes at a time.
//
// Driver use: `var encoder = POP3MessageEncoder(bodyLines: transfer.bodyLines)`; for
// each chunk `encoder.encode(chunk) { buffer.writeBytes($0) }` (stop reading early
// once `isComplete`); then `encoder.finish { buffer.writeBytes($0) }`.

public struct POP3MessageEncoder: Sendable {
    /// TOP's line count; nil for RETR (whole message).
    public let bodyLines: Int?
    /// TOP has produced all the lines it wants: further input is ignored.
    public private(set) var isComplete = false
    public private(set) var isFinished = false

    private var atLineStart = true
    /// The previous byte was a CR (already written as CRLF): a LF right after it belongs to it.
    private var skipLineFeed = false
    private var inBody = false
    private var bodyLinesLeft: Int

    static let cr: UInt8 = 0x0D
    static let lf: UInt8 = 0x0A
    static let dot: UInt8 = 0x2E
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let terminator: [UInt8] = [0x2E, 0x0D, 0x0A]
    static let dotByte: [UInt8] = [0x2E]

    public init(bodyLines: Int? = nil) {
        precondition((bodyLines ?? 0) >= 0, "TOP line count is never negative")
        self.bodyLines = bodyLines
        self.bodyLinesLeft = bodyLines ?? 0
    }

    /// Encodes one chunk; `emit` receives the output in pieces (valid only during the call).
    /// A CRLF inside the chunk stays part of the run around it, so a chunk of ordinary
    /// CRLF lines is emitted as one piece; pieces break only where the output differs
    /// from the input (a "." added, a bare CR or LF written as CRLF, a LF dropped).
    public mutating func encode(_ chunk: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) -> Void) {
        precondition(!isFinished, "encode after finish")
        guard !isComplete else { return }
        let count = chunk.count
        var runStart = 0
        var index = 0
        if skipLineFeed && count > 0 {
            skipLineFeed = false
            if chunk[0] == Self.lf {
                index = 1
                runStart = 1
            }
        }
        while index < count {
            let byte = chunk[index]
            if byte == Self.cr || byte == Self.lf {
                let wasEmpty = atLineStart
                atLineStart = true
                if byte == Self.cr && index + 1 < count && chunk[index + 1] == Self.lf {
                    index += 2  // CRLF: already what the wire wants
                } else {
                    // A bare LF or CR becomes CRLF; a CR ending the chunk may have its LF
                    // at the start of the next one.
                    if runStart < index { emit(UnsafeRawBufferPointer(rebasing: chunk[runStart..<index])) }
                    Self.crlf.withUnsafeBytes(emit)
                    skipLineFeed = byte == Self.cr && index + 1 == count
                    index += 1
                    runStart = index
                }
                if lineEnded(empty: wasEmpty) {
                    if runStart < index { emit(UnsafeRawBufferPointer(rebasing: chunk[runStart..<index])) }
                    isComplete = true
                    return
                }
                continue
            }
            if atLineStart {
                atLineStart = false
                if byte == Self.dot {
                    if runStart < index { emit(UnsafeRawBufferPointer(rebasing: chunk[runStart..<index])) }
                    Self.dotByte.withUnsafeBytes(emit)
                    runStart = index  // the line's own "." follows the added one
                }
            }
            index = Self.lineEnd(in: chunk, from: index + 1)
        }
        if runStart < count { emit(UnsafeRawBufferPointer(rebasing: chunk[runStart..<count])) }
    }

    /// The index of the first CR or LF at or after `start`, or `chunk.count`: eight bytes
    /// at a time, then byte by byte within the word that has one.
    @inline(__always)
    static func lineEnd(in chunk: UnsafeRawBufferPointer, from start: Int) -> Int {
        let count = chunk.count
        var index = start
        while index + 8 <= count {
            let word = chunk.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            if hasLineBreak(word) { break }
            index += 8
        }
        while index < count {
            let byte = chunk[index]
            if byte == cr || byte == lf { return index }
            index += 1
        }
        return count
    }

    /// Whether any byte of `word` is a CR or a LF (exact: the zero-byte test below has
    /// no false positives for "some byte is zero", only for which one).
    @inline(__always)
    static func hasLineBreak(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let lfs = word ^ 0x0A0A_0A0A_0A0A_0A0A
        let crs = word ^ 0x0D0D_0D0D_0D0D_0D0D
        return ((lfs &- ones) & ~lfs | (crs &- ones) & ~crs) & highs != 0
    }

    /// Ends the content: a CRLF if the last line lacks one, then ".\r\n".
    public mutating func finish(_ emit: (UnsafeRawBufferPointer) -> Void) {
        precondition(!isFinished, "finish called twice")
        isFinished = true
        if !atLineStart { Self.crlf.withUnsafeBytes(emit) }
        Self.terminator.withUnsafeBytes(emit)
    }

    /// Returns true when TOP has all its lines.
    private mutating func lineEnded(empty: Bool) -> Bool {
        guard bodyLines != nil else { return false }
        if inBody {
            bodyLinesLeft -= 1
            return bodyLinesLeft <= 0
        }
        if empty {
            inBody = true
            return bodyLinesLeft == 0
        }
        return false
    }

    // MARK: conveniences

    public mutating func encode(_ chunk: [UInt8], into output: inout [UInt8]) {
        chunk.withUnsafeBytes { raw in encode(raw) { output.append(contentsOf: $0) } }
    }

    public mutating func finish(into output: inout [UInt8]) {
        finish { output.append(contentsOf: $0) }
    }

    /// The whole wire content of a message in one go (tests, small messages).
    public static func encode(_ message: [UInt8], bodyLines: Int? = nil) -> [UInt8] {
        var encoder = POP3MessageEncoder(bodyLines: bodyLines)
        var output: [UInt8] = []
        output.reserveCapacity(message.count + message.count / 16 + 5)
        encoder.encode(message, into: &output)
        encoder.finish(into: &output)
        return output
    }

    /// The size a message has for LIST, STAT and RETR's "+OK n octets": its bytes after
    /// CRLF normalisation, including the CRLF `finish` adds to an unterminated last line,
    /// without byte-stuffing and without the final "." line.
    public static func normalizedSize(of message: [UInt8]) -> Int {
        var counter = POP3MessageSizeCounter()
        message.withUnsafeBytes { counter.count($0) }
        return counter.size
    }
}

/// `POP3MessageEncoder.normalizedSize(of:)` for a message read in chunks.
public struct POP3MessageSizeCounter: Sendable {
    private var counted = 0
    private var atLineStart = true
    private var skipLineFeed = false

    public init() {}

    public mutating func count(_ chunk: UnsafeRawBufferPointer) {
        for byte in chunk {
            if skipLineFeed {
                skipLineFeed = false
                if byte == POP3MessageEncoder.lf { continue }
            }
            if byte == POP3MessageEncoder.cr || byte == POP3MessageEncoder.lf {
                counted += 2
                atLineStart = true
                skipLineFeed = byte == POP3MessageEncoder.cr
            } else {
                counted += 1
                atLineStart = false
            }
        }
    }

    public mutating func count(_ chunk: [UInt8]) {
        chunk.withUnsafeBytes { count($0) }
    }

    /// The normalised size of everything counted so far, as if the message ended here.
    public var size: Int { atLineStart ? counted : counted + 2 }
}
