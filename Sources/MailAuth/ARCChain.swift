// ARC (RFC 8617) sets as they appear in a message: for each instance i (1…50) one
// ARC-Authentication-Results, one ARC-Message-Signature and one ARC-Seal. Collecting them
// checks the structure (§5.2 steps 1–3): instances numbered 1…N without gaps, each set
// complete, nothing duplicated; any flaw makes the chain fail. Also the ARC-Seal hash
// input (§5.1.1): the sets 1…k in order, AAR, AMS, AS each, relaxed, the seal being made
// or checked with an empty b= and no final CRLF.
import Crypto

public enum ARCResult: String, Sendable {
    case none, pass, fail
}

public struct ARCOutcome: Sendable, Equatable {
    public var result: ARCResult
    /// How many ARC sets the message carries (0 for none).
    public var instances: Int
    /// The d= of each ARC-Seal, instance 1 first (the forwarders, in order).
    public var sealDomains: [String]
    /// Why the chain is not pass, in words.
    public var problem: String?

    public init(result: ARCResult, instances: Int = 0, sealDomains: [String] = [], problem: String? = nil) {
        self.result = result
        self.instances = instances
        self.sealDomains = sealDomains
        self.problem = problem
    }
}

struct ARCSet {
    var instance: Int
    /// Indexes in the message's header fields.
    var authenticationResults: Int
    var messageSignature: Int
    var seal: Int
}

enum ARCChain {
    static let maxInstances = 50

    /// The sets in instance order ([] when the message has no ARC field), or the flaw.
    static func collect(_ fields: [RawHeaderField]) -> Result<[ARCSet], DKIMSignatureProblem> {
        // field name → instance → index of the field
        var tables: [String: [Int: Int]] = [:]
        var count = 0
        for (index, field) in fields.enumerated() {
            let name = field.lowercasedName
            guard name == "arc-authentication-results" || name == "arc-message-signature" || name == "arc-seal" else { continue }
            count += 1
            guard count <= 3 * maxInstances else { return .failure(DKIMSignatureProblem("too many ARC fields")) }
            guard let instance = instance(of: field) else {
                return .failure(DKIMSignatureProblem("\(field.name) has no valid i= instance"))
            }
            guard tables[name]?[instance] == nil else {
                return .failure(DKIMSignatureProblem("two \(field.name) fields for i=\(instance)"))
            }
            tables[name, default: [:]][instance] = index
        }
        let aar = tables["arc-authentication-results"] ?? [:]
        let ams = tables["arc-message-signature"] ?? [:]
        let seals = tables["arc-seal"] ?? [:]
        if count == 0 { return .success([]) }
        let highest = max(aar.keys.max() ?? 0, ams.keys.max() ?? 0, seals.keys.max() ?? 0)
        var sets: [ARCSet] = []
        for instance in 1...highest {
            guard let a = aar[instance], let m = ams[instance], let s = seals[instance] else {
                return .failure(DKIMSignatureProblem("ARC set i=\(instance) is incomplete"))
            }
            sets.append(ARCSet(instance: instance, authenticationResults: a, messageSignature: m, seal: s))
        }
        return .success(sets)
    }

    /// i= of an ARC field: the AAR's leading "i=N;", or the tag of AMS and AS.
    static func instance(of field: RawHeaderField) -> Int? {
        var text = field.value
        if field.lowercasedName == "arc-authentication-results" {
            text = String(text.prefix { $0 != ";" })
        }
        guard let tags = try? TagList(parsing: text), let value = tags["i"],
              let digits = DKIMSignature.digits(value, maxDigits: 2), let instance = Int(digits),
              (1...maxInstances).contains(instance) else { return nil }
        return instance
    }

    /// The ARC-Seal digest for instance `sets.last`, whose seal field (raw, b= present or
    /// not) is `seal`.
    static func sealDigest(fields: [RawHeaderField], sets: ArraySlice<ARCSet>, seal: [UInt8],
                           extra: (aar: [UInt8], ams: [UInt8])? = nil) -> SHA256.Digest {
        var hash = SHA256()
        for set in sets {
            hash.update(data: HeaderCanonicalizer.canonicalize(fields[set.authenticationResults].raw[...], .relaxed))
            hash.update(data: HeaderCanonicalizer.canonicalize(fields[set.messageSignature].raw[...], .relaxed))
            if set.instance == sets.last?.instance && extra == nil {
                hash.update(data: HeaderCanonicalizer.canonicalize(DKIMHeaderHash.removingSignatureValue(seal)[...], .relaxed,
                                                                   withCRLF: false))
            } else {
                hash.update(data: HeaderCanonicalizer.canonicalize(fields[set.seal].raw[...], .relaxed))
            }
        }
        if let extra {
            hash.update(data: HeaderCanonicalizer.canonicalize(extra.aar[...], .relaxed))
            hash.update(data: HeaderCanonicalizer.canonicalize(extra.ams[...], .relaxed))
            hash.update(data: HeaderCanonicalizer.canonicalize(DKIMHeaderHash.removingSignatureValue(seal)[...], .relaxed,
                                                               withCRLF: false))
        }
        return hash.finalize()
    }
}
