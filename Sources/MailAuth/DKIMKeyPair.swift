// A DKIM private key as the store keeps it (PEM) and the public record to publish.
// RSA: 1024–4096 bits (2048 by default; under 2048 only through _CryptoExtras' unsafe
// initialisers, for old keys), p= is the SubjectPublicKeyInfo DER. Ed25519 (RFC 8463
// §4.2): PKCS#8 PEM privately, p= is the raw 32-byte public key.
import Crypto
import _CryptoExtras

public struct DKIMKeyPair: Sendable {
    public enum KeyError: Error, Equatable, Sendable {
        case unsupportedSize(Int)
        case malformedPEM
    }

    enum Backing: @unchecked Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ed25519(Curve25519.Signing.PrivateKey)
    }

    let backing: Backing
    public let algorithm: DKIMAlgorithm

    public static func generate(_ algorithm: DKIMAlgorithm, rsaBits: Int = 2048) throws -> DKIMKeyPair {
        switch algorithm {
        case .rsaSHA256:
            guard (1024...DKIMKeyRecord.maxRSABits).contains(rsaBits), rsaBits % 8 == 0 else {
                throw KeyError.unsupportedSize(rsaBits)
            }
            let key = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: rsaBits))
            return DKIMKeyPair(backing: .rsa(key), algorithm: .rsaSHA256)
        case .ed25519SHA256:
            return DKIMKeyPair(backing: .ed25519(Curve25519.Signing.PrivateKey()), algorithm: .ed25519SHA256)
        }
    }

    init(backing: Backing, algorithm: DKIMAlgorithm) {
        self.backing = backing
        self.algorithm = algorithm
    }

    public init(algorithm: DKIMAlgorithm, privateKeyPEM: String) throws {
        self.algorithm = algorithm
        switch algorithm {
        case .rsaSHA256:
            guard let key = try? _RSA.Signing.PrivateKey(unsafePEMRepresentation: privateKeyPEM) else {
                throw KeyError.malformedPEM
            }
            guard key.keySizeInBits <= DKIMKeyRecord.maxRSABits else { throw KeyError.unsupportedSize(key.keySizeInBits) }
            backing = .rsa(key)
        case .ed25519SHA256:
            guard let key = try? Curve25519.Signing.PrivateKey(pemRepresentation: privateKeyPEM) else {
                throw KeyError.malformedPEM
            }
            backing = .ed25519(key)
        }
    }

    public var privateKeyPEM: String {
        switch backing {
        case .rsa(let key): key.pemRepresentation
        case .ed25519(let key): key.pemRepresentation
        }
    }

    /// RSA modulus size, or 256 for Ed25519.
    public var bits: Int {
        switch backing {
        case .rsa(let key): key.keySizeInBits
        case .ed25519: 256
        }
    }

    /// The p= value: base64 of the SPKI DER (RSA) or of the raw public key (Ed25519).
    public var publicKeyBase64: String {
        switch backing {
        case .rsa(let key): key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519(let key): key.publicKey.rawRepresentation.base64EncodedString()
        }
    }

    /// The TXT record to publish at SELECTOR._domainkey.DOMAIN.
    public var dnsRecord: String { "v=DKIM1; k=\(algorithm.keyType); p=\(publicKeyBase64)" }

    /// Signs the SHA-256 digest of the header data: RSASSA-PKCS1-v1_5 or, RFC 8463 §3,
    /// Ed25519 over the digest bytes.
    func sign(digest: SHA256.Digest) throws -> [UInt8] {
        switch backing {
        case .rsa(let key):
            return Array(try key.signature(for: digest, padding: .insecurePKCS1v1_5).rawRepresentation)
        case .ed25519(let key):
            return Array(try key.signature(for: Array(digest)))
        }
    }
}
