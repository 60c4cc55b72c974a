// Character classes of the IMAP grammar (RFC 3501 §9, RFC 9051 §9), shared by the
// framer, the parser and the encoder.

enum IMAPGrammar {
    /// ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * " \ ].
    static func isAtomChar(_ byte: UInt8) -> Bool {
        guard byte > 0x20 && byte < 0x7f else { return false }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"),
             UInt8(ascii: "*"), UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default: return true
        }
    }

    /// ASTRING-CHAR: ATOM-CHAR or "]".
    static func isAStringChar(_ byte: UInt8) -> Bool { isAtomChar(byte) || byte == UInt8(ascii: "]") }

    /// list-char: ATOM-CHAR, list-wildcards (% *) or resp-specials (]).
    static func isListChar(_ byte: UInt8) -> Bool {
        isAStringChar(byte) || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "*")
    }

    /// tag: 1*<any ASTRING-CHAR except "+">.
    static func isTagChar(_ byte: UInt8) -> Bool { isAStringChar(byte) && byte != UInt8(ascii: "+") }
}
