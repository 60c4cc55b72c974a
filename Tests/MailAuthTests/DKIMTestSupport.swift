// Shared by the DKIM tests: a DNS double answering TXT questions from a table, and
// the published test vectors (RFC 6376 Appendix A, RFC 8463 Appendix A).
import MailCore
@testable import MailAuth
import Foundation

/// Answers from `records` (name → TXT strings); names in `failures` fail; others NXDOMAIN.
final class StaticDNS: DNSLookupService, @unchecked Sendable {
    let records: [String: [String]]
    let failures: [String: DNSFailure]
    private let lock = NSLock()
    private var _queries: [String] = []
    var queries: [String] { lock.lock(); defer { lock.unlock() }; return _queries }

    init(_ records: [String: [String]], failures: [String: DNSFailure] = [:]) {
        self.records = records
        self.failures = failures
    }

    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration, _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        lock.lock(); _queries.append(name); lock.unlock()
        if let failure = failures[name] { return completion(.failure(failure)) }
        guard type == .txt, let texts = records[name] else { return completion(.nxdomain) }
        completion(texts.isEmpty ? .nodata : .records(texts.map { .text($0) }, ttl: 300))
    }
}

enum DKIMVectors {
    static func crlf(_ text: String) -> String { text.replacingOccurrences(of: "\n", with: "\r\n") }

    /// RFC 6376 Appendix A.2 (the signed message) and A.3 (brisbane._domainkey.example.com).
    static let rfc6376Message = crlf("""
    DKIM-Signature: v=1; a=rsa-sha256; s=brisbane; d=example.com;
          c=simple/simple; q=dns/txt; i=joe@football.example.com;
          h=Received : From : To : Subject : Date : Message-ID;
          bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
          b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB
          4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut
          KVdkLLkpVaVVQPzeRDI009SO2Il5Lu7rDNH6mZckBdrIx0orEtZV
          4bmp/YzhwvcubU4=;
    Received: from client1.football.example.com  [192.0.2.1]
          by submitserver.example.com with SUBMISSION;
          Fri, 11 Jul 2003 21:01:54 -0700 (PDT)
    From: Joe SixPack <joe@football.example.com>
    To: Suzie Q <suzie@shopping.example.net>
    Subject: Is dinner ready?
    Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
    Message-ID: <20030712040037.46341.5F8J@football.example.com>

    Hi.

    We lost the game. Are you hungry yet?

    Joe.

    """)
    static let rfc6376Key = "v=DKIM1; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7/zYt"
        + "IxN2SnFCjxOCKG9v3b4jYfcTNh5ijSsq631uBItLa7od+v/RtdC2UzJ1lWT947qR+Rcac2gbto/NMqJ0fzfVjH4OuKhi"
        + "tdY9tf6mcwGjaNBcWToIMmPSPDdQPNUYckcQ2QIDAQAB"

    /// RFC 8463 Appendix A.3: one message, an Ed25519 and an RSA signature; A.2 keys.
    static let rfc8463Message = crlf("""
    DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;
     d=football.example.com; i=@football.example.com;
     q=dns/txt; s=brisbane; t=1528637909; h=from : to :
     subject : date : message-id : from : subject : date;
     bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
     b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus
     Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==
    DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;
     d=football.example.com; i=@football.example.com;
     q=dns/txt; s=test; t=1528637909; h=from : to : subject :
     date : message-id : from : subject : date;
     bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;
     b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3
     DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz
     dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=
    From: Joe SixPack <joe@football.example.com>
    To: Suzie Q <suzie@shopping.example.net>
    Subject: Is dinner ready?
    Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)
    Message-ID: <20030712040037.46341.5F8J@football.example.com>

    Hi.

    We lost the game.  Are you hungry yet?

    Joe.

    """)
    static let rfc8463Ed25519Key = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
    static let rfc8463RSAKey = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
        + "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
        + "DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
        + "Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
    /// RFC 8463 A.1: the Ed25519 private key (the RFC 8032 §7.1 test 1 seed).
    static let rfc8463Ed25519Seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="

    static let rfcDNS: [String: [String]] = [
        "brisbane._domainkey.example.com": [rfc6376Key],
        "brisbane._domainkey.football.example.com": [rfc8463Ed25519Key],
        "test._domainkey.football.example.com": [rfc8463RSAKey],
    ]

    /// A verifier over `records` at a fixed time (after the vectors' t=).
    static func verifier(_ records: [String: [String]] = rfcDNS, now: Double = 1_700_000_000,
                         failures: [String: DNSFailure] = [:]) -> DKIMVerifier {
        DKIMVerifier(dns: StaticDNS(records, failures: failures), now: { now })
    }
}
