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
        guard let name = mailboxName(raw), name != "/" else { return no(tag, "Invalid mailbox name", code: .cannot) }
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
        guard let name = mailboxName(raw) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        guard name != "INBOX" else { return no(tag, "INBOX cannot be deleted", code: .cannot) }
        do { try store.deleteMailbox(name) } catch { return no(tag, error.text, code: error.code) }
        // The selected mailbox is gone: nothing is left to show (Dovecot closes it too).
        if selected?.name == name { deselect(&actions) }
        ok(tag, "DELETE completed")
    }

    mutating func rename(_ tag: String, _ rawFrom: MailboxName, _ rawTo: MailboxName, store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        guard let from = mailboxName(rawFrom), let to = mailboxName(rawTo) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        guard to != "INBOX" else { return no(tag, "INBOX already exists", code: .alreadyExists) }
        do { try store.renameMailbox(from, to: to) } catch { return no(tag, error.text, code: error.code) }
        if selected?.name == from { selected?.name = to }
        ok(tag, "RENAME completed")
    }

    mutating func subscribe(_ tag: String, _ raw: MailboxName, _ on: Bool, store: any IMAPMailStore,
                            _ actions: inout [IMAPAction]) {
        guard let name = mailboxName(raw) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        do { try store.setSubscribed(name, on) } catch { return no(tag, error.text, code: error.code) }
        ok(tag, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed")
    }

    // MARK: LIST / LSUB

    /// One name LIST may answer with, before the options filter it.
    struct ListCandidate {
        var name: String
        /// nil: no such mailbox (a parent implied by deeper names, or a subscription to a
        /// name that no longer exists).
        var info: IMAPMailboxInfo?
        var subscribed: Bool
        var hasChildren: Bool
    }

    /// Every existing mailbox, every parent its name implies, and (`withSubscriptions`)
    /// every subscribed name, sorted; INBOX always exists.
    func listCandidates(_ mailboxes: [IMAPMailboxInfo], withSubscriptions: Bool) -> [ListCandidate] {
        var existing: [String: IMAPMailboxInfo] = [:]
        var subscribed = Set<String>()
        for mailbox in mailboxes {
            if mailbox.exists { existing[mailbox.name] = mailbox }
            if mailbox.subscribed { subscribed.insert(mailbox.name) }
        }
        if existing["INBOX"] == nil { existing["INBOX"] = IMAPMailboxInfo(name: "INBOX") }
        var names = Set(existing.keys)
        if withSubscriptions { names.formUnion(subscribed) }
        // Parents implied by deeper existing names (a/b without a); a subscription to a
        // gone name implies nothing.
        var parents = Set<String>()
        for name in existing.keys {
            var parts = name.split(separator: "/", omittingEmptySubsequences: false)
            while parts.count > 1 {
                parts.removeLast()
                if !parents.insert(parts.joined(separator: "/")).inserted { break }
            }
        }
        names.formUnion(parents)
        return names.sorted().map {
            ListCandidate(name: $0, info: existing[$0], subscribed: subscribed.contains($0), hasChildren: parents.contains($0))
        }
    }

    static let selectionOptions: Set<String> = ["SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"]

    /// LIST (RFC 3501 §6.3.8, LIST-EXTENDED RFC 5258). A name that does not exist is listed
    /// only where the RFCs ask for it: a parent implied by deeper names when the pattern
    /// has a wildcard (\NonExistent, or \Noselect for a plain LIST), and with SUBSCRIBED a
    /// subscription whose mailbox is gone (\NonExistent \Subscribed, §3.1).
    mutating func list(_ tag: String, _ command: ListCommand, store: any IMAPMailStore, _ actions: inout [IMAPAction]) {
        // RFC 5258 §3: an unknown selection option is BAD; RECURSIVEMATCH needs another
        // option besides REMOTE.
        if let unknown = command.selectionOptions.first(where: { !Self.selectionOptions.contains($0) }) {
            return bad(tag, "Unknown LIST selection option \(unknown.prefix(20))", &actions)
        }
        let selectSubscribed = command.selectionOptions.contains("SUBSCRIBED")
        let selectSpecialUse = command.selectionOptions.contains("SPECIAL-USE")
        let recursive = command.selectionOptions.contains("RECURSIVEMATCH")
        if recursive && !selectSubscribed && !selectSpecialUse {
            return bad(tag, "RECURSIVEMATCH needs another selection option", &actions)
        }
        let reference = command.reference.decoded(utf8Accept: utf8Accept) ?? String(decoding: command.reference.bytes, as: UTF8.self)
        // A pattern that is not valid modified UTF-7 is matched as the bytes it is (it
        // then matches no stored name that needed encoding): answered, never refused.
        let patterns = command.patterns.map { MailboxName($0).decoded(utf8Accept: utf8Accept) ?? String(decoding: $0, as: UTF8.self) }
        // An empty pattern asks for the delimiter (RFC 3501 §6.3.8).
        if patterns.count == 1 && patterns[0].isEmpty {
            respond(.data(.list(ListEntry(attributes: ["\\Noselect"], delimiter: "/", name: ""))))
            return ok(tag, "LIST completed")
        }
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
        let mailboxes: [IMAPMailboxInfo]
        do { mailboxes = try store.listMailboxes() } catch { return no(tag, error.text, code: error.code) }
        let matchers = patterns.map { MailboxPattern(reference: reference, pattern: $0) }
        let candidates = listCandidates(mailboxes, withSubscriptions: selectSubscribed)
        let subscribedNames = recursive ? candidates.filter(\.subscribed).map(\.name) : []
        for candidate in candidates {
            guard matchers.contains(where: { $0.matches(candidate.name) }) else { continue }
            var childInfo: [String] = []
            if selectSubscribed && !candidate.subscribed {
                // RECURSIVEMATCH (§3.5): a parent that is not subscribed is listed, with
                // CHILDINFO, when a subscribed descendant is not listed itself.
                let prefix = candidate.name + "/"
                guard recursive, subscribedNames.contains(where: { name in
                    name.hasPrefix(prefix) && !matchers.contains { $0.matches(name) }
                }) else { continue }
                childInfo = ["SUBSCRIBED"]
            }
            if selectSpecialUse && candidate.info?.specialUse == nil { continue }
            if candidate.info == nil && !candidate.subscribed && childInfo.isEmpty
                && !matchers.contains(where: { $0.hasWildcard && $0.matches(candidate.name) }) { continue }
            var attributes: [String] = []
            if candidate.info == nil {
                attributes.append(command.extended ? "\\NonExistent" : "\\Noselect")
            }
            attributes.append(candidate.hasChildren ? "\\HasChildren" : "\\HasNoChildren")
            if returnSubscribed && candidate.subscribed { attributes.append("\\Subscribed") }
            if returnSpecialUse, let use = candidate.info?.specialUse { attributes.append(use) }
            respond(.data(.list(ListEntry(attributes: attributes, delimiter: "/", name: candidate.name, childInfo: childInfo))))
            if let statusItems, candidate.info != nil, let counts = try? store.status(candidate.name) {
                respond(.data(.status(candidate.name, statusValues(statusItems, counts))))
            }
        }
        ok(tag, "LIST completed")
    }

    /// LSUB (RFC 3501 §6.3.9): the subscribed names matching, existing or not; with a "%"
    /// in the pattern, a parent that is not subscribed but has subscribed children is
    /// listed \Noselect where "%" stops short of the children.
    mutating func lsub(_ tag: String, reference: MailboxName, pattern: [UInt8], store: any IMAPMailStore,
                       _ actions: inout [IMAPAction]) {
        let ref = reference.decoded(utf8Accept: utf8Accept) ?? String(decoding: reference.bytes, as: UTF8.self)
        let pat = MailboxName(pattern).decoded(utf8Accept: utf8Accept) ?? String(decoding: pattern, as: UTF8.self)
        let mailboxes: [IMAPMailboxInfo]
        do { mailboxes = try store.listMailboxes() } catch { return no(tag, error.text, code: error.code) }
        let matcher = MailboxPattern(reference: ref, pattern: pat)
        let subscribed = Set(mailboxes.filter(\.subscribed).map(\.name))
        var entries: [String: [String]] = [:]
        for name in subscribed where matcher.matches(name) { entries[name] = [] }
        if matcher.hasPercent {
            for name in subscribed {
                var parts = name.split(separator: "/", omittingEmptySubsequences: false)
                while parts.count > 1 {
                    parts.removeLast()
                    let parent = parts.joined(separator: "/")
                    if !subscribed.contains(parent) && entries[parent] == nil && matcher.matches(parent) {
                        entries[parent] = ["\\Noselect"]
                    }
                }
            }
        }
        for name in entries.keys.sorted() {
            respond(.data(.lsub(ListEntry(attributes: entries[name]!, delimiter: "/", name: name))))
        }
        ok(tag, "LSUB completed")
    }

    // MARK: STATUS

    func statusValues(_ items: [StatusItem], _ counts: IMAPMailboxStatus) -> [StatusValue] {
        items.map { item in
            switch item {
            case .messages: StatusValue(item, UInt64(counts.messages))
            case .recent: StatusValue(item, UInt64(counts.recent))
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
        guard let name = mailboxName(raw) else { return no(tag, "Invalid mailbox name", code: .cannot) }
        let counts: IMAPMailboxStatus
        do { counts = try store.status(name) } catch { return no(tag, error.text, code: error.code) }
        let newlyCondStore = turnOnCondStore(items.contains(.highestModSeq))
        respond(.data(.status(name, statusValues(items, counts))))
        if state == .selected { sendUpdates(store: store, allowExpunge: true) }
        if newlyCondStore { announceHighestModSeq() }
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
        guard let name = mailboxName(raw) else { return no(tag, "Invalid mailbox name", code: .cannot) }
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
