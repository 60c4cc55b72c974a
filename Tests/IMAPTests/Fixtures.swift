// Test helpers: parse a command whole and through the framer one byte at a time, and
// check that both give the same result.
import MailCore
@testable import IMAP

enum Fixtures {
    static let parser = IMAPParser()

    /// Frames `input` (CRLF appended) through a framer fed in chunks of `chunk` bytes,
    /// collecting the events.
    static func frame(_ input: String, chunk: Int, limits: Limits = Limits(), literalPlus: Bool = true) -> [IMAPCommandFramer.Event] {
        frame(Array(input.utf8), chunk: chunk, limits: limits, literalPlus: literalPlus)
    }

    static func frame(_ bytes: [UInt8], chunk: Int, limits: Limits = Limits(), literalPlus: Bool = true) -> [IMAPCommandFramer.Event] {
        var framer = IMAPCommandFramer(limits: limits, literalPlus: literalPlus)
        var events: [IMAPCommandFramer.Event] = []
        var index = 0
        while index < bytes.count {
            framer.feed(bytes[index..<min(bytes.count, index + chunk)])
            index += chunk
            while let event = framer.next() { events.append(event) }
        }
        return events
    }

    /// Parses `line` (no final CRLF) directly, and by framing it whole and byte by byte;
    /// all three must agree.
    static func parse(_ line: String) throws(IMAPError) -> TaggedCommand {
        let direct = Result { () throws(IMAPError) -> TaggedCommand in try parser.parse(line) }
        for chunk in [1, 7, line.utf8.count + 2] {
            let frames = frame(line + "\r\n", chunk: chunk).compactMap { event -> IMAPCommandFrame? in
                if case .command(let frame) = event { return frame }
                return nil
            }
            precondition(frames.count == 1, "framer gave \(frames.count) commands for \(line)")
            let framed = Result { () throws(IMAPError) -> TaggedCommand in try parser.parse(frames[0]) }
            precondition(framed == direct, "framed (chunk \(chunk)) and direct parses differ for \(line)")
        }
        return try direct.get()
    }

    static func command(_ line: String) throws(IMAPError) -> IMAPCommand { try parse(line).command }
}

