// Runs the libresolv resolver against dnsmasq on a loopback port (skipped when the
// dnsmasq binary is missing, failed when CI is set: `apt-get install dnsmasq-base`).
import Foundation
import Testing
@testable import Delivery

final class DNSMasq {
    let process: Process
    let port: Int

    static var binary: String? {
        ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A dnsmasq answering `records` on a free loopback port (a port taken by another
    /// process makes dnsmasq exit at once: then another port is tried).
    init?(records: [String]) {
        guard let binary = Self.binary else { return nil }
        for _ in 0..<8 {
            let candidate = FreePort.loopback(udp: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            var arguments = ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                             "--listen-address=127.0.0.1", "--bind-interfaces", "--port=\(candidate)", "--pid-file=",
                             "--local=/test/"] + records
            if getuid() == 0 { arguments.append("--user=root") }
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            // Wait until it answers.
            let resolver = SystemResolver(configuration: .init(nameserver: "127.0.0.1", port: candidate, timeout: 1, attempts: 1))
            for _ in 0..<150 {   // up to ~15 s on a loaded machine
                if (try? resolver.addressesBlocking("ready.test")) != nil {
                    self.process = process
                    self.port = candidate
                    return
                }
                guard process.isRunning else { break }
                usleep(100_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        return nil
    }

    deinit { stop() }

    /// SIGKILL: the test runner's blocked signal mask is inherited, so SIGTERM may never arrive.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    var resolver: SystemResolver {
        SystemResolver(configuration: .init(nameserver: "127.0.0.1", port: port, timeout: 2, attempts: 2))
    }
}

@Suite(.serialized) struct SystemResolverTests {
    static let records = [
        "--host-record=ready.test,127.0.0.99",
        "--mx-host=example.test,mx1.example.test,10", "--mx-host=example.test,mx2.example.test,20",
        "--host-record=mx1.example.test,127.0.0.2", "--host-record=mx2.example.test,127.0.0.3,::1",
        "--host-record=plain.test,127.0.0.4",
        "--dns-rr=nullmx.test,15,000000",
        "--cname=alias.test,plain.test",
    ]

    @Test(.enabled(if: ToolRequirement.runs(DNSMasq.binary != nil))) func answersMXAddressesNullMXAndNXDOMAIN() throws {
        let server = try #require(DNSMasq(records: Self.records), "dnsmasq did not start")
        defer { server.stop() }
        let resolver = server.resolver
        #expect(Set(try resolver.mxBlocking("example.test")) == [MXRecord(preference: 10, exchange: "mx1.example.test"),
                                                                 MXRecord(preference: 20, exchange: "mx2.example.test")])
        #expect(try resolver.addressesBlocking("mx2.example.test") == ["127.0.0.3", "::1"])
        #expect(try resolver.mxBlocking("plain.test") == [])
        #expect(try resolver.addressesBlocking("plain.test") == ["127.0.0.4"])
        #expect(try resolver.addressesBlocking("alias.test") == ["127.0.0.4"])
        #expect(try resolver.mxBlocking("nullmx.test") == [MXRecord(preference: 0, exchange: "")])
        #expect(throws: DNSError.nameNotFound) { try resolver.mxBlocking("nowhere.test") }
        #expect(throws: DNSError.nameNotFound) { try resolver.addressesBlocking("nowhere.test") }
        // Names no DNS server could hold never crash the resolver.
        _ = try? resolver.mxBlocking("example.test ")
        _ = try? resolver.mxBlocking(String(repeating: "a", count: 300))
        #expect(throws: DNSError.self) { try resolver.mxBlocking("") }
    }

    @Test(.enabled(if: ToolRequirement.runs(DNSMasq.binary != nil))) func routesThroughTheRealResolver() async throws {
        let server = try #require(DNSMasq(records: Self.records), "dnsmasq did not start")
        defer { server.stop() }
        let destinations = DestinationResolver(resolver: server.resolver, mxPort: 2525)
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

    @Test func silentNameserverIsATemporaryFailure() {
        // Nothing listens on this port: the query times out (1 s, one try).
        let resolver = SystemResolver(configuration: .init(nameserver: "127.0.0.1", port: 9, timeout: 1, attempts: 1))
        #expect {
            _ = try resolver.mxBlocking("example.test")
        } throws: { error in
            if case DNSError.temporary = error { true } else { false }
        }
    }

    @Test func nameserverSettingIsParsed() {
        #expect(SystemResolver.Configuration(nameserver: "127.0.0.1:5353") == .init(nameserver: "127.0.0.1", port: 5353))
        #expect(SystemResolver.Configuration(nameserver: "10.0.0.1") == .init(nameserver: "10.0.0.1", port: 53))
        for bad in ["", "localhost", "127.0.0.1:0", "127.0.0.1:x", "::1", "1.2.3.4:53:1"] {
            #expect(SystemResolver.Configuration(nameserver: bad) == nil, "\(bad)")
        }
    }
}
