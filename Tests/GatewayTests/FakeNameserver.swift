// An in-process nameserver for the resolver tests: UDP and TCP on the same loopback
// port, answering each query with what the test's closure returns (nothing = silence),
// after an optional delay, and recording every query it saw. Nothing here blocks a
// thread: tests run on Swift's few cooperative threads, shared by every suite.
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

final class FakeNameserver: Sendable {
    struct Reply: Sendable {
        var packets: [[UInt8]]
        var delay: TimeAmount = .zero
        static let silence = Reply(packets: [])
        static func send(_ packets: [UInt8]...) -> Reply { Reply(packets: packets) }
    }

    struct Query: Sendable {
        var bytes: [UInt8]
        var overTCP: Bool
    }

    typealias Answer = @Sendable (_ query: [UInt8], _ overTCP: Bool) -> Reply

    let udp: Channel
    let tcp: Channel
    let port: Int
    let seen: NIOLockedValueBox<[Query]>

    var queries: [Query] { seen.withLockedValue { $0 } }

    init(_ answer: @escaping Answer) async throws {
        let seen = NIOLockedValueBox<[Query]>([])
        let group = MultiThreadedEventLoopGroup.singleton
        var bound: (Channel, Channel, Int)?
        for _ in 0..<10 where bound == nil {
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(UDPServer(answer: answer, seen: seen))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let port = udp.localAddress!.port!
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(TCPServer(answer: answer, seen: seen))
                        }
                    }
                    .bind(host: "127.0.0.1", port: port).get()
                bound = (udp, tcp, port)
            } catch {
                try? await udp.close().get()
            }
        }
        guard let bound else { throw ChannelError.connectTimeout(.zero) }
        self.seen = seen
        self.udp = bound.0
        self.tcp = bound.1
        self.port = bound.2
    }

    func stop() {
        udp.close(promise: nil)
        tcp.close(promise: nil)
    }

    final class UDPServer: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        typealias OutboundOut = AddressedEnvelope<ByteBuffer>
        let answer: Answer
        let seen: NIOLockedValueBox<[Query]>
        init(answer: @escaping Answer, seen: NIOLockedValueBox<[Query]>) { self.answer = answer; self.seen = seen }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = Array(envelope.data.readableBytesView)
            seen.withLockedValue { $0.append(Query(bytes: bytes, overTCP: false)) }
            let reply = answer(bytes, false)
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: reply.delay) {
                for packet in reply.packets {
                    channel.writeAndFlush(AddressedEnvelope(remoteAddress: envelope.remoteAddress,
                                                            data: channel.allocator.buffer(bytes: packet)), promise: nil)
                }
            }
        }
    }

    final class TCPServer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let answer: Answer
        let seen: NIOLockedValueBox<[Query]>
        var buffer = ByteBuffer()
        init(answer: @escaping Answer, seen: NIOLockedValueBox<[Query]>) { self.answer = answer; self.seen = seen }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            buffer.writeBuffer(&incoming)
            guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
                  buffer.readableBytes >= 2 + Int(length) else { return }
            buffer.moveReaderIndex(forwardBy: 2)
            let bytes = buffer.readBytes(length: Int(length))!
            seen.withLockedValue { $0.append(Query(bytes: bytes, overTCP: true)) }
            let reply = answer(bytes, true)
            let channel = context.channel
            channel.eventLoop.scheduleTask(in: reply.delay) {
                for packet in reply.packets {
                    var out = channel.allocator.buffer(capacity: packet.count + 2)
                    out.writeInteger(UInt16(packet.count))
                    out.writeBytes(packet)
                    channel.writeAndFlush(out, promise: nil)
                }
            }
        }
    }
}
