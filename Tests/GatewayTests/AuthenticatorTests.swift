import Crypto
import Foundation
import Testing
@testable import Gateway
import MailStore

/// A failed login must cost the same whether the account exists or not: every path runs
/// exactly one crypt verification, against a hash with the real accounts' settings.
/// (Counted through an injected verifier, not timed: timing tests flake.)
@Suite struct AuthenticatorTests {
    final class Calls: @unchecked Sendable {
        var hashes: [String] = []
    }

    static let realHash = PasswordHash.make("right")

    func account(_ address: String, hash: String?, secret: String? = nil) -> Account {
        Account(address: address, passwordHash: hash, apopSecret: secret, quota: 1 << 20, usedBytes: 0,
                messageCount: 0, created: 0)
    }

    func verify(_ credentials: Authenticator.Credentials, dummy: DummyHash, calls: Calls) -> String? {
        let accounts = ["alice@example.test": account("alice@example.test", hash: Self.realHash),
                        "nopass@example.test": account("nopass@example.test", hash: nil),
                        "apop@example.test": account("apop@example.test", hash: Self.realHash, secret: "s3cret")]
        return Authenticator.verify(credentials, lookup: { accounts[$0] }, dummy: dummy) { password, hash in
            calls.hashes.append(hash)
            return PasswordHash.verify(password, against: hash)
        }
    }

    @Test func everyFailedPasswordLoginRunsOneCryptVerification() {
        let dummy = DummyHash()
        for (user, password, expected) in [("alice@example.test", "right", "alice@example.test"),
                                           ("alice@example.test", "wrong", nil),
                                           ("ghost@example.test", "right", nil),
                                           ("nopass@example.test", "right", nil),
                                           ("not an address", "x", nil),
                                           ("alice%example.test", "right", "alice@example.test")] as [(String, String, String?)] {
            let calls = Calls()
            let result = verify(.plain(authorizationID: "", user: user, password: password), dummy: dummy, calls: calls)
            #expect(result == expected, "\(user)")
            #expect(calls.hashes.count == 1, "\(user): \(calls.hashes.count) crypt verifications")
            // The stand-in has the real hash's scheme and salt length: the same cost.
            #expect(calls.hashes.first.map { DummyHash.settings($0).count } == DummyHash.settings(Self.realHash).count)
            #expect(calls.hashes.first?.hasPrefix("$6$") == true)
        }
    }

    @Test func aMismatchedAuthorizationIDStillCostsAVerification() {
        let calls = Calls()
        let result = verify(.plain(authorizationID: "bob@example.test", user: "alice@example.test", password: "right"),
                            dummy: DummyHash(), calls: calls)
        #expect(result == nil)
        #expect(calls.hashes.count == 1)
    }

    @Test func theStandInFollowsTheSchemeOfRealAccounts() throws {
        let dummy = DummyHash()
        #expect(dummy.hash.hasPrefix("$6$"))
        let yescrypt = try #require(PasswordHash.make("pw", prefix: "$y$"))
        let accounts = ["y@example.test": account("y@example.test", hash: yescrypt)]
        let calls = Calls()
        _ = Authenticator.verify(.plain(authorizationID: "", user: "y@example.test", password: "bad"),
                                 lookup: { accounts[$0] }, dummy: dummy) { calls.hashes.append($1); return PasswordHash.verify($0, against: $1) }
        _ = Authenticator.verify(.plain(authorizationID: "", user: "ghost@example.test", password: "pw"),
                                 lookup: { accounts[$0] }, dummy: dummy) { calls.hashes.append($1); return PasswordHash.verify($0, against: $1) }
        #expect(calls.hashes.count == 2)
        #expect(DummyHash.settings(calls.hashes[1]) == DummyHash.settings(yescrypt))
        // Never the real hash, and the real password does not open it.
        #expect(calls.hashes[1] != yescrypt)
        #expect(!PasswordHash.verify("pw", against: calls.hashes[1]))
        #expect(PasswordHash.verify("pw", against: yescrypt))
    }

    @Test func bcryptKeepsItsSaltWhenDisguised() throws {
        let bcrypt = try #require(PasswordHash.make("pw", prefix: "$2b$"))
        let disguised = try #require(DummyHash.disguise(bcrypt))
        #expect(disguised.count == bcrypt.count && disguised.prefix(29) == bcrypt.prefix(29) && disguised != bcrypt)
        #expect(!PasswordHash.verify("pw", against: disguised))
        #expect(DummyHash.disguise("{PLAIN}secret") == nil)
    }

    @Test func challengeResponsesForUnknownAccountsFail() {
        let calls = Calls()
        let dummy = DummyHash()
        #expect(verify(.cramMD5(user: "ghost@example.test", challenge: "<1@x>", digest: "00"), dummy: dummy, calls: calls) == nil)
        #expect(verify(.apop(user: "alice@example.test", timestamp: "<1@x>", digest: "00"), dummy: dummy, calls: calls) == nil)
        let good = md5Hex("<1@x>s3cret")
        #expect(verify(.apop(user: "apop@example.test", timestamp: "<1@x>", digest: good), dummy: dummy, calls: calls)
                == "apop@example.test")
        // A digest made with the stand-in secret opens nothing.
        let forged = md5Hex("<1@x>" + dummy.secret)
        #expect(verify(.apop(user: "alice@example.test", timestamp: "<1@x>", digest: forged), dummy: dummy, calls: calls) == nil)
        #expect(calls.hashes.isEmpty)
    }
}

func md5Hex(_ text: String) -> String {
    Insecure.MD5.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
}
