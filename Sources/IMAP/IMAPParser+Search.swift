// SEARCH arguments (RFC 3501 §6.4.4, RFC 4731 ESEARCH RETURN, RFC 5182 SAVE,
// RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER): RETURN options, CHARSET, and the search
// program; OR/NOT/parentheses nest up to the limits.

extension IMAPCursor {
    mutating func searchArguments() throws(IMAPError) -> SearchCommand {
        var command = SearchCommand(key: .all)
        try space()
        if keyword("RETURN") {
            try space(); try expect("(")
            var options: [SearchReturnOption] = []
            if !skip(")") {
                repeat {
                    let word = try atom().uppercased()
                    switch word {
                    case "MIN": options.append(.min)
                    case "MAX": options.append(.max)
                    case "ALL": options.append(.all)
                    case "COUNT": options.append(.count)
                    case "SAVE": options.append(.save)
                    default: throw fail("Unknown SEARCH return option \(word.prefix(20))")
                    }
                } while skip(" ")
                try expect(")")
            }
            command.returnOptions = options
            try space()
        }
        if keyword("CHARSET") {
            try space()
            command.charset = try astringText().uppercased()
            try space()
        }
        var keys: [SearchKey] = []
        repeat {
            keys.append(try searchKey())
            try checkCount(keys.count)
        } while skip(" ")
        command.key = keys.count == 1 ? keys[0] : .and(keys)
        return command
    }

    mutating func searchString() throws(IMAPError) -> String { String(decoding: try astring(), as: UTF8.self) }

    mutating func searchKey() throws(IMAPError) -> SearchKey {
        try enter()
        defer { leave() }
        if skip("(") {
            var keys: [SearchKey] = []
            repeat {
                keys.append(try searchKey())
                try checkCount(keys.count)
            } while skip(" ")
            try expect(")")
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if atSequenceSet() { return .sequence(try sequenceSet()) }
        let word: String
        do { word = try atom().uppercased() } catch { throw fail("Expected a search key\(found)") }
        switch word {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "KEYWORD": try space(); return .keyword(try flag())
        case "UNKEYWORD": try space(); return .unkeyword(try flag())
        case "BCC": try space(); return .bcc(try searchString())
        case "BODY": try space(); return .body(try searchString())
        case "CC": try space(); return .cc(try searchString())
        case "FROM": try space(); return .from(try searchString())
        case "SUBJECT": try space(); return .subject(try searchString())
        case "TEXT": try space(); return .text(try searchString())
        case "TO": try space(); return .to(try searchString())
        case "HEADER":
            try space(); let name = try searchString()
            try space(); return .header(name, try searchString())
        case "BEFORE": try space(); return .before(try date())
        case "ON": try space(); return .on(try date())
        case "SINCE": try space(); return .since(try date())
        case "SENTBEFORE": try space(); return .sentBefore(try date())
        case "SENTON": try space(); return .sentOn(try date())
        case "SENTSINCE": try space(); return .sentSince(try date())
        case "LARGER", "SMALLER":
            try space()
            let size = try number()
            guard size <= UInt64(Int64.max) else { throw fail("Number too large") }
            return word == "LARGER" ? .larger(Int64(size)) : .smaller(Int64(size))
        case "OLDER", "YOUNGER":
            try space()
            let seconds = try nzNumber()
            return word == "OLDER" ? .older(Int(seconds)) : .younger(Int(seconds))
        case "UID": try space(); return .uid(try sequenceSet())
        case "NOT": try space(); return .not(try searchKey())
        case "OR":
            try space(); let left = try searchKey()
            try space(); return .or(left, try searchKey())
        case "MODSEQ":
            try space()
            var entry: String?, type: String?
            if peek(is: "\"") {
                entry = String(decoding: try quoted(), as: UTF8.self)
                try space()
                type = try atom().lowercased()
                guard ["priv", "shared", "all"].contains(type!) else { throw fail("Bad MODSEQ entry type") }
                try space()
            }
            return .modSeq(try modSequence(), entry: entry, entryType: type)
        default:
            throw fail("Unknown search key \(word.prefix(20))")
        }
    }
}
