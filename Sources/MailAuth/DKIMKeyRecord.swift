// A DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4): the TXT record at
// SELECTOR._domainkey.DOMAIN, parsed and its public key loaded. RSA keys are
// SubjectPublicKeyInfo (what everyone publishes) or bare RSAPublicKey (what the RFC
// text literally says), from `minimumRSABits` (1024 by RFC 8301, through
// _CryptoExtras' unsafe initialiser) to 4096 bits; Ed25519 keys are the raw 32 bytes.
// Every refusal is a `DKIMSignatureProblem` the verifier reports as permerror.
import Crypto
import _CryptoExtras

enum DKIMPublicKey: @unchecked Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    var bits: Int {
        switch self {
        case .rsa(let key): key.keySizeInBits
        case .ed25519: 256
        }
    }

    /// Checks `signature` over the SHA-256 digest of the signed header data.
    func isValid(signature: [UInt8], digest: SHA256.Digest) -> Bool {
        switch self {
        case .rsa(let key):
            return key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest,
                                        padding: .insecurePKCS1v1_5)
        case .ed25519(let key):
            // RFC 8463 §3: PureEdDSA over the SHA-256 hash, not over the data itself.
            return key.isValidSignature(signature, for: Array(digest))
        }
    }
}

struct DKIMKeyRecord: Sendable {
    static let maxRSABits = 4096

    var key: DKIMPublicKey
    var keyType: String
    /// t=y: the domain is testing.
    var testing: Bool
    /// t=s: i= must be in d= itself, not a subdomain.
    var strict: Bool
    /// h= (lowercased), nil for "any".
    var hashAlgorithms: [String]?

    init(parsing text: String, minimumRSABits: Int) throws(DKIMSignatureProblem) {
        let tags: TagList
        do { tags = try TagList(parsing: text) } catch { throw DKIMSignatureProblem("key record is malformed") }
        if let version = tags["v"] {
            guard version == "DKIM1", tags.tags.first?.name == "v" else {
                throw DKIMSignatureProblem("key record version is not DKIM1")
            }
        }
        hashAlgorithms = tags["h"].map { $0.split(separator: ":").map { TagList.removingWhitespace(String($0)).lowercased() } }
        if let services = tags["s"] {
            let list = services.split(separator: ":").map { TagList.removingWhitespace(String($0)).lowercased() }
            guard list.contains("*") || list.contains("email") else { throw DKIMSignatureProblem("key is not for email (s=)") }
        }
        let flags = (tags["t"] ?? "").split(separator: ":").map { TagList.removingWhitespace(String($0)).lowercased() }
        testing = flags.contains("y")
        strict = flags.contains("s")
        keyType = TagList.removingWhitespace(tags["k"] ?? "rsa").lowercased()
        guard let publicText = tags["p"] else { throw DKIMSignatureProblem("key record has no p= tag") }
        if TagList.removingWhitespace(publicText).isEmpty { throw DKIMSignatureProblem("key revoked (empty p=)") }
        guard let keyBytes = DKIMSignature.base64(publicText) else { throw DKIMSignatureProblem("p= is not base64") }
        switch keyType {
        case "rsa":
            let rsa: _RSA.Signing.PublicKey
            do { rsa = try _RSA.Signing.PublicKey(unsafeDERRepresentation: keyBytes) } catch {
                // Under 1024 bits the unsafe initialiser refuses too; say which it is when we can.
                throw DKIMSignatureProblem("p= is not a usable RSA public key (malformed, or under 1024 bits)")
            }
            guard rsa.keySizeInBits >= minimumRSABits else {
                throw DKIMSignatureProblem("RSA key of \(rsa.keySizeInBits) bits is under the \(minimumRSABits)-bit minimum")
            }
            guard rsa.keySizeInBits <= Self.maxRSABits else {
                throw DKIMSignatureProblem("RSA key of \(rsa.keySizeInBits) bits is over the \(Self.maxRSABits)-bit maximum")
            }
            key = .rsa(rsa)
        case "ed25519":
            guard keyBytes.count == 32, let ed = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes) else {
                throw DKIMSignatureProblem("p= is not a 32-byte Ed25519 public key")
            }
            key = .ed25519(ed)
        default:
            throw DKIMSignatureProblem("unknown key type k=\(keyType.prefix(20))")
        }
    }

    /// The checks that tie this key to a signature (RFC 6376 §6.1.2 steps 6–9).
    func check(against signature: DKIMSignature) throws(DKIMSignatureProblem) {
        guard keyType == signature.algorithm.keyType else {
            throw DKIMSignatureProblem("key type k=\(keyType) does not match a=\(signature.algorithm.rawValue)")
        }
        if let hashAlgorithms, !hashAlgorithms.contains("sha256") {
            throw DKIMSignatureProblem("key does not allow sha256 (h=)")
        }
        if strict && signature.identityDomain != signature.domain {
            throw DKIMSignatureProblem("key requires i= in d= itself (t=s)")
        }
    }
}
