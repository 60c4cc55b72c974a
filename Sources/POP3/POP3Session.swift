// The POP3 server session (RFC 1939, 2449, 2595, 5034, 3206) as an I/O-free state
// machine: bytes and outcomes in, actions out (see POP3Types.swift for the driver
// contract). AUTHORIZATION → TRANSACTION → UPDATE; deletions only happen in UPDATE,
// after QUIT, in one transaction the driver commits. While an action is outstanding
// (hook, auth, maildrop, message transfer, commit, TLS) further input is only
// buffered, so pipelined commands are answered strictly in order.
import MailCore
import Policy

public struct POP3Session: Sendable {
    public let configuration: POP3SessionConfiguration
    public internal(set) var info: SessionInfo
    public internal(set) var state: POP3State = .authorization
    /// The APOP timestamp sent in the greeting.
    public let timestamp: String

    enum Phase: Equatable {
        case command
        case authResponse
        case closed
    }

    enum Pending: Equatable {
        case connect
        case auth
        case maildrop
        case transfer(number: Int)
        case commit(count: Int)
        case tls
    }

    var phase: Phase = .command
    var pending: Pending?
    var buffer: [UInt8] = []
    var readIndex = 0
    var reader: LineFramer
    var errorCount = 0
    var shuttingDown = false
    /// The name given by USER, waiting for PASS.
    var pendingUser: String?
    var authExchange: SASLExchange?
    var authMechanism = ""
    /// The maildrop snapshot (TRANSACTION): message n is `messages[n - 1]`.
    var messages: [POP3Message] = []
    var deleted: [Bool] = []
    var liveCount = 0
    var liveSize = 0

    /// Hard bound for any line (SASL responses may be longer than commands).
    static let maxAuthLine = 12288
    /// Unread input tolerated while an action is outstanding (pipelined commands).
    static let maxPipelinedInput = 1024 * 1024

    public init(configuration: POP3SessionConfiguration, session: SessionInfo) {
        self.configuration = configuration
        self.info = session
        self.timestamp = configuration.makeTimestamp()
        // RFC 1939 wants CRLF; a bare LF is taken too (people test POP3 with telnet and nc).
        self.reader = LineFramer(maxLength: Self.maxAuthLine, acceptsBareLF: true)
        if configuration.implicitTLS { info.tls = true }
    }

    public var isClosed: Bool { phase == .closed }
    /// True while input is only buffered (an action is outstanding): the driver may stop reading.
    public var isWaiting: Bool { pending != nil }
    /// Messages marked deleted, to be removed at QUIT.
    public var deletedCount: Int { messages.count - liveCount }

    // MARK: events

    /// The connection is up: run the `connect` hook before greeting.
    public mutating func start() -> [POP3Action] {
        pending = .connect
        return [.runHook(.connect(info))]
    }

    public mutating func receive(_ bytes: [UInt8]) -> [POP3Action] {
        guard phase != .closed else { return [] }
        buffer.append(contentsOf: bytes)
        var actions: [POP3Action] = []
        // The driver stops reading while `isWaiting`; a peer that still floods us is cut off
        // rather than buffered without bound (no reply: it could not come in order).
        if pending != nil && buffer.count - readIndex > Self.maxPipelinedInput {
            close(&actions)
            return actions
        }
        process(&actions)
        return actions
    }

    /// The `connect` hook's result: greet, or refuse and close.
    public mutating func hookFinished(_ result: HookResult) -> [POP3Action] {
        guard pending == .connect else { return [] }
        pending = nil
        var actions: [POP3Action] = []
        switch result.verdict {
        case .next, .accept:
            send(.ok("\(configuration.hostname) POP3 ready \(timestamp)"), &actions)
        case .reject(let reply), .deferred(let reply), .disconnect(let reply):
            send(.policyError(reply, permanentCode: POP3ResponseCode.systemPermanent), &actions)
            close(&actions)
        }
        process(&actions)
        return actions
    }

    public mutating func authFinished(_ outcome: POP3AuthOutcome) -> [POP3Action] {
        guard pending == .auth else { return [] }
        pending = nil
        var actions: [POP3Action] = []
        switch outcome {
        case .success(let user):
            info.authUser = user
            pending = .maildrop
            actions.append(.openMaildrop(user: user))
            return actions
        case .failure:
            commandError(.error("Authentication failed", code: POP3ResponseCode.auth), &actions)
        case .inUse:
            send(Self.inUseReply, &actions)
        case .refused(let reply):
            let answer = POP3Reply.policyError(reply, permanentCode: POP3ResponseCode.auth)
            send(answer, &actions)
            if answer.code == POP3ResponseCode.loginDelay { close(&actions) }
        case .disconnect(let reply):
            send(.policyError(reply, permanentCode: POP3ResponseCode.auth), &actions)
            close(&actions)
        case .temporary(let text):
            send(.error(text, code: POP3ResponseCode.systemTemporary), &actions)
        }
        process(&actions)
        return actions
    }

