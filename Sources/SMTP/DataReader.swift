// The DATA phase decoder (RFC 5321 §4.1.4, §4.5.2): removes dot-stuffing and finds the
// end of the message. Only CRLF "." CRLF ends it; a bare CR or LF anywhere marks the
// message as refused (no SMTP smuggling). Memory is bounded by `maxSize`: past it the
// bytes are counted and dropped until the end, so the reply can still be 552 in step.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct DataReader: Sendable {
    public enum Problem: Sendable, Equatable {
        case bareLineEnding
        case lineTooLong
        case tooLarge
    }

    public let maxSize: Int
    public let maxLineLength: Int
    public private(set) var message: [UInt8] = []
    public private(set) var receivedSize = 0
    public private(set) var problem: Problem?

    private enum State { case lineStart, middle, carriageReturn, dot, dotCarriageReturn }
    private var state: State = .lineStart
    private var lineLength = 0

    public init(maxSize: Int, maxLineLength: Int, expectedSize: Int? = nil) {
        self.maxSize = maxSize
        self.maxLineLength = maxLineLength
        if let expectedSize, expectedSize > 0 { message.reserveCapacity(min(expectedSize, maxSize) + 512) }
    }

    /// Consumes bytes from `buffer[start...]`; returns true once the terminating
    /// CRLF.CRLF has been consumed (`start` then points just past it).
    public mutating func feed(_ buffer: [UInt8], start: inout Int) -> Bool {
        var index = start
        let end = buffer.count
        defer { start = index }
        while index < end {
            if state == .middle || (state == .lineStart && buffer[index] != 0x2E) {
                // Plain lines (CRLF-terminated, within the length limit, not starting with
                // a dot) pass through unchanged: copy all of them in one go. Anything else
                // stops the run and takes the byte-by-byte path below.
                let run = plainRun(buffer, from: index)
                if run.end > index {
                    appendRun(buffer, from: index, to: run.end)
                    index = run.end
                    state = run.state
                    lineLength = run.lineLength
                    continue
                }
            }
            let byte = buffer[index]
            index += 1
            switch state {
            case .lineStart:
                // The stuffing dot is not counted against the line limit (RFC 5321 §4.5.3.1.6).
                if byte == 0x2E { state = .dot; lineLength = 0 } else { content(byte) }
            case .dot:
                if byte == 0x0D { state = .dotCarriageReturn } else { content(byte) }
            case .dotCarriageReturn:
                if byte == 0x0A { return true }
                flag(.bareLineEnding)
                append(0x0D)
                content(byte)
            case .carriageReturn:
                if byte == 0x0A {
                    append(0x0D); append(0x0A)
                    if lineLength + 2 > maxLineLength { flag(.lineTooLong) }
                    lineLength = 0
                    state = .lineStart
                } else {
                    flag(.bareLineEnding)
                    append(0x0D)
                    content(byte)
                }
            case .middle:
                content(byte)
            }
        }
        return false
    }

    /// How far the plain content starting at `start` (at a line start without a dot, or
    /// inside a line) goes: to the end of the buffer, or to the first CR that does not end
    /// a short enough line with CRLF, the first bare LF, or the first line starting with
    /// a dot. Returns where it ends and the state and line length there.
    private func plainRun(_ buffer: [UInt8], from start: Int) -> (end: Int, state: State, lineLength: Int) {
        buffer.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            let end = raw.count
            var position = start
            var length = lineLength
            while position < end {
                let remaining = end - position
                let cr = memchr(base + position, 0x0D, remaining).map { base.distance(to: UnsafeRawPointer($0)) }
                let stop = cr ?? end
                if let found = memchr(base + position, 0x0A, stop - position) {
                    // A bare LF before the next CR: the slow path flags it.
                    let lf = base.distance(to: UnsafeRawPointer(found))
                    return (lf, .middle, length + (lf - position))
                }
                guard let cr else { return (end, .middle, length + remaining) }
                length += cr - position
                guard cr + 1 < end, raw[cr + 1] == 0x0A, length + 2 <= maxLineLength else {
                    return (cr, .middle, length)
                }
                position = cr + 2
                length = 0
                if position < end && raw[position] == 0x2E { return (position, .lineStart, 0) }
            }
            return (position, .lineStart, 0)
        }
    }

    /// A byte inside a line (or a bare CR/LF, which is flagged and kept from ending anything).
    private mutating func content(_ byte: UInt8) {
        switch byte {
        case 0x0D:
            state = .carriageReturn
        case 0x0A:
            flag(.bareLineEnding)
            append(byte)
            lineLength = 0
            state = .middle
        default:
            append(byte)
            lineLength += 1
            state = .middle
        }
    }

    private mutating func append(_ byte: UInt8) {
        receivedSize += 1
        if receivedSize > maxSize {
            if problem == nil || problem != .tooLarge { problem = .tooLarge }
            if !message.isEmpty { message = [] }
            return
        }
        message.append(byte)
    }

    private mutating func appendRun(_ buffer: [UInt8], from start: Int, to end: Int) {
        receivedSize += end - start
        if receivedSize > maxSize {
            problem = .tooLarge
            if !message.isEmpty { message = [] }
            return
        }
        message.append(contentsOf: buffer[start..<end])
    }

    private mutating func flag(_ found: Problem) {
        // Size wins over the others: it is the reply the client can act on.
        if problem == nil { problem = found }
    }
}

