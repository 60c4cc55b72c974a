// The command table of the parser: tag, verb, and each command's arguments
// (RFC 3501 §6, RFC 9051 §6 and the extensions in docs/dev/imap-api.md).

extension IMAPCursor {
    mutating func command() throws(IMAPError) -> TaggedCommand {
        let tagBytes: ArraySlice<UInt8>
        do { tagBytes = try atomBytes(IMAPGrammar.isTagChar) } catch { throw fail("Missing or invalid tag") }
        guard tagBytes.count <= 64 else { throw fail("Tag too long") }
        tag = String(decoding: tagBytes, as: UTF8.self)
        guard skip(" ") else { throw fail("Missing command") }
        let verb: String
        do { verb = try atom().uppercased() } catch { throw fail("Missing command") }
        let command = try arguments(verb)
        try end()
        return TaggedCommand(tag: tag!, command: command)
    }

    mutating func arguments(_ verb: String) throws(IMAPError) -> IMAPCommand {
        switch verb {
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "STARTTLS": return .starttls
        case "NAMESPACE": return .namespace
        case "IDLE": return .idle
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "ID": try space(); return .id(try idParameters())
        case "ENABLE":
            var capabilities: [String] = []
            repeat {
                try space()
                capabilities.append(try atom().uppercased())
                try checkCount(capabilities.count)
            } while peek(is: " ")
            return .enable(capabilities)
        case "AUTHENTICATE":
            try space()
            let mechanism = try atom().uppercased()
            var initial: String?
            if skip(" ") {
                if skip("=") { initial = "=" } else {
                    initial = String(decoding: try atomBytes(Self.isBase64), as: UTF8.self)
                }
            }
            return .authenticate(mechanism: mechanism, initialResponse: initial)
        case "LOGIN":
            // Lenient like Dovecot: "%" and "*" in an unquoted user name or password
            // (the service documents logins as user%domain, and imaplib sends them bare).
            try space(); let user = try loginText()
            try space(); let password = try loginText()
            return .login(user: user, password: password)
        case "SELECT", "EXAMINE":
            try space()
            let name = try mailbox()
            let parameters = try selectParameters()
            return verb == "SELECT" ? .select(name, parameters) : .examine(name, parameters)
        case "CREATE":
            try space()
            let name = try mailbox()
            var uses: [String] = []
            if skip(" ") {
                // CREATE-SPECIAL-USE (RFC 6154 §3): (USE (\Sent …))
                try expect("(")
                guard keyword("USE") else { throw fail("Unknown CREATE parameter\(found)") }
                try space()
                uses = try flagList()
                try expect(")")
            }
            return .create(name, specialUse: uses)
        case "DELETE": try space(); return .delete(try mailbox())
        case "SUBSCRIBE": try space(); return .subscribe(try mailbox())
        case "UNSUBSCRIBE": try space(); return .unsubscribe(try mailbox())
        case "RENAME":
            try space(); let from = try mailbox()
            try space(); let to = try mailbox()
            return .rename(from: from, to: to)
        case "LIST": return .list(try listArguments())
        case "LSUB":
            try space(); let reference = try mailbox()
            try space(); let pattern = try listMailbox()
            return .lsub(reference: reference, pattern: pattern)
        case "STATUS":
            try space()
            let name = try mailbox()
            try space()
            return .status(name, try statusItems())
        case "APPEND": return try appendArguments()
        case "GETQUOTA": try space(); return .getQuota(try astringText())
        case "GETQUOTAROOT": try space(); return .getQuotaRoot(try mailbox())
        case "SEARCH": return .search(try searchArguments(), uid: false)
        case "FETCH": return try fetchArguments(uid: false)
        case "STORE": return try storeArguments(uid: false)
        case "COPY", "MOVE":
            try space(); let set = try sequenceSet()
            try space(); let name = try mailbox()
            return verb == "COPY" ? .copy(set, name, uid: false) : .move(set, name, uid: false)
        case "UID":
            try space()
            let sub = try atom().uppercased()
            switch sub {
            case "SEARCH": return .search(try searchArguments(), uid: true)
            case "FETCH": return try fetchArguments(uid: true)
            case "STORE": return try storeArguments(uid: true)
            case "COPY", "MOVE":
                try space(); let set = try sequenceSet()
                try space(); let name = try mailbox()
                return sub == "COPY" ? .copy(set, name, uid: true) : .move(set, name, uid: true)
            case "EXPUNGE":
                try space()
                return .uidExpunge(try sequenceSet())
            default: throw fail("Unknown UID command \(sub.prefix(20))")
            }
        default:
            throw fail("Unknown command \(verb.prefix(20))")
        }
    }

