// Which connections watch which mailbox (an IMAP session's selected mailbox): the
// store reports the mailboxes each commit changed, and every watcher of one is told,
// so IDLE and the next command see deliveries, flags and expunges of other sessions at
// once. Callbacks must be quick (they run on the store's writer thread): they hop to
// their connection's event loop.
import NIOConcurrencyHelpers

final class MailboxWatchers: Sendable {
    typealias Callback = @Sendable () -> Void

    private struct State {
        var byMailbox: [UInt64: [UInt64: Callback]] = [:]
        var nextToken: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Registers `callback` for changes of `mailbox`; returns the token for `remove`.
    func add(_ mailbox: UInt64, _ callback: @escaping Callback) -> UInt64 {
        state.withLockedValue { state in
            state.nextToken += 1
            state.byMailbox[mailbox, default: [:]][state.nextToken] = callback
            return state.nextToken
        }
    }

    func remove(_ mailbox: UInt64, token: UInt64) {
        state.withLockedValue { state in
            state.byMailbox[mailbox]?[token] = nil
            if state.byMailbox[mailbox]?.isEmpty == true { state.byMailbox[mailbox] = nil }
        }
    }

    func notify(_ mailboxes: [UInt64]) {
        let callbacks = state.withLockedValue { state in
            mailboxes.flatMap { state.byMailbox[$0].map { Array($0.values) } ?? [] }
        }
        for callback in callbacks { callback() }
    }

}
