// The NIO HTTP/1 client behind mailgate.http (HTTPClient.swift) against a tiny raw
// server on loopback: the request as written on the wire (head, Content-Length, the
// message as the body), responses framed by Content-Length, chunks or close, and the
// failures Lua sees (refused, timeout, too_large, malformed, closed).
import Foundation
import MailCore
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Policy
import Testing
@testable import Gateway

/// Answers each connection's first complete request (head + Content-Length body) with
/// `response` bytes (nil: silence), then closes unless `keepOpen`; keeps the requests.
final class RawHTTPServer: Sendable {
    let channel: any Channel
    let port: Int
    let seen: NIOLockedValueBox<[[UInt8]]>

    var requests: [String] { seen.withLockedValue { $0.map { String(decoding: $0, as: UTF8.self) } } }

    /// `greeting`: written as soon as a client connects, before any request.
    init(response: [UInt8]?, keepOpen: Bool = false, greeting: [UInt8]? = nil) async throws {
        let seen = NIOLockedValueBox<[[UInt8]]>([])
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Connection(response: response, keepOpen: keepOpen,
                                                                               greeting: greeting, seen: seen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
        self.seen = seen
    }

    func close() async { try? await channel.close().get() }

    final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let response: [UInt8]?
        let keepOpen: Bool
        let greeting: [UInt8]?
        let seen: NIOLockedValueBox<[[UInt8]]>
        var buffer: [UInt8] = []
        var answered = false

        init(response: [UInt8]?, keepOpen: Bool, greeting: [UInt8]?, seen: NIOLockedValueBox<[[UInt8]]>) {
            self.response = response; self.keepOpen = keepOpen; self.greeting = greeting; self.seen = seen
        }

        func channelActive(context: ChannelHandlerContext) {
            if let greeting { context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: greeting)), promise: nil) }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            buffer += Array(unwrapInboundIn(data).readableBytesView)
            guard !answered, let end = Self.headEnd(buffer) else { return }
            let head = String(decoding: buffer[..<end], as: UTF8.self).lowercased()
            var length = 0
            if let range = head.range(of: "content-length: ") {
                length = Int(head[range.upperBound...].prefix(while: \.isNumber)) ?? 0
            }
            guard buffer.count >= end + length else { return }
            answered = true
            seen.withLockedValue { $0.append(buffer) }
            guard let response else { return }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: response)), promise: nil)
            if !keepOpen { context.close(promise: nil) }
        }

        static func headEnd(_ bytes: [UInt8]) -> Int? {
            guard bytes.count >= 4 else { return nil }
            for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
                return index + 4
            }
            return nil
        }
    }
}

private func send(_ request: PolicyHTTPRequest, timeout: Duration = .seconds(5)) async -> Result<PolicyHTTPResponse, PolicyHTTPError> {
    let client = HTTPClient(group: MultiThreadedEventLoopGroup.singleton)
    return await withCheckedContinuation { continuation in
        client.send(request, timeout: timeout) { continuation.resume(returning: $0) }
    }
}

private func request(_ port: Int, body: PolicyHTTPRequest.Body = .none, max: Int = 1024 * 1024,
                     headers: [HeaderField] = []) -> PolicyHTTPRequest {
    PolicyHTTPRequest(method: body.count > 0 ? "POST" : "GET",
                      url: PolicyHTTPURL(secure: false, host: "127.0.0.1", port: port, target: "/checkv2"),
                      headers: headers, body: body, maxResponseBytes: max)
}

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct HTTPClientTests {
    @Test func sendsTheMessageAndReadsALengthFramedResponse() async throws {
        let server = try await RawHTTPServer(response: bytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"score\":1.5}"))
        defer { Task { await server.close() } }
        let message = MessageContent(bytes: bytes("Subject: hi\r\n\r\nbody\r\n"))
        let result = await send(request(server.port, body: .message(message),
                                        headers: [HeaderField(name: "Rcpt", value: "a@x.example"), HeaderField(name: "Rcpt", value: "b@x.example")]))
        guard case .success(let response) = result else {
            Issue.record("\(result)")
            return
        }
        #expect(response.status == 200)
        #expect(response.headers.contains(HeaderField(name: "Content-Type", value: "application/json")))
        #expect(String(decoding: response.body, as: UTF8.self) == "{\"score\":1.5}")
        let sent = try #require(server.requests.first)
        #expect(sent.hasPrefix("POST /checkv2 HTTP/1.1\r\n"))
        #expect(sent.contains("Host: 127.0.0.1:\(server.port)\r\n"))
        #expect(sent.contains("Rcpt: a@x.example\r\nRcpt: b@x.example\r\n"))
        #expect(sent.contains("Content-Length: 21\r\n"))
        #expect(sent.contains("Connection: close\r\n"))
        #expect(sent.hasSuffix("\r\n\r\nSubject: hi\r\n\r\nbody\r\n"))
    }

    @Test func readsChunkedAndCloseDelimitedResponses() async throws {
        let chunked = try await RawHTTPServer(response: bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"))
        let closing = try await RawHTTPServer(response: bytes("HTTP/1.0 200 OK\r\n\r\nuntil the end"))
        defer { Task { await chunked.close(); await closing.close() } }
        let first = await send(request(chunked.port))
        #expect((try? first.get().body).map { String(decoding: $0, as: UTF8.self) } == "hello world")
        let second = await send(request(closing.port))
        #expect((try? second.get().body).map { String(decoding: $0, as: UTF8.self) } == "until the end")
    }

    @Test func aLargerResponseIsTooLarge() async throws {
        let body = String(repeating: "x", count: 5000)
        let server = try await RawHTTPServer(response: bytes("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body))
        defer { Task { await server.close() } }
        let result = await send(request(server.port, max: 4096))
        #expect(result == .failure(.tooLarge))
        let fits = await send(request(server.port, max: 6000))
        #expect((try? fits.get().body.count) == 5000)
    }

    @Test func failuresHaveTheirWords() async throws {
        // Nothing listens on a port just closed.
        let gone = try await RawHTTPServer(response: nil)
        let port = gone.port
        await gone.close()
        #expect(await send(request(port)) == .failure(.refused))

        let silent = try await RawHTTPServer(response: nil)
        let garbage = try await RawHTTPServer(response: bytes("SMTP 220 hello\r\n\r\n"))
        let hangup = try await RawHTTPServer(response: bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"))
        defer { Task { await silent.close(); await garbage.close(); await hangup.close() } }
        let start = ContinuousClock.now
        #expect(await send(request(silent.port), timeout: .milliseconds(300)) == .failure(.timeout))
        let took = ContinuousClock.now - start
        #expect(took >= .milliseconds(250) && took < .seconds(3), "\(took)")
        #expect(await send(request(garbage.port)) == .failure(.malformed))
        #expect(await send(request(hangup.port)) == .failure(.closed))
    }

    @Test func httpsToAServerThatSpeaksNoTLSIsATLSFailure() async throws {
        let server = try await RawHTTPServer(response: nil, keepOpen: true,
                                             greeting: bytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
        defer { Task { await server.close() } }
        let url = PolicyHTTPURL(secure: true, host: "127.0.0.1", port: server.port, target: "/")
        #expect(await send(PolicyHTTPRequest(method: "GET", url: url)) == .failure(.tls))
    }

    @Test func unknownHostsAreUnreachable() async {
        let url = PolicyHTTPURL(secure: false, host: "no-such-host.invalid", port: 80, target: "/")
        let result = await send(PolicyHTTPRequest(method: "GET", url: url))
        #expect(result == .failure(.unreachable))
    }
}
