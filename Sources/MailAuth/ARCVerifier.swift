// ARC chain validation (RFC 8617 §5.2): structure first (ARCChain.collect), then the
// cv= values (i=1 none, later pass; a cv=fail anywhere ends the chain: fail), then the
// newest ARC-Message-Signature (as DKIM, with i= the instance), then every ARC-Seal from
// the newest down. Results are only none, pass or fail (RFC 8617 §4.4); a key that cannot
// be fetched fails the chain too, with the lookup problem said.
import Crypto
import Foundation
import MailCore

public struct ARCVerifier: Sendable {
    let keys: DKIMVerifier

    public init(dns: any DNSLookupService, timeout: Duration = .seconds(3),
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }, minimumRSABits: Int = 1024) {
        keys = DKIMVerifier(dns: dns, timeout: timeout, now: now, minimumRSABits: minimumRSABits)
    }

    public func verify(_ message: AuthMessage) async -> ARCOutcome {
        let fields = message.headerFields
        let sets: [ARCSet]
        switch ARCChain.collect(fields) {
        case .success(let found): sets = found
        case .failure(let problem): return ARCOutcome(result: .fail, problem: problem.text)
        }
        if sets.isEmpty { return ARCOutcome(result: .none) }
        var outcome = ARCOutcome(result: .fail, instances: sets.count)
        if message.headerFieldsTruncated {
            outcome.problem = "message has more than \(AuthMessage.maxHeaderFields) header fields"
            return outcome
        }

        var seals: [(set: ARCSet, tags: TagList)] = []
        for set in sets {
            guard let tags = try? TagList(parsing: String(decoding: fields[set.seal].rawValue, as: UTF8.self)) else {
                outcome.problem = "ARC-Seal i=\(set.instance) is malformed"
                return outcome
            }
            seals.append((set, tags))
        }
        outcome.sealDomains = seals.map { $0.tags["d"]?.lowercased() ?? "" }
        for (set, tags) in seals {
            let cv = tags["cv"]?.lowercased()
            if cv == "fail" {
                outcome.problem = "the chain failed at i=\(set.instance) (cv=fail)"
                return outcome
            }
            guard cv == (set.instance == 1 ? "none" : "pass") else {
                outcome.problem = "ARC-Seal i=\(set.instance) has cv=\(cv ?? "(missing)")"
                return outcome
            }
        }

        let newest = sets[sets.count - 1]
        if let problem = await messageSignatureProblem(newest, message: message) {
            outcome.problem = "ARC-Message-Signature i=\(newest.instance): \(problem)"
            return outcome
        }
        for (set, tags) in seals.reversed() {
            if let problem = await sealProblem(set, tags: tags, sets: sets, fields: fields) {
                outcome.problem = "ARC-Seal i=\(set.instance): \(problem)"
                return outcome
            }
        }
        outcome.result = .pass
        return outcome
    }

    /// nil when the AMS verifies.
    func messageSignatureProblem(_ set: ARCSet, message: AuthMessage) async -> String? {
        let field = message.headerFields[set.messageSignature]
        guard let parsed = try? TagList(parsing: String(decoding: field.rawValue, as: UTF8.self)) else {
            return "malformed"
        }
        // The DKIM rules apply, with i= the instance instead of an identity (RFC 8617 §4.1.2).
        let tags = TagList(tags: [("v", "1")] + parsed.tags.filter { $0.name != "i" && $0.name != "v" })
        let signature: DKIMSignature
        do { signature = try DKIMSignature(tags: tags) } catch { return error.text }
        let record: DKIMKeyRecord
        switch await keys.lookUpKey(signature) {
        case .success(let found): record = found
        case .failure(let failure): return failure.problem.text
        }
        do { try record.check(against: signature) } catch { return error.text }
        let bodyHash = message.bodyHash(signature.bodyCanonicalization, length: signature.bodyLength)
        if let length = signature.bodyLength, length > bodyHash.canonicalLength { return "l= is longer than the body" }
        guard bodyHash.digest == signature.bodyHash else { return "body hash did not verify" }
        let digest = DKIMHeaderHash.digest(fields: message.headerFields, signedHeaders: signature.signedHeaders,
                                           canonicalization: signature.headerCanonicalization,
                                           signatureField: DKIMHeaderHash.removingSignatureValue(field.raw),
                                           excluding: set.messageSignature)
        return record.key.isValid(signature: signature.signature, digest: digest) ? nil : "signature did not verify"
    }

    /// nil when the seal of `set` verifies over the sets 1…set.instance.
    func sealProblem(_ set: ARCSet, tags: TagList, sets: [ARCSet], fields: [RawHeaderField]) async -> String? {
        guard tags["h"] == nil else { return "h= is not allowed in an ARC-Seal" }
        guard let algorithmText = tags["a"]?.lowercased() else { return "no a= tag" }
        guard let algorithm = DKIMAlgorithm(rawValue: algorithmText) else {
            return algorithmText == "rsa-sha1" ? "rsa-sha1 is not accepted (RFC 8301)" : "unknown algorithm \(algorithmText.prefix(40))"
        }
        guard let domain = tags["d"]?.lowercased(), DKIMSignature.isDomainName(domain) else { return "d= is not a domain name" }
        guard let selector = tags["s"]?.lowercased(), DKIMSignature.isDomainName(selector) else { return "s= is not a valid selector" }
        guard let bText = tags["b"], let signatureBytes = DKIMSignature.base64(bText), !signatureBytes.isEmpty else {
            return "b= is not base64"
        }
        let record: DKIMKeyRecord
        switch await keys.lookUpKey(selector: selector, domain: domain) {
        case .success(let found): record = found
        case .failure(let failure): return failure.problem.text
        }
        guard record.keyType == algorithm.keyType else { return "key type k=\(record.keyType) does not match a=\(algorithmText)" }
        if let hashes = record.hashAlgorithms, !hashes.contains("sha256") { return "key does not allow sha256 (h=)" }
        let digest = ARCChain.sealDigest(fields: fields, sets: sets[0..<set.instance], seal: fields[set.seal].raw)
        return record.key.isValid(signature: signatureBytes, digest: digest) ? nil : "signature did not verify"
    }
}
