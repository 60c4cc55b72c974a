// Where mail for a domain goes (RFC 5321 §5.1, RFC 7505): a static route if one is
// configured, else the MX records by preference (shuffled among equals), else the
// domain's own A/AAAA records; null MX fails at once. The result is the ordered list
// of addresses to try, or a failure with the text the queue and the bounce show.

public struct DeliveryTarget: Sendable, Equatable {
    /// Name for texts, SNI and certificate checks ("mx1.example.net"), or the address.
    public var host: String
    /// Address to connect to.
    public var address: String
    public var port: Int
    public var tls: TLSPolicy
    public var credentials: SMTPCredentials?
    /// MX preference (0 for implicit MX and static routes).
    public var preference: Int

    public init(host: String, address: String, port: Int = 25, tls: TLSPolicy = .opportunistic,
                credentials: SMTPCredentials? = nil, preference: Int = 0) {
        self.host = host; self.address = address; self.port = port; self.tls = tls
        self.credentials = credentials; self.preference = preference
    }
}

public struct RouteFailure: Error, Sendable, Equatable {
    public var isPermanent: Bool
    public var enhancedStatus: String
    public var text: String
}

public struct DestinationResolver: Sendable {
    public var resolver: any Resolver
    public var routes: RouteTable
    /// Port for MX deliveries (25; tests point MX records at receivers on loopback ports).
    public var mxPort: Int
    /// TLS policy for MX deliveries.
    public var mxTLS: TLSPolicy
    /// At most this many addresses are returned (Postfix tries 5 MX addresses).
    public var maxTargets: Int

    public init(resolver: any Resolver, routes: RouteTable = RouteTable(), mxPort: Int = 25,
                mxTLS: TLSPolicy = .opportunistic, maxTargets: Int = 10) {
        self.resolver = resolver; self.routes = routes; self.mxPort = mxPort; self.mxTLS = mxTLS
        self.maxTargets = maxTargets
    }

    public func resolve(_ domain: String) async throws(RouteFailure) -> [DeliveryTarget] {
        var generator = SystemRandomNumberGenerator()
        return try await resolve(domain, using: &generator)
    }

    public func resolve(_ domain: String, using generator: inout some RandomNumberGenerator) async throws(RouteFailure)
        -> [DeliveryTarget] {
        if let route = routes.route(for: domain) {
            return try await targets(for: route)
        }
        if domain.hasPrefix("[") && domain.hasSuffix("]") {
            // Address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]".
            var inner = String(domain.dropFirst().dropLast())
            if inner.lowercased().hasPrefix("ipv6:") { inner = String(inner.dropFirst(5)) }
            guard IPLiteral.isAddress(inner) else { throw Self.invalid(domain, "is not a valid address literal") }
            return [DeliveryTarget(host: inner, address: inner, port: mxPort, tls: mxTLS)]
        }
        // An internationalised domain (SMTPUTF8) is looked up by its A-labels.
        let ascii = Punycode.toASCII(domain) ?? domain
        if let problem = DomainCheck.problem(ascii) { throw Self.invalid(domain, problem) }
        let name = ascii.hasSuffix(".") ? String(ascii.dropLast()) : ascii

        let records: [MXRecord]
        do {
            records = try await resolver.mx(name)
        } catch {
            throw Self.failure(error, name: name)
        }
        if records.isEmpty {
            // RFC 5321 §5.1: no MX, the domain itself is the implicit MX.
            let addresses: [String]
            do { addresses = try await resolver.addresses(name) } catch { throw Self.failure(error, name: name) }
            guard !addresses.isEmpty else {
                throw RouteFailure(isPermanent: true, enhancedStatus: "5.1.2", text: DeliveryTexts.noSuchHost(name))
            }
            return Array(addresses.prefix(maxTargets)).map {
                DeliveryTarget(host: name, address: $0, port: mxPort, tls: mxTLS, preference: 0)
            }
        }
        let usable = records.filter { !$0.exchange.isEmpty }
        if usable.isEmpty {
            throw RouteFailure(isPermanent: true, enhancedStatus: "5.1.10", text: DeliveryTexts.nullMX(name))
        }
        var targets: [DeliveryTarget] = []
        var seen: Set<String> = []
        var temporaryError: DNSError?
        for record in Self.order(usable, using: &generator) where targets.count < maxTargets {
            let addresses: [String]
            if IPLiteral.isAddress(record.exchange) {
                addresses = [record.exchange]
            } else {
                do { addresses = try await resolver.addresses(record.exchange) } catch {
                    if case .temporary = error { temporaryError = error }
                    continue
                }
            }
            for address in addresses where seen.insert(address).inserted && targets.count < maxTargets {
                targets.append(DeliveryTarget(host: record.exchange, address: address, port: mxPort, tls: mxTLS,
                                              preference: record.preference))
            }
        }
        guard targets.isEmpty else { return targets }
        if temporaryError != nil {
            throw RouteFailure(isPermanent: false, enhancedStatus: "4.4.3", text: DeliveryTexts.temporaryDNS)
        }
        // Every MX host is missing from DNS: a broken zone that may be fixed, so retry.
        throw RouteFailure(isPermanent: false, enhancedStatus: "4.4.3", text: DeliveryTexts.mxWithoutAddress(name))
    }

    /// MX records by preference, in random order among equal preferences (RFC 5321 §5.1).
    public static func order(_ records: [MXRecord], using generator: inout some RandomNumberGenerator) -> [MXRecord] {
        let groups = Dictionary(grouping: records, by: \.preference)
        return groups.keys.sorted().flatMap { groups[$0]!.shuffled(using: &generator) }
    }

    func targets(for route: Route) async throws(RouteFailure) -> [DeliveryTarget] {
        if IPLiteral.isAddress(route.host) {
            return [DeliveryTarget(host: route.host, address: route.host, port: route.port, tls: route.tls,
                                   credentials: route.credentials)]
        }
        let addresses: [String]
        do { addresses = try await resolver.addresses(route.host) } catch { throw Self.failure(error, name: route.host) }
        guard !addresses.isEmpty else {
            throw RouteFailure(isPermanent: true, enhancedStatus: "5.1.2", text: DeliveryTexts.noSuchHost(route.host))
        }
        return Array(addresses.prefix(maxTargets)).map {
            DeliveryTarget(host: route.host, address: $0, port: route.port, tls: route.tls, credentials: route.credentials)
        }
    }

    static func invalid(_ domain: String, _ problem: String) -> RouteFailure {
        RouteFailure(isPermanent: true, enhancedStatus: "5.1.2", text: DeliveryTexts.invalidHost(domain, problem: problem))
    }

    static func failure(_ error: DNSError, name: String) -> RouteFailure {
        switch error {
        case .nameNotFound:
            RouteFailure(isPermanent: true, enhancedStatus: "5.1.2", text: DeliveryTexts.noSuchHost(name))
        case .temporary:
            RouteFailure(isPermanent: false, enhancedStatus: "4.4.3", text: DeliveryTexts.temporaryDNS)
        case .permanent(let reason):
            // REFUSED/FORMERR say more about our nameserver than about the domain: retry.
            RouteFailure(isPermanent: false, enhancedStatus: "4.4.3", text: DeliveryTexts.temporaryDNS + " (\(reason))")
        }
    }
}
