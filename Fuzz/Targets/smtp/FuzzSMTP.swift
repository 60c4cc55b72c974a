// libFuzzer target: an SMTP client's byte stream as the server's codec reads it. The
// input is framed into command lines (LineFramer, as the server does), each line goes
// through SMTPCommandParser, and the bytes after DATA or BDAT go through DataReader or
// ChunkReader. Besides "never crash", it checks the codec's promises: an error reply is
// one line (a client byte cannot split it), a parsed name or address holds no control
// character, and a message DATA or BDAT accepts holds only CRLF line ends within the
// line limit and never more than the size limit.
import MailCore
import SMTP

private let maxLine = 1000
private let maxSize = 8192

private func hasControl(_ text: String) -> Bool {
    text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
}

/// Every CR is followed by LF, every LF preceded by CR, no line longer than `maxLine`.
private func checkLines(_ message: [UInt8], _ what: String) {
    var lineLength = 0
    for (index, byte) in message.enumerated() {
        lineLength += 1
        if byte == 13 { precondition(index + 1 < message.count && message[index + 1] == 10, "\(what): bare CR kept") }
        if byte == 10 {
            precondition(index > 0 && message[index - 1] == 13, "\(what): bare LF kept")
            precondition(lineLength <= maxLine, "\(what): line of \(lineLength) octets kept")
            lineLength = 0
        }
    }
}

/// DATA content as RFC 5321 §4.5.2 defines it, the slow and obvious way: the CRLF lines
/// before the "." line, each with one leading dot removed.
private func unstuffed(_ region: ArraySlice<UInt8>) -> [UInt8] {
    var out: [UInt8] = []
    var line: [UInt8] = []
    var previous: UInt8 = 0
    for byte in region {
        line.append(byte)
        if previous == 13 && byte == 10 {
            if line == [0x2E, 13, 10] { return out }
            out += line.first == 0x2E ? Array(line.dropFirst()) : line
            line = []
        }
        previous = byte
    }
    preconditionFailure("DATA ended without a \".\" line")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSMTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var framer = LineFramer(maxLength: 512, acceptsBareLF: false)
    var start = 0
    while let line = framer.next(bytes, start: &start) {
        guard case .line(let content) = line else { continue }
        let text = String(decoding: content, as: UTF8.self)
        let command: SMTPCommand
        do {
            command = try SMTPCommandParser.parse(text[...], postmasterDomain: "example.test")
        } catch {
            precondition(error.reply.lines.count == 1, "error reply split into \(error.reply.lines.count) lines")
            precondition(error.reply.code >= 400, "error with a positive code \(error.reply.code)")
            continue
        }
        switch command {
        case .helo(let name), .ehlo(let name):
            precondition(!hasControl(name), "HELO/EHLO name with a control character")
        case .mail(let path, let parameters):
            if let path { precondition(!hasControl(path.address), "MAIL path with a control character") }
            for (key, value) in parameters { precondition(!hasControl(key) && !hasControl(value), "MAIL parameter with a control") }
        case .rcpt(let path, let parameters):
            precondition(!hasControl(path.address), "RCPT path with a control character")
            for (key, value) in parameters { precondition(!hasControl(key) && !hasControl(value), "RCPT parameter with a control") }
        case .data:
            var reader = DataReader(maxSize: maxSize, maxLineLength: maxLine)
            let first = start
            let done = reader.feed(bytes, start: &start)
            precondition(reader.message.count <= maxSize, "DATA kept \(reader.message.count) > \(maxSize) bytes")
            if done && reader.problem == nil {
                checkLines(reader.message, "DATA")
                precondition(reader.message == unstuffed(bytes[first..<start]), "DATA content differs from RFC 5321 unstuffing")
            }
            if !done { return 0 }
        case .bdat(let chunkSize, let last):
            precondition(chunkSize >= 0, "negative BDAT size")
            var reader = ChunkReader(maxSize: maxSize, maxLineLength: maxLine)
            reader.beginChunk(size: chunkSize)
            reader.feed(bytes, start: &start)
            precondition(reader.message.count <= maxSize, "BDAT kept \(reader.message.count) > \(maxSize) bytes")
            if !reader.chunkComplete { return 0 }
            if last {
                reader.finish()
                if reader.problem == nil && !reader.tooLarge { checkLines(reader.message, "BDAT") }
            }
        default:
            break
        }
    }
    return 0
}