    static func isBase64(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    // MARK: - ID, SELECT

    mutating func idParameters() throws(IMAPError) -> [IDField]? {
        if keyword("NIL") { return nil }
        try expect("(")
        var fields: [IDField] = []
        if skip(")") { return fields }
        repeat {
            let key = String(decoding: try string(), as: UTF8.self)
            try space()
            let value = try nstring().map { String(decoding: $0, as: UTF8.self) }
            fields.append(IDField(key, value))
            // RFC 2971 §3.3: at most 30 field-value pairs.
            guard fields.count <= 30 else { throw fail("Too many ID fields") }
        } while skip(" ")
        try expect(")")
        return fields
    }

    mutating func selectParameters() throws(IMAPError) -> SelectParameters {
        var parameters = SelectParameters()
        guard skip(" ") else { return parameters }
        try expect("(")
        if skip(")") { return parameters }
        repeat {
            if keyword("CONDSTORE") {
                parameters.condStore = true
            } else if keyword("QRESYNC") {
                try space(); try expect("(")
                let validity = try nzNumber()
                try space()
                var q = QResyncParameters(uidValidity: validity, modSeq: try modSequence())
                if skip(" ") {
                    if !peek(is: "(") {
                        q.knownUIDs = try sequenceSet()
                        _ = skip(" ")
                    }
                    if skip("(") {
                        q.matchSequences = try sequenceSet()
                        try space()
                        q.matchUIDs = try sequenceSet()
                        try expect(")")
                    }
                }
                try expect(")")
                parameters.qresync = q
            } else {
                throw fail("Unknown SELECT parameter\(found)")
            }
        } while skip(" ")
        try expect(")")
        return parameters
    }

    // MARK: - LIST, STATUS

    mutating func listArguments() throws(IMAPError) -> ListCommand {
        try space()
        var selection: [String] = []
        var extended = false
        if skip("(") {
            extended = true
            if !skip(")") {
                repeat {
                    selection.append(try atom().uppercased())
                    try checkCount(selection.count)
                } while skip(" ")
                try expect(")")
            }
            try space()
        }
        let reference = try mailbox()
        try space()
        var patterns: [[UInt8]] = []
        if skip("(") {
            extended = true
            repeat {
                patterns.append(try listMailbox())
                try checkCount(patterns.count)
            } while skip(" ")
            try expect(")")
        } else {
            patterns.append(try listMailbox())
        }
        var returns: [ListReturnOption] = []
        if skip(" ") {
            guard keyword("RETURN") else { throw fail("Expected RETURN\(found)") }
            extended = true
            try space(); try expect("(")
            if !skip(")") {
                repeat {
                    let option = try atom().uppercased()
                    switch option {
                    case "SUBSCRIBED": returns.append(.subscribed)
                    case "CHILDREN": returns.append(.children)
                    case "SPECIAL-USE": returns.append(.specialUse)
                    case "STATUS":
                        try space()
                        returns.append(.status(try statusItems()))
                    default: throw fail("Unknown LIST return option \(option.prefix(20))")
                    }
                } while skip(" ")
                try expect(")")
            }
        }
        return ListCommand(selectionOptions: selection, reference: reference, patterns: patterns,
                           returnOptions: returns, extended: extended)
    }

    mutating func statusItems() throws(IMAPError) -> [StatusItem] {
        try expect("(", "a list of status items")
        var items: [StatusItem] = []
        repeat {
            let name = try atom().uppercased()
            guard let item = StatusItem(rawValue: name) else { throw fail("Unknown status item \(name.prefix(20))") }
            items.append(item)
            try checkCount(items.count)
        } while skip(" ")
        try expect(")")
        return items
    }

    // MARK: - APPEND

    mutating func appendArguments() throws(IMAPError) -> IMAPCommand {
        try space()
        let name = try mailbox()
        var messages: [AppendMessage] = []
        // MULTIAPPEND (RFC 3502): SP append-message, repeated.
        while skip(" ") {
            var message = AppendMessage(data: [])
            if peek(is: "(") {
                message.flags = try flagList()
                try space()
            }
            if peek(is: "\"") {
                message.internalDate = try dateTime()
                try space()
            }
            if keyword("UTF8") {
                // RFC 6855 §4: UTF8 (literal8)
                try space(); try expect("(")
                let literal = try literal(allowBinary: true)
                try expect(")")
                message.data = literal.bytes; message.binary = literal.binary
            } else {
                guard peek(is: "{") || peek(is: "~") else { throw fail("Expected the message literal\(found)") }
                let literal = try literal(allowBinary: true)
                message.data = literal.bytes; message.binary = literal.binary
            }
            messages.append(message)
            try checkCount(messages.count)
        }
        guard !messages.isEmpty else { throw fail("APPEND needs a message") }
        return .append(name, messages)
    }

    // MARK: - STORE

    mutating func storeArguments(uid: Bool) throws(IMAPError) -> IMAPCommand {
        try space()
        let set = try sequenceSet()
        try space()
        var modifiers = StoreModifiers()
        if skip("(") {
            repeat {
                guard keyword("UNCHANGEDSINCE") else { throw fail("Unknown STORE modifier\(found)") }
                try space()
                modifiers.unchangedSince = try modSequence()
            } while skip(" ")
            try expect(")")
            try space()
        }
        let operation: StoreAction.Operation
        if skip("+") { operation = .add } else if skip("-") { operation = .remove } else { operation = .replace }
        let silent: Bool
        if keyword("FLAGS") { silent = false } else if keyword("FLAGS.SILENT") { silent = true } else {
            throw fail("Expected FLAGS or FLAGS.SILENT\(found)")
        }
        try space()
        var flags: [String]
        if peek(is: "(") {
            flags = try flagList()
        } else {
            flags = [try flag()]
            while skip(" ") {
                flags.append(try flag())
                try checkCount(flags.count)
            }
        }
        return .store(set, modifiers, StoreAction(operation, silent: silent, flags: flags), uid: uid)
    }
}
