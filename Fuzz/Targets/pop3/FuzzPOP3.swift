// libFuzzer target: a POP3 client's byte stream as the server's codec reads it. Lines
// come out of LineFramer (bare LF accepted, as the POP3 session does), each goes through
// POP3CommandParser, and after an AUTH the following lines go through the shared SASL
// exchange. Checks besides "never crash": an error reply is one status line, and no
// login name a client can make the parser or SASL accept holds a control character.
import MailCore
import POP3

private func hasControl(_ text: String) -> Bool {
    text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
}

private func check(_ step: SASLExchange.Step) {
    if case .credentials(let credentials) = step {
        precondition(!hasControl(credentials.user), "SASL user with a control character")
        if case .plain(let authorizationID, _, _) = credentials {
            precondition(!hasControl(authorizationID), "SASL authorization id with a control character")
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPOP3(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var framer = LineFramer(maxLength: 512, acceptsBareLF: true)
    var exchange: SASLExchange?
    var start = 0
    while let line = framer.next(bytes, start: &start) {
        let content: [UInt8]
        switch line {
        case .line(let bytes), .bareLineFeed(let bytes): content = bytes
        case .tooLong(let prefix):
            precondition(prefix.count <= LineFramer.keptPrefix, "over-long line kept \(prefix.count) bytes")
            continue
        }
        precondition(content.count <= 512, "line of \(content.count) bytes from a 512-byte framer")
        if var current = exchange, !current.isFinished {
            let step = current.respond(content)
            check(step)
            exchange = current
            continue
        }
        let command: POP3Command
        do {
            command = try POP3CommandParser.parse(String(decoding: content, as: UTF8.self)[...])
        } catch {
            let wire = error.reply.wire
            precondition(!error.reply.isPositive, "a parse error with a positive reply")
            precondition(wire.utf8.filter { $0 == 10 }.count == 1 && wire.utf8.filter { $0 == 13 }.count == 1,
                         "error reply is not one line: \(wire.debugDescription)")
            continue
        }
        switch command {
        case .user(let name), .apop(let name, _):
            _ = LoginName.normalize(name)
        case .auth(let mechanism?, let initialResponse):
            guard let mechanism = SASLMechanism(named: mechanism) else { continue }
            let started = SASLExchange.start(mechanism, initialResponse: initialResponse, challenge: { "<1.2@example.test>" })
            check(started.step)
            exchange = started.exchange
        default:
            break
        }
    }
    return 0
}
