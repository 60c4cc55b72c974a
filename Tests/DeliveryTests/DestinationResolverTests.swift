import Testing
import TestSupport
@testable import Delivery

/// In-memory DNS: names missing from both tables do not exist.
struct FakeResolver: Resolver {
    var mxRecords: [String: [MXRecord]] = [:]
    var hosts: [String: [String]] = [:]
    var failing: [String: DNSError] = [:]

    func mx(_ domain: String) async throws(DNSError) -> [MXRecord] {
        if let error = failing[domain] { throw error }
        if let records = mxRecords[domain] { return records }
        if hosts[domain] != nil { return [] }
        throw .nameNotFound
    }

    func addresses(_ host: String) async throws(DNSError) -> [String] {
        if let error = failing[host] { throw error }
        if let found = hosts[host] { return found }
        if mxRecords[host] != nil { return [] }
        throw .nameNotFound
    }
}

@Suite struct DestinationResolverTests {
    func resolve(_ domain: String, _ dns: FakeResolver, routes: RouteTable = RouteTable(),
                 seed: UInt64 = 1) async -> Result<[DeliveryTarget], RouteFailure> {
        var generator = SeededGenerator(seed: seed)
        let resolver = DestinationResolver(resolver: dns, routes: routes, mxPort: 2525)
        do { return .success(try await resolver.resolve(domain, using: &generator)) } catch { return .failure(error) }
    }

