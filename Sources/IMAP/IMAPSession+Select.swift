// SELECT/EXAMINE (RFC 3501 §6.3.1-2, RFC 7162 CONDSTORE/QRESYNC parameters), CLOSE,
// UNSELECT (RFC 3691), EXPUNGE/UID EXPUNGE (RFC 4315), and the untagged updates that
// tell the client about changes made elsewhere (EXISTS, FETCH FLAGS, EXPUNGE or
// VANISHED), sent only where RFC 3501 §7.4.1 allows.
//
// \Recent (RFC 3501 §2.3.2): the store keeps per mailbox the first UID no session has
// claimed (Dovecot's "first recent UID"). SELECT claims every message below UIDNEXT, and
// a read-write session claims new arrivals when it learns of them; the claim moves the
// mark in one store transaction, so each message is recent in exactly one read-write
// session even when several have the mailbox selected. EXAMINE only reads the mark:
// unclaimed messages are recent there too, and stay so for the next SELECT. Sessions
// that ENABLE IMAP4rev2 neither see nor claim \Recent (RFC 9051 removed it).
import MailCore

extension IMAPSession {

    /// The Unicode name of a mailbox argument, INBOX case-folded, a trailing delimiter
    /// dropped. Bytes that are not valid modified UTF-7 (a bare "&", as clients that do
    /// not encode send it) name the mailbox as they are, so every character an astring
    /// allows can be used; nil only for an empty name or bytes that are not UTF-8, which
    /// the caller answers with NO (the syntax was fine: never BAD).
    func mailboxName(_ name: MailboxName) -> String? {
        guard var text = name.decoded(utf8Accept: utf8Accept) ?? String(validating: name.bytes, as: UTF8.self),
              !text.isEmpty else { return nil }
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
        guard let name = mailboxName(rawName) else { return no(tag, "No such mailbox", code: .nonExistent) }
        if parameters.qresync != nil && !enabled.contains("QRESYNC") {
            return bad(tag, "QRESYNC is not enabled", &actions)
        }
        let snapshot: IMAPMailboxSnapshot
        do { snapshot = try store.openMailbox(name) } catch { return no(tag, error.text, code: error.code) }
        if parameters.condStore { enabled.insert("CONDSTORE") }
        var mailbox = SelectedMailbox(snapshot, name: name, readOnly: readOnly)
        if tracksRecent {
            claimRecent(&mailbox, upTo: snapshot.uidNext, from: 0, store: store)
        }
        respond(.data(.flags(mailbox.flagList)))
        respond(.data(.exists(mailbox.count)))
        if tracksRecent { respond(.data(.recent(mailbox.recent.count))) }
        if let firstUnseen = mailbox.messages.firstIndex(where: { !SelectedMailbox.contains($0.flags, "\\Seen") }) {
            respond(.untagged(status: .ok, code: .unseen(firstUnseen + 1), text: "First unseen"))
        }
        respond(.untagged(status: .ok, code: .permanentFlags(mailbox.permanentFlags), text: "Flags permitted"))
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

    /// \Recent is shown (and claimed) unless the client enabled IMAP4rev2.
    var tracksRecent: Bool { !enabled.contains("IMAP4REV2") }

    /// Marks as recent the messages of `mailbox` with a UID of at least `from` that are
    /// recent for this session: read-write, it claims every UID below `upTo` from the
    /// store; read-only, it takes those nobody has claimed yet. A store failure leaves
    /// them not recent (\Recent is advisory; the command still succeeds).
    func claimRecent(_ mailbox: inout SelectedMailbox, upTo: UInt32, from: UInt32, store: any IMAPMailStore) {
        guard let first = try? store.firstRecentUID(in: mailbox.id, claimUpTo: mailbox.readOnly ? nil : upTo) else { return }
        let lowest = max(first, from)
        guard lowest < upTo || mailbox.readOnly else { return }
        // Messages ascend by UID: only the tail can be recent.
        var index = mailbox.messages.count
        while index > 0 && mailbox.messages[index - 1].uid >= lowest { index -= 1 }
        for record in mailbox.messages[index...] where mailbox.readOnly || record.uid < upTo {
            mailbox.recent.insert(record.uid)
        }
    }

    /// Sends FLAGS and PERMANENTFLAGS when `records` carry keywords the client has not
    /// been told about (RFC 3501 §7.2.6: before any FETCH shows them).
    mutating func announceKeywords(_ mailbox: inout SelectedMailbox, _ records: some Sequence<IMAPMessageRecord>) {
        guard mailbox.learnKeywords(records) else { return }
        respond(.data(.flags(mailbox.flagList)))
        respond(.untagged(status: .ok, code: .permanentFlags(mailbox.permanentFlags), text: "Flags permitted"))
    }

    /// QRESYNC (RFC 7162 §3.2.5): what vanished and what changed since the client's modseq.
    mutating func resynchronize(_ qresync: QResyncParameters, _ mailbox: inout SelectedMailbox, store: any IMAPMailStore) {
        guard let changes = try? store.changes(in: mailbox.id, since: qresync.modSeq) else { return }
        var vanished = changes.vanished
        if let known = qresync.knownUIDs { vanished = vanished.filter { known.contains($0, star: UInt32.max) } }
        if !vanished.isEmpty { respond(.data(.vanished(earlier: true, .compact(vanished)))) }
        for record in changes.changed {
            guard let index = mailbox.index(ofUID: record.uid) else { continue }
            respond(.data(.fetch(index + 1, [.uid(record.uid), .flags(mailbox.flags(of: mailbox.messages[index])),
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
            announceKeywords(&mailbox, changes.changed.lazy.filter { !vanished.contains($0.uid) })
            var added = false
            let previousLargest = mailbox.largestUID
            for record in changes.changed where !vanished.contains(record.uid) {
                if let index = mailbox.index(ofUID: record.uid) {
                    let old = mailbox.messages[index]
                    mailbox.messages[index] = record
                    if mailbox.pendingExpunges.contains(record.uid) { continue }
                    if old.flags != record.flags || (condStoreOn && old.modSeq != record.modSeq) {
                        respond(.data(.fetch(index + 1, flagItems(record, in: mailbox))))
                    }
                } else if record.uid > mailbox.largestUID {
                    mailbox.messages.append(record)
                    added = true
                }
            }
            mailbox.uidNext = max(mailbox.uidNext, changes.uidNext)
            mailbox.highestModSeq = max(mailbox.highestModSeq, changes.highestModSeq)
            if allowExpunge { announceExpunges(&mailbox) }
            if added {
                let recentBefore = mailbox.recent.count
                if tracksRecent { claimRecent(&mailbox, upTo: mailbox.uidNext, from: previousLargest + 1, store: store) }
                respond(.data(.exists(mailbox.count)))
                if tracksRecent && mailbox.recent.count != recentBefore { respond(.data(.recent(mailbox.recent.count))) }
            }
        } else if allowExpunge {
            announceExpunges(&mailbox)
        }
        selected = mailbox
    }

    /// The items of an unsolicited flag update.
    func flagItems(_ record: IMAPMessageRecord, in mailbox: SelectedMailbox) -> [FetchResponseItem] {
        var items: [FetchResponseItem] = [.uid(record.uid), .flags(mailbox.flags(of: record))]
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
        if !mailbox.recent.isEmpty { mailbox.recent.subtract(gone) }
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
