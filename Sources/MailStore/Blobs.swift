// Message blobs: the bytes of a message stored once (key blob id, 8 BE) with a reference
// count in `blob_refs` (one per stored mailbox copy, plus one while queued). Releasing
// the last reference deletes the bytes in the same transaction.

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

    /// Drops one reference; deletes the blob when none is left.
    func releaseBlob(_ id: UInt64) throws(StoreError) {
        let count = try blobReferences(id)
        if count <= 1 {
            try delete(.blobs, Keys.id(id))
            try delete(.blobRefs, Keys.id(id))
        } else {
            try put(.blobRefs, Keys.id(id), Keys.be32(count - 1))
        }
    }
}
