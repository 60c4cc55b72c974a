// Change notification: after each group commit the writer thread tells every observer
// which mailbox ids that commit changed (delivery, append, copy, move, flags, expunge,
// create, rename, delete), so IMAP sessions in IDLE can answer at once instead of
// polling. Each write op collects ids in its own MailboxChangeLog; only ops whose child
// transaction committed contribute, so a failed op never reports. Handlers run on the
// writer thread, after the ops' completions: they must be quick and must not call the
// synchronous store writes (that would deadlock; it is a precondition failure).
// Writes by another process (the CLI) are not seen here; sessions still check for
// changes at every command.

import Foundation

/// The ids one write op changed. Touched only on the writer thread.
final class MailboxChangeLog {
    private(set) var ids: [UInt64] = []

    func note(_ id: UInt64) {
        if ids.last != id { ids.append(id) }
    }
}

/// Registered change handlers.
/// @unchecked Sendable: `handlers` and `nextToken` are guarded by `lock`.
final class MailboxChangeObservers: @unchecked Sendable {
    typealias Handler = @Sendable ([UInt64]) -> Void
    private let lock = NSLock()
    private var handlers: [Int: Handler] = [:]
    private var nextToken = 0

    func add(_ handler: @escaping Handler) -> Int {
        lock.lock()
        defer { lock.unlock() }
        nextToken += 1
        handlers[nextToken] = handler
        return nextToken
    }

    func remove(_ token: Int) {
        lock.lock()
        handlers[token] = nil
        lock.unlock()
    }

    var isEmpty: Bool {
        lock.lock()
        defer { lock.unlock() }
        return handlers.isEmpty
    }

    /// Calls every handler with the sorted, distinct `ids` (nothing when empty).
    func notify(_ ids: [UInt64]) {
        guard !ids.isEmpty else { return }
        lock.lock()
        let current = Array(handlers.values)
        lock.unlock()
        let distinct = Array(Set(ids)).sorted()
        for handler in current { handler(distinct) }
    }
}

/// A registered change handler; it stays registered until `cancel()` (dropping this
/// object does not unregister it, so a server-lifetime observer needs no bookkeeping).
public final class MailboxChangeObservation: Sendable {
    private let observers: MailboxChangeObservers
    private let token: Int

    init(observers: MailboxChangeObservers, token: Int) {
        self.observers = observers
        self.token = token
    }

    public func cancel() { observers.remove(token) }
}

extension LMDBStore {
    /// Calls `handler` on the writer thread after every commit that changed mailboxes,
    /// with their ids (sorted, distinct), until the returned observation is cancelled.
    /// The handler must be quick and must not do synchronous store writes.
    @discardableResult
    public func observeMailboxChanges(_ handler: @escaping @Sendable ([UInt64]) -> Void) -> MailboxChangeObservation {
        MailboxChangeObservation(observers: writer.observers, token: writer.observers.add(handler))
    }
}

extension Txn {
    /// Records that mailbox `id` changed in this write (no-op in a read).
    func noteMailboxChanged(_ id: UInt64) {
        changeLog?.note(id)
    }
}
