// Zero-copy message access for FETCH: the body runs inside a read transaction over the
// bytes as they lie in LMDB's memory map, so a large message is encoded straight into
// the output buffer without an intermediate copy. The pointer is valid only during the
// call: never keep it, and keep the call short (a long read transaction pins old pages).

extension LMDBStore {
    /// Runs `body` over the stored bytes of a message. `.notFound` when the blob is gone
    /// (the message was expunged and no other copy references it).
    public func withMessageBytes<R>(blobID: UInt64, _ body: (UnsafeRawBufferPointer) -> R) throws(StoreError) -> R {
        try read { txn throws(StoreError) in
            guard let bytes = try txn.get(.blobs, Keys.id(blobID)) else {
                throw StoreError(.notFound, "no such message blob: \(blobID)")
            }
            return body(bytes)
        }
    }
}
