// SELECT/EXAMINE (RFC 3501 §6.3.1-2, RFC 7162 CONDSTORE/QRESYNC parameters), CLOSE,
// UNSELECT (RFC 3691), EXPUNGE/UID EXPUNGE (RFC 4315), and the untagged updates that
// tell the client about changes made elsewhere (EXISTS, FETCH FLAGS, EXPUNGE or
// VANISHED), sent only where RFC 3501 §7.4.1 allows.
import MailCore

extension IMAPSession {
    static let permanentFlags = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\*"]

    /// The Unicode name of a mailbox argument, INBOX case-folded, a trailing delimiter
    /// dropped; nil when the bytes are not valid modified UTF-7 (or UTF-8 after ENABLE).
    func mailboxName(_ name: MailboxName) -> String? {
        guard var text = name.decoded(utf8Accept: utf8Accept), !text.isEmpty else { return nil }
        while text.count > 1 && text.hasSuffix("/") { text.removeLast() }
        if text.uppercased() == "INBOX" { return "INBOX" }
        if text.uppercased().hasPrefix("INBOX/") { return "INBOX" + text.dropFirst(5) }
        return text
    }

    mutating func select(_ tag: String, _ rawName: MailboxName, _ parameters: SelectParameters, readOnly: Bool,
                         store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        if selected != nil {
            deselect(&actions)
            respond(.untagged(status: .ok, code: .closed, text: "Previous mailbox closed"))
        }
        guard let name = mailboxName(rawName) else { return bad(tag, "Invalid mailbox name", &actions) }
        if parameters.qresync != nil && !enabled.contains("QRESYNC") {
            return bad(tag, "QRESYNC is not enabled", &actions)
        }
        let snapshot: IMAPMailboxSnapshot
        do { snapshot = try store.openMailbox(name) } catch { return no(tag, error.text, code: error.code) }
        if parameters.condStore { enabled.insert("CONDSTORE") }
        var mailbox = SelectedMailbox(snapshot, name: name, readOnly: readOnly)
        respond(.data(.flags(mailbox.flagList)))
        respond(.data(.exists(mailbox.count)))
        respond(.data(.recent(0)))
        if let firstUnseen = mailbox.messages.firstIndex(where: { !SelectedMailbox.contains($0.flags, "\\Seen") }) {
            respond(.untagged(status: .ok, code: .unseen(firstUnseen + 1), text: "First unseen"))
        }
        respond(.untagged(status: .ok, code: .permanentFlags(readOnly ? [] : Self.permanentFlags), text: "Flags permitted"))
        respond(.untagged(status: .ok, code: .uidValidity(mailbox.uidValidity), text: "UIDs valid"))
        respond(.untagged(status: .ok, code: .uidNext(mailbox.uidNext), text: "Predicted next UID"))
        respond(.untagged(status: .ok, code: .highestModSeq(mailbox.highestModSeq), text: "Highest"))
        if let qresync = parameters.qresync, qresync.uidValidity == mailbox.uidValidity {
            resynchronize(qresync, &mailbox, store: store)
        }
        selected = mailbox
        state = .selected
        mailboxDirty = false
        ok(tag, readOnly ? "EXAMINE completed" : "SELECT completed", code: readOnly ? .readOnly : .readWrite)
        emit(.watch(mailbox.id), &actions)
    }

    /// QRESYNC (RFC 7162 §3.2.5): what vanished and what changed since the client's modseq.
    mutating func resynchronize(_ qresync: QResyncParameters, _ mailbox: inout SelectedMailbox, store: any IMAPMailStore) {
        guard let changes = try? store.changes(in: mailbox.id, since: qresync.modSeq) else { return }
        var vanished = changes.vanished
        if let known = qresync.knownUIDs { vanished = vanished.filter { known.contains($0, star: UInt32.max) } }
        if !vanished.isEmpty { respond(.data(.vanished(earlier: true, .compact(vanished)))) }
        for record in changes.changed {
            guard let index = mailbox.index(ofUID: record.uid) else { continue }
            respond(.data(.fetch(index + 1, [.uid(record.uid), .flags(mailbox.messages[index].flags),
                                             .modSeq(mailbox.messages[index].modSeq)])))
        }
    }

    mutating func deselect(_ actions: inout [IMAPAction]) {
        selected = nil
        savedSearch = []
        state = .authenticated
        emit(.watch(nil), &actions)
    }

    mutating func unselect(_ tag: String, _ actions: inout [IMAPAction]) {
        deselect(&actions)
        ok(tag, "UNSELECT completed")
    }

    /// CLOSE: expunge silently (read-write only), then back to authenticated.
    mutating func closeMailbox(_ tag: String, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        if let mailbox = selected, !mailbox.readOnly {
            let deleted = mailbox.messages.filter { SelectedMailbox.contains($0.flags, "\\Deleted") }.map(\.uid)
            if !deleted.isEmpty {
                do { _ = try store.expunge(deleted, in: mailbox.id) } catch { return no(tag, error.text, code: error.code) }
            }
        }
        deselect(&actions)
        ok(tag, "CLOSE completed")
    }

