// Every text a user sees about remote delivery, in one place, worded the way users of
// the qmail-based service know them. Transcripts follow sendmail's form, flattened to
// one line: "... while talking to mx.example.net.: >>> RCPT To:<x> <<< 550 …".

public enum DeliveryTexts {
    public static let noConnection = "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)"
    public static let tooLongInQueue = "I'm not going to try again; this message has been in the queue too long."
    public static let temporaryDNS = "Sorry, I couldn't find any host by that name. (#4.1.2)"

    public static func noSuchHost(_ domain: String) -> String {
        "Sorry, I couldn't find any host named \(domain). (#5.1.2)"
    }

    /// A name no DNS lookup can find: says what is wrong with it.
    public static func invalidHost(_ domain: String, problem: String) -> String {
        "Sorry, I couldn't find any host named \"\(visible(domain))\". (#5.1.2) The domain \(problem)."
    }

    public static func nullMX(_ domain: String) -> String {
        "Sorry, \(domain) does not accept mail (it publishes a null MX). (#5.1.10)"
    }

    public static func mxWithoutAddress(_ domain: String) -> String {
        "Sorry, none of the mail exchangers for \(domain) has an address. (#4.4.3)"
    }

    /// "mx.example.net." for a name, the address itself for an IP.
    public static func peer(_ name: String) -> String {
        if name.hasPrefix("[") || name.contains(":") { return name }
        if name.allSatisfy({ $0.isNumber || $0 == "." }) { return "[\(name)]" }
        return name.hasSuffix(".") ? name : name + "."
    }

    /// "<stage> Remote host said: ... while talking to H: >>> C <<< R".
    public static func transcript(stage: String, peer: String, command: String?, reply: ServerReply) -> String {
        var text = "\(stage) Remote host said: ... while talking to \(peer):"
        if let command { text += " >>> \(command)" }
        return text + " <<< \(reply.singleLine)"
    }

    static func connectionDied(_ peer: String) -> String { "Connected to \(peer) but connection died. (#4.4.2)" }
    static func timedOut(_ peer: String) -> String { "Connected to \(peer) but connection timed out. (#4.4.2)" }
    static func malformedReply(_ peer: String, _ detail: String) -> String {
        "Connected to \(peer) but it sent a malformed reply (\(detail)). (#4.5.0)"
    }
    static func tlsFailed(_ reason: String) -> String { "TLS not available: connect failed: \(reason)" }
    static func tlsNotOffered(_ peer: String) -> String {
        "Sorry, TLS is required for this route but \(peer) does not offer STARTTLS. (#4.7.10)"
    }
    static func authWithoutTLS(_ peer: String) -> String {
        "Sorry, I won't send a password to \(peer) without TLS. (#4.7.0)"
    }
    static func noAuthMechanism(_ peer: String) -> String {
        "Sorry, \(peer) offers no AUTH mechanism I can use (PLAIN, LOGIN). (#4.7.0)"
    }
    static func needsSMTPUTF8(_ peer: String) -> String {
        "Sorry, this message needs SMTPUTF8 and \(peer) does not support it. (#5.6.7)"
    }
    static func tooBig(_ peer: String, limit: Int) -> String {
        "Sorry, the message is larger than \(peer) accepts (\(limit) bytes). (#5.3.4)"
    }
    static func invalidAddress(_ address: String) -> String {
        "Sorry, the address <\(visible(address))> cannot be sent over SMTP. (#5.1.3)"
    }
    static func accepted(_ peer: String, _ reply: ServerReply) -> String {
        "\(peer) accepted message. Remote host said: \(reply.singleLine)"
    }

    /// Control characters and spaces made visible, so "example.com " shows its space.
    static func visible(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.flatMap { scalar -> [Unicode.Scalar] in
            if scalar.value < 32 || scalar.value == 127 {
                let hex = String(scalar.value, radix: 16)
                return Array("\\x\(hex.count == 1 ? "0" + hex : hex)".unicodeScalars)
            }
            return [scalar]
        }))
    }
}
