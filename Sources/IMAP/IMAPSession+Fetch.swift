// FETCH/UID FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5, BINARY RFC 3516, CONDSTORE
// CHANGEDSINCE/MODSEQ and QRESYNC VANISHED RFC 7162). Messages are read one at a time
// through `withMessageBytes` and their responses streamed to the output, so a FETCH of
// a whole mailbox never sits in memory. \Seen is set (durably) before the data goes
// out for non-PEEK body fetches in a read-write mailbox, and FLAGS are then sent too.
import MailCore

extension IMAPSession {
    mutating func fetch(_ tag: String, _ set: SequenceSet, _ requested: [FetchAttribute], _ modifiers: FetchModifiers,
                        uid: Bool, store: any IMAPMailStore, output: IMAPOutput, _ actions: inout [IMAPAction]) {
        if modifiers.vanished && !enabled.contains("QRESYNC") { return bad(tag, "VANISHED needs ENABLE QRESYNC", &actions) }
        let newlyCondStore = turnOnCondStore(modifiers.changedSince != nil || requested.contains(.modSeq))
        // Before numbers are resolved: UID FETCH may announce expunges, FETCH may not.
        sendUpdates(store: store, allowExpunge: uid)
        if newlyCondStore { announceHighestModSeq() }
        guard var indexes = resolve(tag, set, uid: uid, &actions), let mailbox = selected else { return }
        var attributes = requested
        if uid && !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        if let since = modifiers.changedSince {
            indexes = indexes.filter { mailbox.messages[$0].modSeq > since }
            if !attributes.contains(.modSeq) { attributes.append(.modSeq) }
            if modifiers.vanished, let changes = try? store.changes(in: mailbox.id, since: since) {
                let gone = changes.vanished.filter { set.contains($0, star: mailbox.largestUID) }
                if !gone.isEmpty { respond(.data(.vanished(earlier: true, .compact(gone)))) }
            }
        }
        // Mark \Seen first so the FLAGS we send are the stored ones.
        var flagsDue = Set<Int>()
        if !mailbox.readOnly && attributes.contains(where: \.setsSeen) {
            let unseen = indexes.filter { !mailbox.has("\\Seen", at: $0) }
            if !unseen.isEmpty {
                do {
                    let result = try store.storeFlags(unseen.map { mailbox.messages[$0].uid }, in: mailbox.id,
                                                      operation: .add, flags: ["\\Seen"], unchangedSince: nil)
                    for record in result.updated {
                        guard let index = mailbox.index(ofUID: record.uid) else { continue }
                        selected!.messages[index] = record
                        selected!.highestModSeq = max(selected!.highestModSeq, record.modSeq)
                        flagsDue.insert(index)
                    }
                } catch {
                    return no(tag, error.text, code: error.code)
                }
            }
        }
        var failure: (String, IMAPResponseCode?)?
        for index in indexes {
            let record = selected!.messages[index]
            var items: [FetchResponseItem]
            if Self.needsContent(attributes) {
                let bytes: [UInt8]
                do {
                    bytes = try store.withMessageBytes(record.handle) { Array($0) }
                } catch {
                    failure = ("Some messages could not be read", .expungeIssued)
                    continue
                }
                switch fetchItems(attributes, record, bytes: bytes) {
                case .success(let built): items = built
                case .failure(let error): failure = (error.text, error.code); continue
                }
            } else {
                switch fetchItems(attributes, record, bytes: nil) {
                case .success(let built): items = built
                case .failure(let error): failure = (error.text, error.code); continue
                }
            }
            if flagsDue.contains(index) && !attributes.contains(.flags) { items.append(.flags(selected!.flags(of: record))) }
            respond(.data(.fetch(index + 1, items)))
            stream(output)
        }
        if let failure { return no(tag, failure.0, code: failure.1) }
        ok(tag, uid ? "UID FETCH completed" : "FETCH completed")
    }

    static func needsContent(_ attributes: [FetchAttribute]) -> Bool {
        attributes.contains { attribute in
            switch attribute {
            case .flags, .internalDate, .rfc822Size, .uid, .modSeq: false
            default: true
            }
        }
    }

    /// The response items for one message, in the order asked.
    func fetchItems(_ attributes: [FetchAttribute], _ record: IMAPMessageRecord,
                    bytes: [UInt8]?) -> Result<[FetchResponseItem], IMAPStoreError> {
        var structure: MessageStructure?
        func parsed() -> MessageStructure {
            if let structure { return structure }
            let built = MessageStructure(bytes ?? [], limits: configuration.limits)
            structure = built
            return built
        }
        var items: [FetchResponseItem] = []
        for attribute in attributes {
            switch attribute {
            case .uid: items.append(.uid(record.uid))
            case .flags: items.append(.flags(selected?.flags(of: record) ?? record.flags))
            case .internalDate: items.append(.internalDate(record.internalDate))
            case .rfc822Size: items.append(.rfc822Size(record.size))
            case .modSeq: items.append(.modSeq(record.modSeq))
            case .envelope: items.append(.envelope(parsed().envelope))
            case .bodyStructure: items.append(.bodyStructure(parsed().bodyStructure))
            case .body: items.append(.body(parsed().bodyStructure))
            case .rfc822: items.append(.rfc822(bytes ?? []))
            case .rfc822Header: items.append(.rfc822Header(parsed().section(SectionSpec(text: .header)) ?? []))
            case .rfc822Text: items.append(.rfc822Text(parsed().section(SectionSpec(text: .text)) ?? []))
            case .bodySection(let spec, let partial, _):
                let data: [UInt8]
                if spec == .whole {
                    data = MessageStructure.apply(partial, to: bytes ?? [])
                } else {
                    // A part that does not exist is an empty string, as Dovecot answers.
                    data = parsed().section(spec, partial: partial) ?? []
                }
                items.append(.bodySection(spec, origin: partial?.offset, data: data))
            case .binary(let part, let partial, _):
                switch parsed().binary(part: part, partial: partial) {
                case .data(let data): items.append(.binary(part: part, origin: partial?.offset, data: data))
                case .noSuchPart: items.append(.binary(part: part, origin: partial?.offset, data: nil))
                case .unknownEncoding: return .failure(IMAPStoreError(.unknownCTE, "Unknown Content-Transfer-Encoding"))
                }
            case .binarySize(let part):
                switch parsed().binary(part: part) {
                case .data(let data): items.append(.binarySize(part: part, size: data.count))
                case .noSuchPart: items.append(.binarySize(part: part, size: 0))
                case .unknownEncoding: return .failure(IMAPStoreError(.unknownCTE, "Unknown Content-Transfer-Encoding"))
                }
            }
        }
        return .success(items)
    }
}
