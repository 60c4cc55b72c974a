// Commands that change messages: APPEND (RFC 3501 §6.3.11, MULTIAPPEND RFC 3502,
// APPENDUID RFC 4315), STORE/UID STORE (§6.4.6, UNCHANGEDSINCE RFC 7162 §3.1.3), and
// COPY/MOVE (§6.4.7, RFC 6851, COPYUID RFC 4315). The store commits before the
// session answers OK.
import MailCore

extension IMAPSession {
    /// Flags a client may set: no \Recent, system flags spelled canonically.
    func storableFlags(_ flags: [String]) -> [String] {
        var out: [String] = []
        for flag in flags {
            if flag.caseInsensitiveEquals("\\Recent") { continue }
            let canonical = SelectedMailbox.systemFlags.first { $0.caseInsensitiveEquals(flag) } ?? flag
            if !out.contains(where: { $0.caseInsensitiveEquals(canonical) }) { out.append(canonical) }
        }
        return out
    }

    mutating func append(_ tag: String, _ raw: MailboxName, _ messages: [AppendMessage], store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        var uids: [UInt32] = []
        var validity: UInt32 = 0
        for message in messages {
            guard message.data.count <= configuration.limits.maxMessageSize else {
                return no(tag, "Message too big", code: .tooBig)
            }
            guard !message.data.isEmpty else { return no(tag, "Empty message", code: .cannot) }
            guard message.binary || !message.data.contains(0) else { return no(tag, "NUL in message; use a literal8", code: .other("UNKNOWN-CTE", nil)) }
            do {
                let result = try store.append(to: name, message: message.data, flags: storableFlags(message.flags),
                                              internalDate: message.internalDate?.epochSeconds)
                uids.append(result.uid); validity = result.uidValidity
            } catch {
                return no(tag, error.text, code: error.code)
            }
        }
        if state == .selected { sendUpdates(store: store, allowExpunge: true) }
        ok(tag, "APPEND completed", code: .appendUID(uidValidity: validity, uids: .compact(uids)))
    }

    /// Resolves a command's sequence set; a message number beyond the mailbox is BAD.
    mutating func resolve(_ tag: String, _ set: SequenceSet, uid: Bool, _ actions: inout [IMAPAction]) -> [Int]? {
        guard let mailbox = selected else { return nil }
        if !uid && mailbox.sequenceOutOfRange(set) {
            bad(tag, "Invalid message sequence number", &actions)
            return nil
        }
        return mailbox.indexes(set, uid: uid, saved: savedSearch)
    }

    mutating func storeFlags(_ tag: String, _ set: SequenceSet, _ modifiers: StoreModifiers, _ action: StoreAction, uid: Bool,
                             store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard selected?.readOnly == false else { return no(tag, "Mailbox is read-only", code: .readOnly) }
        let newlyCondStore = turnOnCondStore(modifiers.unchangedSince != nil)
        // Before numbers are resolved: UID STORE may announce expunges, STORE may not.
        sendUpdates(store: store, allowExpunge: uid)
        if newlyCondStore { announceHighestModSeq() }
        guard let mailbox = selected, let indexes = resolve(tag, set, uid: uid, &actions) else { return }
        let uids = indexes.map { mailbox.messages[$0].uid }
        let result: IMAPFlagsResult
        do {
            result = try store.storeFlags(uids, in: mailbox.id, operation: action.operation, flags: storableFlags(action.flags),
                                          unchangedSince: modifiers.unchangedSince)
        } catch {
            return no(tag, error.text, code: error.code)
        }
        let updated = Dictionary(result.updated.map { ($0.uid, $0) }, uniquingKeysWith: { $1 })
        var current = selected!
        announceKeywords(&current, result.updated)
        selected = current
        for index in indexes {
            let old = selected!.messages[index]
            let record = updated[old.uid] ?? old
            if let fresh = updated[old.uid] { selected!.messages[index] = fresh; selected!.highestModSeq = max(selected!.highestModSeq, fresh.modSeq) }
            // RFC 7162 §3.1.3: with UNCHANGEDSINCE even .SILENT reports the new MODSEQ.
            if result.modified.contains(old.uid) { continue }
            if !action.silent || (modifiers.unchangedSince != nil && updated[old.uid] != nil) {
                var items: [FetchResponseItem] = []
                if uid { items.append(.uid(record.uid)) }
                if !action.silent { items.append(.flags(selected!.flags(of: record))) }
                if condStoreOn { items.append(.modSeq(record.modSeq)) }
                respond(.data(.fetch(index + 1, items)))
            }
        }
        if !result.modified.isEmpty {
            let numbers = uid ? result.modified : result.modified.compactMap { selected!.index(ofUID: $0).map { UInt32($0 + 1) } }
            return ok(tag, "Conditional STORE failed", code: .modified(.compact(numbers)))
        }
        ok(tag, uid ? "UID STORE completed" : "STORE completed")
    }

    mutating func copy(_ tag: String, _ set: SequenceSet, _ destination: MailboxName, uid: Bool, move: Bool,
                       store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard let mailbox = selected else { return }
        guard let target = mailboxName(destination) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        if move && mailbox.readOnly { return no(tag, "Mailbox is read-only", code: .readOnly) }
        guard let indexes = resolve(tag, set, uid: uid, &actions) else { return }
        let verb = (uid ? "UID " : "") + (move ? "MOVE" : "COPY")
        guard !indexes.isEmpty else { return ok(tag, "\(verb) completed (no messages)") }
        let result: IMAPCopyResult
        do {
            result = try store.copy(indexes.map { mailbox.messages[$0].uid }, from: mailbox.id, to: target, move: move)
        } catch {
            return no(tag, error.text, code: error.code)
        }
        let code = result.sourceUIDs.isEmpty ? nil
            : IMAPResponseCode.copyUID(uidValidity: result.uidValidity, source: .compact(result.sourceUIDs),
                                       destination: .ordered(result.destinationUIDs))
        if move {
            // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
            if let code { respond(.untagged(status: .ok, code: code, text: "Moved UIDs")) }
            selected?.pendingExpunges.formUnion(result.sourceUIDs)
            sendUpdates(store: store, allowExpunge: true)
            ok(tag, "\(verb) completed")
        } else {
            if target == mailbox.name { sendUpdates(store: store, allowExpunge: uid) }
            ok(tag, "\(verb) completed", code: code)
        }
    }
}