    public mutating func maildropOpened(_ outcome: POP3MaildropOutcome) -> [POP3Action] {
        guard pending == .maildrop else { return [] }
        pending = nil
        var actions: [POP3Action] = []
        switch outcome {
        case .opened(let snapshot):
            messages = snapshot
            deleted = Array(repeating: false, count: snapshot.count)
            state = .transaction
            recount()
            send(.ok("Logged in, maildrop has \(liveCount) messages (\(liveSize) octets)"), &actions)
        case .inUse:
            info.authUser = nil
            send(Self.inUseReply, &actions)
        case .failed(let text):
            info.authUser = nil
            send(.error(text, code: POP3ResponseCode.systemTemporary), &actions)
        }
        process(&actions)
        return actions
    }

    public mutating func messageSent(_ outcome: POP3TransferOutcome) -> [POP3Action] {
        guard case .transfer(let number) = pending else { return [] }
        pending = nil
        var actions: [POP3Action] = []
        switch outcome {
        case .sent:
            break
        case .unavailable:
            send(.error("Message \(number) is no longer available", code: POP3ResponseCode.systemTemporary), &actions)
        case .failed:
            close(&actions)
        }
        process(&actions)
        return actions
    }

    public mutating func deletionsCommitted(success: Bool) -> [POP3Action] {
        guard case .commit(let count) = pending else { return [] }
        pending = nil
        var actions: [POP3Action] = []
        if success {
            send(.ok("\(configuration.hostname) POP3 server signing off (\(count) messages deleted)"), &actions)
        } else {
            send(.error("Some deleted messages not removed", code: POP3ResponseCode.systemTemporary), &actions)
        }
        close(&actions)
        return actions
    }

    public mutating func tlsStarted() -> [POP3Action] {
        guard pending == .tls else { return [] }
        pending = nil
        // RFC 2595 §4: forget anything the client said before the handshake.
        info.tls = true
        pendingUser = nil
        authExchange = nil
        var actions: [POP3Action] = []
        process(&actions)
        return actions
    }

    /// The idle (autologout) timer fired. RFC 1939 §3: close without a response and
    /// without entering UPDATE, so nothing is deleted.
    public mutating func timedOut() -> [POP3Action] {
        guard phase != .closed else { return [] }
        var actions: [POP3Action] = []
        close(&actions)
        return actions
    }

    /// SIGTERM: an idle session is told at once; an action in flight finishes first.
    /// Nothing marked deleted is removed.
    public mutating func shutdown() -> [POP3Action] {
        guard phase != .closed else { return [] }
        shuttingDown = true
        var actions: [POP3Action] = []
        if pending == nil { shutdownNow(&actions) }
        return actions
    }

    /// The peer went away: nothing is deleted (the driver releases the maildrop lock).
    public mutating func connectionClosed() {
        phase = .closed
        buffer = []
        readIndex = 0
    }

    public static let shutdownReply = POP3Reply.error("Server shutting down", code: POP3ResponseCode.systemTemporary)
    static let inUseReply = POP3Reply.error("Mailbox is locked by another session", code: POP3ResponseCode.inUse)

    // MARK: input processing

    mutating func process(_ actions: inout [POP3Action]) {
        while pending == nil && phase != .closed {
            if shuttingDown { shutdownNow(&actions); break }
            guard let line = reader.next(buffer, start: &readIndex) else { break }
            switch line {
            case .tooLong:
                if phase == .authResponse { authExchange = nil; phase = .command }
                commandError(.error("Line too long"), &actions)
            case .line(let bytes), .bareLineFeed(let bytes):
                if phase == .authResponse { authResponse(bytes, &actions) } else { command(bytes, &actions) }
            }
        }
        compactBuffer()
    }

    mutating func compactBuffer() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
        } else if readIndex > 32 * 1024 {
            buffer.removeFirst(readIndex)
            readIndex = 0
        }
    }

    mutating func command(_ bytes: [UInt8], _ actions: inout [POP3Action]) {
        // AUTH may carry an initial response longer than a command (bounded by maxAuthLine).
        let isAuth = bytes.count >= 5 && bytes[0...4].map({ $0 | 0x20 }) == Array("auth ".utf8)
        if bytes.count + 2 > configuration.limits.maxCommandLine && !isAuth {
            return commandError(.error("Line too long"), &actions)
        }
        guard !CommandText.hasControlCharacters(bytes), let line = String(validating: bytes, as: UTF8.self) else {
            return commandError(.error("Invalid characters in command"), &actions)
        }
        let parsed: POP3Command
        do {
            parsed = try POP3CommandParser.parse(Substring(line))
        } catch {
            return commandError(error.reply, &actions)
        }
        handle(parsed, &actions)
    }

    /// Answers a client error; past `limits.maxErrors` the session says so and closes.
    mutating func commandError(_ reply: POP3Reply, _ actions: inout [POP3Action]) {
        errorCount += 1
        if errorCount > configuration.limits.maxErrors {
            send(.error("Too many errors, closing connection"), &actions)
            close(&actions)
        } else {
            send(reply, &actions)
        }
    }

    // MARK: helpers

    mutating func send(_ reply: POP3Reply, _ actions: inout [POP3Action]) {
        actions.append(.send(reply))
    }

    mutating func close(_ actions: inout [POP3Action]) {
        phase = .closed
        pending = nil
        actions.append(.close)
    }

    mutating func shutdownNow(_ actions: inout [POP3Action]) {
        send(Self.shutdownReply, &actions)
        close(&actions)
    }
}
