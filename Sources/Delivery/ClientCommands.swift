// Encoding of the commands the SMTP client sends (RFC 5321 §4.1, RFC 1870 SIZE,
// RFC 6152 8BITMIME, RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 4954 AUTH). MAIL and RCPT
// use sendmail's spelling ("MAIL From:", "RCPT To:") because bounce transcripts quote
// our commands and users know that form. Values that came from the queue are checked
// here so nothing with a space, CR or LF can reach the wire.
import Foundation

enum ClientCommand {
    static func line(_ text: String) -> [UInt8] { Array((text + "\r\n").utf8) }

    static func mailFrom(_ sender: String, parameters: [String]) -> String {
        (["MAIL From:<\(sender)>"] + parameters).joined(separator: " ")
    }

    static func rcptTo(_ recipient: String, parameters: [String]) -> String {
        (["RCPT To:<\(recipient)>"] + parameters).joined(separator: " ")
    }

    /// AUTH PLAIN initial response (RFC 4616): base64("\0user\0password").
    static func authPlain(user: String, password: String) -> String {
        "AUTH PLAIN " + Data(([0] + Array(user.utf8) + [0] + Array(password.utf8))).base64EncodedString()
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    /// True for an envelope address we can put between angle brackets as it is.
    static func isSafePath(_ address: String) -> Bool {
        address.utf8.count <= 512 && !address.unicodeScalars.contains {
            $0.value <= 32 || $0.value == 127 || $0 == "<" || $0 == ">"
        }
    }
}
