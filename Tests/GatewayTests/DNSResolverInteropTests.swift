// The resolver and mail routing against a real nameserver: dnsmasq on a loopback port
// (skipped when the binary is missing, failed when CI is set: `apt-get install
// dnsmasq-base`). Moved here from DeliveryTests with the libresolv resolver it tested.
@testable import Delivery
import Foundation
import MailCore
import NIOCore
import NIOPosix
import Testing
@testable import Gateway

/// dnsmasq runs as a daemon (it forks and its first process exits at once), never as a
/// long-running Foundation `Process`: Foundation's child reaper on Linux can block in
/// waitpid on a child that is still running, and then no other test's subprocess
/// (DSNBuilderTests' python) is ever reaped: the whole test run hung that way.
final class DNSMasq {
    let pid: pid_t
    let pidFile: String
    let port: Int

    static var binary: String? {
        ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var required: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return binary != nil }
        return binary != nil || (!value.isEmpty && value != "0" && value.lowercased() != "false")
    }

    /// A UDP port free right now (bound to 0, then closed).
    static func freePort(_ group: EventLoopGroup) async -> Int? {
        guard let channel = try? await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get() else {
            return nil
        }
        let port = channel.localAddress?.port
        try? await channel.close().get()
        return port
    }

    /// A dnsmasq answering `records` on a free loopback port (a port taken meanwhile makes
    /// dnsmasq exit at once: then another port is tried).
    init?(records: [String], group: any EventLoopGroup) async {
        guard let binary = Self.binary else { return nil }
        for _ in 0..<8 {
            guard let candidate = await Self.freePort(group) else { continue }
            let pidFile = NSTemporaryDirectory() + "mailgate-dnsmasq-\(UUID().uuidString).pid"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            var arguments = ["--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(candidate)",
                             "--pid-file=\(pidFile)", "--local=/test/"] + records
            if getuid() == 0 { arguments.append("--user=root") }
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            // Errors (a port taken meanwhile) come before the fork, as the exit status.
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { continue }
            var daemon: pid_t = 0
            for _ in 0..<50 {
                if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
                   let value = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    daemon = value
                    break
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            guard daemon > 0 else { continue }
            let probe = DNSResolver(configuration: .init(nameservers: [.init(host: "127.0.0.1", port: candidate)],
                                                         attemptTimeout: .seconds(1), attempts: 1),
                                    eventLoop: group.next(), cacheCapacity: 1)
            for _ in 0..<150 {   // up to ~15 s on a loaded machine
                let result = await withCheckedContinuation { continuation in
                    probe.lookup("ready.test", .a, timeout: .milliseconds(500)) { continuation.resume(returning: $0) }
                }
                if case .records = result {
                    self.pid = daemon
                    self.pidFile = pidFile
                    self.port = candidate
                    return
                }
                guard kill(daemon, 0) == 0 else { break }
                try? await Task.sleep(for: .milliseconds(100))
            }
            kill(daemon, SIGKILL)
            unlink(pidFile)
        }
        return nil
    }

    deinit { stop() }

    /// SIGKILL: the test runner's blocked signal mask is inherited, so SIGTERM may never arrive.
    func stop() {
        kill(pid, SIGKILL)
        unlink(pidFile)
    }
}

@Suite(.serialized) struct DNSResolverInteropTests {
    static let records = [
        "--host-record=ready.test,127.0.0.99",
        "--mx-host=example.test,mx1.example.test,10", "--mx-host=example.test,mx2.example.test,20",
        "--host-record=mx1.example.test,127.0.0.2", "--host-record=mx2.example.test,127.0.0.3,::1",
        "--host-record=plain.test,127.0.0.4",
        "--dns-rr=nullmx.test,15,000000",
        "--cname=alias.test,plain.test",
        "--txt-record=txt.test,v=spf1 -all",
        "--ptr-record=4.0.0.127.in-addr.arpa,plain.test",
    ]

    @Test(.enabled(if: DNSMasq.required)) func answersEveryKindAndRoutesMail() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try #require(await DNSMasq(records: Self.records, group: group), "dnsmasq did not start")
        defer { server.stop() }
        let dns = DNSResolver(configuration: .init(nameservers: [.init(host: "127.0.0.1", port: server.port)],
                                                   attemptTimeout: .seconds(2), attempts: 2),
                              eventLoop: group.next())
        func lookup(_ name: String, _ type: DNSRecordType) async -> DNSLookupResult {
            await withCheckedContinuation { continuation in
                dns.lookup(name, type, timeout: .seconds(5)) { continuation.resume(returning: $0) }
            }
        }
        func records(_ result: DNSLookupResult) -> [DNSRecordData]? {
            if case .records(let records, _) = result { records } else { nil }
        }
        let txt = await lookup("txt.test", .txt)
        #expect(records(txt) == [.text("v=spf1 -all")], "\(txt)")
        #expect(records(await lookup(IPAddress("127.0.0.4")!.reverseName(), .ptr)) == [.name("plain.test")])
        #expect(records(await lookup("alias.test", .a)) == [.address("127.0.0.4")])
        #expect(await lookup("nowhere.test", .a) == .nxdomain)
        #expect(await lookup("plain.test", .mx) == .nodata)

        let resolver = LookupResolver(service: dns)
        #expect(Set(try await resolver.mx("example.test")) == [MXRecord(preference: 10, exchange: "mx1.example.test"),
                                                               MXRecord(preference: 20, exchange: "mx2.example.test")])
        #expect(try await resolver.addresses("mx2.example.test") == ["127.0.0.3", "::1"])
        #expect(try await resolver.mx("nullmx.test") == [MXRecord(preference: 0, exchange: "")])
        await #expect(throws: DNSError.nameNotFound) { _ = try await resolver.addresses("nowhere.test") }

        let destinations = DestinationResolver(resolver: resolver, mxPort: 2525)
        let targets = try await destinations.resolve("example.test")
        #expect(targets.map(\.address) == ["127.0.0.2", "127.0.0.3", "::1"])
        #expect(targets.map(\.host) == ["mx1.example.test", "mx2.example.test", "mx2.example.test"])
        #expect(try await destinations.resolve("plain.test").map(\.address) == ["127.0.0.4"])
        await #expect(throws: RouteFailure(isPermanent: true, enhancedStatus: "5.1.10",
                                           text: "Sorry, nullmx.test does not accept mail (it publishes a null MX). (#5.1.10)")) {
            _ = try await destinations.resolve("nullmx.test")
        }
        await #expect(throws: RouteFailure(isPermanent: true, enhancedStatus: "5.1.2",
                                           text: "Sorry, I couldn't find any host named nowhere.test. (#5.1.2)")) {
            _ = try await destinations.resolve("nowhere.test")
        }
    }
}
