// DKIM verification (RFC 6376 §6, RFC 8463, RFC 8301): one outcome per DKIM-Signature
// field, top to bottom, at most `maxSignatures` (the rest are ignored, as §6.1 allows).
// Key lookups of the signatures run concurrently through the shared async resolver.
//
// Results (RFC 8601 §2.7.1): a signature that cannot be used (malformed, rsa-sha1, no or
// revoked key, key too small, timestamp in the future) is permerror; a lookup that
// failed is temperror; a usable signature that does not match (body hash, signature,
// expired x=, l= longer than the body) is fail.
//
// l= (RFC 6376 §3.5, §8.2): the signer MUST NOT claim more body than there is, so an
// l= over the canonical body means the body was cut after signing: fail. An l= shorter
// than the body verifies the signed part; the outcome says how many bytes were not
// covered (`unsignedBodyBytes`) so a policy can distrust appended content.
import Crypto
import Foundation
import MailCore

public struct DKIMVerifier: Sendable {
    /// How far in the future t= may be before the signature is refused (clock skew).
    public static let futureSkew: Double = 300
    /// Key records tried when a selector has several TXT records.
    static let maxKeyRecords = 4

    let dns: any DNSLookupService
    let timeout: Duration
    let now: @Sendable () -> Double
    let maxSignatures: Int
    let minimumRSABits: Int

    public init(dns: any DNSLookupService, timeout: Duration = .seconds(3),
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                maxSignatures: Int = 8, minimumRSABits: Int = 1024) {
        self.dns = dns
        self.timeout = timeout
        self.now = now
        self.maxSignatures = maxSignatures
        self.minimumRSABits = max(1024, minimumRSABits)
    }

    public func verify(_ message: AuthMessage) async -> [DKIMOutcome] {
        let signatures = message.headerFields.indices
            .filter { message.headerFields[$0].lowercasedName == "dkim-signature" }
            .prefix(maxSignatures)
        if signatures.isEmpty { return [] }
        return await withTaskGroup(of: (Int, DKIMOutcome).self) { group in
            for (order, index) in signatures.enumerated() {
                group.addTask { (order, await self.verifySignature(at: index, in: message)) }
            }
            var outcomes: [(Int, DKIMOutcome)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The outcome of the DKIM-Signature at `index` of the message's header fields.
    func verifySignature(at index: Int, in message: AuthMessage) async -> DKIMOutcome {
        let field = message.headerFields[index]
        let tags: TagList
        do { tags = try TagList(parsing: String(decoding: field.rawValue, as: UTF8.self)) } catch {
            var outcome = DKIMSignature.outline(nil)
            outcome.problem = "signature is not a valid tag list"
            return outcome
        }
        var outcome = DKIMSignature.outline(tags)
        let signature: DKIMSignature
        do { signature = try DKIMSignature(tags: tags) } catch {
            outcome.problem = error.text
            return outcome
        }
        outcome.domain = signature.domain
        outcome.identity = signature.identity
        if message.headerFieldsTruncated {
            outcome.problem = "message has more than \(AuthMessage.maxHeaderFields) header fields"
            return outcome
        }
        let time = now()
        if let timestamp = signature.timestamp, timestamp > time + Self.futureSkew {
            outcome.problem = "signature timestamp t= is in the future"
            return outcome
        }
        if let expiration = signature.expiration, expiration < time {
            outcome.result = .fail
            outcome.problem = "signature expired (x=)"
            return outcome
        }

        let record: DKIMKeyRecord
        switch await lookUpKey(signature) {
        case .success(let found): record = found
        case .failure(let failure):
            outcome.result = failure.temporary ? .temperror : .permerror
            outcome.problem = failure.problem.text
            return outcome
        }
        outcome.keyBits = record.key.bits
        outcome.testing = record.testing
        do { try record.check(against: signature) } catch {
            outcome.problem = error.text
            return outcome
        }

        let bodyHash = message.bodyHash(signature.bodyCanonicalization, length: signature.bodyLength)
        outcome.result = .fail
        if let length = signature.bodyLength {
            guard length <= bodyHash.canonicalLength else {
                outcome.problem = "l= is longer than the body (body cut after signing)"
                return outcome
            }
            outcome.unsignedBodyBytes = bodyHash.canonicalLength - length
        }
        guard bodyHash.digest == signature.bodyHash else {
            outcome.problem = "body hash did not verify"
            return outcome
        }
        let digest = DKIMHeaderHash.digest(fields: message.headerFields, signedHeaders: signature.signedHeaders,
                                           canonicalization: signature.headerCanonicalization,
                                           signatureField: DKIMHeaderHash.removingSignatureValue(field.raw),
                                           excluding: index)
        guard record.key.isValid(signature: signature.signature, digest: digest) else {
            outcome.problem = "signature did not verify"
            return outcome
        }
        outcome.result = .pass
        outcome.problem = nil
        return outcome
    }

    struct KeyFailure: Error {
        var problem: DKIMSignatureProblem
        var temporary: Bool
    }

    func lookUpKey(_ signature: DKIMSignature) async -> Result<DKIMKeyRecord, KeyFailure> {
        await lookUpKey(selector: signature.selector, domain: signature.domain)
    }

    /// The key record at SELECTOR._domainkey.DOMAIN (DKIM and ARC alike).
    func lookUpKey(selector: String, domain: String) async -> Result<DKIMKeyRecord, KeyFailure> {
        let name = "\(selector)._domainkey.\(domain)"
        switch await dns.texts(name, timeout: timeout) {
        case .failure(.nxdomain), .failure(.nodata):
            return .failure(KeyFailure(problem: DKIMSignatureProblem("no key for signature"), temporary: false))
        case .failure(.failure(let failure)):
            return .failure(KeyFailure(problem: DKIMSignatureProblem("key lookup failed (\(failure.rawValue))"),
                                       temporary: true))
        case .success(let texts):
            var firstProblem: DKIMSignatureProblem? = nil
            for text in texts.prefix(Self.maxKeyRecords) {
                switch DKIMKeyRecordCache.shared.record(text, minimumRSABits: minimumRSABits) {
                case .success(let record): return .success(record)
                case .failure(let error):
                    if firstProblem == nil { firstProblem = error }
                }
            }
            return .failure(KeyFailure(problem: firstProblem ?? DKIMSignatureProblem("no key for signature"),
                                       temporary: false))
        }
    }
}
