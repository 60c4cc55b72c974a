// SMTP AUTH (RFC 4954) with the PLAIN (RFC 4616), LOGIN and CRAM-MD5 (RFC 2195)
// mechanisms: gathers credentials over as many 334 round trips as the mechanism
// needs; verification is the driver's job (it is slow and touches the store).
import Foundation
import MailCore

extension SMTPSession {
    static let mechanisms: Set<String> = ["PLAIN", "LOGIN", "CRAM-MD5"]

    mutating func auth(_ mechanism: String, _ initialResponse: String?, _ actions: inout [SMTPAction]) {
        guard heloName != nil, extended else { return commandError(Reply(503, "5.5.1", "Error: send EHLO first"), &actions) }
        guard info.authUser == nil else { return commandError(Reply(503, "5.5.1", "Error: already authenticated"), &actions) }
        guard transaction == nil else {
            return commandError(Reply(503, "5.5.1", "Error: AUTH not permitted during a mail transaction"), &actions)
        }
        guard Self.mechanisms.contains(mechanism) else {
            return commandError(Reply(504, "5.5.4", "Unrecognized authentication mechanism"), &actions)
        }
        if mechanism != "CRAM-MD5" && !plaintextAuthPermitted {
            return send(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"), &actions)
        }
        authMechanism = mechanism
        switch mechanism {
        case "PLAIN":
            if let initialResponse {
                authExchange = .plain
                authResponse(Array(initialResponse.utf8), &actions)
            } else {
                authExchange = .plain
                phase = .authResponse
                send(Reply(334, nil, ""), &actions)
            }
        case "LOGIN":
            if let initialResponse {
                authExchange = .loginUser
                authResponse(Array(initialResponse.utf8), &actions)
            } else {
                authExchange = .loginUser
                phase = .authResponse
                send(Reply(334, nil, base64("Username:")), &actions)
            }
        default:
            guard initialResponse == nil else {
                return commandError(Reply(501, "5.5.2", "CRAM-MD5 takes no initial response"), &actions)
            }
            let challenge = configuration.makeChallenge()
            authExchange = .cram(challenge: challenge)
            phase = .authResponse
            send(Reply(334, nil, base64(challenge)), &actions)
        }
    }

    mutating func authResponse(_ bytes: [UInt8], _ actions: inout [SMTPAction]) {
        phase = .command
        guard let exchange = authExchange else { return }
        authExchange = nil
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text == "*" { return send(Reply(501, "5.0.0", "Authentication cancelled"), &actions) }
        // "=" is an empty initial response (RFC 4954 §4).
        let decoded: [UInt8]
        if text == "=" {
            decoded = []
        } else {
            guard let data = Data(base64Encoded: text) else {
                return commandError(Reply(501, "5.5.2", "Cannot decode base64 response"), &actions)
            }
            decoded = Array(data)
        }
        switch exchange {
        case .plain:
            let parts = decoded.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty else {
                return commandError(Reply(501, "5.5.2", "Malformed PLAIN response"), &actions)
            }
            let credentials = AuthCredentials.plain(
                authorizationID: String(decoding: parts[0], as: UTF8.self),
                user: String(decoding: parts[1], as: UTF8.self),
                password: String(decoding: parts[2], as: UTF8.self))
            verify(credentials, &actions)
        case .loginUser:
            let user = String(decoding: decoded, as: UTF8.self)
            guard !user.isEmpty else { return commandError(Reply(501, "5.5.2", "Empty user name"), &actions) }
            authExchange = .loginPassword(user: user)
            phase = .authResponse
            send(Reply(334, nil, base64("Password:")), &actions)
        case .loginPassword(let user):
            verify(.plain(authorizationID: "", user: user, password: String(decoding: decoded, as: UTF8.self)), &actions)
        case .cram(let challenge):
            let response = String(decoding: decoded, as: UTF8.self)
            guard let space = response.lastIndex(of: " ") else {
                return commandError(Reply(501, "5.5.2", "Malformed CRAM-MD5 response"), &actions)
            }
            let digest = response[response.index(after: space)...].lowercased()
            guard digest.count == 32, digest.allSatisfy({ $0.isHexDigit }) else {
                return commandError(Reply(501, "5.5.2", "Malformed CRAM-MD5 response"), &actions)
            }
            verify(.cramMD5(user: String(response[..<space]), challenge: challenge, digest: digest), &actions)
        }
    }

    mutating func verify(_ credentials: AuthCredentials, _ actions: inout [SMTPAction]) {
        pending = .auth
        actions.append(.authenticate(credentials, mechanism: authMechanism))
    }

    func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}
