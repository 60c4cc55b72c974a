// The network driver of one IMAP connection: feeds bytes to the IMAPSession state
// machine and performs the actions it returns (contract in
// Sources/IMAP/IMAPSessionTypes.swift). Store work (`.perform`) runs on the thread pool
// with the session moved there and back, so the event loop never waits on LMDB or a
// commit; large responses are written from the pool thread as they are produced,
// which waits for the socket when more than `maxBufferedOutput` is on its way.
// Events that arrive meanwhile (another session's change, a timeout, SIGTERM) are
// kept and delivered once the session is back.
import Foundation
import Logging
import MailCore
import MailStore
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import IMAP
import Policy

final class IMAPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Bytes a FETCH may have written and not yet seen leave before it waits.
    static let maxBufferedOutput = 1 << 20

    let server: ServerContext
    /// nil while `.perform` runs on the pool (the session is over there).
    var session: IMAPSession?
    let clientIP: String
    var output: ByteBuffer?
    var idleTimer: Scheduled<Void>?
    var closing = false
    var closeScheduled = false
    var readingPaused = false
    var queuedActions: [IMAPAction] = []
    var performing = false
    var user: String?
    var watching: (id: UInt64, token: UInt64)?
    /// Events that arrived while the session was on the pool.
    var changedWhileAway = false
    var shutdownWhileAway = false
    var closedWhileAway = false
    var timedOutWhileAway = false
    /// Bytes read while the session was on the pool (a client pipelining behind a long
    /// FETCH); fed to it, in order, once it is back.
    var inputWhileAway: [UInt8] = []
    let input = InputGate()
    /// The session's info as of its last turn here, for the `disconnect` hook when the
    /// connection ends while the session is on the pool.
    var info: SessionInfo

    init(server: ServerContext, session: IMAPSession, clientIP: String) {
        self.server = server
        self.session = session
        self.clientIP = clientIP
        self.info = session.info
    }

    func channelActive(context: ChannelHandlerContext) {
        if let actions = session?.start() { perform(actions, context: context) }
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        InputGate.install(before: self, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard buffer.readableBytes > 0 else { return }
        input.feed(buffer, canContinue: { canTakeInput(context) }) { receive($0, context: context) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            input.resume(canContinue: { canTakeInput(context) }) { receive($0, context: context) }
        }
        context.fireChannelWritabilityChanged()
    }

    /// More input may be answered: the replies so far have left (see InputGate). While
    /// the session is on the pool its input is kept in `inputWhileAway` as before.
    func canTakeInput(_ context: ChannelHandlerContext) -> Bool {
        session == nil || (context.channel.isWritable && !session!.isClosed)
    }

    func receive(_ slice: ByteBuffer, context: ChannelHandlerContext) {
        let bytes = Array(slice.readableBytesView)
        guard session != nil else {
            inputWhileAway.append(contentsOf: bytes)
            return
        }
        guard !session!.isClosed else { return }
        perform(session!.receive(bytes), context: context)
        if session?.isMidCommand == true { acknowledgeNow(context: context) }
    }

    /// A client that writes a literal and its final CRLF separately (imaplib's APPEND)
    /// holds the CRLF back until the literal is acknowledged (Nagle), and Linux delays
    /// that ACK by up to 40 ms when we have nothing to send: ask for it now.
    func acknowledgeNow(context: ChannelHandlerContext) {
        let quickAck = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: Self.tcpQuickAck))
        context.channel.setOption(quickAck, value: 1).whenFailure { _ in }
    }

    /// TCP_QUICKACK (linux/tcp.h).
    static let tcpQuickAck: Int32 = 12

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        input.discard()
        stopWatching()
        if session != nil { session!.connectionClosed() } else { closedWhileAway = true }
        if let user {
            server.logger.info("imap session", metadata: ["client": "\(clientIP)", "user": "\(user)"])
        }
        PolicyRunner(context: server).notify(.disconnect(session?.info ?? info), on: context.eventLoop)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is SMTPServerHandler.ShutdownEvent {
            if session != nil { perform(session!.shutdown(), context: context) } else { shutdownWhileAway = true }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("imap connection error", metadata: ["client": "\(clientIP)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: actions

    func perform(_ actions: [IMAPAction], context: ChannelHandlerContext) {
        queuedActions.append(contentsOf: actions)
        guard !performing else { return }
        performing = true
        var next = 0
        var goesToPool = false
        while next < queuedActions.count {
            let action = queuedActions[next]
            next += 1
            switch action {
            case .send(let bytes):
                // In place: a copy out of `output` would share the storage and copy it.
                if output == nil { output = context.channel.allocator.buffer(capacity: max(bytes.count, 256)) }
                output!.writeBytes(bytes)
            case .runHook(let call):
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                PolicyRunner(context: server).run(call, on: context.eventLoop).whenComplete { [self] result in
                    let hookResult = (try? result.get()) ?? .policyFailure
                    guard session != nil else { return }
                    perform(session!.hookFinished(hookResult), context: loopBound.value)
                }
            case .authenticate(let credentials, let mechanism):
                authenticate(credentials, mechanism: mechanism, context: context)
            case .perform:
                // Whatever follows comes from the session once it is back.
                goesToPool = true
            case .watch(let mailbox):
                watch(mailbox, context: context)
            case .idle:
                break   // the timer below follows `session.idleTimeout`
            case .startTLS:
                startTLS(context: context)
            case .close:
                closing = true
            }
        }
        queuedActions.removeAll(keepingCapacity: true)
        performing = false
        let written = flush(context: context)
        if goesToPool && !closing {
            runOnPool(context: context)
            return
        }
        finishTurn(written: written, context: context)
    }

    func finishTurn(written: EventLoopFuture<Void>?, context: ChannelHandlerContext) {
        if closing {
            guard !closeScheduled else { return }
            closeScheduled = true
            idleTimer?.cancel()
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            if let written {
                written.whenComplete { _ in loopBound.value.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        guard let session else { return }
        if session.isWaiting != readingPaused {
            readingPaused = session.isWaiting
            context.channel.setOption(ChannelOptions.autoRead, value: !readingPaused).whenFailure { _ in }
        }
        if !session.isWaiting { armIdleTimer(context: context) }
    }

    /// Moves the session to a pool thread for its store work and back.
    func runOnPool(context: ChannelHandlerContext) {
        guard let away = session, let account = away.info.authUser ?? user else {
            // Store work before login cannot happen; treat it as a broken session.
            context.close(promise: nil)
            return
        }
        info = away.info
        session = nil
        idleTimer?.cancel()
        // Input waits in the socket while the session is away (what is already read is
        // kept in `inputWhileAway`).
        if !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
        let channel = context.channel
        let store = StoreIMAPMailbox(account: account, store: server.store,
                                     maxMessageSize: server.configuration.limits.maxMessageSize)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        server.offload(on: context.eventLoop) { () -> (IMAPSession, [IMAPAction]) in
            let writer = PoolWriter(channel: channel, limit: Self.maxBufferedOutput)
            // Writes from here reach the loop before this completion does (both go
            // through its task queue), so replies the loop sends next come after them.
            var moved = away
            let actions = moved.perform(store: store, output: { writer.write($0) })
            return (moved, actions)
        }.whenComplete { [self] result in
            let context = loopBound.value
            switch result {
            case .success(let (returned, actions)):
                session = returned
                var actions = actions
                if closedWhileAway {
                    session!.connectionClosed()
                    return
                }
                if timedOutWhileAway { timedOutWhileAway = false; actions += session!.timedOut() }
                if shutdownWhileAway { shutdownWhileAway = false; actions += session!.shutdown() }
                perform(actions, context: context)
                if !inputWhileAway.isEmpty, session != nil, !performing {
                    let input = inputWhileAway
                    inputWhileAway = []
                    perform(session!.receive(input), context: context)
                }
                if changedWhileAway, session != nil, !performing {
                    changedWhileAway = false
                    perform(session!.mailboxChanged(), context: context)
                }
            case .failure(let error):
                server.logger.error("imap store work failed", metadata: ["client": "\(clientIP)", "error": "\(error)"])
                context.close(promise: nil)
            }
        }
    }

    @discardableResult
    func flush(context: ChannelHandlerContext) -> EventLoopFuture<Void>? {
        guard let buffer = output, buffer.readableBytes > 0 else { return nil }
        output = nil
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        return promise.futureResult
    }

    func armIdleTimer(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        guard let timeout = session?.idleTimeout else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.seconds * 1e9))) { [self] in
            if session != nil { perform(session!.timedOut(), context: loopBound.value) } else { timedOutWhileAway = true }
        }
    }

    // MARK: change notices

    func watch(_ mailbox: IMAPMailboxID?, context: ChannelHandlerContext) {
        stopWatching()
        guard let mailbox else { return }
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let token = server.mailboxWatchers.add(mailbox.rawValue) { [self] in
            eventLoop.execute { [self] in
                if session != nil, !performing {
                    perform(session!.mailboxChanged(), context: loopBound.value)
                } else {
                    changedWhileAway = true
                }
            }
        }
        watching = (mailbox.rawValue, token)
    }

    func stopWatching() {
        if let watching { server.mailboxWatchers.remove(watching.id, token: watching.token) }
        watching = nil
    }

    // MARK: authentication and TLS

    func authenticate(_ credentials: IMAPCredentials, mechanism: String, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        guard let info = session?.info else { return }
        Authenticator(context: server)
            .check(credentials, mechanism: mechanism, session: info, on: context.eventLoop)
            .whenComplete { [self] result in
                let outcome: IMAPAuthOutcome
                switch result {
                case .success(let checked): outcome = IMAPAuthOutcome(verdict: checked.verdict, verifiedUser: checked.verified)
                case .failure: outcome = .temporary("Authentication temporarily unavailable")
                }
                guard case .success(let account) = outcome else {
                    server.logLogin("imap", client: clientIP, login: credentials.user, account: nil, mechanism: mechanism)
                    if session != nil { perform(session!.authFinished(outcome), context: loopBound.value) }
                    return
                }
                user = account
                server.logLogin("imap", client: clientIP, login: credentials.user, account: account, mechanism: mechanism)
                // Accounts made before IMAP existed get Sent, Drafts, Trash, Junk and Archive
                // at their first login (a read when they are there already).
                let store = server.store
                let logger = server.logger
                server.offload(on: loopBound.value.eventLoop) {
                    do { try store.ensureDefaultMailboxes(account: account) }
                    catch { logger.error("cannot create the standard mailboxes", metadata: ["user": "\(account)", "error": "\(error)"]) }
                }.whenComplete { [self] _ in
                    if session != nil { perform(session!.authFinished(outcome), context: loopBound.value) }
                }
            }
    }

    func startTLS(context: ChannelHandlerContext) {
        flush(context: context)
        guard server.startTLS(on: context) else { return }
        if session != nil { perform(session!.tlsStarted(), context: context) }
    }
}

/// Writes a command's output from a pool thread in order, waiting for the socket when
/// more than `limit` bytes are still on their way.
final class PoolWriter {
    let channel: Channel
    let limit: Int
    var inFlight: [(bytes: Int, done: EventLoopFuture<Void>)] = []
    var inFlightBytes = 0

    init(channel: Channel, limit: Int) {
        self.channel = channel
        self.limit = limit
    }

    func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let buffer = channel.allocator.buffer(bytes: bytes)
        let done = channel.writeAndFlush(buffer)
        inFlight.append((bytes.count, done))
        inFlightBytes += bytes.count
        while inFlightBytes > limit, !inFlight.isEmpty {
            let oldest = inFlight.removeFirst()
            inFlightBytes -= oldest.bytes
            // A dead connection fails the write: stop waiting, the session ends anyway.
            if (try? oldest.done.wait()) == nil { inFlight.removeAll(); inFlightBytes = 0 }
        }
    }
}


// Callbacks capturing the handler run on the channel's event loop only.
extension IMAPServerHandler: @unchecked Sendable {}
