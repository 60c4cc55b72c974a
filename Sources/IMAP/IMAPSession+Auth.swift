// Capabilities, STARTTLS (RFC 3501 §6.2.1), LOGIN (§6.2.3) and AUTHENTICATE (§6.2.2)
// with PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195) and SASL-IR (RFC 4959). The
// session only gathers credentials; the driver verifies them (slow, touches the store)
// and runs the `auth` hook. Plaintext mechanisms need TLS unless configured otherwise
// (LOGINDISABLED).
import MailCore

extension IMAPSession {
    /// Plaintext passwords may be sent now (TLS is on, or the listener allows it).
    var plaintextAuthPermitted: Bool { info.tls || configuration.plaintextAuthAllowed }

    func capabilities() -> [String] {
        var caps = ["IMAP4rev1", "IMAP4rev2", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE"]
        if state == .notAuthenticated {
            if configuration.tlsAvailable && !info.tls { caps.append("STARTTLS") }
            if plaintextAuthPermitted {
                caps += ["AUTH=PLAIN", "AUTH=LOGIN"]
            } else {
                caps.append("LOGINDISABLED")
            }
            caps.append("AUTH=CRAM-MD5")
        } else {
            caps += ["NAMESPACE", "UIDPLUS", "MOVE", "UNSELECT", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE",
                     "LIST-EXTENDED", "LIST-STATUS", "STATUS=SIZE", "ESEARCH", "SEARCHRES", "CONDSTORE", "QRESYNC",
                     "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE",
                     "APPENDLIMIT=\(configuration.limits.maxMessageSize)", "UTF8=ACCEPT", "BINARY"]
        }
        return caps
    }

    mutating func startTLS(_ tag: String, _ actions: inout [IMAPAction]) {
        guard configuration.tlsAvailable, !info.tls else { return bad(tag, "TLS not available", &actions) }
        ok(tag, "Begin TLS negotiation now")
        pending = .tls
        emit(.startTLS, &actions)
    }

    mutating func login(_ tag: String, user: String, password: String, _ actions: inout [IMAPAction]) {
        guard plaintextAuthPermitted else {
            return no(tag, "Plaintext authentication requires TLS (use STARTTLS)", code: .privacyRequired)
        }
        // A literal may carry any byte; a login name with a control character would carry
        // it into the log (SASL refuses the same names).
        guard !user.isEmpty, !CommandText.hasAnyControl(user.utf8) else {
            return bad(tag, "Invalid user name", &actions)
        }
        authMechanism = "LOGIN"
        verify(tag, .plain(authorizationID: "", user: user, password: password), &actions)
    }

    mutating func authenticate(_ tag: String, mechanism name: String, initialResponse: String?, _ actions: inout [IMAPAction]) {
        guard let mechanism = SASLMechanism(named: name) else {
            return no(tag, "Unsupported authentication mechanism", code: .cannot)
        }
        guard !mechanism.sendsPassword || plaintextAuthPermitted else {
            return no(tag, "Plaintext authentication requires TLS (use STARTTLS)", code: .privacyRequired)
        }
        authMechanism = mechanism.rawValue
        let (exchange, step) = SASLExchange.start(mechanism, initialResponse: initialResponse,
                                                  challenge: configuration.makeChallenge)
        authExchange = exchange
        saslStep(tag: tag, step, &actions)
    }

    /// A client line during AUTHENTICATE.
    mutating func saslResponse(tag: String, _ bytes: [UInt8], _ actions: inout [IMAPAction]) {
        phase = .command
        guard var exchange = authExchange else { return }
        let step = exchange.respond(bytes)
        authExchange = exchange
        saslStep(tag: tag, step, &actions)
    }

    mutating func saslStep(tag: String, _ step: SASLExchange.Step, _ actions: inout [IMAPAction]) {
        switch step {
        case .challenge(let text):
            respond(.continuation(text))
            phase = .saslResponse(tag: tag)
            framer.expectLine()
        case .credentials(let credentials):
            authExchange = nil
            verify(tag, credentials, &actions)
        case .failed(let failure):
            authExchange = nil
            bad(tag, failure.text, &actions)
        }
    }

    mutating func verify(_ tag: String, _ credentials: IMAPCredentials, _ actions: inout [IMAPAction]) {
        pending = .auth(tag: tag)
        emit(.authenticate(credentials, mechanism: authMechanism), &actions)
    }

    mutating func finishAuthentication(tag: String, _ outcome: IMAPAuthOutcome, _ actions: inout [IMAPAction]) {
        switch outcome {
        case .success(let user):
            info.authUser = user
            state = .authenticated
            ok(tag, "Logged in", code: .capability(capabilities()))
        case .failure:
            errorCount += 1
            no(tag, "Authentication failed", code: .authenticationFailed)
        case .refused(let reply):
            no(tag, reply.text, code: reply.isTemporary ? .unavailable : .authenticationFailed)
        case .disconnect(let reply):
            no(tag, reply.text, code: reply.isTemporary ? .unavailable : .authenticationFailed)
            respond(.untagged(status: .bye, code: nil, text: reply.text))
            close(&actions)
        case .temporary(let text):
            no(tag, text, code: .unavailable)
        }
    }
}
