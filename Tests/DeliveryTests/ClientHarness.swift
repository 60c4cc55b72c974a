// Drives an SMTPClientSession like the network driver would: the test plays the
// server by feeding reply text, and reads what the client wrote and reported.
@testable import Delivery

struct ClientHarness {
    var session: SMTPClientSession
    var written = ""
    var results: [MessageResult] = []
    var failures: [(ConnectionFailure, [String])] = []
    var tlsStarts = 0
    var idles = 0
    var closed = false

    init(tls: TLSPolicy = .opportunistic, credentials: SMTPCredentials? = nil, authRequiresTLS: Bool = true,
         peer: String = "mx.example.net") {
        session = SMTPClientSession(configuration: SMTPClientConfiguration(
            heloName: "relay.example.test", peerName: peer, tls: tls, credentials: credentials,
            authRequiresTLS: authRequiresTLS))
    }

    mutating func server(_ text: String) { run(session.receive(Array(text.utf8))) }
    mutating func serverBytewise(_ text: String) { for byte in text.utf8 { run(session.receive([byte])) } }
    mutating func enqueue(_ message: OutboundMessage) { run(session.enqueue(message)) }
    mutating func quit() { run(session.quit()) }

    /// Returns and clears what the client wrote.
    mutating func take() -> String {
        defer { written = "" }
        return written
    }

    mutating func run(_ actions: [SMTPClientAction]) {
        for action in actions {
            switch action {
            case .send(let bytes): written += String(decoding: bytes, as: UTF8.self)
            case .startTLS: tlsStarts += 1
            case .messageFinished(let result): results.append(result)
            case .idle: idles += 1
            case .connectionFailed(let failure, let unsent): failures.append((failure, unsent))
            case .close: closed = true
            }
        }
    }

    /// Greeting and a plain EHLO answered with `extensions`.
    mutating func connect(extensions: [String] = []) {
        server("220 mx.example.net ESMTP\r\n")
        precondition(take() == "EHLO relay.example.test\r\n")
        let lines = ["mx.example.net"] + extensions
        server(lines.enumerated().map { "250\($0.offset == lines.count - 1 ? " " : "-")\($0.element)\r\n" }.joined())
    }
}

func message(_ id: String = "Q1", from sender: String = "alice@example.test", to recipients: [String] = ["bob@example.net"],
             body: String = "Subject: hi\r\n\r\nhello\r\n", envid: String? = nil, ret: String? = nil,
             notify: String? = nil, orcpt: String? = nil) -> OutboundMessage {
    OutboundMessage(id: id, sender: sender,
                    recipients: recipients.map { OutboundRecipient(address: $0, notify: notify, orcpt: orcpt) },
                    envid: envid, ret: ret, content: Array(body.utf8))
}
