// The store side of a POP3 session: the INBOX snapshot taken at login, a message's
// bytes for RETR/TOP, the deletions committed at QUIT, and the one-session-per-
// mailbox lock (RFC 1939 §8: the server may lock the maildrop; a second login gets
// [IN-USE]). UIDLs are "<uidvalidity>.<uid>": UIDs are never reused and a recreated
// INBOX gets a new UIDVALIDITY, so a UIDL is never handed out twice for one account.
import MailStore
import NIOConcurrencyHelpers
import POP3

enum POP3Maildrop {
    static func snapshot(account: String, store: LMDBStore) throws -> [POP3Message] {
        guard let inbox = store.mailbox(account: account, name: "INBOX") else { return [] }
        // Stored messages have CRLF line ends (SMTP DATA refuses bare CR/LF), so the
        // stored size is the size RETR sends.
        return try store.messages(mailboxID: inbox.id).map { message in
            POP3Message(id: POP3MessageID(mailboxID: inbox.id, uid: message.uid),
                        uid: "\(inbox.uidValidity).\(message.uid)", size: message.size)
        }
    }

    static func content(_ id: POP3MessageID, store: LMDBStore) throws -> [UInt8] {
        guard let message = store.message(mailboxID: id.mailboxID, uid: id.uid) else {
            throw StoreError(.notFound, "message \(id) is gone")
        }
        return try store.messageBytes(blobID: message.blobID)
    }

    /// One committed transaction (LMDB: durable when it returns).
    static func remove(_ ids: [POP3MessageID], store: LMDBStore) throws {
        for (mailboxID, messages) in Dictionary(grouping: ids, by: \.mailboxID) {
            try store.removeMessages(mailboxID: mailboxID, uids: messages.map(\.uid))
        }
    }
}

/// Accounts with a POP3 session in TRANSACTION state, process-wide.
final class MaildropLocks: Sendable {
    private let held = NIOLockedValueBox<Set<String>>([])

    func acquire(_ account: String) -> Bool {
        held.withLockedValue { $0.insert(account).inserted }
    }

    func release(_ account: String) {
        _ = held.withLockedValue { $0.remove(account) }
    }
}
