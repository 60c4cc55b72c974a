// One message over an established SMTP client connection: checks that need no round
// trip (addresses, SMTPUTF8, SIZE), MAIL/RCPT/DATA with ESMTP and DSN parameters,
// pipelined as one write when the server offers PIPELINING (RFC 2920), and a result
// for every recipient. An aborted transaction is reset (RSET) before the next one.
import MailCore

extension SMTPClientSession {
    mutating func startNext(_ actions: inout [SMTPClientAction]) {
        guard phase == .ready, expected.isEmpty || expected.allSatisfy({ $0.0 == .rset }) else { return }
        // A loop, not recursion: messages refused before any command is sent finish at once.
        while !queue.isEmpty {
            idleReported = false
            if begin(queue.removeFirst(), &actions) { return }
        }
        if quitRequested {
            sendQuit(&actions)
        } else if !idleReported {
            idleReported = true
            actions.append(.idle)
        }
    }

    /// Starts `message`; false when it finished without a command (nothing to send).
    mutating func begin(_ message: OutboundMessage, _ actions: inout [SMTPClientAction]) -> Bool {
        var current = Transaction(message: message, results: Array(repeating: nil, count: message.recipients.count))
        let size = message.content.count
        var refusal: String?
        if !ClientCommand.isSafePath(message.sender) {
            refusal = DeliveryTexts.invalidAddress(message.sender)
        } else if message.needsSMTPUTF8 && !capabilities.smtpUTF8 {
            refusal = DeliveryTexts.needsSMTPUTF8(peer)
        } else if let limit = capabilities.size, limit > 0, size > limit {
            refusal = DeliveryTexts.tooBig(peer, limit: limit)
        }
        for (index, recipient) in message.recipients.enumerated() {
            let text = refusal ?? (ClientCommand.isSafePath(recipient.address) && !recipient.address.isEmpty
                                   ? nil : DeliveryTexts.invalidAddress(recipient.address))
            if let text {
                current.results[index] = RecipientResult(address: recipient.address, status: .failed,
                                                         enhancedStatus: Self.statusCode(in: text) ?? "5.0.0",
                                                         reply: nil, text: text)
            }
        }
        transaction = current
        phase = .transaction
        guard current.results.contains(where: { $0 == nil }) else {
            finish(&actions, startNext: false)
            return false
        }
        if capabilities.pipelining {
            var bytes: [UInt8] = []
            var group: [(Expect, String)] = []
            func add(_ command: String, _ expect: Expect) {
                bytes += ClientCommand.line(command)
                group.append((expect, command))
            }
            if needsReset { add("RSET", .rset) }
            add(mailCommand(), .mail)
            for index in current.results.indices where current.results[index] == nil {
                add(rcptCommand(index), .rcpt(index))
            }
            add("DATA", .data)
            expected += group
            actions.append(.send(bytes))
        } else if needsReset {
            sendCommand("RSET", expect: .rset, &actions)
        } else {
            sendCommand(mailCommand(), expect: .mail, &actions)
        }
        return true
    }

    /// After RSET without pipelining: the transaction waiting for it starts now.
    mutating func continueAfterReset(_ actions: inout [SMTPClientAction]) {
        if transaction != nil {
            if expected.isEmpty { sendCommand(mailCommand(), expect: .mail, &actions) }
        } else {
            startNext(&actions)
        }
    }

    func mailCommand() -> String {
        let message = transaction!.message
        var parameters: [String] = []
        if capabilities.size != nil { parameters.append("SIZE=\(message.content.count)") }
        if capabilities.eightBitMIME && MessageEncoding.hasEightBit(message.content) { parameters.append("BODY=8BITMIME") }
        if message.needsSMTPUTF8 { parameters.append("SMTPUTF8") }
        if capabilities.dsn {
            if let ret = message.ret?.uppercased(), ret == "FULL" || ret == "HDRS" { parameters.append("RET=\(ret)") }
            if let envid = message.envid, XText.isValid(envid) { parameters.append("ENVID=\(envid)") }
        }
        return ClientCommand.mailFrom(message.sender, parameters: parameters)
    }

    func rcptCommand(_ index: Int) -> String {
        let recipient = transaction!.message.recipients[index]
        var parameters: [String] = []
        if capabilities.dsn {
            if let notify = recipient.notify?.uppercased(), Self.isValidNotify(notify) {
                parameters.append("NOTIFY=\(notify)")
            }
            if let orcpt = recipient.orcpt, orcpt.contains(";"), XText.isValid(orcpt) {
                parameters.append("ORCPT=\(orcpt)")
            }
        }
        return ClientCommand.rcptTo(recipient.address, parameters: parameters)
    }

    static func isValidNotify(_ value: String) -> Bool {
        let items = value.split(separator: ",", omittingEmptySubsequences: false)
        let known: Set<Substring> = ["NEVER", "SUCCESS", "FAILURE", "DELAY"]
        return !items.isEmpty && items.allSatisfy(known.contains) && (!items.contains("NEVER") || items.count == 1)
    }

