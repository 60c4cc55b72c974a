// Command handlers of the SMTP session: the "check" step of check → hook → proceed,
// and the "proceed" step once the policy chain has answered.
import MailAuth
import MailCore
import Policy

extension SMTPSession {
    mutating func handle(_ command: SMTPCommand, _ actions: inout [SMTPAction]) {
        if greetingRefused, command != .quit {
            return commandError(Reply(503, "5.5.1", "Bad sequence of commands: the connection was refused, please send QUIT"),
                                &actions)
        }
        switch command {
        case .helo(let name), .ehlo(let name):
            let isExtended: Bool
            if case .ehlo = command { isExtended = true } else { isExtended = false }
            abandonTransaction(.newHelo, &actions)
            var hookSession = info
            hookSession.heloName = name
            pending = .helo(extended: isExtended, name: name)
            actions.append(.runHook(.helo(hookSession, name: name)))

        case .mail(let sender, let parameters):
            mail(sender, parameters, &actions)

        case .rcpt(let recipient, let parameters):
            rcpt(recipient, parameters, &actions)

        case .data:
            guard let transaction else { return commandError(Reply(503, "5.5.1", "Error: need MAIL command"), &actions) }
            guard !transaction.usesChunking else {
                return commandError(Reply(503, "5.5.1", "Error: DATA not allowed after BDAT"), &actions)
            }
            guard !transaction.info.recipients.isEmpty else {
                return commandError(Reply(554, "5.5.1", "Error: no valid recipients"), &actions)
            }
            dataReader = DataReader(maxSize: configuration.limits.maxMessageSize,
                                    maxLineLength: configuration.limits.maxTextLine,
                                    expectedSize: transaction.info.size)
            phase = .data
            send(Reply(354, nil, "End data with <CR><LF>.<CR><LF>"), &actions)

        case .bdat(let size, let last):
            bdat(size: size, last: last, &actions)

        case .rset:
            abandonTransaction(.reset, &actions)
            send(Reply(250, "2.0.0", "Ok"), &actions)
        case .noop:
            send(Reply(250, "2.0.0", "Ok"), &actions)
        case .quit:
            abandonTransaction(.quit, &actions)
            send(Reply(221, "2.0.0", "\(configuration.hostname) Bye"), &actions)
            close(&actions)
        case .vrfy:
            send(Reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"), &actions)
        case .expn:
            send(Reply(502, "5.5.1", "EXPN not available"), &actions)
        case .help:
            send(Reply(code: 214, enhanced: "2.0.0", lines: [
                "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
                "mailgate: see RFC 5321"]), &actions)
        case .starttls:
            starttls(&actions)
        case .auth(let mechanism, let initialResponse):
            auth(mechanism, initialResponse, &actions)
        }
    }

    // MARK: greeting and HELO

    mutating func connectDecided(_ verdict: Verdict, _ actions: inout [SMTPAction]) {
        switch verdict {
        case .next, .accept:
            send(Reply(220, nil, "\(configuration.hostname) ESMTP mailgate"), &actions)
        case .reject(let reply), .deferred(let reply):
            // RFC 5321 §3.1: a server refusing the session in its greeting still waits
            // for QUIT, answering 503 to anything else (a 421 closes at once).
            send(reply, &actions)
            if reply.code == 421 { close(&actions) } else { greetingRefused = true }
        case .disconnect(let reply):
            send(reply, &actions)
            close(&actions)
        }
    }

    mutating func heloDecided(_ verdict: Verdict, extended: Bool, name: String, _ actions: inout [SMTPAction]) {
        switch verdict {
        case .next, .accept:
            heloName = name
            info.heloName = name
            self.extended = extended
            if extended {
                send(Reply(code: 250, enhanced: nil, lines: [configuration.hostname] + ehloKeywords()), &actions)
            } else {
                send(Reply(250, nil, configuration.hostname), &actions)
            }
        case .reject(let reply), .deferred(let reply):
            send(reply, &actions)
        case .disconnect(let reply):
            send(reply, &actions)
            close(&actions)
        }
    }

    func ehloKeywords() -> [String] {
        var keywords = ["PIPELINING", "SIZE \(configuration.limits.maxMessageSize)", "8BITMIME",
                        "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING", "DSN"]
        if configuration.tlsAvailable && !info.tls { keywords.append("STARTTLS") }
        if info.authUser == nil {
            keywords.append(plaintextAuthPermitted ? "AUTH PLAIN LOGIN CRAM-MD5" : "AUTH CRAM-MD5")
        }
        return keywords
    }

    var plaintextAuthPermitted: Bool { info.tls || configuration.plaintextAuthAllowed }

    // MARK: MAIL

    static let mailParameters: Set<String> = ["SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH"]
    static let rcptParameters: Set<String> = ["NOTIFY", "ORCPT"]

    mutating func mail(_ sender: MailAddress?, _ parameters: [String: String], _ actions: inout [SMTPAction]) {
        guard heloName != nil else { return commandError(Reply(503, "5.5.1", "Error: send HELO/EHLO first"), &actions) }
        guard transaction == nil else { return commandError(Reply(503, "5.5.1", "Error: nested MAIL command"), &actions) }
        if configuration.kind != .mx {
            guard info.tls else { return send(Reply(530, "5.7.0", "Must issue a STARTTLS command first"), &actions) }
            guard info.authUser != nil else { return send(Reply(530, "5.7.0", "Authentication required"), &actions) }
        }
        if let unknown = parameters.keys.first(where: { !Self.mailParameters.contains($0) }) {
            return commandError(Reply(555, "5.5.4", "Unsupported parameter \(CommandText.escaped(unknown))"), &actions)
        }
        if !extended && !parameters.isEmpty {
            return commandError(Reply(555, "5.5.4", "Parameters need EHLO"), &actions)
        }
        if let problem = Self.mailParameterProblem(parameters) { return commandError(problem, &actions) }
        var declaredSize: Int?
        if let size = parameters["SIZE"] {
            guard let value = SMTPCommandParser.decimal(Substring(size)) else {
                return commandError(Reply(501, "5.5.4", "Bad SIZE parameter"), &actions)
            }
            guard value <= configuration.limits.maxMessageSize else {
                return send(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"), &actions)
            }
            declaredSize = value
        }
        if let body = parameters["BODY"]?.uppercased(), body != "7BIT", body != "8BITMIME" {
            return commandError(Reply(555, "5.5.4", "Unsupported BODY type"), &actions)
        }
        if let ret = parameters["RET"]?.uppercased(), ret != "FULL", ret != "HDRS" {
            return commandError(Reply(501, "5.5.4", "Bad RET parameter"), &actions)
        }
        let now = configuration.clock()
        // One results box per transaction: every hook of it (and `deliver`) shares it.
        let txInfo = TransactionInfo(session: info, queueID: configuration.makeQueueID(),
                                     mailFrom: nil, recipients: [], size: declaredSize,
                                     results: TransactionResults())
        transaction = Transaction(info: txInfo, parameters: parameters, startedAt: now)
        pending = .mailFrom(sender, parameters)
        actions.append(.runHook(.mailFrom(txInfo, sender: sender)))
    }

    /// The reply for a MAIL parameter whose value breaks its RFC's grammar, if any
    /// (SIZE and BODY are checked where they are used).
    static func mailParameterProblem(_ parameters: [String: String]) -> Reply? {
        if let value = parameters["SMTPUTF8"], !value.isEmpty {
            return Reply(501, "5.5.4", "SMTPUTF8 takes no value")   // RFC 6531 §3.4
        }
        if let envid = parameters["ENVID"], !XText.isValidParameter(envid, maxLength: 100) {
            return Reply(501, "5.5.4", "Bad ENVID parameter")          // RFC 3461 §4.4
        }
        if let auth = parameters["AUTH"], auth != "<>", !XText.isValidParameter(auth, maxLength: 500) {
            return Reply(501, "5.5.4", "Bad AUTH parameter")           // RFC 4954 §5
        }
        return nil
    }

    /// RFC 3461 §4.2 `addr-type ";" xtext` of at most 500 characters; RFC 6533's "utf-8"
    /// type may carry UTF-8 as it is.
    static func isValidORCPT(_ value: String) -> Bool {
        guard value.utf8.count <= 500, let semicolon = value.utf8.firstIndex(of: UInt8(ascii: ";")) else { return false }
        let type = value[..<semicolon]
        let address = String(value[value.utf8.index(after: semicolon)...])
        guard !type.isEmpty, type.utf8.allSatisfy({ MailAddress.isAtextByte($0) }) else { return false }
        if type.lowercased() == "utf-8" {
            return !address.isEmpty && !CommandText.hasControlCharacters(address.utf8)
                && !address.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: "=") })
        }
        return XText.isValidParameter(address, maxLength: 500)
    }

    mutating func mailDecided(_ verdict: Verdict, _ sender: MailAddress?, _ parameters: [String: String],
                              _ actions: inout [SMTPAction]) {
        switch verdict {
        case .next, .accept:
            transaction?.info.mailFrom = sender
            send(Reply(250, "2.1.0", "Sender <\(sender?.address ?? "")> OK"), &actions)
        case .reject(let reply), .deferred(let reply):
            transaction?.info.mailFrom = sender
            endTransaction(reply, &actions)
        case .disconnect(let reply):
            transaction?.info.mailFrom = sender
            endTransaction(reply, &actions)
            close(&actions)
        }
    }

    // MARK: RCPT

    mutating func rcpt(_ recipient: MailAddress, _ parameters: [String: String], _ actions: inout [SMTPAction]) {
        guard let transaction else { return commandError(Reply(503, "5.5.1", "Error: need MAIL command"), &actions) }
        if let unknown = parameters.keys.first(where: { !Self.rcptParameters.contains($0) }) {
            return commandError(Reply(555, "5.5.4", "Unsupported parameter \(CommandText.escaped(unknown))"), &actions)
        }
        if let orcpt = parameters["ORCPT"], !Self.isValidORCPT(orcpt) {
            return commandError(Reply(501, "5.5.4", "Bad ORCPT parameter"), &actions)
        }
        if let notify = parameters["NOTIFY"] {
            let values = Set(notify.uppercased().split(separator: ",").map(String.init))
            guard !values.isEmpty, values.isSubset(of: ["NEVER", "SUCCESS", "FAILURE", "DELAY"]),
                  !values.contains("NEVER") || values.count == 1
            else { return commandError(Reply(501, "5.5.4", "Bad NOTIFY parameter"), &actions) }
        }
        guard transaction.info.recipients.count < configuration.limits.maxRecipients else {
            self.transaction?.refused.append((recipient.address, 452))
            return send(Reply(452, "4.5.3", "Too many recipients"), &actions)
        }
        if recipient.localPart.contains(where: { !$0.isASCII }) || recipient.domain.contains(where: { !$0.isASCII }),
           transaction.parameters["SMTPUTF8"] == nil {
            return send(Reply(553, "5.6.7", "Non-ASCII address needs SMTPUTF8"), &actions)
        }
        pending = .rcpt(recipient, parameters)
        actions.append(.runHook(.rcpt(transaction.info, recipient: recipient)))
    }

    mutating func rcptDecided(_ verdict: Verdict, _ recipient: MailAddress, _ parameters: [String: String],
                              _ actions: inout [SMTPAction]) {
        switch verdict {
        case .next, .accept:
            transaction?.info.recipients.append(recipient)
            transaction?.recipientParameters.append(parameters)
            send(Reply(250, "2.1.5", "Recipient <\(recipient.address)> OK"), &actions)
        case .reject(let reply), .deferred(let reply):
            transaction?.refused.append((recipient.address, reply.code))
            send(reply, &actions)
        case .disconnect(let reply):
            transaction?.refused.append((recipient.address, reply.code))
            endTransaction(reply, &actions)
            close(&actions)
        }
    }

    // MARK: DATA and BDAT

    mutating func bdat(size: Int, last: Bool, _ actions: inout [SMTPAction]) {
        var reader = chunkReader ?? ChunkReader(maxSize: configuration.limits.maxMessageSize,
                                                maxLineLength: configuration.limits.maxTextLine)
        reader.beginChunk(size: size)
        chunkReader = reader
        // The chunk's bytes follow the command whatever we answer: read them, then reply.
        let refusal: Reply?
        if transaction == nil {
            refusal = Reply(503, "5.5.1", "Error: need MAIL command")
        } else if transaction!.info.recipients.isEmpty {
            refusal = Reply(554, "5.5.1", "Error: no valid recipients")
        } else {
            refusal = nil
            transaction!.usesChunking = true
        }
        if refusal != nil { errorCount += 1 }
        phase = .chunk(last: last, discard: refusal)
    }

    mutating func finishChunks(_ actions: inout [SMTPAction]) {
        var reader = chunkReader!
        chunkReader = nil
        reader.finish()
        if reader.tooLarge { return endTransaction(Self.reply(for: .tooLarge), &actions) }
        if let problem = reader.problem { return endTransaction(Self.reply(for: problem), &actions) }
        messageReceived(reader.message, &actions)
    }

    /// One answer for a message DATA or BDAT could not take.
    static func reply(for problem: DataReader.Problem) -> Reply {
        switch problem {
        case .tooLarge:
            Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")
        case .bareLineEnding:
            Reply(550, "5.6.11", "Bare CR or LF in message text is not allowed (RFC 5321 2.3.8)")
        case .lineTooLong:
            Reply(550, "5.6.0", "Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)")
        }
    }

    mutating func finishData(_ actions: inout [SMTPAction]) {
        phase = .command
        let reader = dataReader!
        dataReader = nil
        if let problem = reader.problem { return endTransaction(Self.reply(for: problem), &actions) }
        messageReceived(reader.message, &actions)
    }

    mutating func messageReceived(_ message: [UInt8], _ actions: inout [SMTPAction]) {
        guard transaction != nil else { return }
        transaction!.info.size = message.count
        transaction!.info.headers = HeaderFields.parse(message)
        // The data hook reads the bytes through this reference (tx:body()): no copy.
        transaction!.info.message = MessageContent(bytes: message)
        pendingMessage = message
        pending = .dataHook
        actions.append(.runHook(.data(transaction!.info)))
    }

    mutating func dataDecided(_ result: HookResult, _ actions: inout [SMTPAction]) {
        switch result.verdict {
        case .next, .accept:
            guard let transaction else { return }
            var received = withoutForgedAuthenticationResults(pendingMessage, transaction.info)
            if result.newSubject != nil, let withoutSubject = HeaderFields.removingFields(named: "Subject", from: received) {
                received = withoutSubject
            }
            var message: [UInt8] = []
            message.reserveCapacity(received.count + 512)
            if !result.authenticationResults.isEmpty {
                let field = AuthenticationResults.field(authservID: configuration.hostname, results: result.authenticationResults)
                message.append(contentsOf: field.utf8)
            }
            if let subject = result.newSubject {
                message.append(contentsOf: HeaderText.line("Subject", EncodedWords.encode(subject)).utf8)
            }
            for header in result.addedHeaders {
                message.append(contentsOf: HeaderText.line(header.name, header.value, allowUTF8: true).utf8)
            }
            message.append(contentsOf: receivedHeader(transaction.info).utf8)
            message.append(contentsOf: received)
            pendingMessage = []
            var info = transaction.info
            info.headers = result.fieldsAdded(authservID: configuration.hostname)
                + info.headers.filter { result.newSubject == nil || $0.name.lowercased() != "subject" }
            // `deliver` hooks see the message as it will be stored (shares its bytes).
            info.message = MessageContent(bytes: message)
            self.transaction?.info.message = nil
            pending = .delivery
            var accepted = SMTPTransaction(
                info: info, mailParameters: transaction.parameters,
                recipientParameters: transaction.recipientParameters,
                message: message, startedAt: transaction.startedAt)
            accepted.folder = result.folder
            actions.append(.deliver(accepted))
        case .reject(let reply), .deferred(let reply):
            endTransaction(reply, &actions)
        case .disconnect(let reply):
            endTransaction(reply, &actions)
            close(&actions)
        }
    }

    /// The message without Authentication-Results fields that claim this server's
    /// authserv-id (RFC 8601 §5): only this server may write those, so a sender
    /// cannot make a forged "dkim=pass" look like ours. Whatever the policies say.
    func withoutForgedAuthenticationResults(_ message: [UInt8], _ info: TransactionInfo) -> [UInt8] {
        guard info.headers.contains(where: { $0.name.utf8.count == 22 && $0.name.lowercased() == "authentication-results" })
        else { return message }
        return AuthenticationResults.removingFields(claiming: configuration.hostname, from: message) ?? message
    }

    /// RFC 5321 §4.4 trace field, with the RFC 3848 / RFC 6531 §3.7.4 protocol type.
    /// Written through MailCore's header writer: the HELO name is copied only when it is
    /// a domain or an address literal, otherwise it goes, escaped, into a comment.
    func receivedHeader(_ tx: TransactionInfo) -> String {
        let utf8 = transaction?.parameters["SMTPUTF8"] != nil
        var with = utf8 ? "UTF8SMTP" : extended ? "ESMTP" : "SMTP"
        if extended {
            if info.tls { with += "S" }
            if info.authUser != nil { with += "A" }
        }
        let literal = Self.addressLiteral(info.clientIP)
        let from: String
        if let helo = heloName, MailAddress.isDomainOrAddressLiteral(helo) {
            from = "from \(helo) (\(literal))"
        } else if let helo = heloName {
            from = "from \(literal) (HELO \(HeaderText.commentText(helo)))"
        } else {
            from = "from \(literal)"
        }
        var continuations = ["by \(configuration.hostname) (mailgate) with \(with) id \(tx.queueID)"]
        if tx.recipients.count == 1 { continuations.append("for <\(tx.recipients[0].address)>") }
        continuations[continuations.count - 1] += "; \(MessageDate.rfc5322(configuration.clock()))"
        return HeaderText.line("Received", from, continuations: continuations, allowUTF8: utf8)
    }

    /// "[192.0.2.1]" or "[IPv6:2001:db8::1]" (RFC 5321 §4.1.3).
    static func addressLiteral(_ ip: String) -> String {
        ip.utf8.contains(UInt8(ascii: ":")) ? "[IPv6:\(ip)]" : "[\(ip)]"
    }

    // MARK: STARTTLS

    mutating func starttls(_ actions: inout [SMTPAction]) {
        guard configuration.tlsAvailable else { return send(Reply(454, "4.7.0", "TLS not available"), &actions) }
        guard !info.tls else { return commandError(Reply(503, "5.5.1", "TLS already active"), &actions) }
        send(Reply(220, "2.0.0", "Ready to start TLS"), &actions)
        // RFC 3207 §4.2 / CVE-2011-0411: pipelined input after STARTTLS is discarded.
        readIndex = buffer.count
        pending = .tls
        actions.append(.startTLS)
    }
}
