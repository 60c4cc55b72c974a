import MailCore

// A public window on the SPF parsers for tools that check records without evaluating
// them: the fuzz target, and diagnostics. Evaluation uses the same parsers.

public enum SPFSyntax {
    /// Parses `record` as check_host() would; returns how many directives and modifiers
    /// it holds, or the syntax error (a permerror when evaluated).
    public static func check(record: String) throws(SPFSyntaxError) -> (directives: Int, modifiers: Int) {
        let parsed = try SPFRecord(parsing: record)
        let modifiers = (parsed.redirect == nil ? 0 : 1) + (parsed.explanation == nil ? 0 : 1) + parsed.otherModifiers.count
        for directive in parsed.directives {
            switch directive.mechanism {
            case .a(_, let v4, let v6), .mx(_, let v4, let v6):
                precondition((0...32).contains(v4) && (0...128).contains(v6), "prefix out of range")
            case .ip4(let bytes, let prefix):
                precondition(bytes.count == 4 && (0...32).contains(prefix), "bad ip4 term")
            case .ip6(let bytes, let prefix):
                precondition(bytes.count == 16 && (0...128).contains(prefix), "bad ip6 term")
            default:
                break
            }
        }
        return (parsed.directives.count, modifiers)
    }

    /// Expands `macroString` (a domain-spec or, with `explanation`, an explain-string)
    /// with fixed example values: sender strong-bad@email.example.com, client `ip`,
    /// HELO mx.example.org, %{p} "unknown".
    public static func expand(_ macroString: String, explanation: Bool = false, ip: String = "192.0.2.3") throws(SPFSyntaxError) -> String {
        let parsed = try SPFMacroString(parsing: Substring(macroString), explanation: explanation)
        let client = IPAddress(ip) ?? IPAddress("192.0.2.3")!
        let values = SPFMacroValues(sender: "strong-bad@email.example.com", localPart: "strong-bad",
                                    senderDomain: "email.example.com", domain: "email.example.com",
                                    client: SPFChecker.text(of: client), helo: "mx.example.org",
                                    receivingHost: "mx.example.net", timestamp: 1_000_000_000)
        return parsed.expand(values)
    }

    /// The most bytes one expansion produces.
    public static var maxExpansion: Int { SPFMacroString.maxExpansion }
}
