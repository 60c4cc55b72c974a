// A DKIM-Signature field read and checked against RFC 6376 §3.5 and §6.1.1 (and RFC 8301:
// no rsa-sha1, RFC 8463: ed25519-sha256). Anything missing, malformed or unacceptable is a
// `DKIMSignatureProblem`, which the verifier reports as permerror (with whatever d= and s=
// could be read, so Authentication-Results can still name them).
import Foundation

struct DKIMSignatureProblem: Error, Equatable {
    var text: String
    init(_ text: String) { self.text = text }
}

struct DKIMSignature: Sendable {
    var algorithm: DKIMAlgorithm
    var signature: [UInt8]
    var bodyHash: [UInt8]
    var headerCanonicalization: DKIMCanonicalization
    var bodyCanonicalization: DKIMCanonicalization
    /// d=, lowercased.
    var domain: String
    /// s=, lowercased.
    var selector: String
    /// h=, lowercased, in order (repeats kept: each takes the next instance up).
    var signedHeaders: [String]
    /// i= as written, or "@" + d.
    var identity: String
    /// The domain part of i=, lowercased.
    var identityDomain: String
    var bodyLength: Int?
    var timestamp: Double?
    var expiration: Double?

    static let maxSignedHeaders = 256

    /// What can be read for the outcome even from a signature that is refused.
    static func outline(_ tags: TagList?) -> DKIMOutcome {
        var outcome = DKIMOutcome(result: .permerror)
        guard let tags else { return outcome }
        outcome.domain = tags["d"].map { $0.lowercased() }
        outcome.selector = tags["s"]
        outcome.identity = tags["i"] ?? tags["d"].map { "@" + $0 }
        outcome.algorithm = tags["a"]
        outcome.signatureHead = tags["b"].map { String(TagList.removingWhitespace($0).prefix(8)) }
        return outcome
    }

    init(tags: TagList) throws(DKIMSignatureProblem) {
        func required(_ name: String) throws(DKIMSignatureProblem) -> String {
            guard let value = tags[name] else { throw DKIMSignatureProblem("the signature has no \(name)= tag") }
            return value
        }
        guard try required("v") == "1" else { throw DKIMSignatureProblem("unsupported signature version v=\(tags["v"] ?? "")") }

        let algorithmText = try required("a").lowercased()
        switch algorithmText {
        case "rsa-sha256": algorithm = .rsaSHA256
        case "ed25519-sha256": algorithm = .ed25519SHA256
        case "rsa-sha1": throw DKIMSignatureProblem("rsa-sha1 signatures are not accepted (RFC 8301)")
        default: throw DKIMSignatureProblem("unknown signature algorithm \(algorithmText.prefix(40))")
        }

        guard let signature = Self.base64(try required("b")), !signature.isEmpty else {
            throw DKIMSignatureProblem("b= is not base64")
        }
        self.signature = signature
        guard let bodyHash = Self.base64(try required("bh")) else { throw DKIMSignatureProblem("bh= is not base64") }
        guard bodyHash.count == 32 else { throw DKIMSignatureProblem("bh= is not a SHA-256 digest") }
        self.bodyHash = bodyHash

        let canonicalization = (tags["c"] ?? "simple/simple").lowercased()
        let parts = canonicalization.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let header = DKIMCanonicalization(rawValue: parts[0]),
              let body = DKIMCanonicalization(rawValue: parts.count == 2 ? parts[1] : "simple") else {
            throw DKIMSignatureProblem("unknown canonicalization c=\(canonicalization.prefix(40))")
        }
        headerCanonicalization = header
        bodyCanonicalization = body

        let domain = try required("d").lowercased()
        guard Self.isDomainName(domain) else { throw DKIMSignatureProblem("d= is not a domain name") }
        self.domain = domain
        let selector = try required("s").lowercased()
        guard Self.isDomainName(selector) else { throw DKIMSignatureProblem("s= is not a valid selector") }
        self.selector = selector

        let headers = try required("h").split(separator: ":", omittingEmptySubsequences: false)
            .map { TagList.removingWhitespace(String($0)).lowercased() }
        guard headers.count <= Self.maxSignedHeaders else { throw DKIMSignatureProblem("h= lists too many fields") }
        guard !headers.contains(where: \.isEmpty) else { throw DKIMSignatureProblem("h= has an empty field name") }
        guard headers.contains("from") else { throw DKIMSignatureProblem("From is not signed (h= must include from)") }
        signedHeaders = headers

        if let identity = tags["i"] {
            guard let at = identity.lastIndex(of: "@") else { throw DKIMSignatureProblem("i= has no @") }
            let identityDomain = identity[identity.index(after: at)...].lowercased()
            guard identityDomain == domain || identityDomain.hasSuffix("." + domain) else {
                throw DKIMSignatureProblem("i= domain is not within d=")
            }
            self.identity = identity
            self.identityDomain = identityDomain
        } else {
            identity = "@" + domain
            identityDomain = domain
        }

        if let query = tags["q"] {
            let methods = query.split(separator: ":").map { TagList.removingWhitespace(String($0)).lowercased() }
            guard methods.contains(where: { $0 == "dns/txt" || $0.hasPrefix("dns/txt/") }) else {
                throw DKIMSignatureProblem("no supported key query method in q=")
            }
        }

        if let length = tags["l"] {
            guard let digits = Self.digits(length, maxDigits: 76) else { throw DKIMSignatureProblem("l= is not a number") }
            // Over Int.max it is longer than any body we hold: kept as Int.max.
            bodyLength = Int(digits) ?? Int.max
        }
        if let text = tags["t"] {
            guard let digits = Self.digits(text, maxDigits: 12) else { throw DKIMSignatureProblem("t= is not a timestamp") }
            timestamp = Double(digits)
        }
        if let text = tags["x"] {
            guard let digits = Self.digits(text, maxDigits: 12) else { throw DKIMSignatureProblem("x= is not a timestamp") }
            expiration = Double(digits)
        }
        if let timestamp, let expiration, expiration < timestamp {
            throw DKIMSignatureProblem("x= is before t=")
        }
    }

    // MARK: helpers shared with the key record and ARC

    /// Base64 with whitespace ignored; padding may be left out. nil when malformed.
    static func base64(_ text: String) -> [UInt8]? {
        var clean = TagList.removingWhitespace(text)
        guard clean.utf8.allSatisfy({ isBase64Byte($0) }) else { return nil }
        while clean.utf8.count % 4 != 0 { clean += "=" }
        guard let data = Data(base64Encoded: clean) else { return nil }
        return [UInt8](data)
    }

    static func isBase64Byte(_ byte: UInt8) -> Bool {
        (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    static func digits(_ text: String, maxDigits: Int) -> String? {
        let clean = TagList.removingWhitespace(text)
        guard !clean.isEmpty, clean.utf8.count <= maxDigits, clean.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        return clean
    }

    /// Letters, digits, "-" and "_" labels of 1–63 bytes, at most 253 bytes in all.
    static func isDomainName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63 else { return false }
            guard label.utf8.allSatisfy({ (97...122).contains($0) || (65...90).contains($0) || (48...57).contains($0)
                || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else { return false }
        }
        return true
    }
}
