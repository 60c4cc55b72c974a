// Mailbox management in the authenticated state: CREATE (with CREATE-SPECIAL-USE,
// RFC 6154), DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST (RFC 3501 §6.3.8 and
// LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154, CHILDREN RFC
// 3348), LSUB, STATUS (incl. SIZE RFC 8438, HIGHESTMODSEQ RFC 7162, APPENDLIMIT RFC
// 7889) and QUOTA (RFC 9208: one root "" holding the account's storage).
import MailCore

extension IMAPSession {
    static let specialUses = ["\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"]

    mutating func create(_ tag: String, _ raw: MailboxName, specialUse: [String], store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw), name != "/" else { return bad(tag, "Invalid mailbox name", &actions) }
        guard name != "INBOX" else { return no(tag, "INBOX always exists", code: .alreadyExists) }
        var use: String?
        if let first = specialUse.first {
            guard specialUse.count == 1, let known = Self.specialUses.first(where: { $0.caseInsensitiveEquals(first) }) else {
                return no(tag, "Unsupported special-use attribute", code: .other("USEATTR", nil))
            }
            use = known
        }
        do { try store.createMailbox(name, specialUse: use) } catch { return no(tag, error.text, code: error.code) }
        ok(tag, "CREATE completed")
    }

    mutating func delete(_ tag: String, _ raw: MailboxName, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return bad(tag, "Invalid mailbox name", &actions) }
        guard name != "INBOX" else { return no(tag, "INBOX cannot be deleted", code: .cannot) }
        do { try store.deleteMailbox(name) } catch { return no(tag, error.text, code: error.code) }
        // The selected mailbox is gone: nothing is left to show (Dovecot closes it too).
        if selected?.name == name { deselect(&actions) }
        ok(tag, "DELETE completed")
    }

    mutating func rename(_ tag: String, _ rawFrom: MailboxName, _ rawTo: MailboxName, store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        guard let from = mailboxName(rawFrom), let to = mailboxName(rawTo) else { return bad(tag, "Invalid mailbox name", &actions) }
        guard to != "INBOX" else { return no(tag, "INBOX already exists", code: .alreadyExists) }
        do { try store.renameMailbox(from, to: to) } catch { return no(tag, error.text, code: error.code) }
        if selected?.name == from { selected?.name = to }
        ok(tag, "RENAME completed")
    }

    mutating func subscribe(_ tag: String, _ raw: MailboxName, _ on: Bool, store: any IMAPMailStore,
                            _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return bad(tag, "Invalid mailbox name", &actions) }
        do { try store.setSubscribed(name, on) } catch { return no(tag, error.text, code: error.code) }
        ok(tag, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed")
    }

    // MARK: LIST / LSUB

    /// One line of a LIST answer before the options filter it.
    struct ListCandidate {
        var name: String
        var info: IMAPMailboxInfo?
        var hasChildren: Bool
        var hasSubscribedChild: Bool
    }

    func listCandidates(_ mailboxes: [IMAPMailboxInfo]) -> [ListCandidate] {
        var byName: [String: IMAPMailboxInfo] = [:]
        for mailbox in mailboxes { byName[mailbox.name] = mailbox }
        if byName["INBOX"] == nil { byName["INBOX"] = IMAPMailboxInfo(name: "INBOX") }
        // Parents implied by deeper names (a/b without a) are listed as \NonExistent.
        var names = Set(byName.keys)
        var children = Set<String>(), subscribedChildren = Set<String>()
        for (name, info) in byName {
            var parts = name.split(separator: "/", omittingEmptySubsequences: false)
            while parts.count > 1 {
                parts.removeLast()
                let parent = parts.joined(separator: "/")
                names.insert(parent)
                children.insert(parent)
                if info.subscribed { subscribedChildren.insert(parent) }
            }
        }
        return names.sorted().map {
            ListCandidate(name: $0, info: byName[$0], hasChildren: children.contains($0),
                          hasSubscribedChild: subscribedChildren.contains($0))
        }
    }

    mutating func list(_ tag: String, _ command: ListCommand, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard let reference = command.reference.decoded(utf8Accept: utf8Accept) else {
            return bad(tag, "Invalid reference name", &actions)
        }
        let patterns = command.patterns.compactMap { MailboxName($0).decoded(utf8Accept: utf8Accept) }
        guard patterns.count == command.patterns.count else { return bad(tag, "Invalid mailbox pattern", &actions) }
        // An empty pattern asks for the delimiter (RFC 3501 §6.3.8).
        if patterns.count == 1 && patterns[0].isEmpty {
            respond(.data(.list(ListEntry(attributes: ["\\Noselect"], delimiter: "/", name: ""))))
            return ok(tag, "LIST completed")
        }
        let selectSubscribed = command.selectionOptions.contains("SUBSCRIBED")
        let selectSpecialUse = command.selectionOptions.contains("SPECIAL-USE")
        let recursive = command.selectionOptions.contains("RECURSIVEMATCH")
        var returnSubscribed = selectSubscribed, returnSpecialUse = true
        var statusItems: [StatusItem]?
        for option in command.returnOptions {
            switch option {
            case .subscribed: returnSubscribed = true
            case .specialUse: returnSpecialUse = true
            case .children: break
            case .status(let items): statusItems = items
            }
        }
        if recursive && !selectSubscribed { return bad(tag, "RECURSIVEMATCH needs another selection option", &actions) }
        let mailboxes: [IMAPMailboxInfo]
        do { mailboxes = try store.listMailboxes() } catch { return no(tag, error.text, code: error.code) }
        let matchers = patterns.map { MailboxPattern(reference: reference, pattern: $0) }
        for candidate in listCandidates(mailboxes) where matchers.contains(where: { $0.matches(candidate.name) }) {
            let subscribed = candidate.info?.subscribed ?? false
            var childInfo: [String] = []
            if selectSubscribed && !subscribed {
                guard recursive && candidate.hasSubscribedChild else { continue }
                childInfo = ["SUBSCRIBED"]
            }
            if selectSpecialUse && candidate.info?.specialUse == nil { continue }
            var attributes: [String] = []
            if candidate.info == nil {
                attributes.append(command.extended ? "\\NonExistent" : "\\Noselect")
            }
            attributes.append(candidate.hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if returnSubscribed && subscribed { attributes.append("\\Subscribed") }
            if returnSpecialUse, let use = candidate.info?.specialUse { attributes.append(use) }
            respond(.data(.list(ListEntry(attributes: attributes, delimiter: "/", name: candidate.name, childInfo: childInfo))))
            if let statusItems, candidate.info != nil, let counts = try? store.status(candidate.name) {
                respond(.data(.status(candidate.name, statusValues(statusItems, counts))))
            }
        }
        ok(tag, "LIST completed")
    }

    mutating func lsub(_ tag: String, reference: MailboxName, pattern: [UInt8], store: any IMAPMailStore,
                       _ actions: inout [IMAPAction]) {
        guard let ref = reference.decoded(utf8Accept: utf8Accept),
              let pat = MailboxName(pattern).decoded(utf8Accept: utf8Accept) else {
            return bad(tag, "Invalid mailbox pattern", &actions)
        }
        let mailboxes: [IMAPMailboxInfo]
        do { mailboxes = try store.listMailboxes() } catch { return no(tag, error.text, code: error.code) }
        let matcher = MailboxPattern(reference: ref, pattern: pat)
        for mailbox in mailboxes.sorted(by: { $0.name < $1.name }) where mailbox.subscribed && matcher.matches(mailbox.name) {
            respond(.data(.lsub(ListEntry(attributes: [], delimiter: "/", name: mailbox.name))))
        }
        ok(tag, "LSUB completed")
    }

    // MARK: STATUS

    func statusValues(_ items: [StatusItem], _ counts: IMAPMailboxStatus) -> [StatusValue] {
        items.map { item in
            switch item {
            case .messages: StatusValue(item, UInt64(counts.messages))
            case .recent: StatusValue(item, 0)
            case .uidNext: StatusValue(item, UInt64(counts.uidNext))
            case .uidValidity: StatusValue(item, UInt64(counts.uidValidity))
            case .unseen: StatusValue(item, UInt64(counts.unseen))
            case .deleted: StatusValue(item, UInt64(counts.deleted))
            case .size: StatusValue(item, counts.size)
            case .highestModSeq: StatusValue(item, max(1, counts.highestModSeq))
            case .appendLimit: StatusValue(item, UInt64(configuration.limits.maxMessageSize))
            }
        }
    }

    mutating func status(_ tag: String, _ raw: MailboxName, _ items: [StatusItem], store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return bad(tag, "Invalid mailbox name", &actions) }
        let counts: IMAPMailboxStatus
        do { counts = try store.status(name) } catch { return no(tag, error.text, code: error.code) }
        if items.contains(.highestModSeq) { enabled.insert("CONDSTORE") }
        respond(.data(.status(name, statusValues(items, counts))))
        if state == .selected { sendUpdates(store: store, allowExpunge: true) }
        ok(tag, "STATUS completed")
    }

    // MARK: QUOTA

    func quotaResources(_ quota: IMAPQuota) -> [QuotaResource] {
        guard let limit = quota.limitBytes else { return [] }
        return [QuotaResource(name: "STORAGE", usage: (quota.usedBytes + 1023) / 1024, limit: limit / 1024)]
    }

    mutating func getQuota(_ tag: String, root: String, store: any IMAPMailStore) {
        guard root.isEmpty else { return no(tag, "No such quota root", code: .nonExistent) }
        do {
            respond(.data(.quota(root: "", quotaResources(try store.quota()))))
            ok(tag, "GETQUOTA completed")
        } catch {
            no(tag, error.text, code: error.code)
        }
    }

    mutating func getQuotaRoot(_ tag: String, _ raw: MailboxName, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return bad(tag, "Invalid mailbox name", &actions) }
        do {
            _ = try store.status(name)
            let quota = try store.quota()
            respond(.data(.quotaRoot(mailbox: name, roots: [""])))
            respond(.data(.quota(root: "", quotaResources(quota))))
            ok(tag, "GETQUOTAROOT completed")
        } catch {
            no(tag, error.text, code: error.code)
        }
    }
}
