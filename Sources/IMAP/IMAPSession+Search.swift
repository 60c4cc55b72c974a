// SEARCH/UID SEARCH (RFC 3501 §6.4.4) with CHARSET UTF-8/US-ASCII, ESEARCH RETURN
// options (RFC 4731: MIN MAX COUNT ALL), SAVE and `$` (RFC 5182), and MODSEQ
// (RFC 7162 §3.1.5). Plain SEARCH may not announce expunges; UID SEARCH may.
import MailCore

extension IMAPSession {
    mutating func search(_ tag: String, _ command: SearchCommand, uid: Bool, store: any IMAPMailStore,
                         _ actions: inout [IMAPAction]) {
        if let charset = command.charset, charset != "UTF-8", charset != "US-ASCII" {
            return no(tag, "Unsupported charset", code: .badCharset(["UTF-8", "US-ASCII"]))
        }
        let usesModSeq = SearchEvaluator.usesModSeq(command.key)
        let newlyCondStore = turnOnCondStore(usesModSeq)
        sendUpdates(store: store, allowExpunge: uid)
        if newlyCondStore { announceHighestModSeq() }
        guard let mailbox = selected else { return }
        let evaluator = SearchEvaluator(mailbox: mailbox, saved: savedSearch, zoneMinutes: configuration.zoneMinutes,
                                        now: configuration.clock(),
                                        load: { record in try? store.withMessageBytes(record.handle) { Array($0) } })
        let key = PreparedSearchKey(command.key)
        var matched: [Int] = []
        for index in mailbox.messages.indices where evaluator.matches(key, at: index) { matched.append(index) }
        let numbers = matched.map { uid ? mailbox.messages[$0].uid : UInt32($0 + 1) }
        let verb = uid ? "UID SEARCH" : "SEARCH"
        guard let options = command.returnOptions else {
            let highest = usesModSeq ? matched.map { mailbox.messages[$0].modSeq }.max() : nil
            respond(.data(.search(numbers, modSeq: highest)))
            return ok(tag, "\(verb) completed")
        }
        let wanted = options.isEmpty ? [.all] : options
        if wanted.contains(.save) {
            // RFC 5182 §2.1: with MIN or MAX (and not ALL/COUNT) only those are saved.
            var saved = matched
            if !wanted.contains(.all) && !wanted.contains(.count) && (wanted.contains(.min) || wanted.contains(.max)) {
                saved = [wanted.contains(.min) ? matched.first : nil, wanted.contains(.max) ? matched.last : nil].compactMap { $0 }
            }
            savedSearch = saved.map { mailbox.messages[$0].uid }
        }
        if wanted != [.save] {
            var response = ESearchResponse(tag: tag, uid: uid)
            if wanted.contains(.min) { response.min = numbers.first }
            if wanted.contains(.max) { response.max = numbers.last }
            if wanted.contains(.count) { response.count = numbers.count }
            if wanted.contains(.all), !numbers.isEmpty { response.all = .compact(numbers) }
            // RFC 7162 §3.1.5: the highest mod-sequence of the messages returned; with
            // only MIN and/or MAX, of those messages alone.
            if usesModSeq, !matched.isEmpty {
                let returned = wanted.contains(.all) || wanted.contains(.count)
                    ? matched
                    : [wanted.contains(.min) ? matched.first : nil, wanted.contains(.max) ? matched.last : nil].compactMap { $0 }
                response.modSeq = returned.map { mailbox.messages[$0].modSeq }.max()
            }
            respond(.data(.esearch(response)))
        }
        ok(tag, "\(verb) completed")
    }
}
