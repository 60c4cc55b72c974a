// DKIM signing (RFC 6376 §5): relaxed/relaxed, rsa-sha256 or ed25519-sha256, t= set,
// no l= and no x=. Signed fields: the names in `headers` that the message has, each
// as many times as it appears, and From once more than it appears ("oversigning": a
// From added later breaks the signature instead of being shown to the reader). A name
// ending in "*" (list-*) stands for every present field with that prefix.
// The field comes back folded at 78 columns, ready to be put on top of the message.
import Crypto
import Foundation

public struct DKIMSigner: Sendable {
    public static let defaultHeaders = [
        "from", "to", "cc", "subject", "date", "message-id", "reply-to", "in-reply-to", "references",
        "mime-version", "content-type", "content-transfer-encoding", "list-*",
    ]

    public enum SigningError: Error, Equatable, Sendable {
        case noFrom
        case invalidDomain(String)
        case invalidSelector(String)
    }

    public let domain: String
    public let selector: String
    public let key: DKIMKeyPair
    public let headers: [String]

    public init(domain: String, selector: String, key: DKIMKeyPair, headers: [String] = DKIMSigner.defaultHeaders) {
        self.domain = domain.lowercased()
        self.selector = selector.lowercased()
        self.key = key
        self.headers = headers.map { $0.lowercased() }
    }

    /// "DKIM-Signature: …\r\n", folded.
    public func signatureField(for message: AuthMessage, now: Double) throws -> String {
        let signed = signedHeaderNames(message)
        guard signed.contains("from") else { throw SigningError.noFrom }
        var folder = Folder(start: "DKIM-Signature:")
        folder.add("v=1;")
        return try field(folder: folder, signed: signed, message: message, now: now)
    }

    /// The rest of a DKIM-Signature or ARC-Message-Signature after its first tags: a, c,
    /// d, s, t, h, bh, then the signature over the headers and the field itself.
    func field(folder start: Folder, signed: [String], message: AuthMessage, now: Double) throws -> String {
        guard DKIMSignature.isDomainName(domain) else { throw SigningError.invalidDomain(domain) }
        guard DKIMSignature.isDomainName(selector) else { throw SigningError.invalidSelector(selector) }
        let bodyHash = message.bodyHash(.relaxed).digest
        var folder = start
        folder.add("a=\(key.algorithm.rawValue);")
        folder.add("c=relaxed/relaxed;")
        folder.add("d=\(domain);")
        folder.add("s=\(selector);")
        folder.add("t=\(Int(now));")
        var headerList = "h="
        for (position, name) in signed.enumerated() {
            let piece = name + (position == signed.count - 1 ? ";" : ":")
            if headerList.count + piece.count > 70 {
                folder.add(headerList)
                headerList = ""
                folder.glueNext = true
            }
            headerList += piece
        }
        folder.add(headerList)
        folder.add("bh=\(Data(bodyHash).base64EncodedString());")
        folder.add("b=")
        let unsigned = folder.text
        let digest = DKIMHeaderHash.digest(fields: message.headerFields, signedHeaders: signed, canonicalization: .relaxed,
                                           signatureField: Array(unsigned.utf8))
        return unsigned + Self.foldedSignature(try key.sign(digest: digest), after: folder) + "\r\n"
    }

    /// The b= value folded: the rest of the current line, then 72 characters a line.
    static func foldedSignature(_ signature: [UInt8], after folder: Folder) -> String {
        var text = ""
        var remaining = Substring(Data(signature).base64EncodedString())
        let firstRoom = max(8, 76 - folder.currentLineLength)
        text += remaining.prefix(firstRoom)
        remaining = remaining.dropFirst(firstRoom)
        while !remaining.isEmpty {
            text += "\r\n\t" + remaining.prefix(72)
            remaining = remaining.dropFirst(72)
        }
        return text
    }

    /// The h= list for `message`, lowercased.
    func signedHeaderNames(_ message: AuthMessage) -> [String] {
        var counts: [String: Int] = [:]
        var order: [String] = []
        for field in message.headerFields {
            if counts[field.lowercasedName] == nil { order.append(field.lowercasedName) }
            counts[field.lowercasedName, default: 0] += 1
        }
        var listed: Set<String> = []
        var result: [String] = []
        func list(_ name: String) {
            guard listed.insert(name).inserted else { return }
            let times = (counts[name] ?? 0) + (name == "from" ? 1 : 0)
            if name == "from" && counts[name] == nil { return }
            result += Array(repeating: name, count: times)
        }
        for pattern in headers {
            if pattern.hasSuffix("*") {
                let prefix = pattern.dropLast()
                for name in order where name.hasPrefix(prefix) && name != "dkim-signature" { list(name) }
            } else {
                list(pattern)
            }
        }
        return result
    }

    /// Tag-by-tag folding: a tag goes on the current line when it fits in 78 columns,
    /// else on a new line starting with a tab.
    struct Folder {
        var text: String
        var currentLineLength: Int
        var glueNext = false

        init(start: String) {
            text = start
            currentLineLength = start.count
        }

        mutating func add(_ piece: String) {
            if glueNext {
                // Continuation of a long h= list: always a new line.
                text += "\r\n\t" + piece
                currentLineLength = 8 + piece.count
                glueNext = false
            } else if currentLineLength + 1 + piece.count > 78 {
                text += "\r\n\t" + piece
                currentLineLength = 8 + piece.count
            } else {
                text += " " + piece
                currentLineLength += 1 + piece.count
            }
        }
    }
}
