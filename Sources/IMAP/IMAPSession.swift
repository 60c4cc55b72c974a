// The IMAP server session (RFC 3501, RFC 9051 and the extensions of issue 5) as an
// I/O-free state machine: bytes and outcomes in, actions out (see IMAPSessionTypes.swift
// for the driver contract). Framing and parsing happen here; commands that touch the
// mailbox store are deferred to `perform(store:output:)`, which the driver runs on a
// pool thread. While an action is outstanding further input is only buffered, so
// pipelined commands are answered strictly in order.
import MailCore
import Policy

public struct IMAPSession: Sendable {
    public let configuration: IMAPSessionConfiguration
    public internal(set) var info: SessionInfo
    public internal(set) var state: IMAPState = .notAuthenticated

    enum Phase: Equatable {
        case command
        /// Waiting for a SASL response line for the command tagged `tag`.
        case saslResponse(tag: String)
        /// In IDLE for the command tagged `tag`, waiting for DONE.
        case idle(tag: String)
        case closed
    }

    enum Pending: Equatable {
        case connect
        case auth(tag: String)
        case tls
        /// Store work: a command, or the updates due while idling.
        case command(TaggedCommand)
        case idleUpdates
    }

    var phase: Phase = .command
    var pending: Pending?
    var framer: IMAPCommandFramer
    let parser: IMAPParser
    /// Responses encoded but not yet handed to the driver.
    var outbox: [UInt8] = []
    var errorCount = 0
    var shuttingDown = false
    var authExchange: SASLExchange?
    var authMechanism = ""
    /// Extensions turned on by ENABLE (upper-cased).
    var enabled: Set<String> = []
    var selected: SelectedMailbox?
    /// Another session changed the selected mailbox: look for updates at the next chance.
    var mailboxDirty = false
    /// The result of the last SEARCH RETURN (SAVE) as UIDs (RFC 5182 `$`).
    var savedSearch: [UInt32] = []

    /// Unread input tolerated while an action is outstanding (pipelined commands, APPEND).
    static let maxPipelinedInput = 1024 * 1024
    /// The largest literal taken before login (LOGIN's user name and password fit easily;
    /// an APPEND there is refused anyway, so its message is never read).
    static let maxLiteralBeforeLogin = 8 * 1024
    /// Size of the chunks FETCH hands to the output while it runs.
    static let outputChunk = 64 * 1024

    public init(configuration: IMAPSessionConfiguration, session: SessionInfo) {
        self.configuration = configuration
        self.info = session
        self.framer = IMAPCommandFramer(limits: configuration.limits, literalPlus: true)
        self.framer.literalLimitBeforeLogin = Self.maxLiteralBeforeLogin
        self.parser = IMAPParser(limits: configuration.limits)
        if configuration.implicitTLS { info.tls = true }
    }

    public var isClosed: Bool { phase == .closed }
    /// True while input is only buffered (an action is outstanding): the driver may stop reading.
    public var isWaiting: Bool { pending != nil }
    /// A command is partly read: more of it is due from the client.
    public var isMidCommand: Bool { framer.isMidCommand }
    public var isIdling: Bool { if case .idle = phase { return true }; return false }
    /// The autologout timer to run now.
    public var idleTimeout: Duration {
        if isIdling { return configuration.idleCommandTimeout }
        return state == .notAuthenticated ? configuration.unauthenticatedTimeout : configuration.authenticatedTimeout
    }
    var utf8Accept: Bool { enabled.contains("UTF8=ACCEPT") }
    var encoder: IMAPEncoder { IMAPEncoder(utf8Accept: utf8Accept) }
    /// CONDSTORE is on once the client used it (RFC 7162 §3.1): FETCH updates carry MODSEQ.
    var condStoreOn: Bool { enabled.contains("CONDSTORE") || enabled.contains("QRESYNC") }

    // MARK: events

    /// The connection is up: run the `connect` hook before greeting.
    public mutating func start() -> [IMAPAction] {
        pending = .connect
        return [.runHook(.connect(info))]
    }

