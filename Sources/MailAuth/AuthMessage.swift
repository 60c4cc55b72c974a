// The message as the authentication engines see it: the received bytes, the header
// fields parsed once (raw, folding kept, as DKIM and ARC hash them), where the body
// starts, the RFC 5322.From domains (DMARC), and a memo of canonicalized body hashes so
// that every DKIM signature, ARC message signature and policy asking for the same
// (canonicalization, hash, length) pays for it once per message.
//
// Line ends: CRLF as on the wire; a bare LF is read as CRLF (messages handed in by
// local tools), a lone CR is an ordinary byte. Bounds: at most `maxHeaderFields` fields
// are kept (the rest make `headerFieldsTruncated` true and verifiers refuse the
// message), and nothing here grows beyond the message itself.
import Crypto
import Foundation

/// One header field as received.
public struct RawHeaderField: Sendable, Equatable {
    /// The name as written (without the WSP that may precede the colon).
    public let name: String
    /// `name` lowercased, for case-insensitive matching.
    public let lowercasedName: String
    /// The whole field, name and colon included, continuation lines with their CRLFs,
    /// without the final CRLF. Bare LFs are already CRLF here.
    public let raw: [UInt8]
    /// Offset of the first byte after the colon in `raw`.
    public let valueStart: Int

    /// The value bytes as received (after the colon, folding kept).
    public var rawValue: ArraySlice<UInt8> { raw[valueStart...] }

    /// The value unfolded (CRLFs removed), outer WSP trimmed; invalid UTF-8 replaced.
    public var value: String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(raw.count - valueStart)
        for byte in raw[valueStart...] where byte != 13 && byte != 10 { bytes.append(byte) }
        var low = 0, high = bytes.count
        while low < high && (bytes[low] == 32 || bytes[low] == 9) { low += 1 }
        while high > low && (bytes[high - 1] == 32 || bytes[high - 1] == 9) { high -= 1 }
        return String(decoding: bytes[low..<high], as: UTF8.self)
    }

    public init(raw: [UInt8]) {
        var colon = 0
        while colon < raw.count && raw[colon] != 58 { colon += 1 }
        var nameEnd = min(colon, raw.count)
        while nameEnd > 0 && (raw[nameEnd - 1] == 32 || raw[nameEnd - 1] == 9) { nameEnd -= 1 }
        self.raw = raw
        self.name = String(decoding: raw[0..<nameEnd], as: UTF8.self)
        self.lowercasedName = name.lowercased()
        self.valueStart = min(colon + 1, raw.count)
    }
}

/// Which body canonicalization (RFC 6376 §3.4.3, §3.4.4).
public enum DKIMCanonicalization: String, Sendable, Hashable {
    case simple, relaxed
}

/// A canonicalized body hash: the digest of the first `length` canonical bytes (all
/// when nil), and the length of the whole canonical body.
public struct BodyHash: Sendable, Equatable {
    public var digest: [UInt8]
    public var canonicalLength: Int
}

public final class AuthMessage: @unchecked Sendable {
    /// More fields than any real message carries; beyond it the message is refused by
    /// the verifiers (a bottom-up h= selection over a cut list would be wrong).
    public static let maxHeaderFields = 2000

    public let bytes: [UInt8]
    public let bodyStart: Int
    public let headerFields: [RawHeaderField]
    public let headerFieldsTruncated: Bool
    public let fromDomains: [String]

    private let lock = NSLock()
    private var bodyHashes: [BodyHashKey: BodyHash] = [:]
    /// How many body hashes were computed (tests check the memo works).
    public private(set) var bodyHashComputations = 0

    private struct BodyHashKey: Hashable {
        var canonicalization: DKIMCanonicalization
        var length: Int?
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        let parsed = Self.parseHeader(bytes)
        self.headerFields = parsed.fields
        self.bodyStart = parsed.bodyStart
        self.headerFieldsTruncated = parsed.truncated
        self.fromDomains = FromDomains.domains(in: parsed.fields.filter { $0.lowercasedName == "from" })
    }

    public convenience init(_ text: String) { self.init(bytes: Array(text.utf8)) }

    /// The body (the bytes after the empty line), as received.
    public var body: ArraySlice<UInt8> { bytes[bodyStart...] }

    /// The SHA-256 of the canonicalized body, cut at `length` canonical bytes when given;
    /// computed once per (canonicalization, length) and kept.
    public func bodyHash(_ canonicalization: DKIMCanonicalization, length: Int? = nil) -> BodyHash {
        let key = BodyHashKey(canonicalization: canonicalization, length: length)
        lock.lock()
        defer { lock.unlock() }
        if let known = bodyHashes[key] { return known }
        // Computed under the lock: two signatures asking at once wait for one pass
        // instead of both hashing (the lock is this message's alone).
        var hasher = BodyHasher(limit: length)
        bytes.withUnsafeBufferPointer { buffer in
            BodyCanonicalizer.canonicalize(UnsafeBufferPointer(rebasing: buffer[bodyStart...]), canonicalization) {
                hasher.update($0)
            }
        }
        let result = BodyHash(digest: hasher.finish(), canonicalLength: hasher.total)
        bodyHashComputations += 1
        bodyHashes[key] = result
        return result
    }

    // MARK: header parsing

    static func parseHeader(_ bytes: [UInt8]) -> (fields: [RawHeaderField], bodyStart: Int, truncated: Bool) {
        var fields: [RawHeaderField] = []
        var current: [UInt8]? = nil
        var truncated = false
        var index = 0
        let count = bytes.count
        func flush() {
            if let field = current {
                if fields.count < maxHeaderFields { fields.append(RawHeaderField(raw: field)) } else { truncated = true }
            }
            current = nil
        }
        while index < count {
            // One line: [index, lineEnd) without its terminator; next starts after LF.
            var lineEnd = index
            while lineEnd < count && bytes[lineEnd] != 10 { lineEnd += 1 }
            let next = lineEnd < count ? lineEnd + 1 : count
            var contentEnd = lineEnd
            if lineEnd < count && contentEnd > index && bytes[contentEnd - 1] == 13 { contentEnd -= 1 }
            if contentEnd == index {
                // The empty line: the header section ends (a last line without LF that is
                // empty is simply the end of the message).
                flush()
                return (fields, next, truncated)
            }
            let first = bytes[index]
            if (first == 32 || first == 9), current != nil {
                current!.append(13); current!.append(10)
                current!.append(contentsOf: bytes[index..<contentEnd])
            } else {
                flush()
                // A line without a colon is not a field (junk): skipped.
                if bytes[index..<contentEnd].contains(58) && first != 32 && first != 9 {
                    current = Array(bytes[index..<contentEnd])
                }
            }
            index = next
        }
        flush()
        return (fields, count, truncated)
    }
}

/// Streams SHA-256 over canonical body bytes, stopping at `limit`, counting them all.
struct BodyHasher {
    var hash = SHA256()
    let limit: Int?
    var total = 0

    init(limit: Int?) { self.limit = limit }

    mutating func update(_ chunk: UnsafeBufferPointer<UInt8>) {
        let before = total
        total += chunk.count
        if let limit {
            guard before < limit else { return }
            let take = min(chunk.count, limit - before)
            hash.update(bufferPointer: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: chunk[0..<take])))
        } else {
            hash.update(bufferPointer: UnsafeRawBufferPointer(chunk))
        }
    }

    mutating func finish() -> [UInt8] { Array(hash.finalize()) }
}
