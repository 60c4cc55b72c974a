// The network driver of one POP3 connection: feeds bytes to the POP3Session state
// machine and performs the actions it returns (contract in Sources/POP3/POP3Types.swift).
// Replies produced by one read go out in one write; reading pauses while the session
// waits on an action. Messages are streamed through POP3MessageEncoder in slices,
// pausing while the socket is not writable, so a large RETR never builds a second copy.
import Foundation
import Logging
import MailCore
import MailStore
import NIOCore
import NIOSSL
import POP3
import Policy

final class POP3ServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// A RETR/TOP in progress: the message bytes, how far they are encoded, the encoder.
    struct Streaming {
        var bytes: [UInt8]
        var offset: Int
        var encoder: POP3MessageEncoder
    }

    static let sliceSize = 64 * 1024

    let server: ServerContext
    var session: POP3Session
    let clientIP: String
    var output: ByteBuffer?
    var idleTimer: Scheduled<Void>?
    var closing = false
    var closeScheduled = false
    var readingPaused = false
    /// Actions not yet performed; follow-ups of calls that complete synchronously join
    /// the queue instead of recursing (see SMTPServerHandler).
    var queuedActions: [POP3Action] = []
    var performing = false
    var lockedAccount: String?
    let input = InputGate()
    var streaming: Streaming?
    /// Inside `pump`: a write can fire channelWritabilityChanged synchronously, and a
    /// nested pump would send the same slice twice.
    var pumping = false
    var user: String?
    var retrieved = 0
    var deleted = 0

    init(server: ServerContext, session: POP3Session, clientIP: String) {
        self.server = server
        self.session = session
        self.clientIP = clientIP
    }

    func channelActive(context: ChannelHandlerContext) {
        perform(session.start(), context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        InputGate.install(before: self, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !session.isClosed, buffer.readableBytes > 0 else { return }
        input.feed(buffer, canContinue: { canTakeInput(context) }) { receive($0, context: context) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, streaming != nil, !pumping { pump(context: context) }
        if context.channel.isWritable {
            input.resume(canContinue: { canTakeInput(context) }) { receive($0, context: context) }
        }
        context.fireChannelWritabilityChanged()
    }

    /// More input may be answered: the replies so far have left (see InputGate).
    func canTakeInput(_ context: ChannelHandlerContext) -> Bool {
        context.channel.isWritable && !session.isClosed
    }

    func receive(_ slice: ByteBuffer, context: ChannelHandlerContext) {
        perform(slice.withUnsafeReadableBytes { session.receive(Array($0)) }, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        input.discard()
        streaming = nil
        // A dropped connection deletes nothing: the marks die with the session.
        session.connectionClosed()
        releaseLock()
        if let user {
            server.logger.info("pop3 session", metadata: [
                "client": "\(clientIP)", "user": "\(user)", "retrieved": "\(retrieved)", "deleted": "\(deleted)"])
        }
        PolicyRunner(context: server).notify(.disconnect(session.info), on: context.eventLoop)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is SMTPServerHandler.ShutdownEvent {
            // A transfer in progress finishes first; the session answers at its next turn.
            if streaming == nil { perform(session.shutdown(), context: context) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.logger.debug("pop3 connection error", metadata: ["client": "\(clientIP)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: actions

    func perform(_ actions: [POP3Action], context: ChannelHandlerContext) {
        queuedActions.append(contentsOf: actions)
        guard !performing else { return }
        performing = true
        var next = 0
        while next < queuedActions.count {
            let action = queuedActions[next]
            next += 1
            switch action {
            case .send(let reply):
                append(reply, context: context)
            case .runHook(let call):
                let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                PolicyRunner(context: server).run(call, on: context.eventLoop).whenComplete { [self] result in
                    let hookResult = (try? result.get()) ?? .policyFailure
                    perform(session.hookFinished(hookResult), context: loopBound.value)
                }
            case .authenticate(let credentials, let mechanism):
                authenticate(credentials, mechanism: mechanism, context: context)
            case .openMaildrop(let user):
                perform(session.maildropOpened(openMaildrop(user)), context: context)
            case .sendMessage(let transfer):
                // The session waits in `messageSent`, called once the content is out.
                startTransfer(transfer, context: context)
            case .commitDeletions(let ids):
                commit(ids, context: context)
            case .startTLS:
                startTLS(context: context)
            case .close:
                closing = true
            }
        }
        queuedActions.removeAll(keepingCapacity: true)
        performing = false
        // While a transfer runs it owns the socket: `pump` writes, and calls back here.
        let written = streaming == nil ? flush(context: context) : nil
        if closing && streaming == nil {
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
        if session.isWaiting != readingPaused {
            readingPaused = session.isWaiting
            context.channel.setOption(ChannelOptions.autoRead, value: !readingPaused).whenFailure { _ in }
        }
        if !session.isWaiting { armIdleTimer(context: context) }
    }

    func append(_ reply: POP3Reply, context: ChannelHandlerContext) {
        // In place: a copy out of `output` would share the storage and copy it.
        if output == nil { output = context.channel.allocator.buffer(capacity: 256) }
        output!.writeString(reply.wire)
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
        // RFC 1939 §3: an autologout timer of at least 10 minutes.
        let timeout = max(session.configuration.limits.commandTimeout.seconds, 600)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) { [self] in
            perform(session.timedOut(), context: loopBound.value)
        }
    }

    // MARK: authentication and the maildrop

    /// Verifies the credentials, takes the maildrop lock, and only then runs the `auth`
    /// hook: a login that will fail with [IN-USE] reaches the chain as a failure, so no
    /// policy (open-SMTP's grant among them) ever acts on a login that does not succeed.
    func authenticate(_ credentials: POP3Credentials, mechanism: String, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let server = self.server
        let sessionInfo = session.info
        server.offload(on: context.eventLoop) {
            Authenticator.verify(credentials, store: server.store)
        }.flatMap { [self] verified -> EventLoopFuture<(String?, Bool, Verdict)> in
            let locked = verified.map { server.maildropLocks.acquire($0) } ?? false
            if locked { lockedAccount = verified }
            return server.offload(on: loopBound.value.eventLoop) {
                let result = server.policy.run(.auth(sessionInfo, user: verified ?? credentials.user, mechanism: mechanism,
                                                     success: verified != nil && locked))
                return (verified, locked, result.verdict)
            }
        }.whenComplete { [self] result in
            let outcome: POP3AuthOutcome
            switch result {
            case .success((let verified, let locked, let verdict)):
                outcome = verified != nil && !locked
                    ? Self.lockRefusal(verdict) : POP3AuthOutcome(verdict: verdict, verifiedUser: verified)
            case .failure: outcome = .temporary("Authentication temporarily unavailable")
            }
            if case .success = outcome {} else { releaseLock() }
            let account: String? = if case .success(let user) = outcome { user } else { nil }
            server.logLogin("pop3", client: clientIP, login: credentials.user, account: account, mechanism: mechanism)
            perform(session.authFinished(outcome), context: loopBound.value)
        }
    }

    /// Good credentials, maildrop held by another session: [IN-USE], unless the chain
    /// asked to disconnect.
    static func lockRefusal(_ verdict: Verdict) -> POP3AuthOutcome {
        if case .disconnect(let reply) = verdict { return .disconnect(reply) }
        return .inUse
    }

    func openMaildrop(_ account: String) -> POP3MaildropOutcome {
        // Normally taken already, before the auth hook ran.
        if lockedAccount != account {
            guard server.maildropLocks.acquire(account) else { return .inUse }
            lockedAccount = account
        }
        do {
            let messages = try POP3Maildrop.snapshot(account: account, store: server.store)
            user = account
            return .opened(messages)
        } catch {
            releaseLock()
            server.logger.error("pop3 maildrop", metadata: ["user": "\(account)", "error": "\(error)"])
            return .failed("Unable to open the mailbox, try again later")
        }
    }

    func releaseLock() {
        if let account = lockedAccount {
            server.maildropLocks.release(account)
            lockedAccount = nil
        }
    }

    func commit(_ ids: [POP3MessageID], context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let store = server.store
        server.offload(on: context.eventLoop) {
            try POP3Maildrop.remove(ids, store: store)
        }.whenComplete { [self] result in
            switch result {
            case .success: deleted = ids.count
            case .failure(let error):
                server.logger.error("pop3 delete", metadata: ["user": "\(user ?? "-")", "error": "\(error)"])
            }
            perform(session.deletionsCommitted(success: (try? result.get()) != nil), context: loopBound.value)
        }
    }

    // MARK: streaming RETR/TOP

    func startTransfer(_ transfer: POP3Transfer, context: ChannelHandlerContext) {
        let bytes: [UInt8]
        do {
            bytes = try POP3Maildrop.content(transfer.message.id, store: server.store)
        } catch {
            perform(session.messageSent(.unavailable), context: context)
            return
        }
        // One buffer for the status line and the first slice (a typical message whole),
        // sized up front rather than grown from the status line's.
        let wanted = min(bytes.count + bytes.count / 32 + 128, Self.sliceSize + 128)
        if output == nil {
            output = context.channel.allocator.buffer(capacity: wanted)
        } else {
            output?.reserveCapacity(minimumWritableBytes: wanted)
        }
        append(transfer.statusLine, context: context)
        streaming = Streaming(bytes: bytes, offset: 0, encoder: POP3MessageEncoder(bodyLines: transfer.bodyLines))
        retrieved += 1
        idleTimer?.cancel()
        pump(context: context)
    }

    /// Encodes and writes slices while the socket takes them; resumes on writability.
    func pump(context: ChannelHandlerContext) {
        guard var state = streaming, !pumping else { return }
        pumping = true
        defer { pumping = false }
        var buffer = output ?? context.channel.allocator.buffer(capacity: min(state.bytes.count + 64, Self.sliceSize + 64))
        output = nil
        while context.channel.isWritable && !state.encoder.isFinished {
            if state.offset < state.bytes.count && !state.encoder.isComplete {
                let end = min(state.offset + Self.sliceSize, state.bytes.count)
                state.bytes.withUnsafeBytes { raw in
                    state.encoder.encode(UnsafeRawBufferPointer(rebasing: raw[state.offset..<end])) { buffer.writeBytes($0) }
                }
                state.offset = end
            } else {
                state.encoder.finish { buffer.writeBytes($0) }
            }
            if buffer.readableBytes >= Self.sliceSize || state.encoder.isFinished {
                context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
                // No fresh slice buffer once the message is out (an allocation per RETR).
                buffer = state.encoder.isFinished ? ByteBuffer() : context.channel.allocator.buffer(capacity: Self.sliceSize + 64)
            }
        }
        if buffer.readableBytes > 0 { context.writeAndFlush(wrapOutboundOut(buffer), promise: nil) }
        if state.encoder.isFinished {
            streaming = nil
            pumping = false  // a pipelined RETR may start the next transfer right away
            perform(session.messageSent(.sent), context: context)
        } else {
            streaming = state
        }
    }

    // MARK: TLS

    func startTLS(context: ChannelHandlerContext) {
        flush(context: context)
        guard server.startTLS(on: context) else { return }
        perform(session.tlsStarted(), context: context)
    }
}


// Callbacks capturing the handler run on the channel's event loop only.
extension POP3ServerHandler: @unchecked Sendable {}
