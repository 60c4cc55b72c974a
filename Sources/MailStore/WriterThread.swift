// The single writer: one dedicated thread owns every LMDB write transaction (LMDB needs
// begin and commit on the same thread, and nothing may await inside). Callers enqueue
// `WriteOp`s and never block (the synchronous API waits on a semaphore afterwards).
// Group commit: the thread drains all pending ops, runs each in a nested child
// transaction of ONE write transaction (a failing op rolls back alone), commits once
// (one fsync), and only then completes each op. MDB_MAP_FULL aborts the batch, grows the
// map and retries; when the map cannot grow, ops are retried one by one and those that
// still do not fit fail with `.mapFull`. MDB_TXN_FULL splits the batch in halves.
// The thread also runs mdb_reader_check about once a minute.

import CLMDB
import Foundation

/// One unit of work for the writer. `run` may be called several times (retries); it must
/// only touch the transaction and its own result slot. `finish` is called exactly once,
/// on the writer thread, after the commit (nil) or with the op's failure.
/// @unchecked Sendable: created by the submitter, then touched only by the writer thread.
final class WriteOp: @unchecked Sendable {
    let run: (Txn) throws(StoreError) -> Void
    let finish: (StoreError?) -> Void
    let estimatedBytes: Int
    var failure: StoreError?
    /// Mailboxes this op changed in its last (committed) attempt.
    var changedMailboxes: [UInt64] = []

    init(estimatedBytes: Int, run: @escaping (Txn) throws(StoreError) -> Void,
         finish: @escaping (StoreError?) -> Void) {
        self.estimatedBytes = estimatedBytes
        self.run = run
        self.finish = finish
    }
}

/// @unchecked Sendable: `pending`, `stopping` and `running` are guarded by `condition`;
/// everything else is immutable or touched only on the writer thread.
final class WriterThread: @unchecked Sendable {
    private let env: LMDBEnvironment
    private let condition = NSCondition()
    private var pending: [WriteOp] = []
    private var stopping = false
    private var running = false
    private let exited = DispatchSemaphore(value: 0)
    private var thread: Thread?
    private var lastReaderCheck = Date()
    private var commits = 0          // guarded by `condition`
    private var committedOps = 0     // guarded by `condition`
    private var lastCommitEnd = Date.distantPast  // guarded by `condition`
    let observers = MailboxChangeObservers()

    static let maxBatchOps = 1024
    static let maxBatchBytes = 64 * 1024 * 1024

    init(env: LMDBEnvironment) {
        self.env = env
    }

    func start() {
        condition.lock()
        running = true
        condition.unlock()
        // Weak in the block (the Thread keeps its block for good, and `self.thread` keeps
        // the Thread: a strong capture leaked every writer, its observers and its
        // environment); strong for as long as `main` runs.
        let thread = Thread { [weak self] in
            guard let self else { return }
            self.main()
        }
        thread.name = "mailgate-store-writer"
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// True when the calling thread is the writer (a synchronous write from a completion
    /// handler would deadlock).
    var isWriterThread: Bool { Thread.current === thread }

    /// Enqueues `op`; returns false (and does not call `finish`) once the writer stopped.
    func submit(_ op: WriteOp) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard running, !stopping else { return false }
        pending.append(op)
        if pending.count == 1 || pending.count == Self.gatherTarget { condition.signal() }
        return true
    }

    /// Write transactions committed and the operations they carried (group-commit ratio).
    var statistics: (commits: Int, operations: Int) {
        condition.lock()
        defer { condition.unlock() }
        return (commits, committedOps)
    }

    /// Completes every op already submitted, then stops the thread. Idempotent.
    func stop() {
        condition.lock()
        guard running, !stopping else {
            condition.unlock()
            return
        }
        stopping = true
        condition.signal()
        condition.unlock()
        if !isWriterThread { exited.wait() }
    }

    /// Group commit under load: when the previous commit ended less than 5 ms ago, the
    /// writer waits for more operations before it begins the next one — up to 16, for at
    /// most 1 ms, and only while they keep coming (it stops after 250 µs without a new
    /// one) — so one fsync and one write of the shared B-tree pages serve more of them.
    /// Measured with 20 SMTP clients: ~3 times fewer fsyncs and page writes per message,
    /// 7–15 % less server CPU per message. An idle store commits at once, and a trickle
    /// of interactive writes (IMAP STORE) waits at most 250 µs.
    static let gatherLimit = 0.001
    static let gatherQuiet = 0.000_25
    static let gatherTarget = 16