    @Test func mxHostsInPreferenceOrderWithTheirAddresses() async throws {
        let dns = FakeResolver(mxRecords: ["example.net": [MXRecord(preference: 20, exchange: "backup.example.net"),
                                                           MXRecord(preference: 10, exchange: "mx.example.net")]],
                               hosts: ["mx.example.net": ["192.0.2.1", "2001:db8::1"], "backup.example.net": ["192.0.2.2"]])
        let targets = try await resolve("example.net", dns).get()
        #expect(targets == [
            DeliveryTarget(host: "mx.example.net", address: "192.0.2.1", port: 2525, preference: 10),
            DeliveryTarget(host: "mx.example.net", address: "2001:db8::1", port: 2525, preference: 10),
            DeliveryTarget(host: "backup.example.net", address: "192.0.2.2", port: 2525, preference: 20),
        ])
    }

    @Test func equalPreferencesAreShuffledButNeverBeforeBetterOnes() async throws {
        let dns = FakeResolver(mxRecords: ["example.net": [MXRecord(preference: 10, exchange: "a"),
                                                           MXRecord(preference: 10, exchange: "b"),
                                                           MXRecord(preference: 10, exchange: "c"),
                                                           MXRecord(preference: 5, exchange: "first")]],
                               hosts: ["a": ["10.0.0.1"], "b": ["10.0.0.2"], "c": ["10.0.0.3"], "first": ["10.0.0.9"]])
        var orders: Set<[String]> = []
        for seed in 0..<40 {
            let hosts = try await resolve("example.net", dns, seed: UInt64(seed)).get().map(\.host)
            #expect(hosts.first == "first" && Set(hosts.dropFirst()) == ["a", "b", "c"])
            orders.insert(hosts)
        }
        #expect(orders.count > 1)
    }

    @Test func noMXFallsBackToTheDomainsOwnAddresses() async throws {
        let dns = FakeResolver(hosts: ["plain.test": ["192.0.2.5"]])
        #expect(try await resolve("plain.test", dns).get() == [DeliveryTarget(host: "plain.test", address: "192.0.2.5", port: 2525)])
    }

    @Test func nullMXFailsAtOnce() async {
        let dns = FakeResolver(mxRecords: ["nomail.test": [MXRecord(preference: 0, exchange: "")]])
        let failure = RouteFailure(isPermanent: true, enhancedStatus: "5.1.10",
                                   text: "Sorry, nomail.test does not accept mail (it publishes a null MX). (#5.1.10)")
        #expect(await resolve("nomail.test", dns) == .failure(failure))
    }

    @Test func nonexistentDomainGetsTheClassicText() async {
        #expect(await resolve("nowhere.test", FakeResolver()) == .failure(RouteFailure(
            isPermanent: true, enhancedStatus: "5.1.2", text: "Sorry, I couldn't find any host named nowhere.test. (#5.1.2)")))
        // Exists, but neither MX nor address.
        let empty = FakeResolver(mxRecords: ["empty.test": []])
        #expect(await resolve("empty.test", empty) == .failure(RouteFailure(
            isPermanent: true, enhancedStatus: "5.1.2", text: "Sorry, I couldn't find any host named empty.test. (#5.1.2)")))
    }

    @Test func invalidDomainsGetAClearPermanentError() async {
        let cases = ["example.net ": "ends with a space", "exa mple.net": "contains a space",
                     "exa/mple.net": "contains the character \"/\"", "a..b": "has two dots in a row",
                     "-x.net": "has a part that starts or ends with \"-\"", "x\u{1}.net": "contains the control character \\x1",
                     "": "is empty", String(repeating: "a", count: 64) + ".net": "has a part longer than 63 characters"]
        for (domain, problem) in cases {
            guard case .failure(let failure) = await resolve(domain, FakeResolver()) else {
                Issue.record("\(domain) resolved"); continue
            }
            #expect(failure.isPermanent && failure.enhancedStatus == "5.1.2")
            #expect(failure.text.hasPrefix("Sorry, I couldn't find any host named \""), "\(failure.text)")
            #expect(failure.text.hasSuffix("(#5.1.2) The domain \(problem)."), "\(failure.text)")
        }
        guard case .failure(let spaced) = await resolve("example.net ", FakeResolver()) else { return }
        #expect(spaced.text == "Sorry, I couldn't find any host named \"example.net \". (#5.1.2) The domain ends with a space.")
    }

    @Test func temporaryDNSProblemsDefer() async {
        let dns = FakeResolver(failing: ["slow.test": .temporary("timeout")])
        #expect(await resolve("slow.test", dns) == .failure(RouteFailure(
            isPermanent: false, enhancedStatus: "4.4.3", text: "Sorry, I couldn't find any host by that name. (#4.1.2)")))
        let refused = FakeResolver(failing: ["odd.test": .permanent("REFUSED")])
        #expect(try! #require(await resolve("odd.test", refused).failure).isPermanent == false)
    }

    @Test func mxHostsWithoutAddressesAreSkippedAndRetriedWhenNoneIsLeft() async throws {
        let some = FakeResolver(mxRecords: ["example.net": [MXRecord(preference: 1, exchange: "gone.example.net"),
                                                            MXRecord(preference: 2, exchange: "slow.example.net"),
                                                            MXRecord(preference: 3, exchange: "ok.example.net")]],
                                hosts: ["ok.example.net": ["192.0.2.9"]],
                                failing: ["slow.example.net": .temporary("timeout")])
        #expect(try await resolve("example.net", some).get().map(\.address) == ["192.0.2.9"])

        let none = FakeResolver(mxRecords: ["example.net": [MXRecord(preference: 1, exchange: "gone.example.net")]])
        let failure = try #require(await resolve("example.net", none).failure)
        #expect(!failure.isPermanent && failure.text == "Sorry, none of the mail exchangers for example.net has an address. (#4.4.3)")
    }

    @Test func duplicateAddressesAreTriedOnceAndTheListIsBounded() async throws {
        var records: [MXRecord] = []
        var hosts: [String: [String]] = [:]
        for index in 0..<30 {
            records.append(MXRecord(preference: index, exchange: "mx\(index).test"))
            hosts["mx\(index).test"] = ["10.0.0.\(index % 3)"]
        }
        let dns = FakeResolver(mxRecords: ["big.test": records], hosts: hosts)
        #expect(try await resolve("big.test", dns).get().map(\.address) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"])
    }

    @Test func staticRoutesWinOverMX() async throws {
        let dns = FakeResolver(mxRecords: ["example.net": [MXRecord(preference: 10, exchange: "mx.example.net")]],
                               hosts: ["mx.example.net": ["192.0.2.1"], "smarthost.test": ["192.0.2.50"]])
        let credentials = SMTPCredentials(user: "u", password: "p")
        let routes = RouteTable(["Example.NET": Route(host: "127.0.0.1", port: 2526, tls: .none),
                                 "*": Route(host: "smarthost.test", port: 587, tls: .required, credentials: credentials)])
        #expect(try await resolve("example.net", dns, routes: routes).get()
                == [DeliveryTarget(host: "127.0.0.1", address: "127.0.0.1", port: 2526, tls: .none)])
        #expect(try await resolve("other.org", dns, routes: routes).get()
                == [DeliveryTarget(host: "smarthost.test", address: "192.0.2.50", port: 587, tls: .required,
                                   credentials: credentials)])
        let missing = RouteTable(["x.test": Route(host: "nosuch.test")])
        #expect(try #require(await resolve("x.test", dns, routes: missing).failure).text
                == "Sorry, I couldn't find any host named nosuch.test. (#5.1.2)")
    }

    @Test func addressLiteralsGoStraightToTheAddress() async throws {
        #expect(try await resolve("[192.0.2.3]", FakeResolver()).get().map(\.address) == ["192.0.2.3"])
        #expect(try await resolve("[IPv6:2001:db8::3]", FakeResolver()).get().map(\.address) == ["2001:db8::3"])
        #expect(try #require(await resolve("[999.1.1.1]", FakeResolver()).failure).isPermanent)
    }
}

extension Result {
    var failure: Failure? { if case .failure(let error) = self { error } else { nil } }
}
