// The one SASL server exchange every protocol uses (SMTP AUTH RFC 4954, POP3 AUTH
// RFC 5034, IMAP AUTHENTICATE RFC 3501/4959): PLAIN (RFC 4616), LOGIN and CRAM-MD5
// (RFC 2195). It decodes client responses and produces the next challenge or the
// gathered credentials; the protocol session words the replies, and the driver
// verifies the credentials (slow, touches the store). Bounded: a response is one line,
// already bounded by the line framer; decoded values holding control characters are
// refused, so a login name can never carry a line break into a log or a header.
import Foundation

/// Credentials gathered from a client, for the driver to verify. `user` is the login
/// as the client sent it ("user@domain" or "user%domain"): normalise it with
/// `LoginName.normalize` before looking the account up.
public enum Credentials: Sendable, Equatable {
    /// A password: USER/PASS, IMAP LOGIN, AUTH PLAIN (authorization id may be empty), AUTH LOGIN.
    case plain(authorizationID: String, user: String, password: String)
    /// CRAM-MD5: valid when `digest` == hex(HMAC-MD5(shared secret, challenge)).
    case cramMD5(user: String, challenge: String, digest: String)
    /// POP3 APOP (RFC 1939 §7): valid when `digest` == hex(MD5(timestamp + shared secret)).
    case apop(user: String, timestamp: String, digest: String)

    public var user: String {
        switch self {
        case .plain(_, let user, _), .cramMD5(let user, _, _), .apop(let user, _, _): user
        }
    }
}

public enum SASLMechanism: String, Sendable, CaseIterable {
    case plain = "PLAIN"
    case login = "LOGIN"
    case cramMD5 = "CRAM-MD5"

    /// Mechanisms that send the password itself: only over TLS (or where configured).
    public var sendsPassword: Bool { self != .cramMD5 }

    /// The mechanism named by a client (case-insensitive), if supported.
    public init?(named name: some StringProtocol) {
        self.init(rawValue: name.uppercased())
    }
}

public struct SASLExchange: Sendable, Equatable {
    public enum Step: Sendable, Equatable {
        /// Send this challenge (already base64) and feed the client's next line to `respond`.
        case challenge(String)
        /// The exchange is over: verify these.
        case credentials(Credentials)
        /// The exchange is over without credentials.
        case failed(SASLFailure)
    }

    enum State: Sendable, Equatable {
        case plain
        case loginUser
        case loginPassword(user: String)
        case cram(challenge: String)
        case done
    }

    public let mechanism: SASLMechanism
    private var state: State

    /// Starts an exchange. `initialResponse` is the SASL-IR / AUTH argument (base64 or
    /// "=" for an empty one); `challenge` is the CRAM-MD5 challenge text to send.
    public static func start(_ mechanism: SASLMechanism, initialResponse: String?,
                             challenge: () -> String) -> (exchange: SASLExchange, step: Step) {
        switch mechanism {
        case .plain:
            var exchange = SASLExchange(mechanism: mechanism, state: .plain)
            if let initialResponse {
                let step = exchange.respond(Array(initialResponse.utf8))
                return (exchange, step)
            }
            return (exchange, .challenge(""))
        case .login:
            var exchange = SASLExchange(mechanism: mechanism, state: .loginUser)
            if let initialResponse {
                let step = exchange.respond(Array(initialResponse.utf8))   // (before the copy is returned)
                return (exchange, step)
            }
            return (exchange, .challenge(Self.base64("Username:")))
        case .cramMD5:
            guard initialResponse == nil else {
                return (SASLExchange(mechanism: mechanism, state: .done), .failed(.initialResponseNotAllowed))
            }
            let text = challenge()
            return (SASLExchange(mechanism: mechanism, state: .cram(challenge: text)), .challenge(Self.base64(text)))
        }
    }

    private init(mechanism: SASLMechanism, state: State) {
        self.mechanism = mechanism
        self.state = state
    }

    public var isFinished: Bool { state == .done }

    /// One client line: "*" cancels, "=" or an empty line is an empty response.
    public mutating func respond(_ line: [UInt8]) -> Step {
        let current = state
        state = .done
        guard current != .done else { return .failed(.malformed(mechanism)) }
        var text = Substring(String(decoding: line, as: UTF8.self))
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text == "*" { return .failed(.cancelled) }
        let decoded: [UInt8]
        if text.isEmpty || text == "=" {
            decoded = []
        } else {
            guard let data = Data(base64Encoded: String(text)) else { return .failed(.badBase64) }
            decoded = Array(data)
        }
        switch current {
        case .plain:
            // authzid NUL authcid NUL passwd (RFC 4616 §2)
            let parts = decoded.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty, !parts[2].contains(0),
                  let authorizationID = Self.name(parts[0], allowEmpty: true),
                  let user = Self.name(parts[1], allowEmpty: false)
            else { return .failed(.malformed(mechanism)) }
            return .credentials(.plain(authorizationID: authorizationID, user: user,
                                       password: String(decoding: parts[2], as: UTF8.self)))
        case .loginUser:
            guard let user = Self.name(decoded[...], allowEmpty: false) else { return .failed(.malformed(mechanism)) }
            state = .loginPassword(user: user)
            return .challenge(Self.base64("Password:"))
        case .loginPassword(let user):
            guard !decoded.contains(0) else { return .failed(.malformed(mechanism)) }
            return .credentials(.plain(authorizationID: "", user: user, password: String(decoding: decoded, as: UTF8.self)))
        case .cram(let challenge):
            // "user SP 32 lower-case hex digits" (RFC 2195 §2); the user may hold spaces.
            guard let space = decoded.lastIndex(of: UInt8(ascii: " ")), space > 0,
                  let user = Self.name(decoded[..<space], allowEmpty: false)
            else { return .failed(.malformed(mechanism)) }
            let digest = decoded[(space + 1)...].map { $0 >= 65 && $0 <= 70 ? $0 + 32 : $0 }
            guard digest.count == 32, digest.allSatisfy(Self.isLowerHex) else { return .failed(.malformed(mechanism)) }
            return .credentials(.cramMD5(user: user, challenge: challenge, digest: String(decoding: digest, as: UTF8.self)))
        case .done:
            return .failed(.malformed(mechanism))
        }
    }

    /// A login name or authorization id: valid UTF-8 without control characters.
    static func name(_ bytes: ArraySlice<UInt8>, allowEmpty: Bool) -> String? {
        guard allowEmpty || !bytes.isEmpty, !CommandText.hasAnyControl(bytes) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    static func isLowerHex(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (97...102).contains(byte)
    }

    public static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }
}

public enum SASLFailure: Error, Sendable, Equatable {
    /// The client sent "*".
    case cancelled
    /// The response was not base64.
    case badBase64
    /// The decoded response does not fit the mechanism.
    case malformed(SASLMechanism)
    /// CRAM-MD5 was given an initial response.
    case initialResponseNotAllowed

    /// Text for the protocol reply.
    public var text: String {
        switch self {
        case .cancelled: "Authentication cancelled"
        case .badBase64: "Invalid base64 in authentication response"
        case .malformed(let mechanism): "Malformed \(mechanism.rawValue) response"
        case .initialResponseNotAllowed: "CRAM-MD5 takes no initial response"
        }
    }
}
