// The protocols' SASL credentials (MailCore's one `Credentials` type) as the
// authenticator's verification cases.
import MailCore

extension Authenticator.Credentials {
    init(_ credentials: MailCore.Credentials) {
        switch credentials {
        case .plain(let authorizationID, let user, let password):
            self = .password(authorizationID: authorizationID, user: user, password: password)
        case .apop(let user, let timestamp, let digest):
            self = .apop(user: user, timestamp: timestamp, digest: digest)
        case .cramMD5(let user, let challenge, let digest):
            self = .challengeResponse(user: user, challenge: challenge, digest: digest)
        }
    }
}