    public mutating func receive(_ bytes: [UInt8]) -> [IMAPAction] {
        guard phase != .closed else { return [] }
        // Bytes that reach us between STARTTLS's OK and the handshake were sent in the
        // clear after the command: never acted on (see `tlsStarted`).
        guard pending != .tls else { return [] }
        framer.feed(bytes)
        var actions: [IMAPAction] = []
        // The driver stops reading while `isWaiting`; a peer that still floods us is cut
        // off rather than buffered without bound.
        if pending != nil && framer.bufferedCount > Self.maxPipelinedInput {
            close(&actions)
            return actions
        }
        process(&actions)
        return actions
    }

    /// The `connect` hook's result: greet, or refuse and close.
    public mutating func hookFinished(_ result: HookResult) -> [IMAPAction] {
        guard pending == .connect else { return [] }
        pending = nil
        var actions: [IMAPAction] = []
        switch result.verdict {
        case .next, .accept:
            respond(.untagged(status: .ok, code: .capability(capabilities()), text: "\(configuration.hostname) IMAP ready"))
        case .reject(let reply), .deferred(let reply), .disconnect(let reply):
            respond(.untagged(status: .bye, code: reply.isTemporary ? .unavailable : nil, text: reply.text))
            close(&actions)
            return actions
        }
        process(&actions)
        return actions
    }

    public mutating func authFinished(_ outcome: IMAPAuthOutcome) -> [IMAPAction] {
        guard case .auth(let tag) = pending else { return [] }
        pending = nil
        var actions: [IMAPAction] = []
        finishAuthentication(tag: tag, outcome, &actions)
        if state == .authenticated { framer.literalLimitBeforeLogin = nil }
        process(&actions)
        return actions
    }

    public mutating func tlsStarted() -> [IMAPAction] {
        guard pending == .tls else { return [] }
        pending = nil
        info.tls = true
        // RFC 3501 §6.2.1 / RFC 3207 §4.2: nothing learned before TLS survives it. Only
        // the not-authenticated state can be here, so what is left is input pipelined
        // behind STARTTLS in the clear (a man in the middle's "a LOGIN …" injection):
        // dropped unread, as is any half-finished SASL exchange.
        framer.discardBuffered()
        authExchange = nil
        phase = .command
        var actions: [IMAPAction] = []
        process(&actions)
        return actions
    }

    /// The watched mailbox changed elsewhere. While idling the updates are sent now
    /// (through `.perform`); otherwise at the next command that may carry them.
    public mutating func mailboxChanged() -> [IMAPAction] {
        guard phase != .closed, selected != nil else { return [] }
        mailboxDirty = true
        guard pending == nil, isIdling else { return [] }
        pending = .idleUpdates
        return [.perform]
    }

    /// The autologout timer fired (RFC 3501 §5.4).
    public mutating func timedOut() -> [IMAPAction] {
        guard phase != .closed else { return [] }
        var actions: [IMAPAction] = []
        respond(.untagged(status: .bye, code: nil, text: "Autologout; idle for too long"))
        close(&actions)
        return actions
    }

    /// SIGTERM: an idle session is told at once; an action in flight finishes first.
    public mutating func shutdown() -> [IMAPAction] {
        guard phase != .closed else { return [] }
        shuttingDown = true
        var actions: [IMAPAction] = []
        if pending == nil { shutdownNow(&actions) }
        return actions
    }

    /// The peer went away.
    public mutating func connectionClosed() {
        phase = .closed
        pending = nil
    }