    /// Waits (lock held) for more operations when the store is under load; see above.
    private func gatherUnderLoad() {
        guard !stopping, pending.count < Self.gatherTarget, lastCommitEnd.timeIntervalSinceNow > -0.005 else { return }
        let deadline = Date(timeIntervalSinceNow: Self.gatherLimit)
        while pending.count < Self.gatherTarget && !stopping {
            let before = pending.count
            let sliceEnd = min(deadline, Date(timeIntervalSinceNow: Self.gatherQuiet))
            let signalled = condition.wait(until: sliceEnd)
            if !signalled && (pending.count == before || sliceEnd >= deadline) { break }
        }
    }

    private func main() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopping {
                if !condition.wait(until: Date(timeIntervalSinceNow: 30)) { break }
            }
            if pending.isEmpty && stopping {
                running = false
                condition.unlock()
                exited.signal()
                return
            }
            gatherUnderLoad()
            let batch = takeBatch()
            condition.unlock()
            if !batch.isEmpty { process(batch) }
            if lastReaderCheck.timeIntervalSinceNow < -60 {
                _ = env.readerCheck()
                lastReaderCheck = Date()
            }
        }
    }

    /// Takes up to maxBatchOps / maxBatchBytes pending ops (at least one). Lock held.
    private func takeBatch() -> [WriteOp] {
        var count = 0
        var bytes = 0
        for op in pending {
            if count > 0 && (count >= Self.maxBatchOps || bytes + op.estimatedBytes > Self.maxBatchBytes) { break }
            count += 1
            bytes += op.estimatedBytes
        }
        let batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        return batch
    }

    private enum Attempt {
        case committed
        case mapFull(StoreError)
        case txnFull(StoreError)
        case failed(StoreError)
    }

    private func process(_ ops: [WriteOp]) {
        while true {
            switch attempt(ops) {
            case .committed:
                condition.lock()
                lastCommitEnd = Date()
                commits += 1
                committedOps += ops.count
                condition.unlock()
                for op in ops { op.finish(op.failure) }
                observers.notify(ops.flatMap { $0.failure == nil ? $0.changedMailboxes : [] })
                return
            case .mapFull(let error):
                // Only a full map can grow; a full disk (ENOSPC/EDQUOT) fails the batch.
                guard error.code == MDB_MAP_FULL else {
                    for op in ops { op.finish(error) }
                    return
                }
                let needed = ops.reduce(0) { $0 + $1.estimatedBytes }
                if env.grow(needed: needed) { continue }
                if ops.count > 1 {
                    for op in ops { process([op]) }
                } else {
                    for op in ops { op.finish(error) }
                }
                return
            case .txnFull(let error):
                if ops.count > 1 {
                    let half = ops.count / 2
                    process(Array(ops[..<half]))
                    process(Array(ops[half...]))
                } else {
                    for op in ops { op.finish(error) }
                }
                return
            case .failed(let error):
                for op in ops { op.finish(error) }
                return
            }
        }
    }

    /// Runs `ops` in one write transaction, each in its own child transaction.
    private func attempt(_ ops: [WriteOp]) -> Attempt {
        let parent: OpaquePointer
        do {
            parent = try env.beginWrite()
        } catch {
            return .failed(error)
        }
        defer { env.endWrite() }
        for op in ops {
            op.failure = nil
            op.changedMailboxes = []
            var child: OpaquePointer?
            var rc = mdb_txn_begin(env.env, parent, 0, &child)
            if rc != 0 || child == nil {
                mdb_txn_abort(parent)
                return classify(LMDBEnvironment.error(rc, "cannot begin a nested transaction"))
            }
            let changeLog = MailboxChangeLog()
            do throws(StoreError) {
                try op.run(Txn(raw: child!, env: env, changeLog: changeLog))
            } catch {
                mdb_txn_abort(child)
                if isBatchFatal(error) {
                    mdb_txn_abort(parent)
                    return classify(error)
                }
                op.failure = error
                continue
            }
            rc = mdb_txn_commit(child)
            if rc != 0 {
                let error = LMDBEnvironment.error(rc, "cannot commit a nested transaction")
                mdb_txn_abort(parent)
                return classify(error)
            }
            op.changedMailboxes = changeLog.ids
        }
        let rc = mdb_txn_commit(parent)
        if rc != 0 { return classify(LMDBEnvironment.error(rc, "cannot commit the write transaction")) }
        return .committed
    }

    private func isBatchFatal(_ error: StoreError) -> Bool {
        error.kind == .mapFull || error.code == MDB_TXN_FULL || error.code == MDB_BAD_TXN
            || error.code == MDB_MAP_RESIZED
    }

    private func classify(_ error: StoreError) -> Attempt {
        if error.kind == .mapFull { return .mapFull(error) }
        if error.code == MDB_TXN_FULL { return .txnFull(error) }
        return .failed(error)
    }
}
