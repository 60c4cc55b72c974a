// libFuzzer target: an IMAP client's byte stream through IMAPCommandFramer (fed in
// chunks of a size the input picks, so every split point of a line or literal is
// tried) and each framed command through IMAPParser; the answer to every command is
// encoded as the server would send it. Checks besides "never crash": no frame exceeds
// the command limit, and the tagged answer (OK, or the parser's BAD) is exactly one
// CRLF-terminated line, whatever tag and text the client chose.
import IMAP
import MailCore

private let limits: Limits = {
    var limits = Limits()
    // Small limits, so that short inputs reach every bound.
    limits.maxIMAPLine = 1024
    limits.maxIMAPLiteral = 2048
    limits.maxIMAPCommand = 4096
    limits.maxIMAPNesting = 8
    limits.maxIMAPItems = 64
    return limits
}()

private func checkOneLine(_ response: IMAPResponse) {
    let wire = IMAPEncoder().encode(response)
    precondition(wire.count >= 2 && wire[wire.count - 2] == 13 && wire[wire.count - 1] == 10, "answer without CRLF")
    precondition(wire.filter({ $0 == 10 }).count == 1 && wire.filter({ $0 == 13 }).count == 1,
                 "answer is not one line: \(String(decoding: wire, as: UTF8.self).debugDescription)")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIMAP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Byte 0: LITERAL+ or LITERAL-, and whether the client is logged in. Byte 1: chunk size.
    var framer = IMAPCommandFramer(limits: limits, literalPlus: bytes[0] & 1 == 0)
    if bytes[0] & 2 != 0 { framer.literalLimitBeforeLogin = 64 }
    let chunk = Int(bytes[1]) + 1
    let parser = IMAPParser(limits: limits)
    var offset = 2
    while offset < bytes.count {
        let end = min(bytes.count, offset + chunk)
        framer.feed(bytes[offset..<end])
        offset = end
        while let event = framer.next() {
            switch event {
            case .command(let frame):
                precondition(frame.bytes.count <= limits.maxIMAPCommand, "frame of \(frame.bytes.count) bytes")
                do {
                    let command = try parser.parse(frame)
                    checkOneLine(.tagged(tag: command.tag, status: .ok, code: nil, text: "done"))
                    switch command.command {
                    case .authenticate, .idle: framer.expectLine()
                    default: break
                    }
                } catch {
                    checkOneLine(error.response)
                }
            case .error(let error):
                checkOneLine(error.response)
            case .fatal(let error):
                checkOneLine(error.response)
                return 0
            case .line(let line):
                precondition(line.count <= limits.maxIMAPLine, "line of \(line.count) bytes")
            case .continuationNeeded:
                break
            }
        }
    }
    return 0
}
