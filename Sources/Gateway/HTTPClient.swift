// The client behind `mailgate.http.request` (PolicyHTTPClient): one HTTP/1.1 request
// per connection over SwiftNIO's HTTP/1 codec. Connect (with the timeout), send the
// head with Content-Length and `Connection: close`, then the body, read one response
// (Content-Length, chunked or delimited by close: NIOHTTP1 frames it), close. The
// whole exchange is bounded in time (one timer for connect, send and receive) and in
// size (status line, headers and body counted together against maxResponseBytes; the
// read stops at the first byte over). https:// goes through NIOSSL with the system's
// trust roots and the host name checked. The completion runs exactly once, on the
// connection's event loop.
import Foundation
import MailCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Policy

public final class HTTPClient: PolicyHTTPClient, @unchecked Sendable {
    // @unchecked: `tlsContext` is created once under `lock`; the rest is immutable.
    let group: any EventLoopGroup
    private let lock = NSLock()
    private var tlsContext: Result<NIOSSLContext, PolicyHTTPError>?
    /// Trust roots for https:// (tests give their own CA); nil: the system's.
    let trustRoots: NIOSSLTrustRoots?

    public init(group: any EventLoopGroup, trustRoots: NIOSSLTrustRoots? = nil) {
        self.group = group
        self.trustRoots = trustRoots
    }

    public func send(_ request: PolicyHTTPRequest, timeout: Duration,
                     completion: @escaping @Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void) {
        let eventLoop = group.next()
        var tls: NIOSSLContext?
        if request.url.secure {
            switch sharedTLSContext() {
            case .success(let context): tls = context
            case .failure(let error):
                eventLoop.execute { completion(.failure(error)) }
                return
            }
        }
        let exchange = HTTPExchange(request: request, eventLoop: eventLoop, completion: completion)
        let nanoseconds = max(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000, 1_000_000)
        let timeAmount = TimeAmount.nanoseconds(nanoseconds)
        eventLoop.execute {
            exchange.armTimer(timeAmount)
            let serverName = IPAddress(request.url.host) == nil ? request.url.host : nil
            let bootstrap = ClientBootstrap(group: eventLoop)
                .connectTimeout(timeAmount)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    do {
                        let sync = channel.pipeline.syncOperations
                        if let tls { try sync.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                        try sync.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                        try sync.addHandler(HTTPResponseReader(exchange: exchange))
                        return channel.eventLoop.makeSucceededVoidFuture()
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
            bootstrap.connect(host: request.url.host, port: request.url.port).whenComplete { result in
                switch result {
                case .success(let channel): exchange.connected(channel)
                case .failure(let error): exchange.finish(.failure(Self.connectFailure(error)))
                }
            }
        }
    }

    private func sharedTLSContext() -> Result<NIOSSLContext, PolicyHTTPError> {
        lock.lock()
        defer { lock.unlock() }
        if let tlsContext { return tlsContext }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let trustRoots { configuration.trustRoots = trustRoots }
        let made: Result<NIOSSLContext, PolicyHTTPError>
        do { made = .success(try NIOSSLContext(configuration: configuration)) } catch { made = .failure(.tls) }
        tlsContext = made
        return made
    }

    /// What a failed connect means for Lua.
    static func connectFailure(_ error: any Error) -> PolicyHTTPError {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first { return connectFailure(first.error) }
            return .unreachable  // the name did not resolve
        }
        if let error = error as? ChannelError, case .connectTimeout = error { return .timeout }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return .refused }
        if error is NIOSSLError { return .tls }
        return .unreachable
    }
}

/// One request and its response; touched on its event loop only.
final class HTTPExchange: @unchecked Sendable {
    let request: PolicyHTTPRequest
    let eventLoop: any EventLoop
    private var completion: (@Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void)?
    private var channel: (any Channel)?
    private var timer: Scheduled<Void>?
    private var status = 0
    private var headers: [HeaderField] = []
    private var body: ByteBuffer?
    private var received = 0
    private var sawHead = false

    init(request: PolicyHTTPRequest, eventLoop: any EventLoop,
         completion: @escaping @Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void) {
        self.request = request
        self.eventLoop = eventLoop
        self.completion = completion
    }

    var finished: Bool { completion == nil }

    func armTimer(_ timeout: TimeAmount) {
        timer = eventLoop.scheduleTask(in: timeout) { [self] in finish(.failure(.timeout)) }
    }

    func connected(_ channel: any Channel) {
        guard !finished else {
            channel.close(promise: nil)
            return
        }
        self.channel = channel
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: request.method), uri: request.url.target)
        head.headers.add(name: "Host", value: request.url.authority)
        for field in request.headers { head.headers.add(name: field.name, value: field.value) }
        head.headers.add(name: "Content-Length", value: String(request.body.count))
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        switch request.body {
        case .none: break
        case .bytes(let bytes):
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil)
        case .message(let message):
            channel.write(HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: message.bytes))), promise: nil)
        }
        // A failed write needs no handling here: the server may answer and close before
        // reading everything (a 413, say); the response, when it comes, still counts,
        // otherwise the close reports it.
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    func receivedHead(_ head: HTTPResponseHead) {
        guard !finished else { return }
        // A 1xx (100 Continue) is followed by the real response.
        if (100..<200).contains(head.status.code) { return }
        status = Int(head.status.code)
        sawHead = true
        received += 32 + head.status.reasonPhrase.utf8.count
        for (name, value) in head.headers {
            received += name.utf8.count + value.utf8.count + 4
            headers.append(HeaderField(name: name, value: value))
        }
        if received > request.maxResponseBytes { finish(.failure(.tooLarge)) }
    }

    func receivedBody(_ part: ByteBuffer) {
        guard !finished, sawHead else { return }
        received += part.readableBytes
        guard received <= request.maxResponseBytes else {
            finish(.failure(.tooLarge))
            return
        }
        if body == nil { body = part } else {
            var copy = part
            body!.writeBuffer(&copy)
        }
    }

    func receivedEnd() {
        guard !finished, sawHead else { return }
        let bytes = body.map { Array($0.readableBytesView) } ?? []
        finish(.success(PolicyHTTPResponse(status: status, headers: headers, body: bytes)))
    }

    func failed(_ error: any Error) {
        if error is NIOSSLError { finish(.failure(.tls)) }
        // The decoder reports a close in the middle of a framed body as a parse error.
        else if let parse = error as? HTTPParserError, parse == .invalidEOFState { finish(.failure(.closed)) }
        else if error is HTTPParserError { finish(.failure(.malformed)) }
        else { finish(.failure(.closed)) }
    }

    func closed() { finish(.failure(.closed)) }

    func finish(_ result: Result<PolicyHTTPResponse, PolicyHTTPError>) {
        guard let completion else { return }
        self.completion = nil
        timer?.cancel()
        timer = nil
        body = nil
        channel?.close(promise: nil)
        channel = nil
        completion(result)
    }
}

/// Hands the decoded response parts to the exchange.
final class HTTPResponseReader: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    let exchange: HTTPExchange

    init(exchange: HTTPExchange) { self.exchange = exchange }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): exchange.receivedHead(head)
        case .body(let part): exchange.receivedBody(part)
        case .end: exchange.receivedEnd()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        exchange.failed(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange.closed()
        context.fireChannelInactive()
    }
}
