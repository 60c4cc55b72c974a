// The values the DKIM verifier and signer hand out: one outcome per signature, in the
// words of RFC 8601 §2.7.1 (what Authentication-Results and the Lua plugins say), and
// the two signing algorithms RFC 8301 and RFC 8463 leave us (rsa-sha1 is refused).

/// RFC 8601's dkim results.
public enum DKIMResult: String, Sendable {
    case pass, fail, neutral, policy, temperror, permerror, none
}

public enum DKIMAlgorithm: String, Sendable, CaseIterable {
    case rsaSHA256 = "rsa-sha256"
    case ed25519SHA256 = "ed25519-sha256"

    /// The key record's k= value for this algorithm.
    public var keyType: String {
        switch self {
        case .rsaSHA256: "rsa"
        case .ed25519SHA256: "ed25519"
        }
    }
}

/// The verification of one DKIM-Signature field.
public struct DKIMOutcome: Sendable, Equatable {
    public var result: DKIMResult
    /// d=
    public var domain: String?
    /// s=
    public var selector: String?
    /// i= (or "@d" when absent)
    public var identity: String?
    /// "rsa-sha256" / "ed25519-sha256" (as written, for anything else)
    public var algorithm: String?
    /// The first 8 characters of b= (RFC 8601 header.b).
    public var signatureHead: String?
    public var keyBits: Int?
    /// Why the result is not pass, in words ("body hash did not verify", …).
    public var problem: String?
    /// The key record says t=y: the domain is testing DKIM, and RFC 6376 §3.6.1 asks
    /// verifiers not to treat the message differently whatever the result.
    public var testing: Bool = false
    /// With l=: how many canonical body bytes the signature does not cover (RFC 6376
    /// §8.2: content appended after signing). 0 or nil when the whole body is signed.
    public var unsignedBodyBytes: Int?

    public init(result: DKIMResult, domain: String? = nil, selector: String? = nil, identity: String? = nil,
                algorithm: String? = nil, signatureHead: String? = nil, keyBits: Int? = nil, problem: String? = nil) {
        self.result = result
        self.domain = domain
        self.selector = selector
        self.identity = identity
        self.algorithm = algorithm
        self.signatureHead = signatureHead
        self.keyBits = keyBits
        self.problem = problem
    }
}
