// Verifies credentials against the store (crypt hashes off the event loop; CRAM-MD5
// and APOP against the account's shared secret) and lets the `auth` hook have its
// say. A policy can refuse a good login; it can never turn a bad one into success.
import Crypto
import Foundation
import MailCore
import MailStore
import NIOConcurrencyHelpers
import NIOCore
import Policy
import SMTP

struct Authenticator: Sendable {
    let context: ServerContext

    /// What the protocols gathered (MailCore's one SASL/USER/APOP credentials type).
    typealias Credentials = MailCore.Credentials

    /// Returns the normalized account on success, nil on failure (no I/O besides the store).
    static func verify(_ credentials: Credentials, store: LMDBStore) -> String? {
        verify(credentials, lookup: { store.account($0) })
    }

    /// The check itself, with the account lookup and the crypt verification injectable.
    /// Every failure costs what a wrong password costs: an unknown user, a malformed
    /// login or an account without a password is verified against `dummy` (a hash like
    /// the real ones, see DummyHash), and a CRAM-MD5/APOP digest for an account without
    /// a secret is computed with a stand-in secret. Otherwise the answer time would tell
    /// an attacker which accounts exist (~0.1 ms against ~6 ms for a `$6$` hash).
    static func verify(_ credentials: Credentials, lookup: (String) -> Account?, dummy: DummyHash = .shared,
                       passwordCheck: (String, String) -> Bool = PasswordHash.verify) -> String? {
        let address = LoginName.normalize(credentials.user)
        let account = address.flatMap(lookup)
        switch credentials {
        case .plain(let authorizationID, _, let password):
            let hash = account?.passwordHash
            let matches = passwordCheck(password, hash ?? dummy.hash)
            if let hash { dummy.learn(from: hash) }
            guard let address, hash != nil, matches else { return nil }
            // No proxy authentication: an authorization id must name the same account.
            if !authorizationID.isEmpty && LoginName.normalize(authorizationID) != address { return nil }
            return address
        case .cramMD5(_, let challenge, let digest):
            let secret = account?.apopSecret
            let mac = HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8),
                                                            using: SymmetricKey(data: Data((secret ?? dummy.secret).utf8)))
            let expected = mac.map { String(format: "%02x", $0) }.joined()
            let matches = constantTimeEqual(expected, digest.lowercased())
            guard let address, secret != nil, matches else { return nil }
            return address
        case .apop(_, let timestamp, let digest):
            let secret = account?.apopSecret
            let expected = Insecure.MD5.hash(data: Data((timestamp + (secret ?? dummy.secret)).utf8))
                .map { String(format: "%02x", $0) }.joined()
            let matches = constantTimeEqual(expected, digest.lowercased())
            guard let address, secret != nil, matches else { return nil }
            return address
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

/// What a failed login for an account that does not exist is checked against: a crypt
/// hash with the scheme, cost and salt length of the real accounts' hashes, so that
/// verifying it costs the same. It starts as a hash like `mailgate user add` makes
/// (`$6$`), and follows the hashes verified since (accounts imported with `$y$` or
/// bcrypt hashes make it one of those). It never holds a real hash: the digest part is
/// altered, so no password matches it, and its result is ignored anyway.
final class DummyHash: Sendable {
    static let shared = DummyHash()

    private let current = NIOLockedValueBox<String?>(nil)
    /// The stand-in shared secret for CRAM-MD5/APOP when an account has none.
    let secret = (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()

    var hash: String {
        if let hash = current.withLockedValue({ $0 }) { return hash }
        let made = PasswordHash.make((0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max)) }.joined())
        return current.withLockedValue { value in
            if value == nil { value = made }
            return value!
        }
    }

    /// Follows the settings of a real hash just verified (cheap when they are unchanged).
    func learn(from stored: String) {
        guard let disguised = Self.disguise(stored) else { return }
        current.withLockedValue { value in
            if let value, Self.settings(value) == Self.settings(disguised) { return }
            value = disguised
        }
    }

    /// The part of a crypt hash that decides its cost: everything up to the digest.
    static func settings(_ hash: String) -> Substring {
        let body = Substring(hash)
        if body.hasPrefix("$2"), body.count >= 29 { return body.prefix(29) }   // $2b$NN$ + 22 salt characters
        guard let dollar = body.lastIndex(of: "$") else { return body }
        return body[...dollar]
    }

    /// `stored` with every digest character moved one place on in crypt's alphabet: the
    /// same settings, a different digest. nil for schemes without `$` fields ({PLAIN}).
    static func disguise(_ stored: String) -> String? {
        guard stored.contains("$") else { return nil }
        let settings = settings(stored)
        let digest = stored.dropFirst(settings.count)
        guard !digest.isEmpty else { return nil }
        let alphabet = Array("./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        let moved = digest.map { character -> Character in
            guard let index = alphabet.firstIndex(of: character) else { return character == "x" ? "y" : "x" }
            return alphabet[(index + 1) % alphabet.count]
        }
        return String(settings) + String(moved)
    }
}
