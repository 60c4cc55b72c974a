// Connection set-up for the SMTP client: greeting, EHLO with HELO fallback, STARTTLS
// by policy (RFC 3207), then AUTH PLAIN/LOGIN to a smarthost (RFC 4954).

extension SMTPClientSession {
    mutating func handshakeReply(_ reply: ServerReply, to expect: Expect, command: String,
                                 _ actions: inout [SMTPClientAction]) {
        switch expect {
        case .greeting:
            guard reply.isPositive else {
                failHandshake(.greeting, "Connected to \(peer) but greeting failed.", command: nil, reply, &actions)
                return
            }
            sendCommand("EHLO \(configuration.heloName)", expect: .ehlo, &actions)
        case .ehlo:
            if reply.isPositive {
                capabilities = ServerCapabilities(ehlo: reply)
                afterHello(&actions)
            } else if reply.isPermanent && !heloUsed {
                heloUsed = true
                sendCommand("HELO \(configuration.heloName)", expect: .helo, &actions)
            } else {
                failHandshake(.hello, "Connected to \(peer) but my name was rejected.", command: command, reply, &actions)
            }
        case .helo:
            guard reply.isPositive else {
                failHandshake(.hello, "Connected to \(peer) but my name was rejected.", command: command, reply, &actions)
                return
            }
            capabilities = ServerCapabilities()
            afterHello(&actions)
        case .startTLS:
            if reply.code == 220 {
                // Anything the server sent after 220 arrived in clear: never read it as
                // a reply to our encrypted commands (STARTTLS command injection).
                reader = ReplyReader(maxLineLength: configuration.maxReplyLineLength,
                                     maxLines: configuration.maxReplyLines)
                phase = .tls
                actions.append(.startTLS)
            } else if configuration.tls == .required {
                failHandshake(.tlsNotOffered, "Connected to \(peer) but STARTTLS was refused.", command: command, reply,
                              &actions)
            } else {
                // Opportunistic: carry on in clear.
                afterTLSDecision(&actions)
            }
        case .authPlain, .authResult:
            if reply.code == 235 {
                becomeReady(&actions)
            } else {
                failHandshake(.authentication, "Connected to \(peer) but authentication was rejected.", command: command,
                              reply, &actions)
            }
        case .authLoginUser, .authLoginPassword:
            guard reply.code == 334, let credentials = configuration.credentials else {
                failHandshake(.authentication, "Connected to \(peer) but authentication was rejected.", command: command,
                              reply, &actions)
                return
            }
            if expect == .authLoginUser {
                sendCommand(ClientCommand.base64(credentials.user), expect: .authLoginPassword,
                            transcript: "(user name)", &actions)
            } else {
                sendCommand(ClientCommand.base64(credentials.password), expect: .authResult,
                            transcript: "(password)", &actions)
            }
        default:
            preconditionFailure("not a handshake reply: \(expect)")
        }
    }

    mutating func failHandshake(_ kind: ConnectionFailure.Kind, _ stage: String, command: String?, _ reply: ServerReply,
                                _ actions: inout [SMTPClientAction]) {
        let text = DeliveryTexts.transcript(stage: stage, peer: peer, command: command, reply: reply)
        // A 5xx at greeting/HELO is permanent for this host; whether that bounces the
        // message (last MX) or moves on to the next one is the runner's decision.
        fail(ConnectionFailure(kind: kind, text: text, enhancedStatus: reply.enhancedStatus, reply: reply,
                               isPermanent: reply.isPermanent && (kind == .greeting || kind == .hello),
                               retryWithoutTLS: false), &actions)
    }

    mutating func afterHello(_ actions: inout [SMTPClientAction]) {
        if !tlsActive && configuration.tls != .none && capabilities.startTLS {
            sendCommand("STARTTLS", expect: .startTLS, &actions)
            return
        }
        if !tlsActive && configuration.tls == .required {
            fail(.tlsNotOffered, DeliveryTexts.tlsNotOffered(peer), "4.7.10", nil, &actions)
            return
        }
        afterTLSDecision(&actions)
    }

    mutating func afterTLSDecision(_ actions: inout [SMTPClientAction]) {
        guard let credentials = configuration.credentials else {
            becomeReady(&actions)
            return
        }
        if configuration.authRequiresTLS && !tlsActive {
            fail(.authentication, DeliveryTexts.authWithoutTLS(peer), "4.7.0", nil, &actions)
        } else if capabilities.authMechanisms.contains("PLAIN") {
            sendCommand(ClientCommand.authPlain(user: credentials.user, password: credentials.password),
                        expect: .authPlain, transcript: "AUTH PLAIN (credentials)", &actions)
        } else if capabilities.authMechanisms.contains("LOGIN") {
            sendCommand("AUTH LOGIN", expect: .authLoginUser, &actions)
        } else {
            fail(.authentication, DeliveryTexts.noAuthMechanism(peer), "4.7.0", nil, &actions)
        }
    }

    mutating func becomeReady(_ actions: inout [SMTPClientAction]) {
        phase = .ready
        startNext(&actions)
    }
}
