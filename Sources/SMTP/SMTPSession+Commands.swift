// Command handlers of the SMTP session: the "check" step of check → hook → proceed,
// and the "proceed" step once the policy chain has answered.
import MailCore
import Policy

extension SMTPSession {
    mutating func handle(_ command: SMTPCommand, _ actions: inout [SMTPAction]) {
        switch command {
        case .helo(let name), .ehlo(let name):
            let isExtended: Bool
            if case .ehlo = command { isExtended = true } else { isExtended = false }
            abandonTransaction(&actions)
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
            abandonTransaction(&actions)
            send(Reply(250, "2.0.0", "Ok"), &actions)
        case .noop:
            send(Reply(250, "2.0.0", "Ok"), &actions)
        case .quit:
            abandonTransaction(&actions)
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
        case .reject(let reply), .deferred(let reply), .disconnect(let reply):
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
            return commandError(Reply(555, "5.5.4", "Unsupported parameter \(unknown)"), &actions)
        }
        if !extended && !parameters.isEmpty {
            return commandError(Reply(555, "5.5.4", "Parameters need EHLO"), &actions)
        }
        var declaredSize: Int?
        if let size = parameters["SIZE"] {
            guard let value = Int(size), value >= 0 else { return commandError(Reply(501, "5.5.4", "Bad SIZE parameter"), &actions) }
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
        let txInfo = TransactionInfo(session: info, queueID: configuration.makeQueueID(),
                                     mailFrom: nil, recipients: [], size: declaredSize)
        transaction = Transaction(info: txInfo, parameters: parameters, startedAt: now)
        pending = .mailFrom(sender, parameters)
        actions.append(.runHook(.mailFrom(txInfo, sender: sender)))
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
            return commandError(Reply(555, "5.5.4", "Unsupported parameter \(unknown)"), &actions)
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
        var reader = chunkReader ?? ChunkReader(maxSize: configuration.limits.maxMessageSize)
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
        let reader = chunkReader!
        chunkReader = nil
        if reader.tooLarge {
            return endTransaction(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"), &actions)
        }
        messageReceived(reader.message, &actions)
    }

    mutating func finishData(_ actions: inout [SMTPAction]) {
        phase = .command
        let reader = dataReader!
        dataReader = nil
        switch reader.problem {
        case .tooLarge:
            endTransaction(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size"), &actions)
        case .bareLineEnding:
            endTransaction(Reply(550, "5.6.11", "Bare CR or LF in message text is not allowed (RFC 5321 2.3.8)"), &actions)
        case .lineTooLong:
            endTransaction(Reply(550, "5.6.0", "Message line longer than 1000 octets (RFC 5321 4.5.3.1.6)"), &actions)
        case nil:
            messageReceived(reader.message, &actions)
        }
    }

    mutating func messageReceived(_ message: [UInt8], _ actions: inout [SMTPAction]) {
        guard transaction != nil else { return }
        transaction!.info.size = message.count
        transaction!.info.headers = HeaderFields.parse(message)
        pendingMessage = message
        pending = .dataHook
        actions.append(.runHook(.data(transaction!.info)))
    }

    mutating func dataDecided(_ result: HookResult, _ actions: inout [SMTPAction]) {
        switch result.verdict {
        case .next, .accept:
            guard let transaction else { return }
            var message: [UInt8] = []
            message.reserveCapacity(pendingMessage.count + 512)
            for header in result.addedHeaders {
                message.append(contentsOf: "\(header.name): \(header.value)\r\n".utf8)
            }
            message.append(contentsOf: receivedHeader(transaction.info).utf8)
            message.append(contentsOf: pendingMessage)
            pendingMessage = []
            var info = transaction.info
            info.headers = result.addedHeaders + info.headers
            pending = .delivery
            actions.append(.deliver(SMTPTransaction(
                info: info, mailParameters: transaction.parameters,
                recipientParameters: transaction.recipientParameters,
                message: message, startedAt: transaction.startedAt)))
        case .reject(let reply), .deferred(let reply):
            endTransaction(reply, &actions)
        case .disconnect(let reply):
            endTransaction(reply, &actions)
            close(&actions)
        }
    }

    /// RFC 5321 §4.4 trace field, with the RFC 3848 protocol type.
    func receivedHeader(_ tx: TransactionInfo) -> String {
        var with = extended ? "ESMTP" : "SMTP"
        if extended {
            if info.tls { with += "S" }
            if info.authUser != nil { with += "A" }
        }
        var field = "Received: from \(heloName ?? "unknown") ([\(info.clientIP)])\r\n"
        field += "\tby \(configuration.hostname) (mailgate) with \(with) id \(tx.queueID)"
        if tx.recipients.count == 1 { field += "\r\n\tfor <\(tx.recipients[0].address)>" }
        field += "; \(MessageDate.rfc5322(configuration.clock()))\r\n"
        return field
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
