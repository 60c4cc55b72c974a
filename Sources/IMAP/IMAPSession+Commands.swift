// The command table: which command is valid in which state (RFC 3501 §6, RFC 9051 §6),
// which are answered at once and which need the store (deferred to `perform`).
import MailCore
import Policy

extension IMAPSession {
    enum Availability { case any, notAuthenticated, authenticated, selected }

    static func availability(_ command: IMAPCommand) -> Availability {
        switch command {
        case .capability, .noop, .logout, .id: return .any
        case .starttls, .authenticate, .login: return .notAuthenticated
        case .enable, .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub,
             .namespace, .status, .append, .idle, .getQuota, .getQuotaRoot:
            return .authenticated
        case .check, .close, .unselect, .expunge, .uidExpunge, .search, .fetch, .store, .copy, .move:
            return .selected
        }
    }

    /// Commands answered without the store (in the selected state NOOP and IDLE look for
    /// updates, so they go to the store).
    func needsStore(_ command: IMAPCommand) -> Bool {
        switch command {
        case .capability, .logout, .id, .enable, .namespace, .starttls, .authenticate, .login, .unselect:
            return false
        case .noop, .idle:
            return state == .selected
        default:
            return true
        }
    }

    mutating func handle(_ tagged: TaggedCommand, _ actions: inout [IMAPAction]) {
        let tag = tagged.tag
        switch (Self.availability(tagged.command), state) {
        case (.any, _), (.notAuthenticated, .notAuthenticated), (.authenticated, .authenticated),
             (.authenticated, .selected), (.selected, .selected):
            break
        case (.notAuthenticated, _):
            return bad(tag, "Already authenticated", &actions)
        case (.authenticated, _), (.selected, .notAuthenticated):
            return bad(tag, "Log in first", &actions)
        case (.selected, _):
            return bad(tag, "No mailbox selected", &actions)
        }
        if needsStore(tagged.command) {
            pending = .command(tagged)
            emit(.perform, &actions)
            return
        }
        switch tagged.command {
        case .capability:
            respond(.data(.capability(capabilities())))
            ok(tag, "CAPABILITY completed")
        case .noop:
            ok(tag, "NOOP completed")
        case .logout:
            respond(.untagged(status: .bye, code: nil, text: "Logging out"))
            ok(tag, "LOGOUT completed")
            close(&actions)
        case .id:
            respond(.data(.id(configuration.serverID)))
            ok(tag, "ID completed")
        case .enable(let names):
            enable(tag, names)
        case .namespace:
            respond(.data(.namespace(personal: [NamespaceEntry(prefix: "", delimiter: "/")], other: [], shared: [])))
            ok(tag, "NAMESPACE completed")
        case .starttls:
            startTLS(tag, &actions)
        case .authenticate(let mechanism, let initialResponse):
            authenticate(tag, mechanism: mechanism, initialResponse: initialResponse, &actions)
        case .login(let user, let password):
            login(tag, user: user, password: password, &actions)
        case .unselect:
            unselect(tag, &actions)
        case .idle:
            startIdle(tag, &actions)
        default:
            preconditionFailure("\(tagged.command.name) needs the store")
        }
    }

    /// Runs a store command (inside `perform`).
    mutating func execute(_ tagged: TaggedCommand, store: any IMAPMailStore, output: IMAPOutput,
                          _ actions: inout [IMAPAction]) {
        let tag = tagged.tag
        switch tagged.command {
        case .noop:
            sendUpdates(store: store, allowExpunge: true)
            ok(tag, "NOOP completed")
        case .check:
            sendUpdates(store: store, allowExpunge: true)
            ok(tag, "CHECK completed")
        case .idle:
            sendUpdates(store: store, allowExpunge: true)
            startIdle(tag, &actions)
        case .select(let name, let parameters):
            select(tag, name, parameters, readOnly: false, store: store, &actions)
        case .examine(let name, let parameters):
            select(tag, name, parameters, readOnly: true, store: store, &actions)
        case .create(let name, let specialUse):
            create(tag, name, specialUse: specialUse, store: store, &actions)
        case .delete(let name):
            delete(tag, name, store: store, &actions)
        case .rename(let from, let to):
            rename(tag, from, to, store: store, &actions)
        case .subscribe(let name):
            subscribe(tag, name, true, store: store, &actions)
        case .unsubscribe(let name):
            subscribe(tag, name, false, store: store, &actions)
        case .list(let command):
            list(tag, command, store: store, &actions)
        case .lsub(let reference, let pattern):
            lsub(tag, reference: reference, pattern: pattern, store: store, &actions)
        case .status(let name, let items):
            status(tag, name, items, store: store, &actions)
        case .append(let name, let messages):
            append(tag, name, messages, store: store, &actions)
        case .getQuota(let root):
            getQuota(tag, root: root, store: store)
        case .getQuotaRoot(let name):
            getQuotaRoot(tag, name, store: store, &actions)
        case .close:
            closeMailbox(tag, store: store, &actions)
        case .expunge:
            expunge(tag, uids: nil, store: store, &actions)
        case .uidExpunge(let set):
            expunge(tag, uids: set, store: store, &actions)
        case .search(let command, let uid):
            search(tag, command, uid: uid, store: store, &actions)
        case .fetch(let set, let attributes, let modifiers, let uid):
            fetch(tag, set, attributes, modifiers, uid: uid, store: store, output: output, &actions)
        case .store(let set, let modifiers, let action, let uid):
            storeFlags(tag, set, modifiers, action, uid: uid, store: store, &actions)
        case .copy(let set, let destination, let uid):
            copy(tag, set, destination, uid: uid, move: false, store: store, &actions)
        case .move(let set, let destination, let uid):
            copy(tag, set, destination, uid: uid, move: true, store: store, &actions)
        default:
            preconditionFailure("\(tagged.command.name) does not need the store")
        }
    }

    /// ENABLE (RFC 5161): only extensions we support are echoed.
    mutating func enable(_ tag: String, _ names: [String]) {
        let known: Set<String> = ["CONDSTORE", "QRESYNC", "UTF8=ACCEPT", "IMAP4REV2"]
        var newly: [String] = []
        for name in names.map({ $0.uppercased() }) where known.contains(name) && !enabled.contains(name) {
            enabled.insert(name)
            newly.append(name == "IMAP4REV2" ? "IMAP4rev2" : name)
            // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
            if name == "QRESYNC" { enabled.insert("CONDSTORE") }
            // RFC 9051 has no \Recent: forget what this session held.
            if name == "IMAP4REV2" { selected?.recent = [] }
        }
        respond(.data(.enabled(newly)))
        if newly.contains(where: { $0 == "CONDSTORE" || $0 == "QRESYNC" }) { announceHighestModSeq() }
        ok(tag, "ENABLE completed")
    }

    /// A CONDSTORE-enabling command was used (RFC 7162 §3.1): turns CONDSTORE on and
    /// says whether it was off until now; then, once the command's updates are out, call
    /// `announceHighestModSeq()` (the first such command must report HIGHESTMODSEQ).
    mutating func turnOnCondStore(_ used: Bool) -> Bool {
        guard used, !condStoreOn else { return false }
        enabled.insert("CONDSTORE")
        return true
    }

    /// `* OK [HIGHESTMODSEQ n]` for the selected mailbox (RFC 7162 §3.1.2.1), if any.
    mutating func announceHighestModSeq() {
        guard let mailbox = selected else { return }
        respond(.untagged(status: .ok, code: .highestModSeq(mailbox.highestModSeq), text: "Highest"))
    }
}
