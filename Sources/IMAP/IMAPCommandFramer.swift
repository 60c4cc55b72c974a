// Incremental, bounded framing of IMAP commands (RFC 3501 §2.2, §4.3 literals;
// RFC 7888 LITERAL+/LITERAL-). Bytes in, in any chunking; complete commands out,
// each as the exact bytes of its lines and literals (final CRLF removed) for
// IMAPParser. The framer tells the driver when a synchronizing literal `{n}` may be
// sent (`.continuationNeeded`: write "+ ..." now) and refuses literals over the
// limits before the client sends them. Memory stays within the Limits: a line over
// maxIMAPLine or a command over maxIMAPCommand is dropped as it arrives and reported
// once, tagged, when it ends, so the client and the server stay in step.
import MailCore

/// One complete command: its lines joined by CRLF, each literal `{n}`/`{n+}`/`~{n}`
/// CRLF followed by its n bytes, without the final CRLF.
public struct IMAPCommandFrame: Sendable, Equatable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }
}

public struct IMAPCommandFramer: Sendable {
    public enum Event: Sendable, Equatable {
        /// A whole command: hand it to `IMAPParser.parse(_:)`.
        case command(IMAPCommandFrame)
        /// A synchronizing literal is acceptable: send a continuation request ("+ Ready")
        /// now; the client sends the literal after it.
        case continuationNeeded
        /// A line read in line mode (see `expectLine()`), terminator removed.
        case line([UInt8])
        /// The command was refused (line or literal too long, command too big); answer
        /// with `error.response`. The framer is already in step for the next command.
        case error(IMAPError)
        /// A non-synchronizing literal the framer will not read (over
        /// `literalLimitBeforeLogin`): answer with `error.response` and close. The framer
        /// cannot get back in step without reading the literal, and a client that is not
        /// logged in gets no such service (RFC 7888 §4 lets the server close).
        case fatal(IMAPError)
    }

    public let limits: Limits
    /// LITERAL+ (true) or LITERAL- (false: a non-synchronizing literal over 4096 bytes
    /// is refused, RFC 7888 §4).
    public let literalPlus: Bool

    private enum State: Sendable {
        case line
        case literal(remaining: Int)
        case discardLiteral(remaining: Int)
    }
    private var state: State = .line
    private var input: [UInt8] = []
    private var inputStart = 0
    /// The command read so far (not kept once it is being discarded).
    private var frame: [UInt8] = []
    /// Where the current line starts in `frame`.
    private var lineStart = 0
    /// Bytes of the current line seen so far (counted while discarding too).
    private var lineLength = 0
    /// The last bytes of a discarded line, so its literal marker can still be read.
    private var tail: [UInt8] = []
    /// The first bytes of the command (tag and verb), kept while discarding.
    private var head: [UInt8] = []
    private var pendingError: IMAPError?
    private var discardingLine = false
    private var lineMode = false
    private var commandBytes = 0
    /// After `.fatal`: the stream cannot be followed, so nothing more is framed.
    private var stopped = false

    /// While set (the client has not logged in yet), every literal, APPEND's included, is
    /// refused above this size: a synchronizing one with a tagged BAD (no "+" is sent, so
    /// nothing follows), a non-synchronizing one with `.fatal`. So an anonymous client
    /// cannot make the server take in a message-sized literal before `BAD Log in first`.
    public var literalLimitBeforeLogin: Int?

    public init(limits: Limits = Limits(), literalPlus: Bool = true) {
        self.limits = limits
        self.literalPlus = literalPlus
    }

    /// Bytes buffered but not yet framed (for the driver's back-pressure).
    public var bufferedCount: Int { input.count - inputStart }

    /// Whether a command is partly read (for idle-timeout choices and clean shutdown).
    public var isMidCommand: Bool {
        if case .line = state { return lineLength > 0 || !frame.isEmpty || pendingError != nil }
        return true
    }

    /// Drops every byte received but not yet framed, and any partly read command: after
    /// STARTTLS nothing sent in the clear may be acted on (RFC 3207 §4.2 by analogy; the
    /// "STARTTLS command injection" class).
    public mutating func discardBuffered() {
        input.removeAll(keepingCapacity: false)
        inputStart = 0
        lineMode = false
        reset()
    }

