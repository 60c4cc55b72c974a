// `mailgate dkim verify`: one message checked with the server's own engine and resolver
// settings (`[delivery] nameserver`, else resolv.conf), outside a running server. The
// CLI has no event loop of its own, so this brings one up for the lookups.
import Foundation
import MailAuth
import NIOPosix

public enum DKIMVerifyTool {
    public static func verify(_ bytes: [UInt8], configuration: GatewayConfiguration,
                              timeout: Duration = .seconds(5)) -> [DKIMOutcome] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let dns = DNSResolver(configuration: DNSResolver.configuration(nameserver: configuration.nameserver.map {
            .init(host: $0.host, port: $0.port)
        }), eventLoop: group.next())
        let verifier = DKIMVerifier(dns: dns, timeout: timeout)
        let message = AuthMessage(bytes: bytes)
        let box = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.outcomes = await verifier.verify(message)
            done.signal()
        }
        done.wait()
        return box.outcomes
    }

    /// Written by the task before the semaphore is signalled, read after the wait.
    private final class OutcomeBox: @unchecked Sendable {
        var outcomes: [DKIMOutcome] = []
    }
}