    /// "(#5.3.4)" in one of our texts → "5.3.4".
    static func statusCode(in text: String) -> String? {
        guard let open = text.range(of: "(#", options: .backwards),
              let close = text[open.upperBound...].firstIndex(of: ")") else { return nil }
        return EnhancedStatus.prefix(of: String(text[open.upperBound..<close]))
    }

    // MARK: replies

    mutating func mailReply(_ reply: ServerReply, command: String, _ actions: inout [SMTPClientAction]) {
        guard var current = transaction else { return }
        if reply.isPositive {
            if !capabilities.pipelining, let first = nextOpenRecipient(after: -1) {
                sendCommand(rcptCommand(first), expect: .rcpt(first), &actions)
            }
            return
        }
        let stage = "Connected to \(peer) but sender was rejected."
        for index in current.results.indices where current.results[index] == nil {
            current.results[index] = result(index, reply, stage: stage, command: command)
        }
        current.abandoned = true
        transaction = current
        needsReset = true
        if !capabilities.pipelining { finish(&actions) }
    }

    mutating func rcptReply(_ reply: ServerReply, index: Int, command: String, _ actions: inout [SMTPClientAction]) {
        guard transaction != nil, !transaction!.abandoned else { return }
        if reply.isPositive {
            transaction!.accepted.append(index)
        } else {
            transaction!.results[index] = result(index, reply, stage: "\(peer) does not like recipient.", command: command)
        }
        guard !capabilities.pipelining else { return }
        if let next = nextOpenRecipient(after: index) {
            sendCommand(rcptCommand(next), expect: .rcpt(next), &actions)
        } else if transaction!.accepted.isEmpty {
            needsReset = true
            finish(&actions)
        } else {
            sendCommand("DATA", expect: .data, &actions)
        }
    }

    mutating func dataReply(_ reply: ServerReply, command: String, _ actions: inout [SMTPClientAction]) {
        guard var current = transaction else { return }
        if current.abandoned || current.accepted.isEmpty {
            // RFC 2920 §3.1: no recipient was accepted, so no content may follow; if the
            // server still said 354, end the empty message at once.
            if reply.code == 354 {
                current.abandoned = true
                transaction = current
                sendCommand(".", expect: .dataEnd, &actions)
            } else {
                needsReset = true
                finish(&actions)
            }
            return
        }
        if reply.code == 354 {
            current.dataSent = true
            transaction = current
            expected.append((.dataEnd, "."))
            actions.append(.send(MessageEncoding.dataBlock(current.message.content)))
            return
        }
        for index in current.accepted {
            current.results[index] = result(index, reply, stage: "\(peer) failed on DATA command.", command: command)
        }
        transaction = current
        needsReset = true
        finish(&actions)
    }

    mutating func dataEndReply(_ reply: ServerReply, _ actions: inout [SMTPClientAction]) {
        guard var current = transaction else { return }
        if !current.abandoned {
            for index in current.accepted {
                if reply.isPositive {
                    current.results[index] = RecipientResult(
                        address: current.message.recipients[index].address, status: .delivered,
                        enhancedStatus: reply.enhancedStatus, reply: reply, text: DeliveryTexts.accepted(peer, reply))
                } else {
                    current.results[index] = result(index, reply, stage: "\(peer) failed after I sent the message.",
                                                    command: ".")
                }
            }
        }
        transaction = current
        needsReset = false
        finish(&actions)
    }

    func nextOpenRecipient(after index: Int) -> Int? {
        guard let current = transaction else { return nil }
        return current.results.indices.first { $0 > index && current.results[$0] == nil }
    }

    func result(_ index: Int, _ reply: ServerReply, stage: String, command: String) -> RecipientResult {
        RecipientResult(address: transaction!.message.recipients[index].address,
                        status: reply.isPermanent ? .failed : .deferred, enhancedStatus: reply.enhancedStatus,
                        reply: reply, text: DeliveryTexts.transcript(stage: stage, peer: peer, command: command, reply: reply))
    }

    mutating func finish(_ actions: inout [SMTPClientAction], startNext next: Bool = true) {
        guard let current = transaction else { return }
        let results = current.results.enumerated().map { index, result in
            result ?? RecipientResult(address: current.message.recipients[index].address, status: .deferred,
                                      enhancedStatus: "4.3.0", reply: nil,
                                      text: "Sorry, delivery to \(peer) was interrupted. (#4.3.0)")
        }
        assert(!current.results.contains(nil), "recipient without a result")
        actions.append(.messageFinished(MessageResult(messageID: current.message.id, recipients: results,
                                                      connectionFailure: nil, remoteSupportsDSN: capabilities.dsn)))
        transaction = nil
        phase = .ready
        if next { startNext(&actions) }
    }
}