    /// Runs the deferred store work (on the driver's pool thread): the command that asked
    /// for `.perform`, or the updates due while idling. Large responses go to `output`
    /// in chunks; the rest comes back as `.send`, followed by any further actions.
    public mutating func perform(store: any IMAPMailStore, output: IMAPOutput) -> [IMAPAction] {
        guard let work = pending else { return [] }
        var actions: [IMAPAction] = []
        switch work {
        case .command(let tagged):
            pending = nil
            execute(tagged, store: store, output: output, &actions)
        case .idleUpdates:
            pending = nil
            sendUpdates(store: store, allowExpunge: true)
        default:
            return []
        }
        if phase != .closed { process(&actions) }
        // A change noticed while this work ran is due now if the client is idling.
        if pending == nil, isIdling, mailboxDirty {
            pending = .idleUpdates
            emit(.perform, &actions)
        }
        flush(&actions)
        return actions
    }

    // MARK: input processing

    mutating func process(_ actions: inout [IMAPAction]) {
        while pending == nil && phase != .closed {
            if shuttingDown { shutdownNow(&actions); break }
            guard let event = framer.next() else { break }
            switch event {
            case .continuationNeeded:
                respond(.continuation("Ready for literal data"))
            case .error(let error):
                // A literal over APPENDLIMIT (NO [TOOBIG]) or an oversized line/command.
                commandError(error.response, &actions)
            case .fatal(let error):
                // A non-synchronizing literal refused before login: not read, so the
                // stream cannot be followed any further.
                respond(error.response)
                respond(.untagged(status: .bye, code: nil, text: "Literal too big before login"))
                close(&actions)
            case .line(let bytes):
                switch phase {
                case .saslResponse(let tag): saslResponse(tag: tag, bytes, &actions)
                case .idle(let tag): idleLine(tag: tag, bytes, &actions)
                default: commandError(.untagged(status: .bad, code: nil, text: "Unexpected line"), &actions)
                }
            case .command(let frame):
                do {
                    let tagged = try parser.parse(frame)
                    handle(tagged, &actions)
                } catch {
                    commandError(error.response, &actions)
                }
            }
        }
        flush(&actions)
    }

    /// Answers a client error; past `limits.maxErrors` the session says so and closes.
    mutating func commandError(_ response: IMAPResponse, _ actions: inout [IMAPAction]) {
        errorCount += 1
        respond(response)
        if errorCount > configuration.limits.maxErrors {
            respond(.untagged(status: .bye, code: nil, text: "Too many errors, closing connection"))
            close(&actions)
        }
    }

    // MARK: output

    mutating func respond(_ response: IMAPResponse) {
        encoder.encode(response, into: &outbox)
    }

    mutating func ok(_ tag: String, _ text: String, code: IMAPResponseCode? = nil) {
        respond(.tagged(tag: tag, status: .ok, code: code, text: text))
    }

    mutating func no(_ tag: String, _ text: String, code: IMAPResponseCode? = nil) {
        respond(.tagged(tag: tag, status: .no, code: code, text: text))
    }

    mutating func bad(_ tag: String, _ text: String, code: IMAPResponseCode? = nil, _ actions: inout [IMAPAction]) {
        commandError(.tagged(tag: tag, status: .bad, code: code, text: text), &actions)
    }

    /// Hands the outbox to the driver as one `.send`.
    mutating func flush(_ actions: inout [IMAPAction]) {
        guard !outbox.isEmpty else { return }
        actions.append(.send(outbox))
        outbox = []
    }

    /// During `perform`: passes what is encoded so far to `output` once it is large.
    mutating func stream(_ output: IMAPOutput) {
        guard outbox.count >= Self.outputChunk else { return }
        output(outbox)
        outbox = []
    }

    /// Appends a non-send action after the responses encoded so far.
    mutating func emit(_ action: IMAPAction, _ actions: inout [IMAPAction]) {
        flush(&actions)
        actions.append(action)
    }

    mutating func close(_ actions: inout [IMAPAction]) {
        if isIdling { phase = .command; emit(.idle(false), &actions) }
        phase = .closed
        state = .logout
        pending = nil
        emit(.close, &actions)
    }

    mutating func shutdownNow(_ actions: inout [IMAPAction]) {
        respond(.untagged(status: .bye, code: .unavailable, text: "Server shutting down"))
        close(&actions)
    }
}
