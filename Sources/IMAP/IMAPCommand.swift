// The typed IMAP commands the parser produces (RFC 3501, RFC 9051 and the extensions
// listed in docs/dev/imap-api.md). Pure values: which command is allowed in which
// state, and what it does, is the session's business.

public struct TaggedCommand: Sendable, Equatable {
    public var tag: String
    public var command: IMAPCommand
    public init(tag: String, command: IMAPCommand) { self.tag = tag; self.command = command }
}

public enum IMAPCommand: Sendable, Equatable {
    // any state
    case capability
    case noop
    case logout
    case id([IDField]?)
    case enable([String])
    // not authenticated
    case starttls
    /// `initialResponse`: SASL-IR (RFC 4959) — base64 as sent, or "=" for an empty response.
    case authenticate(mechanism: String, initialResponse: String?)
    case login(user: String, password: String)
    // authenticated
    case select(MailboxName, SelectParameters)
    case examine(MailboxName, SelectParameters)
    case create(MailboxName, specialUse: [String])
    case delete(MailboxName)
    case rename(from: MailboxName, to: MailboxName)
    case subscribe(MailboxName)
    case unsubscribe(MailboxName)
    case list(ListCommand)
    case lsub(reference: MailboxName, pattern: [UInt8])
    case namespace
    case status(MailboxName, [StatusItem])
    case append(MailboxName, [AppendMessage])
    case idle
    case getQuota(String)
    case getQuotaRoot(MailboxName)
    // selected
    case check
    case close
    case unselect
    case expunge
    case uidExpunge(SequenceSet)
    case search(SearchCommand, uid: Bool)
    case fetch(SequenceSet, [FetchAttribute], FetchModifiers, uid: Bool)
    case store(SequenceSet, StoreModifiers, StoreAction, uid: Bool)
    case copy(SequenceSet, MailboxName, uid: Bool)
    case move(SequenceSet, MailboxName, uid: Bool)

    /// The command's name as the client would write it ("UID FETCH"), for logs and replies.
    public var name: String {
        switch self {
        case .capability: return "CAPABILITY"
        case .noop: return "NOOP"
        case .logout: return "LOGOUT"
        case .id: return "ID"
        case .enable: return "ENABLE"
        case .starttls: return "STARTTLS"
        case .authenticate: return "AUTHENTICATE"
        case .login: return "LOGIN"
        case .select: return "SELECT"
        case .examine: return "EXAMINE"
        case .create: return "CREATE"
        case .delete: return "DELETE"
        case .rename: return "RENAME"
        case .subscribe: return "SUBSCRIBE"
        case .unsubscribe: return "UNSUBSCRIBE"
        case .list: return "LIST"
        case .lsub: return "LSUB"
        case .namespace: return "NAMESPACE"
        case .status: return "STATUS"
        case .append: return "APPEND"
        case .idle: return "IDLE"
        case .getQuota: return "GETQUOTA"
        case .getQuotaRoot: return "GETQUOTAROOT"
        case .check: return "CHECK"
        case .close: return "CLOSE"
        case .unselect: return "UNSELECT"
        case .expunge: return "EXPUNGE"
        case .uidExpunge: return "UID EXPUNGE"
        case .search(_, let uid): return uid ? "UID SEARCH" : "SEARCH"
        case .fetch(_, _, _, let uid): return uid ? "UID FETCH" : "FETCH"
        case .store(_, _, _, let uid): return uid ? "UID STORE" : "STORE"
        case .copy(_, _, let uid): return uid ? "UID COPY" : "COPY"
        case .move(_, _, let uid): return uid ? "UID MOVE" : "MOVE"
        }
    }
}

/// One ID field (RFC 2971): a key and a value or NIL.
public struct IDField: Sendable, Equatable, Hashable {
    public var key: String
    public var value: String?
    public init(_ key: String, _ value: String?) { self.key = key; self.value = value }
}

/// SELECT/EXAMINE parameters (RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC).
public struct SelectParameters: Sendable, Equatable, Hashable {
    public var condStore: Bool
    public var qresync: QResyncParameters?
    public init(condStore: Bool = false, qresync: QResyncParameters? = nil) { self.condStore = condStore; self.qresync = qresync }
}

public struct QResyncParameters: Sendable, Equatable, Hashable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    public var knownUIDs: SequenceSet?
    /// (known sequence numbers, their UIDs)
    public var sequenceMatch: (SequenceSet, SequenceSet)? {
        guard let seqs = matchSequences, let uids = matchUIDs else { return nil }
        return (seqs, uids)
    }
    public var matchSequences: SequenceSet?
    public var matchUIDs: SequenceSet?
    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil,
                matchSequences: SequenceSet? = nil, matchUIDs: SequenceSet? = nil) {
        self.uidValidity = uidValidity; self.modSeq = modSeq; self.knownUIDs = knownUIDs
        self.matchSequences = matchSequences; self.matchUIDs = matchUIDs
    }
}

/// LIST (RFC 3501 §6.3.8 and LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154).
public struct ListCommand: Sendable, Equatable, Hashable {
    /// Upper-cased selection options: SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE.
    public var selectionOptions: [String]
    public var reference: MailboxName
    /// One or more patterns (raw bytes; `*` and `%` are wildcards).
    public var patterns: [[UInt8]]
    public var returnOptions: [ListReturnOption]
    /// Whether the command used LIST-EXTENDED syntax (options or a pattern list), which
    /// changes the reply shape (CHILDINFO extended data items).
    public var extended: Bool
    public init(selectionOptions: [String] = [], reference: MailboxName, patterns: [[UInt8]],
                returnOptions: [ListReturnOption] = [], extended: Bool = false) {
        self.selectionOptions = selectionOptions; self.reference = reference; self.patterns = patterns
        self.returnOptions = returnOptions; self.extended = extended
    }
}

public enum ListReturnOption: Sendable, Equatable, Hashable {
    case subscribed, children, specialUse
    case status([StatusItem])
}

public enum StatusItem: String, Sendable, Equatable, Hashable, CaseIterable {
    case messages = "MESSAGES"
    case recent = "RECENT"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case deleted = "DELETED"
    case size = "SIZE"
    case highestModSeq = "HIGHESTMODSEQ"
    case appendLimit = "APPENDLIMIT"
}

/// One message of APPEND (several with MULTIAPPEND, RFC 3502).
public struct AppendMessage: Sendable, Equatable {
    public var flags: [String]
    public var internalDate: IMAPDateTime?
    public var data: [UInt8]
    /// Sent as a literal8 (`~{n}`, RFC 3516 / `UTF8 (~{n})`, RFC 6855): may hold NUL.
    public var binary: Bool
    public init(flags: [String] = [], internalDate: IMAPDateTime? = nil, data: [UInt8], binary: Bool = false) {
        self.flags = flags; self.internalDate = internalDate; self.data = data; self.binary = binary
    }
}

public struct StoreModifiers: Sendable, Equatable, Hashable {
    public var unchangedSince: UInt64?
    public init(unchangedSince: UInt64? = nil) { self.unchangedSince = unchangedSince }
}

public struct StoreAction: Sendable, Equatable, Hashable {
    public enum Operation: Sendable, Equatable, Hashable { case replace, add, remove }
    public var operation: Operation
    public var silent: Bool
    /// Flags as sent ("\\Seen", "$Forwarded"); system flags keep their backslash.
    public var flags: [String]
    public init(_ operation: Operation, silent: Bool = false, flags: [String]) {
        self.operation = operation; self.silent = silent; self.flags = flags
    }
}
