// Which nameservers the resolver asks and how patiently: `[delivery] nameserver` when
// set, else the `nameserver` lines of /etc/resolv.conf (at most three, as glibc) with
// its `options timeout:N attempts:N`, else 127.0.0.1:53. Parsing only; Gateway reads
// the file.
import MailCore

public struct DNSResolverConfiguration: Sendable, Equatable {
    public struct Nameserver: Sendable, Hashable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int = 53) { self.host = host; self.port = port }
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var nameservers: [Nameserver]
    /// Time for one try at one nameserver (resolv.conf `timeout:`, glibc default 5 s).
    public var attemptTimeout: Duration
    /// Rounds over the nameservers (resolv.conf `attempts:`, glibc default 2).
    public var attempts: Int

    public static let fallback = Nameserver(host: "127.0.0.1", port: 53)

    public init(nameservers: [Nameserver] = [fallback], attemptTimeout: Duration = .seconds(5), attempts: Int = 2) {
        self.nameservers = nameservers.isEmpty ? [Self.fallback] : nameservers
        self.attemptTimeout = attemptTimeout
        self.attempts = max(1, attempts)
    }

    /// From the text of resolv.conf(5). Unknown lines and options are ignored, as the
    /// C library does; a nameserver that is not an IP address is skipped.
    public static func parseResolvConf(_ text: String) -> DNSResolverConfiguration {
        var nameservers: [Nameserver] = []
        var timeout = 5
        var attempts = 2
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            switch keyword {
            case "nameserver" where words.count >= 2:
                var host = String(words[1])
                if let zone = host.firstIndex(of: "%") { host = String(host[..<zone]) }   // link-local scope
                if IPAddress(host) != nil && nameservers.count < 3 { nameservers.append(Nameserver(host: host)) }
            case "options":
                for option in words.dropFirst() {
                    if option.hasPrefix("timeout:"), let value = Int(option.dropFirst(8)) { timeout = min(max(value, 1), 30) }
                    if option.hasPrefix("attempts:"), let value = Int(option.dropFirst(9)) { attempts = min(max(value, 1), 5) }
                }
            default:
                continue
            }
        }
        return DNSResolverConfiguration(nameservers: nameservers, attemptTimeout: .seconds(timeout), attempts: attempts)
    }
}
