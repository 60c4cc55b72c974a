// The network driver of one SMTP connection: feeds bytes to the SMTPSession state
// machine and performs the actions it returns. All replies produced by one read are
// written with one write (pipelining, strict one-chunk clients). While the session
// waits for a hook, an auth check, a delivery or the TLS handshake it only buffers
// input; reading pauses once that buffer holds `maxInputWhileWaiting` bytes (pausing
// and resuming at every wait cost two epoll changes per message for nothing: a client
// normally sends nothing while it waits for a reply).
import Foundation
import Logging
import MailCore
import NIOCore
import NIOSSL
import Policy
import SMTP

final class SMTPServerHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct ShutdownEvent {}

    let server: ServerContext
    var session: SMTPSession
    let clientIP: String
    var output: ByteBuffer?
    /// The connection's one timer: it checks both the idle timeout and the session's
    /// total-time deadline (one scheduled task per connection instead of two).
    var idleTimer: Scheduled<Void>?
    var lastActivity = NIODeadline.now()
    var idleTimeout = TimeAmount.seconds(300)
    var sessionDeadline = NIODeadline.distantFuture
    var closing = false
    var closeScheduled = false
    var readingPaused = false
    /// Bytes received since the session began waiting (it buffers them).
    var inputWhileWaiting = 0
    static let maxInputWhileWaiting = 64 * 1024
    /// Actions not yet performed. A hook or store call can complete synchronously (a
    /// hook run in place), and its follow-up actions join this queue instead of
    /// recursing, so pipelined input never deepens the stack and order is kept.
    var queuedActions: [SMTPAction] = []
    var performing = false
    let input = InputGate()

    init(server: ServerContext, session: SMTPSession, clientIP: String) {
        self.server = server
        self.session = session
        self.clientIP = clientIP
    }

    func channelActive(context: ChannelHandlerContext) {
        sessionDeadline = .now() + .milliseconds(Int64(session.configuration.limits.sessionTimeout.seconds * 1000))
        perform(session.start(), context: context)
        // Waiting on the connect hook leaves the timer unarmed; the deadline still holds.
        if idleTimer == nil, !closeScheduled { scheduleIdleCheck(context: context) }
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        InputGate.install(before: self, context: context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard !session.isClosed, buffer.readableBytes > 0 else { return }
        input.feed(buffer, canContinue: { canTakeInput(context) }, takesWhole: { session.isReceivingMessage }) {
            receive($0, context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            input.resume(canContinue: { canTakeInput(context) }, takesWhole: { session.isReceivingMessage }) {
                receive($0, context: context)
            }
        }
        context.fireChannelWritabilityChanged()
    }

    /// More input may be answered: the replies so far have left (see InputGate).
    func canTakeInput(_ context: ChannelHandlerContext) -> Bool {
        context.channel.isWritable && !session.isClosed
    }

    func receive(_ slice: ByteBuffer, context: ChannelHandlerContext) {
        if session.isWaiting { inputWhileWaiting += slice.readableBytes }
        // Straight from NIO's buffer into the session's (no intermediate array).
        let actions = slice.withUnsafeReadableBytes { session.receive($0) }
        perform(actions, context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        input.discard()
        for action in session.connectionClosed() {
            if case .log(let summary) = action { log(summary) }
        }
        PolicyRunner(context: server).notify(.disconnect(session.info), on: context.eventLoop)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ShutdownEvent {
            perform(session.shutdown(), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // TLS failures and resets end the connection; nothing acknowledged depends on it.
        server.logger.debug("smtp connection error", metadata: ["client": "\(clientIP)", "error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: actions

    func perform(_ actions: [SMTPAction], context: ChannelHandlerContext) {
        if queuedActions.isEmpty { queuedActions = actions } else { queuedActions.append(contentsOf: actions) }
        guard !performing else { return }
        performing = true
        // Actions are moved out of the queue, not copied (an action can carry a whole
        // transaction: copying and destroying them showed in profiles). Actions added
        // meanwhile go to the queue and run after this batch, in order.
        var batch: [SMTPAction] = []
        while !queuedActions.isEmpty {
            swap(&batch, &queuedActions)
            batch.reverse()
            while let action = batch.popLast() { handle(action, context: context) }
        }
        performing = false
        let written = flush(context: context)
        if closing {
            guard !closeScheduled else { return }
            closeScheduled = true
            idleTimer?.cancel()
            // Close once the last reply (221, 421, …) has reached the socket.
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            if let written {
                written.whenComplete { _ in loopBound.value.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
            return
        }
        // Back-pressure: stop reading while the session waits on an action and has
        // buffered enough of what the client sent meanwhile.
        if !session.isWaiting { inputWhileWaiting = 0 }
        let pause = session.isWaiting && inputWhileWaiting >= Self.maxInputWhileWaiting
        if pause != readingPaused {
            readingPaused = pause
            context.channel.setOption(ChannelOptions.autoRead, value: !pause).whenFailure { _ in }
        }
        if !session.isWaiting { armIdleTimer(context: context) }
    }

    /// Performs one action; follow-up actions of work finished in place join the queue.
    private func handle(_ action: SMTPAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let reply):
            // Written in place: a copy taken out of `output` would make the buffer's
            // storage shared and every reply copy it.
            if output == nil { output = context.channel.allocator.buffer(capacity: 256) }
            output!.writeString(reply.wire)
        case .runHook(let call):
            let runner = PolicyRunner(context: server)
            if let result = runner.runInPlace(call) {
                // Answered without waiting: its follow-up joins this queue (no future).
                queuedActions.append(contentsOf: session.hookFinished(result))
                return
            }
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            runner.runOnPool(call, on: context.eventLoop).whenComplete { [self] result in
                let hookResult = (try? result.get()) ?? .policyFailure
                perform(session.hookFinished(hookResult), context: loopBound.value)
            }
        case .authenticate(let credentials, let mechanism):
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            Authenticator(context: server)
                .authenticate(credentials, mechanism: mechanism, session: session.info, on: context.eventLoop)
                .whenComplete { [self] result in
                    let outcome = (try? result.get()) ?? .refused(Reply(454, "4.7.0", "Temporary authentication failure"))
                    let account: String? = if case .success(let user) = outcome { user } else { nil }
                    server.logLogin("smtp", client: clientIP, login: credentials.user, account: account, mechanism: mechanism)
                    perform(session.authFinished(outcome), context: loopBound.value)
                }
        case .deliver(let transaction):
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            MessageDelivery(context: server).deliver(transaction, on: context.eventLoop).whenComplete { [self] result in
                let outcome = (try? result.get()) ?? .failed(Reply(451, "4.3.0", "Local error in processing"))
                perform(session.deliveryFinished(outcome), context: loopBound.value)
            }
        case .startTLS:
            startTLS(context: context)
        case .log(let summary):
            log(summary)
        case .close:
            closing = true
        }
    }

    @discardableResult
    func flush(context: ChannelHandlerContext) -> EventLoopFuture<Void>? {
        guard let buffer = output, buffer.readableBytes > 0 else { return nil }
        output = nil
        // Only a closing connection waits for its last write; no promise otherwise.
        guard closing else {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
            return nil
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        return promise.futureResult
    }

    /// Notes activity; the one timer checks it when it fires. (Cancelling and scheduling
    /// a timer for every command showed up at ~5 % in profiles.)
    func armIdleTimer(context: ChannelHandlerContext) {
        let limits = session.configuration.limits
        let timeout = session.isReceivingMessage ? limits.dataTimeout : limits.commandTimeout
        idleTimeout = .milliseconds(Int64(timeout.seconds * 1000))
        lastActivity = .now()
        if idleTimer == nil { scheduleIdleCheck(context: context) }
    }

    /// When the connection times out if nothing happens: the idle timeout after the last
    /// activity (restarted while the session waits on a hook or the store, which is not
    /// the client's idleness), or the session deadline if that comes first.
    func timeoutDeadline() -> NIODeadline {
        let idleEnd = session.isWaiting ? NIODeadline.now() + idleTimeout : lastActivity + idleTimeout
        return min(idleEnd, sessionDeadline)
    }

    func scheduleIdleCheck(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: timeoutDeadline()) { [self] in
            idleTimer = nil
            guard !closeScheduled, !session.isClosed else { return }
            if NIODeadline.now() < timeoutDeadline() {
                scheduleIdleCheck(context: loopBound.value)
            } else {
                perform(session.timedOut(), context: loopBound.value)
            }
        }
    }

    func startTLS(context: ChannelHandlerContext) {
        flush(context: context)
        guard server.startTLS(on: context) else { return }
        perform(session.tlsStarted(), context: context)
    }

    func log(_ summary: TransactionSummary) {
        guard server.logger.logLevel <= .info else { return }  // not built when not logged
        let recipients = summary.recipients.map { "\($0.address)=\($0.code)" }.joined(separator: ",")
        server.logger.info("smtp transaction", metadata: [
            "queue_id": "\(summary.queueID)", "client": "\(summary.clientIP)",
            "auth": "\(summary.authUser ?? "-")", "from": "<\(summary.sender ?? "")>",
            "rcpts": "\(recipients)", "size": "\(summary.size.map(String.init) ?? "-")",
            "tls": "\(summary.tls)",
            "result": "\(summary.resultText)",
            "duration_ms": "\(Int(summary.durationSeconds * 1000))",
        ])
    }
}

// Every callback that captures the handler runs on the channel's event loop (futures
// of that loop, NIOLoopBound contexts), so it is never touched from two threads.
extension SMTPServerHandler: @unchecked Sendable {}