/// Collects BDAT chunks (RFC 3030): exact byte counts, no stuffing, bounded by
/// `maxSize`. The content gets the same checks as DATA's (no bare CR or LF, lines of at
/// most `maxLineLength` octets with CRLF), so both paths store the same kind of message.
public struct ChunkReader: Sendable {
    public let maxSize: Int
    public let maxLineLength: Int
    public private(set) var message: [UInt8] = []
    public private(set) var receivedSize = 0
    public var tooLarge: Bool { receivedSize > maxSize }
    /// The first problem found in the content (size is reported by `tooLarge`).
    public private(set) var problem: DataReader.Problem?
    private var remaining = 0
    private var lineLength = 0
    private var afterCR = false

    public init(maxSize: Int, maxLineLength: Int) {
        self.maxSize = maxSize
        self.maxLineLength = maxLineLength
    }

    public mutating func beginChunk(size: Int) { remaining = size }
    public var chunkComplete: Bool { remaining == 0 }

    /// Consumes up to the rest of the current chunk from `buffer[start...]`.
    public mutating func feed(_ buffer: [UInt8], start: inout Int) {
        let take = min(remaining, buffer.count - start)
        guard take > 0 else { return }
        receivedSize += take
        if problem == nil { check(buffer[start..<(start + take)]) }
        if receivedSize <= maxSize {
            message.append(contentsOf: buffer[start..<(start + take)])
        } else if !message.isEmpty {
            message = []
        }
        remaining -= take
        start += take
    }

    /// The last chunk is in: a message that does not end with CRLF gets one, so every
    /// reader of the stored message (POP3 sizes, IMAP, relaying) sees whole lines.
    public mutating func finish() {
        if afterCR { problem = problem ?? .bareLineEnding }
        if lineLength + 2 > maxLineLength { problem = problem ?? .lineTooLong }
        if problem == nil, !tooLarge, !message.isEmpty, message.last != 10 {
            message += [13, 10]
            receivedSize += 2
        }
    }

    private mutating func check(_ bytes: ArraySlice<UInt8>) {
        for byte in bytes {
            if afterCR {
                afterCR = false
                guard byte == 10 else { problem = .bareLineEnding; return }
                if lineLength + 2 > maxLineLength { problem = .lineTooLong; return }
                lineLength = 0
            } else if byte == 13 {
                afterCR = true
            } else if byte == 10 {
                problem = .bareLineEnding
                return
            } else {
                lineLength += 1
            }
        }
    }
}
