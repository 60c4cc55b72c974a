// The Lua arguments of each hook, built as plain tables for every policy call
// (so one policy cannot change what the next one sees):
//   session  {id, protocol, listener, client_ip, client_port, helo, auth_user, tls}
//   tx       {session, queue_id, mail_from, recipients, size, headers} + tx:header, tx:add_header
//   address  {address, local_part, domain} (tostring gives the address)
// A transaction carries queue_id and size; its session, mail_from, recipients and
// headers are built on first use (most policies read one field or none: building all of
// them for every policy was most of a hook call's cost), and only during the hook call
// that received it (the table keeps that call's serial under a private key).
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    /// Pushes the arguments of `call`, at most `limit` of them (the hook function's
    /// declared parameters: one that declares `(tx)` never gets an address table built
    /// for it); returns how many.
    func pushArguments(for call: HookCall, upTo limit: Int32 = .max) -> Int32 {
        let stack = self.stack
        guard limit > 0 else { return 0 }
        switch call {
        case .connect(let session), .disconnect(let session):
            pushSession(session)
            return 1
        case .helo(let session, let name):
            pushSession(session)
            guard limit > 1 else { return 1 }
            stack.push(name)
            return 2
        case .auth(let session, let user, let mechanism, let success):
            pushSession(session)
            guard limit > 1 else { return 1 }
            stack.newTable(fieldCount: 3)
            stack.push(user); stack.setField(-2, "user")
            stack.push(mechanism); stack.setField(-2, "mechanism")
            stack.push(success); stack.setField(-2, "success")
            return 2
        case .mailFrom(let transaction, let sender):
            pushTransaction(transaction)
            guard limit > 1 else { return 1 }
            pushAddress(sender)
            return 2
        case .rcpt(let transaction, let recipient):
            pushTransaction(transaction)
            guard limit > 1 else { return 1 }
            pushAddress(recipient)
            return 2
        case .data(let transaction):
            pushTransaction(transaction)
            return 1
        case .deliver(let transaction, let recipient, let isLocal):
            pushTransaction(transaction)
            guard limit > 1 else { return 1 }
            pushAddress(recipient)
            guard limit > 2 else { return 2 }
            stack.newTable(fieldCount: 1)
            stack.push(isLocal); stack.setField(-2, "local")
            return 3
        case .bounce(let notice):
            stack.newTable(fieldCount: 6)
            stack.push(notice.queueID); stack.setField(-2, "queue_id")
            stack.push(notice.kind); stack.setField(-2, "kind")
            if let sender = notice.sender { pushAddress(sender); stack.setField(-2, "sender") }
            pushAddress(notice.to); stack.setField(-2, "to")
            stack.push(notice.doubleBounce); stack.setField(-2, "double_bounce")
            stack.newTable(arrayCount: notice.recipients.count)
            for (offset, event) in notice.recipients.enumerated() {
                pushQueueEvent(event)
                stack.setIndex(-2, offset + 1)
            }
            stack.setField(-2, "recipients")
            return 1
        case .delivered(let event), .deferred(let event):
            pushQueueEvent(event)
            guard limit > 1 else { return 1 }
            pushAddress(event.recipient)
            return 2
        }
    }

    /// `{queue_id, sender, recipient, host, status, text, attempts, next_attempt}`.
    func pushQueueEvent(_ event: QueueEventInfo) {
        let stack = self.stack
        stack.newTable(fieldCount: 8)
        stack.push(event.queueID); stack.setField(-2, "queue_id")
        if let sender = event.sender { pushAddress(sender); stack.setField(-2, "sender") }
        pushAddress(event.recipient); stack.setField(-2, "recipient")
        if let host = event.host { stack.push(host); stack.setField(-2, "host") }
        stack.push(event.status); stack.setField(-2, "status")
        stack.push(event.text); stack.setField(-2, "text")
        stack.push(event.attempts); stack.setField(-2, "attempts")
        if let next = event.nextAttempt { stack.push(next); stack.setField(-2, "next_attempt") }
    }

    func pushSession(_ session: SessionInfo) {
        let stack = self.stack
        stack.newTable(fieldCount: 8)
        stack.push(session.id); stack.setField(-2, "id")
        stack.push(session.protocolName); stack.setField(-2, "protocol")
        stack.push(session.listener); stack.setField(-2, "listener")
        stack.push(session.clientIP); stack.setField(-2, "client_ip")
        stack.push(session.clientPort); stack.setField(-2, "client_port")
        if let helo = session.heloName { stack.push(helo); stack.setField(-2, "helo") }
        if let user = session.authUser { stack.push(user); stack.setField(-2, "auth_user") }
        stack.push(session.tls); stack.setField(-2, "tls")
    }

    func pushTransaction(_ transaction: TransactionInfo) {
        let stack = self.stack
        stack.newTable(fieldCount: 5)
        stack.push(transaction.queueID); stack.setField(-2, "queue_id")
        if let size = transaction.size { stack.push(size); stack.setField(-2, "size") }
        stack.pushRef(refs.txCallKey)
        stack.push(callSerial)
        lua_rawset(current, -3)
        stack.pushRef(refs.txMetatable)
        stack.setMetatable(-2)
    }

    /// The transaction of the call in progress, and the sender its `mail_from` shows
    /// (in the `mail_from` hook the sender is not part of the transaction yet).
    var activeTransaction: (TransactionInfo, MailAddress?)? {
        switch activeCall {
        case .mailFrom(let transaction, let sender): (transaction, sender)
        case .rcpt(let transaction, _), .data(let transaction), .deliver(let transaction, _, _):
            (transaction, transaction.mailFrom)
        default: nil
        }
    }

    /// Pushes the lazily built field `key` of a transaction; false (nothing pushed) for
    /// any other key.
    func pushTransactionField(_ key: String, of transaction: TransactionInfo, mailFrom: MailAddress?) -> Bool {
        let stack = self.stack
        switch key {
        case "session":
            pushSession(transaction.session)
        case "mail_from":
            pushAddress(mailFrom)
        case "recipients":
            stack.newTable(arrayCount: transaction.recipients.count)
            for (offset, recipient) in transaction.recipients.enumerated() {
                pushAddress(recipient)
                stack.setIndex(-2, offset + 1)
            }
        case "headers":
            stack.newTable(arrayCount: transaction.headers.count)
            for (offset, field) in transaction.headers.enumerated() {
                stack.newTable(fieldCount: 2)
                stack.push(field.name); stack.setField(-2, "name")
                stack.push(field.value); stack.setField(-2, "value")
                stack.setIndex(-2, offset + 1)
            }
        default:
            return false
        }
        return true
    }

    /// Pushes an address object, or nil for the null path `<>`.
    func pushAddress(_ address: MailAddress?) {
        let stack = self.stack
        guard let address else { stack.pushNil(); return }
        stack.newTable(fieldCount: 3)
        stack.push(address.address); stack.setField(-2, "address")
        stack.push(address.localPart); stack.setField(-2, "local_part")
        stack.push(address.domain); stack.setField(-2, "domain")
        stack.pushRef(refs.addressMetatable)
        stack.setMetatable(-2)
    }
}
