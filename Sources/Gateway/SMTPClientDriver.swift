// The NIO driver for Delivery's I/O-free SMTPClientSession: one TCP connection to one
// target, any number of messages over it. It performs the session's actions (writes,
// STARTTLS through NIOSSL, close), arms the session's reply timeout, and reports how
// the connection ended: the finished messages' results and the connection failure, if
// any — exactly what `DestinationDelivery.sessionEnded` takes. Opportunistic TLS does
// not verify the certificate (RFC 7435: better than clear text); `tls = "required"`
// verifies it against the system trust store, or the route's `ca_file`.
import Delivery
import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

struct SMTPConnectionOutcome: Sendable {
    /// nil when the TCP connection could not be made at all.
    var connectFailure: String?
    var results: [MessageResult] = []
    var failure: ConnectionFailure?
    var usedTLS = false
}

struct SMTPClientDriver: Sendable {
    var heloName: String
    var connectTimeout: TimeAmount
    /// Trust roots for `tls = "required"` routes by host ("" = every required route); nil = system store.
    var caFile: String?
    /// Scales the session's RFC 5321 reply timeouts down (tests); nil = as the session says.
    var replyTimeoutCap: TimeAmount?

    /// Connects to `target` and delivers `messages`; never fails (problems are in the outcome).
    func deliver(_ messages: [OutboundMessage], to target: DeliveryTarget, group: EventLoopGroup,
                 caFile routeCAFile: String? = nil) async -> SMTPConnectionOutcome {
        let loop = group.next()
        let promise = loop.makePromise(of: SMTPConnectionOutcome.self)
        let configuration = SMTPClientConfiguration(heloName: heloName, peerName: target.host, tls: target.tls,
                                                    credentials: target.credentials)
        let tlsContext: NIOSSLContext?
        do {
            tlsContext = target.tls == .none ? nil : try Self.makeTLSContext(verify: target.tls == .required,
                                                                              caFile: routeCAFile ?? caFile)
        } catch {
            return SMTPConnectionOutcome(connectFailure: "cannot set up TLS: \(error)")
        }
        let serverName = IPAddressCheck.isAddress(target.host) ? nil : target.host
        let cap = replyTimeoutCap
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let handler = SMTPClientHandler(session: SMTPClientSession(configuration: configuration),
                                                    messages: messages, tlsContext: tlsContext, serverName: serverName,
                                                    replyTimeoutCap: cap, promise: promise)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        let connected = bootstrap.connect(host: target.address, port: target.port)
        connected.whenFailure { error in
            promise.succeed(SMTPConnectionOutcome(connectFailure: Self.describe(error)))
        }
        return (try? await promise.futureResult.get()) ?? SMTPConnectionOutcome(connectFailure: "connection attempt abandoned")
    }

    static func makeTLSContext(verify: Bool, caFile: String?) throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv1
        if verify {
            tls.certificateVerification = .fullVerification
            if let caFile { tls.trustRoots = .file(caFile) }
        } else {
            tls.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: tls)
    }

    static func describe(_ error: Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return describe(first.error) }
            return "no address to connect to"
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return "connection timed out" }
        return "\(error)"
    }
}

enum IPAddressCheck {
    static func isAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

/// Runs one SMTPClientSession on a channel. Lives on the channel's event loop.
final class SMTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var session: SMTPClientSession
    let messages: [OutboundMessage]
    let tlsContext: NIOSSLContext?
    let serverName: String?
    let replyTimeoutCap: TimeAmount?
    let promise: EventLoopPromise<SMTPConnectionOutcome>
    var outcome = SMTPConnectionOutcome()
    var timer: Scheduled<Void>?
    var awaitingTLS = false
    var completed = false

    init(session: SMTPClientSession, messages: [OutboundMessage], tlsContext: NIOSSLContext?, serverName: String?,
         replyTimeoutCap: TimeAmount?, promise: EventLoopPromise<SMTPConnectionOutcome>) {
        self.session = session
        self.messages = messages
        self.tlsContext = tlsContext
        self.serverName = serverName
        self.replyTimeoutCap = replyTimeoutCap
        self.promise = promise
    }

    func channelActive(context: ChannelHandlerContext) {
        var actions: [SMTPClientAction] = []
        for message in messages { actions += session.enqueue(message) }
        perform(actions, context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        perform(session.receive(bytes), context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event, awaitingTLS {
            awaitingTLS = false
            outcome.usedTLS = true
            perform(session.tlsStarted(), context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if awaitingTLS {
            awaitingTLS = false
            perform(session.tlsFailed(Self.tlsReason(error)), context: context)
        } else if !session.isClosed {
            perform(session.connectionClosed(), context: context)
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        if awaitingTLS {
            awaitingTLS = false
            record(session.tlsFailed("connection closed during the handshake"))
        }
        record(session.connectionClosed())
        complete()
        context.fireChannelInactive()
    }

    static func tlsReason(_ error: Error) -> String {
        if let error = error as? NIOSSLError {
            switch error {
            case .handshakeFailed(let inner): return "handshake failed: \(inner)"
            default: return "\(error)"
            }
        }
        if let error = error as? NIOSSLExtraError { return "\(error)" }
        return "\(error)"
    }

    /// Keeps results and the failure of actions that arrive once nothing can be written.
    func record(_ actions: [SMTPClientAction]) {
        for action in actions {
            switch action {
            case .messageFinished(let result): outcome.results.append(result)
            case .connectionFailed(let failure, _): if outcome.failure == nil { outcome.failure = failure }
            default: break
            }
        }
    }

    func complete() {
        guard !completed else { return }
        completed = true
        promise.succeed(outcome)
    }

    func perform(_ actions: [SMTPClientAction], context: ChannelHandlerContext) {
        var pending = actions[...]
        var wrote = false
        while let action = pending.popFirst() {
            switch action {
            case .send(let bytes):
                context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
                wrote = true
            case .startTLS:
                if wrote { context.flush(); wrote = false }
                guard let tlsContext else {
                    pending.append(contentsOf: session.tlsFailed("no TLS context"))
                    continue
                }
                do {
                    let handler = try NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)
                    try context.pipeline.syncOperations.addHandler(handler, position: .first)
                    awaitingTLS = true
                } catch {
                    pending.append(contentsOf: session.tlsFailed("\(error)"))
                }
            case .messageFinished(let result):
                outcome.results.append(result)
            case .idle:
                pending.append(contentsOf: session.quit())
            case .connectionFailed(let failure, _):
                if outcome.failure == nil { outcome.failure = failure }
            case .close:
                if wrote { context.flush(); wrote = false }
                context.close(promise: nil)
            }
        }
        if wrote { context.flush() }
        armTimer(context: context)
    }

    func armTimer(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        let wait: TimeAmount
        if awaitingTLS {
            wait = .seconds(60)
        } else if let timeout = session.replyTimeout {
            wait = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)
        } else {
            return
        }
        let bounded = replyTimeoutCap.map { min($0, wait) } ?? wait
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: bounded) {
            let (handler, context) = loopBound.value
            if handler.awaitingTLS {
                handler.awaitingTLS = false
                handler.perform(handler.session.tlsFailed("handshake timed out"), context: context)
            } else {
                handler.perform(handler.session.timedOut(), context: context)
            }
        }
    }
}
