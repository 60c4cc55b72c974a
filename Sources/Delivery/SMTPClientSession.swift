// The SMTP client for one connection (RFC 5321, 3207, 2920, 4954, 1870, 6152, 6531,
// 3461) as an I/O-free state machine: server bytes and TLS outcomes in, actions out.
// It delivers any number of messages over the connection (reuse): greeting → EHLO
// (HELO on 5xx) → STARTTLS → EHLO → AUTH → per message MAIL/RCPT…/DATA (pipelined
// when offered) → results → next message or QUIT. Replies are matched to commands
// strictly in order through the `expected` queue.

public struct SMTPClientSession: Sendable {
    public let configuration: SMTPClientConfiguration

    /// What the next reply answers, with the command text for transcripts.
    enum Expect: Equatable {
        case greeting, ehlo, helo, startTLS
        case authPlain, authLoginUser, authLoginPassword, authResult
        case rset, mail, rcpt(Int), data, dataEnd, quit
    }

    enum Phase: Equatable {
        /// Greeting, EHLO, STARTTLS, AUTH in progress.
        case handshake
        /// Waiting for the driver's TLS handshake.
        case tls
        /// Between messages.
        case ready
        case transaction
        case quitting
        case closed
    }

    struct Transaction {
        var message: OutboundMessage
        var results: [RecipientResult?]
        var accepted: [Int] = []
        /// MAIL was refused (or DATA is not going to carry the message): remaining replies
        /// of the pipelined group are read and ignored.
        var abandoned = false
        var dataSent = false
    }

    var reader: ReplyReader
    var expected: [(Expect, String)] = []
    var phase: Phase = .handshake
    public internal(set) var capabilities = ServerCapabilities()
    public internal(set) var tlsActive: Bool
    var heloUsed = false
    var queue: [OutboundMessage] = []
    var transaction: Transaction?
    var needsReset = false
    var quitRequested = false
    var idleReported = false

    public init(configuration: SMTPClientConfiguration) {
        self.configuration = configuration
        self.tlsActive = configuration.tlsActive
        self.reader = ReplyReader(maxLineLength: configuration.maxReplyLineLength,
                                  maxLines: configuration.maxReplyLines)
        expected = [(.greeting, "")]
    }

    var peer: String { DeliveryTexts.peer(configuration.peerName) }

    public var isClosed: Bool { phase == .closed }

    /// How long to wait for the next reply (RFC 5321 §4.5.3.2), nil when none is awaited.
    public var replyTimeout: Duration? {
        guard let next = expected.first?.0 else { return nil }
        switch next {
        case .data: return .seconds(120)
        case .dataEnd: return .seconds(600)
        default: return .seconds(300)
        }
    }

    // MARK: events from the driver

    /// Hands over a message; it is started as soon as the connection is ready.
    public mutating func enqueue(_ message: OutboundMessage) -> [SMTPClientAction] {
        guard phase != .closed && !quitRequested else {
            return [.connectionFailed(closedFailure(), unsent: [message.id])]
        }
        queue.append(message)
        var actions: [SMTPClientAction] = []
        if phase == .ready { startNext(&actions) }
        return actions
    }

    /// No more messages: QUIT once the current one is done.
    public mutating func quit() -> [SMTPClientAction] {
        guard phase != .closed else { return [] }
        quitRequested = true
        var actions: [SMTPClientAction] = []
        switch phase {
        case .ready: sendQuit(&actions)
        case .handshake, .tls:
            // Nothing started yet: give the queued messages back and leave.
            let unsent = queue.map(\.id)
            queue = []
            if !unsent.isEmpty { actions.append(.connectionFailed(closedFailure(), unsent: unsent)) }
            phase = .closed
            actions.append(.close)
        default: break
        }
        return actions
    }

    public mutating func receive(_ bytes: [UInt8]) -> [SMTPClientAction] {
        // During the handshake nothing from the server is a reply (see STARTTLS below).
        guard phase != .closed && phase != .tls else { return [] }
        reader.feed(bytes)
        var actions: [SMTPClientAction] = []
        while phase != .closed && phase != .tls {
            let reply: ServerReply
            do {
                guard let next = try reader.next() else { break }
                reply = next
            } catch {
                fail(.protocolError, DeliveryTexts.malformedReply(peer, Self.describe(error)), "4.5.0", nil, &actions)
                break
            }
            guard !expected.isEmpty else {
                if reply.code == 421 {
                    fail(.serviceClosing, DeliveryTexts.transcript(stage: "Connected to \(peer) but it closed the connection.",
                                                                  peer: peer, command: nil, reply: reply),
                         reply.enhancedStatus, reply, &actions)
                } else {
                    fail(.protocolError, DeliveryTexts.malformedReply(peer, "unexpected reply \(reply.code)"), "4.5.0",
                         reply, &actions)
                }
                break
            }
            let (expect, command) = expected.removeFirst()
            handle(reply, to: expect, command: command, &actions)
        }
        return actions
    }

    public mutating func tlsStarted() -> [SMTPClientAction] {
        guard phase == .tls else { return [] }
        tlsActive = true
        // RFC 3207 §4.2: forget what we learned in clear and ask again.
        capabilities = ServerCapabilities()
        phase = .handshake
        var actions: [SMTPClientAction] = []
        sendCommand("EHLO \(configuration.heloName)", expect: .ehlo, &actions)
        return actions
    }

