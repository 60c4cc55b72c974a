// Message blobs: the bytes of a message stored once (key blob id, 8 BE) with a reference
// count in `blob_refs` (one per stored mailbox copy, plus one while queued). Releasing
// the last reference deletes the bytes in the same transaction, except for a message
// removed from a mailbox (expunge, MOVE, POP3): its bytes stay readable for
// StoreLimits.expungedBlobGrace, listed in `meta` under "blob.grave." + deadline (8 BE
// seconds) + blob id, so an IMAP session that has not yet been told of the expunge can
// still FETCH the message (RFC 2180 §4.1.1). Later removals delete expired ones.
import Foundation

extension Txn {
    /// Stores `bytes` under a fresh blob id with `references` references.
    func storeBlob(_ bytes: [UInt8], references: UInt32) throws(StoreError) -> UInt64 {
        let id = try nextSequence("blob")
        try storeBlob(id: id, bytes, references: references)
        return id
    }

    func storeBlob(id: UInt64, _ bytes: [UInt8], references: UInt32) throws(StoreError) {
        try put(.blobs, Keys.id(id), bytes)
        try put(.blobRefs, Keys.id(id), Keys.be32(references))
    }

    func blobReferences(_ id: UInt64) throws(StoreError) -> UInt32 {
        guard let bytes = try get(.blobRefs, Keys.id(id)), bytes.count == 4 else { return 0 }
        return Keys.readBE32(bytes)
    }

    /// Drops one reference; deletes the blob when none is left (with `keepReadable`, only
    /// after the grace period: see the top of this file).
    func releaseBlob(_ id: UInt64, keepReadable: Bool = false) throws(StoreError) {
        let count = try blobReferences(id)
        if count <= 1 {
            try delete(.blobRefs, Keys.id(id))
            if keepReadable {
                let deadline = UInt64(max(0, Date().timeIntervalSince1970 + StoreLimits.expungedBlobGrace))
                try put(.meta, Self.graveKey(deadline: deadline, blob: id), [1])
            } else {
                try delete(.blobs, Keys.id(id))
            }
        } else {
            try put(.blobRefs, Keys.id(id), Keys.be32(count - 1))
        }
    }

    static let gravePrefix = Array("blob.grave.".utf8)

    static func graveKey(deadline: UInt64, blob: UInt64) -> [UInt8] { gravePrefix + Keys.be64(deadline) + Keys.id(blob) }

    /// Deletes up to `limit` kept blobs whose grace ended at or before `now` (seconds);
    /// returns how many. A blob referenced again meanwhile cannot happen (ids are not
    /// reused and nothing refers to a released blob), so its bytes simply go.
    @discardableResult
    func sweepExpiredBlobs(now: Double = Date().timeIntervalSince1970, limit: Int = 32) throws(StoreError) -> Int {
        var doomed: [(key: [UInt8], blob: UInt64)] = []
        let cutoff = UInt64(min(max(0, now), 1e18))
        try scan(.meta, prefix: Self.gravePrefix) { key, _ in
            let offset = Self.gravePrefix.count
            guard key.count == offset + 16, doomed.count < limit else { return false }
            guard Keys.readBE64(key, at: offset) <= cutoff else { return false }
            doomed.append((Array(key), Keys.readBE64(key, at: offset + 8)))
            return true
        }
        for entry in doomed {
            try delete(.meta, entry.key)
            if try blobReferences(entry.blob) == 0 { try delete(.blobs, Keys.id(entry.blob)) }
        }
        return doomed.count
    }
}
