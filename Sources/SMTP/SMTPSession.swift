// The SMTP server session (RFC 5321, 3207, 4954, 3030, 6531) as an I/O-free state
// machine: bytes and outcomes in, actions out. Every command goes check → policy
// hook → proceed. While an action is outstanding (hook, auth, delivery, TLS) further
// input is only buffered, so pipelined commands are answered strictly in order.
import MailCore
import Policy

public struct SMTPSession: Sendable {
    public let configuration: SMTPSessionConfiguration
    public internal(set) var info: SessionInfo

    enum Phase: Equatable {
        case command
        case data
        case chunk(last: Bool, discard: Reply?)
        case authResponse
        case closed
    }

    enum Pending: Equatable {
        case connect
        case helo(extended: Bool, name: String)
        case mailFrom(MailAddress?, [String: String])
        case rcpt(MailAddress, [String: String])
        case dataHook
        case delivery
        case auth
        case tls
    }

    struct Transaction {
        var info: TransactionInfo
        var parameters: [String: String]
        var recipientParameters: [[String: String]] = []
        var refused: [(address: String, code: Int)] = []
        var startedAt: Double
        var usesChunking = false
    }

    // The driver reads the flags below after every event; stored (kept in step here)
    // rather than computed, so reading one does not copy the whole session (profiles
    // showed three copies per event with computed getters across the module boundary).
    var phase: Phase = .command {
        didSet {
            isClosed = phase == .closed
            switch phase {
            case .data, .chunk: isReceivingMessage = true
            default: isReceivingMessage = false
            }
        }
    }
    var pending: Pending? { didSet { isWaiting = pending != nil } }
    var buffer: [UInt8] = []
    var readIndex = 0
    var framer: LineFramer
    var dataReader: DataReader?
    var chunkReader: ChunkReader?
    var heloName: String?
    var extended = false
    var transaction: Transaction?
    var authExchange: SASLExchange?
    var authMechanism = ""
    var errorCount = 0
    /// The `connect` hook refused the session in the greeting: only QUIT is served.
    var greetingRefused = false
    var shuttingDown = false
    var pendingMessage: [UInt8] = []

    /// RFC 4954 §4 names this reply for an AUTH line past the limit.
    static let authLineTooLong = Reply(500, "5.5.6", "Authentication exchange line is too long")