    /// The next complete line is returned as `.line` without literal handling: the
    /// client's SASL response in AUTHENTICATE, or DONE ending IDLE.
    public mutating func expectLine() { lineMode = true }

    public mutating func feed(_ bytes: some Sequence<UInt8>) {
        guard !stopped else { return }
        if inputStart > 4096 && inputStart * 2 > input.count {
            input.removeFirst(inputStart); inputStart = 0
        }
        input.append(contentsOf: bytes)
    }

    /// The next event, or nil when more bytes are needed (always nil after `.fatal`).
    public mutating func next() -> Event? {
        guard !stopped else { return nil }
        while inputStart < input.count {
            switch state {
            case .literal(let remaining):
                let take = min(remaining, input.count - inputStart)
                frame.append(contentsOf: input[inputStart..<(inputStart + take)])
                inputStart += take
                state = remaining == take ? .line : .literal(remaining: remaining - take)
                if remaining == take { lineStart = frame.count; lineLength = 0 }
            case .discardLiteral(let remaining):
                let take = min(remaining, input.count - inputStart)
                inputStart += take
                state = remaining == take ? .line : .discardLiteral(remaining: remaining - take)
                if remaining == take { lineLength = 0; tail.removeAll() }
            case .line:
                if let event = scanLine() { return event }
            }
        }
        return nil
    }

    // MARK: - lines

    private mutating func scanLine() -> Event? {
        let available = input[inputStart...]
        let newline = available.firstIndex(of: 10)
        let end = newline ?? input.count
        let chunk = input[inputStart..<end]
        let maxLine = limits.maxIMAPLine
        if !discardingLine && lineLength + chunk.count + (newline == nil ? 0 : 1) > maxLine {
            discardingLine = true
            if head.isEmpty { head = Array(frame.prefix(64)) + Array(chunk.prefix(64)) }
            if pendingError == nil {
                pendingError = IMAPError(tag: nil, "Line too long (more than \(maxLine) bytes)")
            }
            keepTail(frame[lineStart...]); frame.removeSubrange(lineStart...)
        }
        if discardingLine {
            keepTail(chunk)
        } else {
            frame.append(contentsOf: chunk)
        }
        lineLength += chunk.count
        inputStart = end
        guard newline != nil else { return nil }
        inputStart += 1
        return lineEnded()
    }

    private mutating func keepTail(_ bytes: ArraySlice<UInt8>) {
        tail.append(contentsOf: bytes.suffix(32))
        if tail.count > 32 { tail.removeFirst(tail.count - 32) }
    }