    public mutating func tlsFailed(_ reason: String) -> [SMTPClientAction] {
        guard phase == .tls else { return [] }
        var actions: [SMTPClientAction] = []
        var failure = ConnectionFailure(kind: .tlsFailed, text: DeliveryTexts.tlsFailed(reason), enhancedStatus: "4.7.0",
                                        reply: nil, isPermanent: false, retryWithoutTLS: false)
        failure.retryWithoutTLS = configuration.tls == .opportunistic
        fail(failure, &actions)
        return actions
    }

    /// The server closed the connection (or a read/write failed).
    public mutating func connectionClosed() -> [SMTPClientAction] {
        guard phase != .closed else { return [] }
        var actions: [SMTPClientAction] = []
        if phase == .quitting || (phase == .ready && queue.isEmpty && expected.isEmpty) {
            phase = .closed
            return actions
        }
        fail(.connectionLost, DeliveryTexts.connectionDied(peer), "4.4.2", nil, &actions, closeAction: false)
        return actions
    }

    /// `replyTimeout` passed without a reply.
    public mutating func timedOut() -> [SMTPClientAction] {
        guard phase != .closed else { return [] }
        var actions: [SMTPClientAction] = []
        if phase == .quitting {
            phase = .closed
            return [.close]
        }
        fail(.timedOut, DeliveryTexts.timedOut(peer), "4.4.2", nil, &actions)
        return actions
    }

    // MARK: replies

    mutating func handle(_ reply: ServerReply, to expect: Expect, command: String, _ actions: inout [SMTPClientAction]) {
        if reply.code == 421 && expect != .quit {
            // The server is going away, whatever it was answering.
            serviceClosing(reply, expect: expect, command: command, &actions)
            return
        }
        switch expect {
        case .greeting, .ehlo, .helo, .startTLS, .authPlain, .authLoginUser, .authLoginPassword, .authResult:
            handshakeReply(reply, to: expect, command: command, &actions)
        case .rset:
            if reply.isPositive { needsReset = false; continueAfterReset(&actions) } else {
                fail(.protocolError, DeliveryTexts.transcript(stage: "Connected to \(peer) but RSET failed.", peer: peer,
                                                              command: command, reply: reply),
                     reply.enhancedStatus, reply, &actions)
            }
        case .mail: mailReply(reply, command: command, &actions)
        case .rcpt(let index): rcptReply(reply, index: index, command: command, &actions)
        case .data: dataReply(reply, command: command, &actions)
        case .dataEnd: dataEndReply(reply, &actions)
        case .quit:
            phase = .closed
            actions.append(.close)
        }
    }

    // MARK: shared helpers

    mutating func sendCommand(_ text: String, expect: Expect, transcript: String? = nil, _ actions: inout [SMTPClientAction]) {
        expected.append((expect, transcript ?? text))
        actions.append(.send(ClientCommand.line(text)))
    }

    mutating func sendQuit(_ actions: inout [SMTPClientAction]) {
        phase = .quitting
        sendCommand("QUIT", expect: .quit, &actions)
    }

    func closedFailure() -> ConnectionFailure {
        ConnectionFailure(kind: .connectionLost, text: DeliveryTexts.connectionDied(peer), enhancedStatus: "4.4.2",
                          reply: nil, isPermanent: false, retryWithoutTLS: false)
    }

    mutating func fail(_ kind: ConnectionFailure.Kind, _ text: String, _ status: String, _ reply: ServerReply?,
                       _ actions: inout [SMTPClientAction], permanent: Bool = false, closeAction: Bool = true) {
        fail(ConnectionFailure(kind: kind, text: text, enhancedStatus: status, reply: reply,
                               isPermanent: permanent, retryWithoutTLS: false), &actions, closeAction: closeAction)
    }

    /// The connection is unusable: the message in flight gets deferred results for its
    /// open recipients, queued messages are given back, and the connection is closed.
    mutating func fail(_ failure: ConnectionFailure, _ actions: inout [SMTPClientAction], closeAction: Bool = true) {
        if var current = transaction {
            for index in current.results.indices where current.results[index] == nil {
                current.results[index] = RecipientResult(
                    address: current.message.recipients[index].address, status: failure.isPermanent ? .failed : .deferred,
                    enhancedStatus: failure.enhancedStatus, reply: failure.reply, text: failure.text)
            }
            actions.append(.messageFinished(MessageResult(messageID: current.message.id,
                                                          recipients: current.results.map { $0! },
                                                          connectionFailure: failure,
                                                          remoteSupportsDSN: capabilities.dsn)))
            transaction = nil
        }
        let unsent = queue.map(\.id)
        queue = []
        expected = []
        phase = .closed
        actions.append(.connectionFailed(failure, unsent: unsent))
        if closeAction { actions.append(.close) }
    }

    mutating func serviceClosing(_ reply: ServerReply, expect: Expect, command: String, _ actions: inout [SMTPClientAction]) {
        let text = DeliveryTexts.transcript(stage: "Connected to \(peer) but it closed the connection.", peer: peer,
                                            command: command.isEmpty ? nil : command, reply: reply)
        fail(ConnectionFailure(kind: expect == .greeting ? .greeting : .serviceClosing, text: text,
                               enhancedStatus: reply.enhancedStatus, reply: reply, isPermanent: false,
                               retryWithoutTLS: false), &actions)
    }

    static func describe(_ error: ReplyReader.Failure) -> String {
        switch error {
        case .lineTooLong: "line too long"
        case .tooManyLines: "too many lines"
        case .malformed(let line): "\"\(line.prefix(80))\""
        }
    }
}
