// RFC 7489 §7.1, verifying external destinations: before a report for policy domain D
// goes to a `rua` address whose host is in another organizational domain, the
// destination must have said it accepts D's reports, with a TXT record at
//   D._report._dmarc.<destination host>
// whose value starts with "v=DMARC1". Without one (or when the lookup fails) the report
// is not sent there. The organizational domain comes from a function the caller
// gives (the server's is PublicSuffixList.organizationalDomain; `lastTwoLabels`, the
// default, is what that gives without a list).
// (§7.1 also lets that record name a replacement `rua`; mailgate does not follow it.)
import MailCore

public struct DMARCReportAuthorization: Sendable {
    public enum Outcome: Sendable, Equatable {
        /// Same organizational domain: no check needed.
        case sameOrganization
        /// The destination published its consent.
        case authorized
        /// No consent record: do not send.
        case notAuthorized
        /// The lookup failed: do not send now (a later run may).
        case temporaryFailure
    }

    public let dns: any DNSLookupService
    public let timeout: Duration
    public let organizationalDomain: @Sendable (String) -> String

    public init(dns: any DNSLookupService, timeout: Duration = .seconds(5),
                organizationalDomain: @escaping @Sendable (String) -> String = DMARCReportAuthorization.lastTwoLabels) {
        self.dns = dns
        self.timeout = timeout
        self.organizationalDomain = organizationalDomain
    }

    public func check(policyDomain: String, destination: DMARCReportURI) async -> Outcome {
        let policy = Self.normalized(policyDomain)
        let host = Self.normalized(destination.domain)
        if organizationalDomain(policy) == organizationalDomain(host) { return .sameOrganization }
        switch await dns.texts(Self.authorizationName(policyDomain: policy, destinationHost: host), timeout: timeout) {
        case .success(let texts):
            return texts.contains(where: Self.isConsent) ? .authorized : .notAuthorized
        case .failure(let why):
            return why.isAnswer ? .notAuthorized : .temporaryFailure
        }
    }

    /// `<policy-domain>._report._dmarc.<destination-host>`.
    public static func authorizationName(policyDomain: String, destinationHost: String) -> String {
        "\(normalized(policyDomain))._report._dmarc.\(normalized(destinationHost))"
    }

    /// A TXT value that starts with the version tag "v=DMARC1" (spaces around "=" allowed).
    static func isConsent(_ text: String) -> Bool {
        let compact = text.unicodeScalars.filter { $0 != " " && $0 != "\t" }
        let head = String(String.UnicodeScalarView(compact.prefix(8)))
        guard head == "v=DMARC1" else { return false }
        let rest = compact.dropFirst(8)
        return rest.isEmpty || rest.first == ";"
    }

    static func normalized(_ domain: String) -> String {
        var name = domain.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// Without a public suffix list: the last two labels. Right for "example.com",
    /// wrong for "example.co.uk" (every .co.uk domain would look like one organization,
    /// so no consent would be asked): the server passes the list's answer instead.
    @Sendable public static func lastTwoLabels(_ domain: String) -> String {
        let labels = normalized(domain).split(separator: ".", omittingEmptySubsequences: true)
        return labels.suffix(2).joined(separator: ".")
    }
}
