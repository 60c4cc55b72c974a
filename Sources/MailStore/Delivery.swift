// Delivery, the SMTP hot path: one request stores the message bytes once (a blob whose
// reference count is the number of stored copies, plus one when queued), appends a
// message to each local target's folder (INBOX when the folder does not exist) with the
// next UID and modseq, updates mailbox and account totals, enforces quotas per
// recipient, and writes the outbound queue entry — all inside one group-committed write
// transaction. `completion` is called on the writer thread only after the commit, so a
// success is durable. Nothing stored and nothing queued leaves no blob behind.

import Foundation

extension LMDBStore {
    /// Never blocks: the request joins the next group commit. `completion` runs on the
    /// writer thread: hop to your own executor and do not call synchronous store writes there.
    public func deliver(_ request: DeliveryRequest,
                        completion: @escaping @Sendable (Result<DeliveryResult, StoreError>) -> Void) {
        submit(estimatedBytes: request.message.count + 4096 * (request.local.count + 1), { txn throws(StoreError) in
            try txn.deliver(request)
        }, completion: completion)
    }

    public func deliver(_ request: DeliveryRequest) async throws(StoreError) -> DeliveryResult {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<DeliveryResult, StoreError>, Never>) in
            deliver(request) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }
}

extension Txn {
    func deliver(_ request: DeliveryRequest) throws(StoreError) -> DeliveryResult {
        let size = Int64(request.message.count)
        var outcomes: [RecipientOutcome] = []
        outcomes.reserveCapacity(request.local.count)
        var blobID: UInt64?
        var references: UInt32 = 0

        for target in request.local {
            guard let address = try? LMDBStore.normalizeAddress(target.account),
                  var account = try accountRecord(address) else {
                outcomes.append(.noSuchAccount)
                continue
            }
            if size > account.quota {
                outcomes.append(.messageExceedsQuota)
                continue
            }
            if account.usedBytes + size > account.quota {
                outcomes.append(.overQuota)
                continue
            }
            var found = try mailboxID(account: address, name: target.folder)
            if found == nil { found = try mailboxID(account: address, name: "INBOX") }
            guard let mailboxID = found, var mailbox = try mailboxRecord(mailboxID) else {
                throw StoreError(.io, "account \(address) has no INBOX")
            }
            let blob: UInt64
            if let blobID { blob = blobID } else { blob = try nextSequence("blob"); blobID = blob }
            mailbox.highestModSeq += 1
            let message = MessageRecord(blobID: blob, size: size, internalDate: request.internalDate,
                                        modSeq: mailbox.highestModSeq, flags: [])
            let uid = try insertMessage(mailboxID, &mailbox, message)
            try saveMailbox(mailboxID, mailbox)
            account.usedBytes += size
            account.messageCount += 1
            try put(.accounts, Keys.address(address), account.encoded())
            references += 1
            outcomes.append(.stored(uid: uid))
        }

        var queueID: String?
        if var entry = request.remote, !entry.recipients.isEmpty {
            let blob: UInt64
            if let blobID { blob = blobID } else { blob = try nextSequence("blob"); blobID = blob }
            entry.blobID = blob
            entry.size = request.message.count
            if entry.created == 0 { entry.created = request.internalDate }
            if entry.id.isEmpty {
                repeat { entry.id = LMDBStore.makeQueueID() } while try contains(.queue, Array(entry.id.utf8))
            }
            do throws(StoreError) {
                try put(.queue, Array(entry.id.utf8), try QueueCodec.encode(entry), noOverwrite: true)
            } catch where error.kind == .alreadyExists {
                throw StoreError(.alreadyExists, "queue id \(entry.id) already exists")
            }
            references += 1
            queueID = entry.id
        }

        if let blobID {
            try storeBlob(id: blobID, request.message, references: references)
        }
        return DeliveryResult(local: outcomes, queued: queueID != nil, queueID: queueID)
    }
}