    /// EXPUNGE, or UID EXPUNGE of `uids` (RFC 4315 §2.1).
    mutating func expunge(_ tag: String, uids: SequenceSet?, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard let mailbox = selected else { return }
        guard !mailbox.readOnly else { return no(tag, "Mailbox is read-only", code: .readOnly) }
        var candidates = mailbox.messages.indices.filter { mailbox.has("\\Deleted", at: $0) }
        if let uids {
            let chosen = Set(mailbox.indexes(uids, uid: true, saved: savedSearch))
            candidates = candidates.filter { chosen.contains($0) }
        }
        if !candidates.isEmpty {
            do {
                let removed = try store.expunge(candidates.map { mailbox.messages[$0].uid }, in: mailbox.id)
                selected?.pendingExpunges.formUnion(removed)
            } catch {
                return no(tag, error.text, code: error.code)
            }
        }
        sendUpdates(store: store, allowExpunge: true)
        ok(tag, uids == nil ? "EXPUNGE completed" : "UID EXPUNGE completed")
    }

    /// Merges what changed elsewhere into the selected mailbox and tells the client:
    /// FETCH for flag changes, EXPUNGE/VANISHED when `allowExpunge`, then EXISTS.
    mutating func sendUpdates(store: any IMAPMailStore, allowExpunge: Bool) {
        guard var mailbox = selected else { return }
        mailboxDirty = false
        if let changes = try? store.changes(in: mailbox.id, since: mailbox.highestModSeq) {
            for uid in changes.vanished where mailbox.index(ofUID: uid) != nil { mailbox.pendingExpunges.insert(uid) }
            let vanished = Set(changes.vanished)
            var added = false
            for record in changes.changed where !vanished.contains(record.uid) {
                if let index = mailbox.index(ofUID: record.uid) {
                    let old = mailbox.messages[index]
                    mailbox.messages[index] = record
                    if mailbox.pendingExpunges.contains(record.uid) { continue }
                    if old.flags != record.flags || (condStoreOn && old.modSeq != record.modSeq) {
                        respond(.data(.fetch(index + 1, flagItems(record))))
                    }
                } else if record.uid > mailbox.largestUID {
                    mailbox.messages.append(record)
                    added = true
                }
            }
            mailbox.uidNext = max(mailbox.uidNext, changes.uidNext)
            mailbox.highestModSeq = max(mailbox.highestModSeq, changes.highestModSeq)
            if allowExpunge { announceExpunges(&mailbox) }
            if added { respond(.data(.exists(mailbox.count))) }
        } else if allowExpunge {
            announceExpunges(&mailbox)
        }
        selected = mailbox
    }

    /// The items of an unsolicited flag update.
    func flagItems(_ record: IMAPMessageRecord) -> [FetchResponseItem] {
        var items: [FetchResponseItem] = [.uid(record.uid), .flags(record.flags)]
        if condStoreOn { items.append(.modSeq(record.modSeq)) }
        return items
    }

    /// Removes the pending expunges, highest number first so each EXPUNGE's number is
    /// right when it is read; VANISHED instead once QRESYNC is on (RFC 7162 §3.2.10).
    mutating func announceExpunges(_ mailbox: inout SelectedMailbox) {
        guard !mailbox.pendingExpunges.isEmpty else { return }
        let gone = mailbox.pendingExpunges
        mailbox.pendingExpunges = []
        if enabled.contains("QRESYNC") {
            let uids = mailbox.messages.filter { gone.contains($0.uid) }.map(\.uid)
            if !uids.isEmpty { respond(.data(.vanished(earlier: false, .compact(uids)))) }
        } else {
            for index in mailbox.messages.indices.reversed() where gone.contains(mailbox.messages[index].uid) {
                respond(.data(.expunge(index + 1)))
            }
        }
        mailbox.messages.removeAll { gone.contains($0.uid) }
        savedSearch.removeAll { gone.contains($0) }
    }

    // MARK: IDLE (RFC 2177)

    mutating func startIdle(_ tag: String, _ actions: inout [IMAPAction]) {
        respond(.continuation("idling"))
        phase = .idle(tag: tag)
        framer.expectLine()
        emit(.idle(true), &actions)
    }

    mutating func idleLine(tag: String, _ bytes: [UInt8], _ actions: inout [IMAPAction]) {
        phase = .command
        emit(.idle(false), &actions)
        if String(decoding: bytes, as: UTF8.self).uppercased() == "DONE" {
            ok(tag, "IDLE terminated")
        } else {
            bad(tag, "Expected DONE", &actions)
        }
    }
}
