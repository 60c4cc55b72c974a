// Verifies credentials against the store (crypt hashes off the event loop; CRAM-MD5
// and APOP against the account's shared secret) and lets the `auth` hook have its
// say. A policy can refuse a good login; it can never turn a bad one into success.
import Crypto
import Foundation
import MailCore
import MailStore
import NIOCore
import Policy
import SMTP

struct Authenticator: Sendable {
    let context: ServerContext

    enum Credentials: Sendable {
        case password(authorizationID: String, user: String, password: String)
        case challengeResponse(user: String, challenge: String, digest: String)
        /// APOP (RFC 1939 §7): hex(MD5(timestamp + secret)).
        case apop(user: String, timestamp: String, digest: String)

        var user: String {
            switch self {
            case .password(_, let user, _), .challengeResponse(let user, _, _), .apop(let user, _, _): user
            }
        }
    }

    /// Returns the normalized account on success, nil on failure (no I/O besides the store).
    static func verify(_ credentials: Credentials, store: LMDBStore) -> String? {
        guard let address = LoginName.normalize(credentials.user), let account = store.account(address) else {
            return nil
        }
        switch credentials {
        case .password(let authorizationID, _, let password):
            // No proxy authentication: an authorization id must name the same account.
            if !authorizationID.isEmpty && LoginName.normalize(authorizationID) != address { return nil }
            guard let hash = account.passwordHash, PasswordHash.verify(password, against: hash) else { return nil }
            return address
        case .challengeResponse(_, let challenge, let digest):
            guard let secret = account.apopSecret else { return nil }
            let mac = HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            let expected = mac.map { String(format: "%02x", $0) }.joined()
            return constantTimeEqual(expected, digest.lowercased()) ? address : nil
        case .apop(_, let timestamp, let digest):
            guard let secret = account.apopSecret else { return nil }
            let expected = Insecure.MD5.hash(data: Data((timestamp + secret).utf8)).map { String(format: "%02x", $0) }.joined()
            return constantTimeEqual(expected, digest.lowercased()) ? address : nil
        }
    }

    static func constantTimeEqual(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8), b = Array(right.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The verified account (nil: bad credentials) and the `auth` hook's verdict on it.
    func check(_ credentials: Credentials, mechanism: String, session: SessionInfo,
               on eventLoop: EventLoop) -> EventLoopFuture<(verified: String?, verdict: Verdict)> {
        let context = self.context
        return context.offload(on: eventLoop) {
            let verified = Self.verify(credentials, store: context.store)
            let result = context.policy.run(.auth(session, user: verified ?? credentials.user, mechanism: mechanism,
                                                  success: verified != nil))
            return (verified, result.verdict)
        }
    }

    func authenticate(_ credentials: Credentials, mechanism: String, session: SessionInfo,
                      on eventLoop: EventLoop) -> EventLoopFuture<AuthOutcome> {
        check(credentials, mechanism: mechanism, session: session, on: eventLoop).map { verified, verdict in
            switch verdict {
            case .reject(let reply), .deferred(let reply): return .refused(reply)
            case .disconnect(let reply): return .disconnect(reply)
            case .next, .accept:
                if let verified { return .success(user: verified) }
                return .failure
            }
        }
    }
}
