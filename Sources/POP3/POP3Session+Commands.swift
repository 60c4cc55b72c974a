// The POP3 command table: which command is valid in which state, and the commands
// that belong to no single state (CAPA, STLS, NOOP, QUIT). Authentication lives in
// POP3Session+Auth.swift, the maildrop commands in POP3Session+Transaction.swift.

extension POP3Session {
    mutating func handle(_ command: POP3Command, _ actions: inout [POP3Action]) {
        switch (state, command) {
        case (_, .capa):
            send(.ok("Capability list follows", lines: capabilities()), &actions)
        case (_, .quit):
            quit(&actions)
        case (.transaction, .noop):
            send(.ok(), &actions)

        case (.authorization, .stls):
            stls(&actions)
        case (.authorization, .user(let name)):
            user(name, &actions)
        case (.authorization, .pass(let password)):
            pass(password, &actions)
        case (.authorization, .apop(let name, let digest)):
            apop(name, digest, &actions)
        case (.authorization, .auth(let mechanism, let initialResponse)):
            auth(mechanism, initialResponse, &actions)

        case (.transaction, .stat):
            stat(&actions)
        case (.transaction, .list(let number)):
            list(number, &actions)
        case (.transaction, .uidl(let number)):
            uidl(number, &actions)
        case (.transaction, .retr(let number)):
            retrieve(number, bodyLines: nil, &actions)
        case (.transaction, .top(let number, let lines)):
            retrieve(number, bodyLines: lines, &actions)
        case (.transaction, .dele(let number)):
            dele(number, &actions)
        case (.transaction, .rset):
            rset(&actions)

        case (.authorization, _):
            commandError(.error("Not logged in"), &actions)
        case (.transaction, _), (.update, _):
            commandError(.error("Command not valid in TRANSACTION state"), &actions)
        }
    }

    var plaintextAuthPermitted: Bool { info.tls || configuration.plaintextAuthAllowed }

    /// RFC 2449 §6. Login-related capabilities are only listed before login.
    func capabilities() -> [String] {
        var list = ["TOP", "UIDL"]
        let beforeLogin = state == .authorization
        if beforeLogin {
            if plaintextAuthPermitted { list.append("USER") }
            list.append("SASL " + availableMechanisms().joined(separator: " "))
        }
        list += ["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if let delay = configuration.loginDelay { list.append("LOGIN-DELAY \(delay)") }
        list.append("EXPIRE \(configuration.expire)")
        list.append("IMPLEMENTATION mailgate")
        if beforeLogin && configuration.tlsAvailable && !info.tls { list.append("STLS") }
        return list
    }

    /// RFC 2595 §4: only in AUTHORIZATION; input pipelined after STLS is discarded.
    mutating func stls(_ actions: inout [POP3Action]) {
        guard !info.tls else { return commandError(.error("TLS already active"), &actions) }
        guard configuration.tlsAvailable else { return commandError(.error("STLS not available"), &actions) }
        send(.ok("Begin TLS negotiation"), &actions)
        // CVE-2011-0411 style injection: bytes sent in clear after STLS are not commands.
        readIndex = buffer.count
        pending = .tls
        actions.append(.startTLS)
    }

    mutating func quit(_ actions: inout [POP3Action]) {
        switch state {
        case .authorization, .update:
            send(.ok("\(configuration.hostname) POP3 server signing off"), &actions)
            close(&actions)
        case .transaction:
            state = .update
            let ids = messages.indices.filter { deleted[$0] }.map { messages[$0].id }
            if ids.isEmpty {
                send(.ok("\(configuration.hostname) POP3 server signing off"), &actions)
                close(&actions)
            } else {
                pending = .commit(count: ids.count)
                actions.append(.commitDeletions(ids))
            }
        }
    }
}
