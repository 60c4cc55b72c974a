// The header half of a DKIM (and ARC) signature, RFC 6376 §3.7 and §5.4.2: the fields
// named by h=, each taking the next instance from the bottom up, canonicalized, then the
// signature field itself with its b= value emptied and without its final CRLF. The
// signer and the verifier both come here, so they cannot disagree.
import Crypto

enum DKIMHeaderHash {
    /// The SHA-256 over the signed header data.
    /// - excluding: the index (in `fields`) of the signature field being verified, which
    ///   h= can never select (it did not exist when the signer chose the fields).
    static func digest(fields: [RawHeaderField], signedHeaders: [String], canonicalization: DKIMCanonicalization,
                       signatureField: [UInt8], excluding: Int? = nil) -> SHA256.Digest {
        var hash = SHA256()
        // Per name, the index below which the next instance is searched.
        var nextSearch: [String: Int] = [:]
        for name in signedHeaders {
            var position = nextSearch[name] ?? fields.count
            var found: Int? = nil
            while position > 0 {
                position -= 1
                if position != excluding && fields[position].lowercasedName == name { found = position; break }
            }
            nextSearch[name] = found ?? 0
            // A name with no instance left is the null string: nothing is hashed.
            if let found {
                hash.update(data: HeaderCanonicalizer.canonicalize(fields[found].raw[...], canonicalization))
            }
        }
        hash.update(data: HeaderCanonicalizer.canonicalize(signatureField[...], canonicalization, withCRLF: false))
        return hash.finalize()
    }

    /// `field` with the value of its b= tag removed (whitespace around it included), as
    /// RFC 6376 §3.7 hashes it: "b=abc; " … → "b=; ". Only the first b= tag (a second one
    /// makes the tag list invalid before we get here).
    static func removingSignatureValue(_ field: [UInt8]) -> [UInt8] {
        guard let colon = field.firstIndex(of: 58) else { return field }
        var segmentStart = colon + 1
        while segmentStart <= field.count {
            var segmentEnd = segmentStart
            while segmentEnd < field.count && field[segmentEnd] != 59 { segmentEnd += 1 }
            if let equals = field[segmentStart..<segmentEnd].firstIndex(of: 61) {
                let name = field[segmentStart..<equals].filter { !($0 == 32 || $0 == 9 || $0 == 13 || $0 == 10) }
                if name == [98] {   // "b"
                    return Array(field[..<(equals + 1)]) + Array(field[segmentEnd...])
                }
            }
            segmentStart = segmentEnd + 1
        }
        return field
    }
}