    private mutating func lineEnded() -> Event? {
        // The line's bytes: in `frame[lineStart...]`, or only its tail if it was dropped.
        var line: ArraySlice<UInt8> = discardingLine ? tail[...] : frame[lineStart...]
        if line.last == 13 { line = line.dropLast() }
        if head.isEmpty && frame.count > 0 { head = Array(frame.prefix(64)) }

        if lineMode {
            lineMode = false
            let event: Event = discardingLine
                ? .error(IMAPError(tag: nil, "Line too long (more than \(limits.maxIMAPLine) bytes)"))
                : .line(Array(line))
            reset()
            return event
        }

        guard let marker = Self.literalMarker(line) else {
            if discardingLine || pendingError != nil {
                return finishWithError()
            }
            var command = frame
            if command.last == 13 { command.removeLast() }
            reset()
            return .command(IMAPCommandFrame(command))
        }
        // The line announces a literal.
        let tag = Self.tag(of: head)
        let append = Self.isAppend(head)
        let literalLimit = append ? limits.maxMessageSize : limits.maxIMAPLiteral
        let commandLimit = limits.maxIMAPCommand + (append ? limits.maxMessageSize : 0)
        commandBytes += lineLength + 1
        if let bound = literalLimitBeforeLogin, marker.size > bound {
            let error = IMAPError(tag: tag, "Literal too big before login (over \(bound) bytes)", code: .tooBig)
            reset()
            if marker.synchronizing { return .error(error) }
            stopped = true
            input.removeAll()
            inputStart = 0
            return .fatal(error)
        }
        if pendingError == nil {
            if marker.size > literalLimit {
                pendingError = append
                    ? IMAPError(tag: tag, "Message too big (over \(literalLimit) bytes)", status: .no, code: .tooBig)
                    : IMAPError(tag: tag, "Literal too big (over \(literalLimit) bytes)", code: .tooBig)
            } else if !marker.synchronizing && !literalPlus && marker.size > 4096 {
                pendingError = IMAPError(tag: tag, "Non-synchronizing literal over 4096 bytes (LITERAL-)", code: .tooBig)
            } else if commandBytes + marker.size > commandLimit {
                pendingError = IMAPError(tag: tag, "Command too long (over \(commandLimit) bytes)", code: .tooBig)
            }
        }
        if pendingError != nil || discardingLine {
            if marker.synchronizing {
                // The client waits for "+" and gets the refusal instead: nothing follows.
                return finishWithError()
            }
            if pendingError == nil { pendingError = IMAPError(tag: tag, "Line too long") }
            frame.removeAll(); lineStart = 0
            discardingLine = false; tail.removeAll()
            state = .discardLiteral(remaining: marker.size)
            if marker.size == 0 { state = .line; lineLength = 0 }
            return nil
        }
        if frame.last == 13 { frame.removeLast() }
        frame.append(contentsOf: [13, 10])
        commandBytes += marker.size
        lineStart = frame.count
        lineLength = 0
        if marker.size > 0 { state = .literal(remaining: marker.size) }
        return marker.synchronizing ? .continuationNeeded : nil
    }

    private mutating func finishWithError() -> Event {
        var error = pendingError ?? IMAPError(tag: nil, "Line too long")
        if error.tag == nil { error.tag = Self.tag(of: head) }
        reset()
        return .error(error)
    }

    private mutating func reset() {
        frame.removeAll(keepingCapacity: frame.capacity <= 64 * 1024)
        lineStart = 0; lineLength = 0; tail.removeAll(); head.removeAll()
        pendingError = nil; discardingLine = false; commandBytes = 0
        state = .line
    }

    // MARK: - reading the line's edges

    struct LiteralMarker { var size: Int; var synchronizing: Bool }

    /// `{123}`, `{123+}` (and `~{123}`) at the very end of `line`. A size too large for
    /// Int becomes Int.max (refused by the limits).
    static func literalMarker(_ line: ArraySlice<UInt8>) -> LiteralMarker? {
        guard line.last == UInt8(ascii: "}") else { return nil }
        var index = line.index(before: line.endIndex)
        var synchronizing = true
        if index > line.startIndex && line[index - 1] == UInt8(ascii: "+") {
            synchronizing = false; index -= 1
        }
        var digitsStart = index
        while digitsStart > line.startIndex && (48...57).contains(line[digitsStart - 1]) { digitsStart -= 1 }
        guard digitsStart < index, digitsStart > line.startIndex, line[digitsStart - 1] == UInt8(ascii: "{") else { return nil }
        var size = 0
        for digit in line[digitsStart..<index] {
            let (times, o1) = size.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(Int(digit - 48))
            if o1 || o2 { size = Int.max; break }
            size = plus
        }
        return LiteralMarker(size: size, synchronizing: synchronizing)
    }

    /// The tag at the start of a command, if it is a valid one.
    static func tag(of head: [UInt8]) -> String? {
        guard let end = head.firstIndex(of: 32), end > 0, end <= 64 else { return nil }
        let tag = head[..<end]
        guard tag.allSatisfy({ IMAPGrammar.isAStringChar($0) && $0 != UInt8(ascii: "+") }) else { return nil }
        return String(decoding: tag, as: UTF8.self)
    }

    /// Whether the command's verb is APPEND (its literals are messages: APPENDLIMIT applies).
    static func isAppend(_ head: [UInt8]) -> Bool {
        guard let space = head.firstIndex(of: 32) else { return false }
        let verb = head[(space + 1)...].prefix(7)
        return verb.count == 7 && String(decoding: verb, as: UTF8.self).uppercased() == "APPEND "
    }
}