    /// The first four bytes upper-cased when they are followed by a space or end the line
    /// (also asked of the first bytes the framer kept of an over-long line).
    static func verbPrefix(_ bytes: [UInt8]) -> String {
        guard bytes.count >= 4, bytes.count == 4 || bytes[4] == UInt8(ascii: " ") else { return "" }
        return String(decoding: bytes[0..<4].map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 }, as: UTF8.self)
    }

    /// Hard bound for any line (AUTH responses may be long, RFC 4954 §4: 12288).
    static let maxAuthLine = 12288

    public init(configuration: SMTPSessionConfiguration, session: SessionInfo) {
        self.configuration = configuration
        self.info = session
        self.framer = LineFramer(maxLength: Self.maxAuthLine, acceptsBareLF: false)
        if configuration.kind == .smtps { info.tls = true }
    }

    public private(set) var isClosed = false
    public var isIdle: Bool { pending == nil && transaction == nil && phase == .command }
    /// True while input is only buffered (an action is outstanding): the driver may stop reading.
    public private(set) var isWaiting = false
    /// True while message content (DATA or BDAT) is being received: the longer timeout applies.
    public private(set) var isReceivingMessage = false

    // MARK: events

    /// The connection is up: run the `connect` hook before greeting.
    public mutating func start() -> [SMTPAction] {
        pending = .connect
        return [.runHook(.connect(info))]
    }

    public mutating func receive(_ bytes: [UInt8]) -> [SMTPAction] {
        bytes.withUnsafeBytes { receive($0) }
    }

    public mutating func receive(_ bytes: UnsafeRawBufferPointer) -> [SMTPAction] {
        guard phase != .closed else { return [] }
        buffer.append(contentsOf: bytes)
        var actions: [SMTPAction] = []
        process(&actions)
        return actions
    }

    public mutating func hookFinished(_ result: HookResult) -> [SMTPAction] {
        guard let current = pending else { return [] }
        pending = nil
        var actions: [SMTPAction] = []
        switch current {
        case .connect: connectDecided(result.verdict, &actions)
        case .helo(let extended, let name): heloDecided(result.verdict, extended: extended, name: name, &actions)
        case .mailFrom(let sender, let parameters): mailDecided(result.verdict, sender, parameters, &actions)
        case .rcpt(let recipient, let parameters): rcptDecided(result.verdict, recipient, parameters, &actions)
        case .dataHook: dataDecided(result, &actions)
        case .delivery, .auth, .tls: preconditionFailure("hook result while waiting for \(current)")
        }
        process(&actions)
        return actions
    }

    public mutating func authFinished(_ outcome: AuthOutcome) -> [SMTPAction] {
        guard pending == .auth else { return [] }
        pending = nil
        var actions: [SMTPAction] = []
        switch outcome {
        case .success(let user):
            info.authUser = user
            send(Reply(235, "2.7.0", "Authentication successful"), &actions)
        case .failure:
            errorCount += 1
            send(Reply(535, "5.7.8", "Authentication credentials invalid"), &actions)
        case .refused(let reply):
            send(reply, &actions)
        case .disconnect(let reply):
            send(reply, &actions)
            close(&actions)
        }
        process(&actions)
        return actions
    }

    public mutating func deliveryFinished(_ outcome: DeliveryOutcome) -> [SMTPAction] {
        guard pending == .delivery else { return [] }
        pending = nil
        var actions: [SMTPAction] = []
        switch outcome {
        case .accepted(let queueID):
            endTransaction(Reply(250, "2.0.0", "Ok: queued as \(queueID)"), &actions)
        case .failed(let reply):
            endTransaction(reply, &actions)
        }
        if shuttingDown { shutdownNow(&actions) }
        process(&actions)
        return actions
    }

    public mutating func tlsStarted() -> [SMTPAction] {
        guard pending == .tls else { return [] }
        pending = nil
        // RFC 3207 §4.2: forget everything learned before the handshake.
        info.tls = true
        info.heloName = nil
        info.authUser = nil
        heloName = nil
        extended = false
        transaction = nil
        authExchange = nil
        var actions: [SMTPAction] = []
        process(&actions)
        return actions
    }

    public mutating func timedOut() -> [SMTPAction] {
        guard phase != .closed else { return [] }
        var actions: [SMTPAction] = []
        abandonTransaction(.timeout, &actions)
        send(Reply(421, "4.4.2", "\(configuration.hostname) Error: timeout exceeded"), &actions)
        close(&actions)
        return actions
    }

    /// SIGTERM: idle sessions are told 421 at once; a transaction in flight finishes first.
    public mutating func shutdown() -> [SMTPAction] {
        guard phase != .closed else { return [] }
        shuttingDown = true
        var actions: [SMTPAction] = []
        if pending == nil && phase == .command { shutdownNow(&actions) }
        return actions
    }

    /// The peer went away: returns the log line of an unfinished transaction, if any.
    public mutating func connectionClosed() -> [SMTPAction] {
        var actions: [SMTPAction] = []
        if pending != .delivery { abandonTransaction(.connectionLost, &actions) }
        phase = .closed
        return actions
    }

    // MARK: input processing

    mutating func process(_ actions: inout [SMTPAction]) {
        loop: while pending == nil {
            switch phase {
            case .closed:
                break loop
            case .command, .authResponse:
                guard let line = framer.next(buffer, start: &readIndex) else { break loop }
                switch line {
                case .tooLong(let prefix):
                    if phase == .authResponse || Self.verbPrefix(prefix) == "AUTH" {
                        authExchange = nil
                        phase = .command
                        commandError(Self.authLineTooLong, &actions)
                    } else {
                        commandError(Reply(500, "5.5.2", "Line too long"), &actions)
                    }
                case .bareLineFeed:
                    // RFC 5321 §2.3.8: lines end with CRLF; a bare LF is not taken as one.
                    if phase == .authResponse { authExchange = nil; phase = .command }
                    commandError(Reply(500, "5.5.2", "Syntax error: commands must end with CRLF"), &actions)
                case .line(let bytes):
                    if phase == .authResponse { authResponse(bytes, &actions) } else { command(bytes, &actions) }
                }
            case .data:
                guard readIndex < buffer.count else { break loop }
                if dataReader!.feed(buffer, start: &readIndex) { finishData(&actions) }
            case .chunk(let last, let discard):
                guard readIndex < buffer.count || chunkReader!.chunkComplete else { break loop }
                chunkReader!.feed(buffer, start: &readIndex)
                guard chunkReader!.chunkComplete else { break loop }
                phase = .command
                if let discard {
                    chunkReader = nil
                    send(discard, &actions)
                } else if last {
                    finishChunks(&actions)
                } else {
                    send(Reply(250, "2.0.0", "\(chunkReader!.receivedSize) octets received"), &actions)
                }
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

    mutating func command(_ bytes: [UInt8], _ actions: inout [SMTPAction]) {
        if bytes.count + 2 > configuration.limits.maxCommandLine {
            // Extensions lengthen some commands (RFC 5321 §4.5.3.1.4).
            switch Self.verbPrefix(bytes) {
            case "AUTH":
                if bytes.count + 2 > Self.maxAuthLine { return commandError(Self.authLineTooLong, &actions) }
            case "MAIL":
                if bytes.count + 2 > configuration.limits.maxMailCommandLine {
                    return commandError(Reply(500, "5.5.2", "Line too long"), &actions)
                }
            case "RCPT":
                if bytes.count + 2 > configuration.limits.maxRcptCommandLine {
                    return commandError(Reply(500, "5.5.2", "Line too long"), &actions)
                }
            default:
                return commandError(Reply(500, "5.5.2", "Line too long"), &actions)
            }
        }
        guard !CommandText.hasControlCharacters(bytes) else {
            return commandError(Reply(501, "5.5.2", "Syntax error: control characters are not allowed in commands"), &actions)
        }
        guard let line = String(validating: bytes, as: UTF8.self) else {
            return commandError(Reply(500, "5.5.2", "Invalid characters in command"), &actions)
        }
        let parsed: SMTPCommand
        do {
            parsed = try SMTPCommandParser.parse(Substring(line), postmasterDomain: configuration.postmasterDomain)
        } catch {
            commandError(error.reply, &actions)
            return
        }
        handle(parsed, &actions)
    }

    mutating func commandError(_ reply: Reply, _ actions: inout [SMTPAction]) {
        errorCount += 1
        if errorCount > configuration.limits.maxErrors {
            send(Reply(421, "4.7.0", "\(configuration.hostname) Error: too many errors"), &actions)
            abandonTransaction(.tooManyErrors, &actions)
            close(&actions)
        } else {
            send(reply, &actions)
        }
    }

    // MARK: helpers shared by the command handlers

    mutating func send(_ reply: Reply, _ actions: inout [SMTPAction]) {
        actions.append(.send(reply))
    }

    mutating func close(_ actions: inout [SMTPAction]) {
        phase = .closed
        pending = nil
        actions.append(.close)
    }

    mutating func shutdownNow(_ actions: inout [SMTPAction]) {
        abandonTransaction(.shutdown, &actions)
        send(Reply(421, "4.3.2", "\(configuration.hostname) Service shutting down, closing transmission channel"), &actions)
        close(&actions)
    }

    /// Ends the current transaction with `reply`, logs it, and resets.
    mutating func endTransaction(_ reply: Reply, _ actions: inout [SMTPAction]) {
        send(reply, &actions)
        if let transaction { actions.append(.log(summary(transaction, result: reply))) }
        transaction = nil
        dataReader = nil
        chunkReader = nil
        pendingMessage = []
    }

    /// Drops an unfinished transaction, logging it (with why) if it got as far as a sender.
    mutating func abandonTransaction(_ reason: AbandonReason, _ actions: inout [SMTPAction]) {
        if let transaction {
            var line = summary(transaction, result: reason.reply)
            var text = reason.rawValue
            if transaction.info.recipients.isEmpty && !transaction.refused.isEmpty { text += " after RCPT refusals" }
            line.abandoned = text
            actions.append(.log(line))
        }
        transaction = nil
        dataReader = nil
        chunkReader = nil
    }

    /// Why a transaction ended without DATA's answer (the log says so in words).
    enum AbandonReason: String {
        case quit = "client quit"
        case reset = "RSET"
        case newHelo = "new HELO/EHLO"
        case connectionLost = "connection lost"
        case timeout = "timeout"
        case tooManyErrors = "too many errors"
        case shutdown = "server shutdown"

        /// What the client was told, when the server ended it.
        var reply: Reply? {
            switch self {
            case .timeout: Reply(421, "4.4.2", "timeout exceeded")
            case .tooManyErrors: Reply(421, "4.7.0", "too many errors")
            case .shutdown: Reply(421, "4.3.2", "shutting down")
            case .quit, .reset, .newHelo, .connectionLost: nil
            }
        }
    }

    func summary(_ transaction: Transaction, result: Reply?) -> TransactionSummary {
        let accepted = transaction.info.recipients.map { (address: $0.address, code: 250) }
        return TransactionSummary(
            queueID: transaction.info.queueID, clientIP: info.clientIP, authUser: info.authUser,
            sender: transaction.info.mailFrom?.address ?? "", recipients: accepted + transaction.refused,
            size: transaction.info.size, tls: info.tls, result: result,
            durationSeconds: max(0, configuration.clock() - transaction.startedAt))
    }

    func transactionInfo() -> TransactionInfo {
        transaction?.info ?? TransactionInfo(session: info, queueID: "")
    }
}
