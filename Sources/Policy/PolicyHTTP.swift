// What `mailgate.http.request` hands the host, and what it gets back: one HTTP/1.1
// request (method, parsed URL, headers, a body that may be the received message
// itself, shared and never copied into Lua), a bounded response, or an error from a
// fixed vocabulary Lua sees as strings. The Gateway implements `PolicyHTTPClient`
// over SwiftNIO; tests give canned answers.
import MailCore

/// Sends one request and answers once, on any thread. The client must honour
/// `timeout` (the whole exchange: connect, send, receive) and `maxResponseBytes`.
public protocol PolicyHTTPClient: Sendable {
    func send(_ request: PolicyHTTPRequest, timeout: Duration,
              completion: @escaping @Sendable (Result<PolicyHTTPResponse, PolicyHTTPError>) -> Void)
}

/// Why a request got no response. The raw values are what Lua sees as `err`.
public enum PolicyHTTPError: String, Error, Sendable, CaseIterable {
    /// No complete response within the timeout.
    case timeout
    /// The server refused the connection (nothing listens on the port).
    case refused
    /// No route, unknown host name, or no HTTP client in this host.
    case unreachable
    /// The response (headers or body) is larger than `max_response`.
    case tooLarge = "too_large"
    /// The response is not HTTP/1.x the client can read.
    case malformed
    /// The connection closed (or was reset) before the response was complete.
    case closed
    /// TLS handshake or certificate failure (https:// only).
    case tls
}

public struct PolicyHTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var secure: Bool
    /// A name or an address, without brackets (IPv6 literals are given as `[::1]`).
    public var host: String
    public var port: Int
    /// Path and query: what goes on the request line ("/checkv2").
    public var target: String

    public init(secure: Bool, host: String, port: Int, target: String) {
        self.secure = secure; self.host = host; self.port = port; self.target = target
    }

    /// Parses `http://host[:port][/path][?query]` (and https://); nil for anything else:
    /// no user info, no fragment, no spaces or control characters, a port of 1–65535.
    public init?(_ text: String) {
        guard text.utf8.count <= 2048, text.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { return nil }
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") { secure = false; rest = text.dropFirst(7) }
        else if lower.hasPrefix("https://") { secure = true; rest = text.dropFirst(8) }
        else { return nil }
        guard !rest.contains("#") else { return nil }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        if path.isEmpty { path = "/" } else if path.hasPrefix("?") { path = "/" + path }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var hostPart = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
            guard IPAddress(String(hostPart)).map({ !$0.isV4 }) == true else { return nil }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
            guard !hostPart.contains(":") else { return nil }  // an IPv6 address needs brackets
        }
        guard !hostPart.isEmpty, hostPart.utf8.count <= 253,
              hostPart.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" }) else {
            return nil
        }
        var port = secure ? 443 : 80
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCII), let number = Int(portText),
                  (1...65535).contains(number) else { return nil }
            port = number
        }
        self.host = String(hostPart).lowercased()
        self.port = port
        self.target = path
    }

    /// The Host header's value.
    public var authority: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? shownHost : "\(shownHost):\(port)"
    }

    public var description: String { "\(secure ? "https" : "http")://\(authority)\(target)" }
}

public struct PolicyHTTPRequest: Sendable {
    public enum Body: Sendable {
        case none
        case bytes([UInt8])
        /// The received message, as the session holds it.
        case message(MessageContent)

        public var count: Int {
            switch self {
            case .none: 0
            case .bytes(let bytes): bytes.count
            case .message(let message): message.count
            }
        }
    }

    public var method: String
    public var url: PolicyHTTPURL
    /// In the order given; names as given (HTTP compares them case-insensitively).
    public var headers: [HeaderField]
    public var body: Body
    /// The most the response may hold: status line, headers and body together.
    public var maxResponseBytes: Int

    public init(method: String, url: PolicyHTTPURL, headers: [HeaderField] = [], body: Body = .none,
                maxResponseBytes: Int = 1024 * 1024) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
        self.maxResponseBytes = maxResponseBytes
    }
}

public struct PolicyHTTPResponse: Sendable, Equatable {
    public var status: Int
    /// As received; Lua sees them keyed by lower-cased name (repeated ones joined with ", ").
    public var headers: [HeaderField]
    public var body: [UInt8]

    public init(status: Int, headers: [HeaderField] = [], body: [UInt8] = []) {
        self.status = status; self.headers = headers; self.body = body
    }
}
