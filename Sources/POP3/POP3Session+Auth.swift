// POP3 authentication: USER/PASS and APOP (RFC 1939 §7) and AUTH (RFC 5034) with
// PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195), initial responses and "*" cancel.
// The session only gathers credentials; the driver verifies them (slow, touches the
// store) and runs the `auth` hook. Plaintext mechanisms need TLS unless configured.
import Foundation

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

    mutating func auth(_ mechanism: String?, _ initialResponse: String?, _ actions: inout [POP3Action]) {
        pendingUser = nil
        guard let mechanism else {
            // Pre-RFC 5034 clients (RFC 1734) ask for the list with a bare AUTH.
            return send(.ok("Supported mechanisms follow", lines: availableMechanisms()), &actions)
        }
        guard ["PLAIN", "LOGIN", "CRAM-MD5"].contains(mechanism) else {
            return commandError(.error("Unsupported authentication mechanism"), &actions)
        }
        guard mechanism == "CRAM-MD5" || plaintextAuthPermitted else {
            return commandError(Self.plaintextRefusal, &actions)
        }
        authMechanism = mechanism
        switch mechanism {
        case "PLAIN":
            authExchange = .plain
            if let initialResponse { return authResponse(Array(initialResponse.utf8), &actions) }
            phase = .authResponse
            send(.continuation(""), &actions)
        case "LOGIN":
            authExchange = .loginUser
            if let initialResponse { return authResponse(Array(initialResponse.utf8), &actions) }
            phase = .authResponse
            send(.continuation(base64("Username:")), &actions)
        default:
            guard initialResponse == nil else {
                return commandError(.error("CRAM-MD5 takes no initial response"), &actions)
            }
            let challenge = configuration.makeChallenge()
            authExchange = .cram(challenge: challenge)
            phase = .authResponse
            send(.continuation(base64(challenge)), &actions)
        }
    }

    /// One client line of a SASL exchange (or an AUTH initial response).
    mutating func authResponse(_ bytes: [UInt8], _ actions: inout [POP3Action]) {
        phase = .command
        guard let exchange = authExchange else { return }
        authExchange = nil
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text == "*" { return commandError(.error("Authentication cancelled"), &actions) }
        let decoded: [UInt8]
        if text == "=" {
            decoded = []  // empty initial response (RFC 5034 §4)
        } else {
            guard let data = Data(base64Encoded: text) else {
                return commandError(.error("Invalid base64 in authentication response"), &actions)
            }
            decoded = Array(data)
        }
        switch exchange {
        case .plain:
            let parts = decoded.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else {
                return commandError(.error("Malformed PLAIN response"), &actions)
            }
            verify(.plain(authorizationID: String(decoding: parts[0], as: UTF8.self),
                          user: String(decoding: parts[1], as: UTF8.self),
                          password: String(decoding: parts[2], as: UTF8.self)), &actions)
        case .loginUser:
            let user = String(decoding: decoded, as: UTF8.self)
            guard !user.isEmpty else { return commandError(.error("Empty user name"), &actions) }
            authExchange = .loginPassword(user: user)
            phase = .authResponse
            send(.continuation(base64("Password:")), &actions)
        case .loginPassword(let user):
            verify(.plain(authorizationID: "", user: user, password: String(decoding: decoded, as: UTF8.self)), &actions)
        case .cram(let challenge):
            let response = String(decoding: decoded, as: UTF8.self)
            guard let space = response.lastIndex(of: " ") else {
                return commandError(.error("Malformed CRAM-MD5 response"), &actions)
            }
            let digest = response[response.index(after: space)...].lowercased()
            guard digest.utf8.count == 32, digest.utf8.allSatisfy(POP3CommandParser.isHexDigit),
                  space > response.startIndex
            else { return commandError(.error("Malformed CRAM-MD5 response"), &actions) }
            verify(.cramMD5(user: String(response[..<space]), challenge: challenge, digest: digest), &actions)
        }
    }

    mutating func verify(_ credentials: POP3Credentials, _ actions: inout [POP3Action]) {
        pending = .auth
        actions.append(.authenticate(credentials, mechanism: authMechanism))
    }

    func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}
