// ENVELOPE from a header section (RFC 3501 §7.4.2): raw field values (unfolded, not
// RFC 2047-decoded), address lists parsed per RFC 5322 §3.4 including groups, route
// addresses and quoted local parts. Sender and Reply-To default to From. Lenient:
// junk yields MISSING_MAILBOX / MISSING_DOMAIN parts as Dovecot does.
import MailCore

extension Envelope {
    init(header: MIMEHeader, bytes: [UInt8]) {
        func value(_ name: String) -> String? { header.value(name, in: bytes) }
        func addresses(_ name: String) -> [EnvelopeAddress] {
            guard let raw = value(name) else { return [] }
            return AddressListParser.parse(raw)
        }
        let from = addresses("From")
        var sender = addresses("Sender")
        var replyTo = addresses("Reply-To")
        if sender.isEmpty { sender = from }
        if replyTo.isEmpty { replyTo = from }
        self.init(date: value("Date"), subject: value("Subject"), from: from, sender: sender, replyTo: replyTo,
                  to: addresses("To"), cc: addresses("Cc"), bcc: addresses("Bcc"),
                  inReplyTo: value("In-Reply-To"), messageID: value("Message-ID"))
    }
}

enum AddressListParser {
    static let maxAddresses = 1000

    enum Token: Equatable {
        case atom(String)
        case quoted(String)
        case comment(String)
        case special(Character)   // < > @ , ; : .
        case domainLiteral(String)
    }

    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        let chars = Array(text.unicodeScalars)
        var i = 0
        while i < chars.count && tokens.count < 20_000 {
            let c = chars[i]
            switch c {
            case " ", "\t", "\r", "\n": i += 1
            case "\"":
                var out = String.UnicodeScalarView()
                i += 1
                while i < chars.count && chars[i] != "\"" {
                    if chars[i] == "\\" && i + 1 < chars.count { i += 1 }
                    out.append(chars[i]); i += 1
                }
                i += 1
                tokens.append(.quoted(String(out)))
            case "(":
                var depth = 0
                var out = String.UnicodeScalarView()
                while i < chars.count {
                    let d = chars[i]
                    if d == "\\" && i + 1 < chars.count { out.append(chars[i + 1]); i += 2; continue }
                    if d == "(" { depth += 1; if depth > 1 { out.append(d) } }
                    else if d == ")" { depth -= 1; if depth == 0 { i += 1; break }; out.append(d) }
                    else { out.append(d) }
                    i += 1
                }
                tokens.append(.comment(String(out)))
            case "[":
                var out = String.UnicodeScalarView(["["])
                i += 1
                while i < chars.count && chars[i] != "]" { out.append(chars[i]); i += 1 }
                i += 1
                out.append("]")
                tokens.append(.domainLiteral(String(out)))
            case "<", ">", "@", ",", ";", ":", ".":
                tokens.append(.special(Character(c))); i += 1
            default:
                var out = String.UnicodeScalarView()
                while i < chars.count {
                    let d = chars[i]
                    if " \t\r\n\"()<>@,;:.[]".unicodeScalars.contains(d) { break }
                    out.append(d); i += 1
                }
                // A stray ")" "]" is a one-character atom (and always moves us on).
                if out.isEmpty { out.append(chars[i]); i += 1 }
                tokens.append(.atom(String(out)))
            }
        }
        return tokens
    }

    static func parse(_ text: String) -> [EnvelopeAddress] {
        let tokens = tokenize(text)
        var result: [EnvelopeAddress] = []
        var index = 0
        var inGroup = false
        while index < tokens.count && result.count < maxAddresses {
            // Collect one mailbox (or a group start) up to "," ";" or the end.
            var phrase: [Token] = []
            var addressTokens: [Token] = []
            var angle = false
            var groupStart = false
            var closesGroup = false
            var comment: String?
            scan: while index < tokens.count {
                let token = tokens[index]
                index += 1
                switch token {
                case .special(","): break scan
                case .special(";"):
                    closesGroup = inGroup
                    break scan
                case .special(":") where !angle && !inGroup:
                    groupStart = true
                    break scan
                case .special("<"):
                    angle = true
                    // Route (obs-route "@a,@b:") and addr-spec up to ">".
                    var inner: [Token] = []
                    while index < tokens.count && tokens[index] != .special(">") {
                        inner.append(tokens[index]); index += 1
                    }
                    index += 1
                    addressTokens = inner
                case .comment(let text):
                    comment = text
                default:
                    if angle { continue } // text after ">" (lenient): ignore
                    phrase.append(token)
                }
            }
            if groupStart {
                result.append(.groupStart(words(phrase)))
                inGroup = true
                continue
            }
            if angle {
                let (route, local, domain) = addrSpec(addressTokens, allowRoute: true)
                let name = phrase.isEmpty ? nil : words(phrase)
                if local != nil || !phrase.isEmpty || domain != nil {
                    result.append(EnvelopeAddress(name: name.flatMap { $0.isEmpty ? nil : $0 }, adl: route,
                                                  mailbox: local ?? "MISSING_MAILBOX", host: domain ?? "MISSING_DOMAIN"))
                }
            } else if !phrase.isEmpty {
                let (_, local, domain) = addrSpec(phrase, allowRoute: false)
                result.append(EnvelopeAddress(name: comment.flatMap { $0.isEmpty ? nil : $0 }, adl: nil,
                                              mailbox: local ?? "MISSING_MAILBOX", host: domain ?? "MISSING_DOMAIN"))
            }
            if closesGroup {
                result.append(.groupEnd)
                inGroup = false
            }
        }
        if inGroup && result.count < maxAddresses { result.append(.groupEnd) }
        return result
    }

    /// Display-name words joined by one space; quoted strings unquoted.
    static func words(_ tokens: [Token]) -> String {
        var out: [String] = []
        var glue = false
        for token in tokens {
            switch token {
            case .atom(let text), .quoted(let text), .domainLiteral(let text):
                if glue, let last = out.popLast() { out.append(last + text) } else { out.append(text) }
                glue = false
            case .special(let c):
                // "A. B. Smith" (obs-phrase): the dot ends the word before it.
                if let last = out.popLast() { out.append(last + String(c)) } else { out.append(String(c)) }
                glue = false
            case .comment: break
            }
        }
        return out.joined(separator: " ")
    }

    /// [route ":"] local-part ["@" domain]: (route, local, domain).
    static func addrSpec(_ tokens: [Token], allowRoute: Bool) -> (String?, String?, String?) {
        var tokens = tokens.filter { if case .comment = $0 { return false }; return true }
        var route: String?
        if allowRoute, tokens.first == .special("@"), let colon = tokens.firstIndex(of: .special(":")) {
            route = tokens[..<colon].map(text).joined()
            tokens.removeSubrange(...colon)
        }
        let at = tokens.lastIndex(of: .special("@"))
        let localTokens = at.map { Array(tokens[..<$0]) } ?? tokens
        let domainTokens = at.map { Array(tokens[($0 + 1)...]) } ?? []
        let local = localTokens.map(text).joined()
        let domain = domainTokens.map(text).joined()
        return (route, local.isEmpty ? nil : local, domain.isEmpty ? nil : domain)
    }

    static func text(_ token: Token) -> String {
        switch token {
        case .atom(let t), .domainLiteral(let t): return t
        case .quoted(let t):
            // Keep a quoted local part quoted when it needs to be.
            let plain = !t.isEmpty && t.unicodeScalars.allSatisfy { !" \t\"(),:;<>@[\\]".unicodeScalars.contains($0) }
            return plain ? t : "\"" + t.replacingAll("\\", "\\\\").replacingAll("\"", "\\\"") + "\""
        case .special(let c): return String(c)
        case .comment: return ""
        }
    }
}

extension String {
    func replacingAll(_ target: Character, _ replacement: String) -> String {
        var out = ""
        for c in self { if c == target { out += replacement } else { out.append(c) } }
        return out
    }
}
