// The leaves of a message's MIME tree as a policy sees them (Lua's tx:parts() and
// tx:part_text()): each text or attachment part in order, with its type, disposition,
// file name, size, charset and depth, and its content with the transfer encoding
// undone and the charset converted. Encapsulated messages (message/rfc822) are walked
// into: an attachment inside a forwarded mail is still an attachment. Bounded: at most
// `maxParts` parts `maxDepth` levels deep (`complete` says whether that cut anything),
// and decoding reads at most the raw bytes its caller allows.

public struct MIMELeaf: Sendable, Equatable {
    /// 1-based position among the leaves.
    public var index: Int
    /// Lower-cased "type/subtype" after defaults ("text/plain").
    public var type: String
    /// Lower-cased Content-Disposition value ("attachment", "inline"), nil when absent.
    public var disposition: String?
    /// Content-Disposition filename, else Content-Type name, decoded (RFC 2231, RFC 2047).
    public var filename: String?
    /// Bytes of the part's body as transmitted (before transfer decoding).
    public var size: Int
    /// The charset parameter, lower-cased.
    public var charset: String?
    /// Lower-cased Content-Transfer-Encoding; nil when absent (7bit).
    public var encoding: String?
    /// 0 for a single-part message; one more per enclosing multipart or message.
    public var depth: Int
    /// The part itself (byte ranges into the message).
    public var part: MessagePart
}

public struct MIMEWalk: Sendable {
    public let leaves: [MIMELeaf]
    /// False when the part or depth bound left something out.
    public let complete: Bool

    public static let defaultMaxParts = 256
    public static let defaultMaxDepth = 16

    public init(_ bytes: [UInt8], maxParts: Int = defaultMaxParts, maxDepth: Int = defaultMaxDepth) {
        let (root, complete) = MessagePart.parse(bytes, maxDepth: maxDepth, maxParts: maxParts)
        var leaves: [MIMELeaf] = []
        var cut = !complete
        Self.collect(root, depth: 0, bytes: bytes, into: &leaves, cut: &cut)
        self.leaves = leaves
        self.complete = !cut
    }

    private static func collect(_ part: MessagePart, depth: Int, bytes: [UInt8], into leaves: inout [MIMELeaf],
                                cut: inout Bool) {
        switch part.kind {
        case .multipart, .message:
            for child in part.children { collect(child, depth: depth + 1, bytes: bytes, into: &leaves, cut: &cut) }
        case .leaf:
            // A multipart or message kept as an opaque leaf: the depth bound was hit.
            if part.type == "application", part.contentType == nil,
               let declared = part.headerValue("Content-Type", bytes).flatMap({ MIMEParameters.parse($0).value })?.lowercased(),
               declared.hasPrefix("multipart/") || declared == "message/rfc822" || declared == "message/global" {
                cut = true
            }
            let disposition = part.headerValue("Content-Disposition", bytes).map(MIMEParameters.parse)
            let filename = disposition.flatMap { decodedParameter("filename", $0.parameters) }
                ?? part.contentType.flatMap { decodedParameter("name", $0.parameters) }
            leaves.append(MIMELeaf(
                index: leaves.count + 1, type: part.type + "/" + part.subtype,
                disposition: disposition?.value?.lowercased(), filename: filename, size: part.bodyRange.count,
                charset: part.contentType?.parameters.first { $0.name.caseInsensitiveEquals("charset") }?.value.lowercased(),
                encoding: part.transferEncoding(in: bytes), depth: depth, part: part))
        }
    }

    /// `name` or its RFC 2231 extended form `name*` ("charset'lang'%XX…"), with RFC 2047
    /// encoded-words decoded (mail programs still write those in file names).
    static func decodedParameter(_ name: String, _ parameters: [MIMEParameter]) -> String? {
        if let extended = parameters.first(where: { $0.name.caseInsensitiveEquals(name + "*") }) {
            let pieces = extended.value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
            if pieces.count == 3 {
                let raw = percentDecoded(pieces[2])
                let charset = Charset(named: String(pieces[0]))
                return charset.map { $0.decode(raw) } ?? Charset.lenient(raw)
            }
            return extended.value
        }
        return parameters.first { $0.name.caseInsensitiveEquals(name) }.map { EncodedWords.decode($0.value) }
    }

    static func percentDecoded(_ text: Substring) -> [UInt8] {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var index = 0
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while index < bytes.count {
            if bytes[index] == 37, index + 2 < bytes.count, let high = hex(bytes[index + 1]), let low = hex(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return out
    }
}

extension MessagePart {
    /// Lower-cased Content-Transfer-Encoding, nil when absent.
    public func transferEncoding(in bytes: [UInt8]) -> String? {
        headerValue("Content-Transfer-Encoding", bytes).flatMap { MIMEParameters.parse($0).value }?.lowercased()
    }

    /// The body with base64 or quoted-printable undone (other encodings as written),
    /// from at most `rawLimit` bytes of it: decoding never grows the data, so cutting
    /// first bounds the work.
    public func decodedBody(in bytes: [UInt8], rawLimit: Int = .max) -> [UInt8] {
        let raw = bytes[bodyRange].prefix(max(rawLimit, 0))
        switch transferEncoding(in: bytes) {
        case "base64": return TransferDecoding.base64(Array(raw))
        case "quoted-printable": return TransferDecoding.quotedPrintable(Array(raw))
        default: return Array(raw)
        }
    }

    /// The content as Unicode: transfer encoding undone, charset converted (unknown
    /// charsets: the bytes read leniently).
    public func decodedText(in bytes: [UInt8], rawLimit: Int = .max) -> String {
        let content = decodedBody(in: bytes, rawLimit: rawLimit)
        let charsetName = contentType?.parameters.first { $0.name.caseInsensitiveEquals("charset") }?.value
        guard let charset = charsetName.flatMap(Charset.init(named:)) else { return Charset.lenient(content) }
        return charset.decode(content)
    }
}
