// Capabilities, STARTTLS (RFC 3501 §6.2.1), LOGIN (§6.2.3) and AUTHENTICATE (§6.2.2)
// with PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195) and SASL-IR (RFC 4959). The
// session only gathers credentials; the driver verifies them (slow, touches the store)
// and runs the `auth` hook. Plaintext mechanisms need TLS unless configured otherwise
// (LOGINDISABLED).
import Foundation
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
        authMechanism = "LOGIN"
        verify(tag, .plain(authorizationID: "", user: user, password: password), &actions)
    }

    mutating func authenticate(_ tag: String, mechanism: String, initialResponse: String?, _ actions: inout [IMAPAction]) {
        let mechanism = mechanism.uppercased()
        guard ["PLAIN", "LOGIN", "CRAM-MD5"].contains(mechanism) else {
            return no(tag, "Unsupported authentication mechanism", code: .cannot)
        }
        guard mechanism == "CRAM-MD5" || plaintextAuthPermitted else {
            return no(tag, "Plaintext authentication requires TLS (use STARTTLS)", code: .privacyRequired)
        }
        authMechanism = mechanism
        switch mechanism {
        case "PLAIN":
            authExchange = .plain
            if let initialResponse { return saslStep(tag: tag, Array(initialResponse.utf8), &actions) }
            challenge(tag, "")
        case "LOGIN":
            authExchange = .loginUser
            if let initialResponse { return saslStep(tag: tag, Array(initialResponse.utf8), &actions) }
            challenge(tag, base64("Username:"))
        default:
            guard initialResponse == nil else { return bad(tag, "CRAM-MD5 takes no initial response", &actions) }
            let text = configuration.makeChallenge()
            authExchange = .cram(challenge: text)
            challenge(tag, base64(text))
        }
    }

    mutating func challenge(_ tag: String, _ text: String) {
        respond(.continuation(text))
        phase = .saslResponse(tag: tag)
        framer.expectLine()
    }

    /// A client line during AUTHENTICATE.
    mutating func saslResponse(tag: String, _ bytes: [UInt8], _ actions: inout [IMAPAction]) {
        phase = .command
        saslStep(tag: tag, bytes, &actions)
    }

    mutating func saslStep(tag: String, _ bytes: [UInt8], _ actions: inout [IMAPAction]) {
        guard let exchange = authExchange else { return }
        authExchange = nil
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text == "*" { return bad(tag, "Authentication cancelled", &actions) }
        let decoded: [UInt8]
        if text == "=" || text.isEmpty {
            decoded = []
        } else {
            guard let data = Data(base64Encoded: text) else { return bad(tag, "Invalid base64 in authentication response", &actions) }
            decoded = Array(data)
        }
        switch exchange {
        case .plain:
            let parts = decoded.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else { return bad(tag, "Malformed PLAIN response", &actions) }
            verify(tag, .plain(authorizationID: String(decoding: parts[0], as: UTF8.self),
                               user: String(decoding: parts[1], as: UTF8.self),
                               password: String(decoding: parts[2], as: UTF8.self)), &actions)
        case .loginUser:
            let user = String(decoding: decoded, as: UTF8.self)
            guard !user.isEmpty else { return bad(tag, "Empty user name", &actions) }
            authExchange = .loginPassword(user: user)
            challenge(tag, base64("Password:"))
        case .loginPassword(let user):
            verify(tag, .plain(authorizationID: "", user: user, password: String(decoding: decoded, as: UTF8.self)), &actions)
        case .cram(let challengeText):
            let response = String(decoding: decoded, as: UTF8.self)
            guard let space = response.lastIndex(of: " "), space > response.startIndex else {
                return bad(tag, "Malformed CRAM-MD5 response", &actions)
            }
            let digest = response[response.index(after: space)...].lowercased()
            guard digest.utf8.count == 32, digest.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
                return bad(tag, "Malformed CRAM-MD5 response", &actions)
            }
            verify(tag, .cramMD5(user: String(response[..<space]), challenge: challengeText, digest: digest), &actions)
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

    func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}
