// SMTP AUTH (RFC 4954): the SASL exchange itself is MailCore's `SASLExchange`; this
// file words its steps as 334/501/535 replies. Verification is the driver's job (it
// is slow and touches the store).
import MailCore

extension SMTPSession {
    mutating func auth(_ mechanismName: String, _ initialResponse: String?, _ actions: inout [SMTPAction]) {
        guard heloName != nil, extended else { return commandError(Reply(503, "5.5.1", "Error: send EHLO first"), &actions) }
        guard info.authUser == nil else { return commandError(Reply(503, "5.5.1", "Error: already authenticated"), &actions) }
        guard transaction == nil else {
            return commandError(Reply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction"), &actions)
        }
        guard let mechanism = SASLMechanism(named: mechanismName) else {
            return commandError(Reply(504, "5.5.4", "Unrecognized authentication mechanism"), &actions)
        }
        if mechanism.sendsPassword && !plaintextAuthPermitted {
            return send(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"), &actions)
        }
        authMechanism = mechanism.rawValue
        let (exchange, step) = SASLExchange.start(mechanism, initialResponse: initialResponse,
                                                  challenge: configuration.makeChallenge)
        authExchange = exchange
        saslStep(step, &actions)
    }

    /// A client line answering a 334 challenge.
    mutating func authResponse(_ bytes: [UInt8], _ actions: inout [SMTPAction]) {
        phase = .command
        guard var exchange = authExchange else { return }
        let step = exchange.respond(bytes)
        authExchange = exchange
        saslStep(step, &actions)
    }

    mutating func saslStep(_ step: SASLExchange.Step, _ actions: inout [SMTPAction]) {
        switch step {
        case .challenge(let text):
            phase = .authResponse
            send(Reply(334, nil, text), &actions)
        case .credentials(let credentials):
            authExchange = nil
            pending = .auth
            actions.append(.authenticate(credentials, mechanism: authMechanism))
        case .failed(let failure):
            authExchange = nil
            switch failure {
            case .cancelled: send(Reply(501, "5.0.0", failure.text), &actions)
            case .badBase64, .malformed, .initialResponseNotAllowed: commandError(Reply(501, "5.5.2", failure.text), &actions)
            }
        }
    }
}
