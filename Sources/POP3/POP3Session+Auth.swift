// POP3 authentication: USER/PASS and APOP (RFC 1939 §7) and AUTH (RFC 5034) with
// PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195), initial responses and "*" cancel.
// The session only gathers credentials; the driver verifies them (slow, touches the
// store) and runs the `auth` hook. Plaintext mechanisms need TLS unless configured.
import MailCore

extension POP3Session {
    static let plaintextRefusal = POP3Reply.error("Plaintext authentication requires TLS", code: POP3ResponseCode.auth)

    func availableMechanisms() -> [String] {
        plaintextAuthPermitted ? ["PLAIN", "LOGIN", "CRAM-MD5"] : ["CRAM-MD5"]
    }

    mutating func user(_ name: String, _ actions: inout [POP3Action]) {
        pendingUser = nil
        guard plaintextAuthPermitted else { return commandError(Self.plaintextRefusal, &actions) }
        pendingUser = name
        // Same answer whether or not the account exists.
        send(.ok(), &actions)
    }

    mutating func pass(_ password: String, _ actions: inout [POP3Action]) {
        guard let name = pendingUser else { return commandError(.error("No username given, send USER first"), &actions) }
        pendingUser = nil
        guard plaintextAuthPermitted else { return commandError(Self.plaintextRefusal, &actions) }
        authMechanism = "USER"
        verify(.plain(authorizationID: "", user: name, password: password), &actions)
    }

    mutating func apop(_ name: String, _ digest: String, _ actions: inout [POP3Action]) {
        pendingUser = nil
        authMechanism = "APOP"
        verify(.apop(user: name, timestamp: timestamp, digest: digest), &actions)
    }

    mutating func auth(_ mechanismName: String?, _ initialResponse: String?, _ actions: inout [POP3Action]) {
        pendingUser = nil
        guard let mechanismName else {
            // Pre-RFC 5034 clients (RFC 1734) ask for the list with a bare AUTH.
            return send(.ok("Supported mechanisms follow", lines: availableMechanisms()), &actions)
        }
        guard let mechanism = SASLMechanism(named: mechanismName) else {
            return commandError(.error("Unsupported authentication mechanism"), &actions)
        }
        guard !mechanism.sendsPassword || plaintextAuthPermitted else {
            return commandError(Self.plaintextRefusal, &actions)
        }
        authMechanism = mechanism.rawValue
        let (exchange, step) = SASLExchange.start(mechanism, initialResponse: initialResponse,
                                                  challenge: configuration.makeChallenge)
        authExchange = exchange
        saslStep(step, &actions)
    }

    /// One client line of a SASL exchange.
    mutating func authResponse(_ bytes: [UInt8], _ actions: inout [POP3Action]) {
        phase = .command
        guard var exchange = authExchange else { return }
        let step = exchange.respond(bytes)
        authExchange = exchange
        saslStep(step, &actions)
    }

    mutating func saslStep(_ step: SASLExchange.Step, _ actions: inout [POP3Action]) {
        switch step {
        case .challenge(let text):
            phase = .authResponse
            send(.continuation(text), &actions)
        case .credentials(let credentials):
            authExchange = nil
            verify(credentials, &actions)
        case .failed(let failure):
            authExchange = nil
            commandError(.error(failure.text), &actions)
        }
    }

    mutating func verify(_ credentials: POP3Credentials, _ actions: inout [POP3Action]) {
        pending = .auth
        actions.append(.authenticate(credentials, mechanism: authMechanism))
    }

}
