// Response encoder: IMAPResponse values in, wire bytes out (RFC 3501 §7, RFC 9051 §7).
// Strings are sent as quoted strings when that is exact (no CR/LF/NUL, 7-bit unless
// UTF8=ACCEPT is enabled, not too long) and as literals otherwise; message data is
// always a literal (literal8 `~{n}` for BINARY content holding NUL). Mailbox names
// are modified UTF-7 unless UTF8=ACCEPT.
import MailCore

public struct IMAPEncoder: Sendable {
    /// UTF8=ACCEPT is enabled (RFC 6855): 8-bit UTF-8 may be quoted, mailbox names raw.
    public var utf8Accept: Bool
    /// Longest string sent quoted; longer ones become literals.
    public var maxQuoted: Int = 1024

    public init(utf8Accept: Bool = false) { self.utf8Accept = utf8Accept }

    public func encode(_ response: IMAPResponse) -> [UInt8] {
        var out: [UInt8] = []
        encode(response, into: &out)
        return out
    }

    public func encode(_ response: IMAPResponse, into out: inout [UInt8]) {
        switch response {
        case .tagged(let tag, let status, let code, let text):
            out.append(contentsOf: tag.utf8); out.append(32)
            out.append(contentsOf: status.rawValue.utf8)
            statusTail(code, text, &out)
        case .untagged(let status, let code, let text):
            out.append(contentsOf: "* ".utf8)
            out.append(contentsOf: status.rawValue.utf8)
            statusTail(code, text, &out)
        case .continuation(let text):
            out.append(contentsOf: "+ ".utf8)
            out.append(contentsOf: Self.safeText(text).utf8)
        case .data(let data):
            out.append(contentsOf: "* ".utf8)
            untagged(data, &out)
        }
        out.append(contentsOf: [13, 10])
    }

    /// Response text may not hold CR/LF (it would end the response) nor start with "[".
    static func safeText(_ text: String) -> String {
        guard text.utf8.contains(where: { $0 == 13 || $0 == 10 || $0 == 0 }) else { return text }
        return String(text.unicodeScalars.map { $0 == "\r" || $0 == "\n" || $0 == "\0" ? " " : Character($0) })
    }

    private func statusTail(_ code: IMAPResponseCode?, _ text: String, _ out: inout [UInt8]) {
        out.append(32)
        if let code {
            out.append(UInt8(ascii: "["))
            responseCode(code, &out)
            out.append(contentsOf: "] ".utf8)
        }
        var text = Self.safeText(text)
        if code == nil && text.hasPrefix("[") { text = " " + text }
        out.append(contentsOf: (text.isEmpty ? "done" : text).utf8)
    }

    func responseCode(_ code: IMAPResponseCode, _ out: inout [UInt8]) {
        func word(_ text: String) { out.append(contentsOf: text.utf8) }
        switch code {
        case .alert: word("ALERT")
        case .parse: word("PARSE")
        case .readOnly: word("READ-ONLY")
        case .readWrite: word("READ-WRITE")
        case .tryCreate: word("TRYCREATE")
        case .uidNotSticky: word("UIDNOTSTICKY")
        case .noModSeq: word("NOMODSEQ")
        case .closed: word("CLOSED")
        case .badCharset(let charsets):
            word("BADCHARSET")
            if !charsets.isEmpty {
                word(" (")
                for (i, charset) in charsets.enumerated() { if i > 0 { out.append(32) }; astring(charset, &out) }
                word(")")
            }
        case .capability(let caps): word("CAPABILITY " + caps.joined(separator: " "))
        case .permanentFlags(let flags): word("PERMANENTFLAGS (" + flags.joined(separator: " ") + ")")
        case .uidNext(let n): word("UIDNEXT \(n)")
        case .uidValidity(let n): word("UIDVALIDITY \(n)")
        case .unseen(let n): word("UNSEEN \(n)")
        case .highestModSeq(let n): word("HIGHESTMODSEQ \(n)")
        case .modified(let set): word("MODIFIED " + set.wire)
        case .appendUID(let validity, let uids): word("APPENDUID \(validity) " + uids.wire)
        case .copyUID(let validity, let source, let destination):
            word("COPYUID \(validity) \(source.wire) \(destination.wire)")
        case .alreadyExists: word("ALREADYEXISTS")
        case .nonExistent: word("NONEXISTENT")
        case .tooBig: word("TOOBIG")
        case .overQuota: word("OVERQUOTA")
        case .limit: word("LIMIT")
        case .unavailable: word("UNAVAILABLE")
        case .authenticationFailed: word("AUTHENTICATIONFAILED")
        case .authorizationFailed: word("AUTHORIZATIONFAILED")
        case .expired: word("EXPIRED")
        case .privacyRequired: word("PRIVACYREQUIRED")
        case .contactAdmin: word("CONTACTADMIN")
        case .noPerm: word("NOPERM")
        case .inUse: word("INUSE")
        case .expungeIssued: word("EXPUNGEISSUED")
        case .corruption: word("CORRUPTION")
        case .serverBug: word("SERVERBUG")
        case .clientBug: word("CLIENTBUG")
        case .cannot: word("CANNOT")
        case .hasChildren: word("HASCHILDREN")
        case .unknownCTE: word("UNKNOWN-CTE")
        case .other(let atom, let text):
            word(atom)
            if let text { word(" " + String(Self.safeText(text).map { $0 == "]" ? ")" : $0 })) }
        }
    }

    // MARK: - untagged data

    private func untagged(_ data: UntaggedData, _ out: inout [UInt8]) {
        func word(_ text: String) { out.append(contentsOf: text.utf8) }
        switch data {
        case .capability(let caps): word("CAPABILITY " + caps.joined(separator: " "))
        case .enabled(let caps): word("ENABLED" + caps.map { " " + $0 }.joined())
        case .flags(let flags): word("FLAGS (" + flags.joined(separator: " ") + ")")
        case .exists(let n): word("\(n) EXISTS")
        case .recent(let n): word("\(n) RECENT")
        case .expunge(let n): word("\(n) EXPUNGE")
        case .vanished(let earlier, let set): word("VANISHED " + (earlier ? "(EARLIER) " : "") + set.wire)
        case .list(let entry): word("LIST "); listEntry(entry, &out)
        case .lsub(let entry): word("LSUB "); listEntry(entry, &out)
        case .status(let name, let values):
            word("STATUS "); mailbox(name, &out)
            word(" (" + values.map { "\($0.item.rawValue) \($0.value)" }.joined(separator: " ") + ")")
        case .search(let numbers, let modSeq):
            word("SEARCH")
            for number in numbers { word(" \(number)") }
            if let modSeq { word(" (MODSEQ \(modSeq))") }
        case .esearch(let e):
            word("ESEARCH")
            if let tag = e.tag { word(" (TAG "); string(Array(tag.utf8), &out); word(")") }
            if e.uid { word(" UID") }
            if let min = e.min { word(" MIN \(min)") }
            if let max = e.max { word(" MAX \(max)") }
            if let all = e.all { word(" ALL " + all.wire) }
            if let count = e.count { word(" COUNT \(count)") }
            if let modSeq = e.modSeq { word(" MODSEQ \(modSeq)") }
        case .fetch(let number, let items):
            word("\(number) FETCH (")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(32) }
                fetchItem(item, &out)
            }
            word(")")
        case .namespace(let personal, let other, let shared):
            word("NAMESPACE ")
            for (i, kind) in [personal, other, shared].enumerated() {
                if i > 0 { out.append(32) }
                if kind.isEmpty { word("NIL"); continue }
                word("(")
                for entry in kind {
                    word("("); mailbox(entry.prefix, &out); out.append(32)
                    delimiter(entry.delimiter, &out); word(")")
                }
                word(")")
            }
        case .id(let fields):
            word("ID ")
            guard let fields else { word("NIL"); return }
            word("(")
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(32) }
                string(Array(field.key.utf8), &out); out.append(32)
                nstring(field.value.map { Array($0.utf8) }, &out)
            }
            word(")")
        case .quota(let root, let resources):
            word("QUOTA "); astring(root, &out)
            word(" (" + resources.map { "\($0.name) \($0.usage) \($0.limit)" }.joined(separator: " ") + ")")
        case .quotaRoot(let name, let roots):
            word("QUOTAROOT "); mailbox(name, &out)
            for root in roots { out.append(32); astring(root, &out) }
        }
    }

    private func listEntry(_ entry: ListEntry, _ out: inout [UInt8]) {
        out.append(contentsOf: ("(" + entry.attributes.joined(separator: " ") + ") ").utf8)
        delimiter(entry.delimiter, &out)
        out.append(32)
        mailbox(entry.name, &out)
        if !entry.childInfo.isEmpty {
            out.append(contentsOf: " (\"CHILDINFO\" (".utf8)
            for (i, info) in entry.childInfo.enumerated() {
                if i > 0 { out.append(32) }
                string(Array(info.utf8), &out)
            }
            out.append(contentsOf: "))".utf8)
        }
    }

    private func delimiter(_ char: Character?, _ out: inout [UInt8]) {
        guard let char else { out.append(contentsOf: "NIL".utf8); return }
        string(Array(String(char).utf8), &out)
    }

    // MARK: - FETCH items

    private func fetchItem(_ item: FetchResponseItem, _ out: inout [UInt8]) {
        func word(_ text: String) { out.append(contentsOf: text.utf8) }
        switch item {
        case .flags(let flags): word("FLAGS (" + flags.joined(separator: " ") + ")")
        case .internalDate(let epoch): word("INTERNALDATE \"" + IMAPDateTime(epochSeconds: epoch).wire + "\"")
        case .rfc822Size(let size): word("RFC822.SIZE \(size)")
        case .uid(let uid): word("UID \(uid)")
        case .modSeq(let modSeq): word("MODSEQ (\(modSeq))")
        case .envelope(let envelope): word("ENVELOPE "); self.envelope(envelope, &out)
        case .bodyStructure(let body): word("BODYSTRUCTURE "); bodyStructure(body, extensible: true, &out)
        case .body(let body): word("BODY "); bodyStructure(body, extensible: false, &out)
        case .bodySection(let section, let origin, let data):
            word("BODY[" + section.wire + "]")
            if let origin { word("<\(origin)>") }
            out.append(32); literalOrNil(data, binary: false, &out)
        case .binary(let part, let origin, let data):
            word("BINARY[" + part.map(String.init).joined(separator: ".") + "]")
            if let origin { word("<\(origin)>") }
            out.append(32); literalOrNil(data, binary: true, &out)
        case .binarySize(let part, let size):
            word("BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "] \(size)")
        case .rfc822(let data): word("RFC822 "); literalOrNil(data, binary: false, &out)
        case .rfc822Header(let data): word("RFC822.HEADER "); literalOrNil(data, binary: false, &out)
        case .rfc822Text(let data): word("RFC822.TEXT "); literalOrNil(data, binary: false, &out)
        }
    }

    func envelope(_ e: Envelope, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        nstring(e.date, &out); out.append(32)
        nstring(e.subject, &out); out.append(32)
        // RFC 3501 §7.4.2: sender and reply-to default to from (the builder fills them).
        for list in [e.from, e.sender, e.replyTo, e.to, e.cc, e.bcc] {
            addresses(list, &out); out.append(32)
        }
        nstring(e.inReplyTo, &out); out.append(32)
        nstring(e.messageID, &out)
        out.append(UInt8(ascii: ")"))
    }

    private func addresses(_ list: [EnvelopeAddress], _ out: inout [UInt8]) {
        guard !list.isEmpty else { out.append(contentsOf: "NIL".utf8); return }
        out.append(UInt8(ascii: "("))
        for address in list {
            out.append(UInt8(ascii: "("))
            nstring(address.name, &out); out.append(32)
            nstring(address.adl, &out); out.append(32)
            nstring(address.mailbox, &out); out.append(32)
            nstring(address.host, &out)
            out.append(UInt8(ascii: ")"))
        }
        out.append(UInt8(ascii: ")"))
    }

    func bodyStructure(_ body: BodyStructure, extensible: Bool, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        switch body {
        case .multipart(let multi):
            for part in multi.parts { bodyStructure(part, extensible: extensible, &out) }
            out.append(32)
            string(Array(multi.subtype.utf8), &out)
            if extensible {
                out.append(32); parameters(multi.parameters, &out)
                bodyExtension(multi.extension_, &out)
            }
        case .single(let part):
            string(Array(part.type.utf8), &out); out.append(32)
            string(Array(part.subtype.utf8), &out); out.append(32)
            parameters(part.parameters, &out); out.append(32)
            nstring(part.id, &out); out.append(32)
            nstring(part.description, &out); out.append(32)
            string(Array(part.encoding.utf8), &out)
            out.append(contentsOf: " \(part.size)".utf8)
            switch part.kind {
            case .basic: break
            case .text(let lines): out.append(contentsOf: " \(lines)".utf8)
            case .message(let envelope, let inner, let lines):
                out.append(32); self.envelope(envelope, &out)
                out.append(32); bodyStructure(inner, extensible: extensible, &out)
                out.append(contentsOf: " \(lines)".utf8)
            }
            if extensible {
                out.append(32); nstring(part.md5, &out)
                bodyExtension(part.extension_, &out)
            }
        }
        out.append(UInt8(ascii: ")"))
    }

    private func bodyExtension(_ ext: BodyExtension, _ out: inout [UInt8]) {
        out.append(32)
        if let disposition = ext.disposition {
            out.append(UInt8(ascii: "("))
            string(Array(disposition.type.utf8), &out); out.append(32)
            parameters(disposition.parameters, &out)
            out.append(UInt8(ascii: ")"))
        } else {
            out.append(contentsOf: "NIL".utf8)
        }
        out.append(32)
        switch ext.language {
        case nil: out.append(contentsOf: "NIL".utf8)
        case let tags?:
            // Always a list, as Dovecot sends it (a single string is valid too).
            out.append(UInt8(ascii: "("))
            for (i, tag) in tags.enumerated() { if i > 0 { out.append(32) }; string(Array(tag.utf8), &out) }
            out.append(UInt8(ascii: ")"))
        }
        out.append(32)
        nstring(ext.location, &out)
    }

    private func parameters(_ parameters: [BodyParameter], _ out: inout [UInt8]) {
        guard !parameters.isEmpty else { out.append(contentsOf: "NIL".utf8); return }
        out.append(UInt8(ascii: "("))
        for (i, parameter) in parameters.enumerated() {
            if i > 0 { out.append(32) }
            string(Array(parameter.name.utf8), &out); out.append(32)
            string(Array(parameter.value.utf8), &out)
        }
        out.append(UInt8(ascii: ")"))
    }

    // MARK: - strings

    /// A quoted string when exact, else a literal.
    public func string(_ bytes: [UInt8], _ out: inout [UInt8]) {
        if canQuote(bytes) {
            out.append(UInt8(ascii: "\""))
            for byte in bytes {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            literal(bytes, binary: false, &out)
        }
    }

    func canQuote(_ bytes: [UInt8]) -> Bool {
        guard bytes.count <= maxQuoted else { return false }
        var eightBit = false
        for byte in bytes {
            if byte == 0 || byte == 10 || byte == 13 { return false }
            if byte >= 0x80 { eightBit = true }
        }
        return !eightBit || (utf8Accept && String(validating: bytes, as: UTF8.self) != nil)
    }

    func nstring(_ text: String?, _ out: inout [UInt8]) {
        nstring(text.map { Array($0.utf8) }, &out)
    }

    func nstring(_ bytes: [UInt8]?, _ out: inout [UInt8]) {
        guard let bytes else { out.append(contentsOf: "NIL".utf8); return }
        string(bytes, &out)
    }

    /// An atom when it is one (and not NIL), else a string.
    func astring(_ text: String, _ out: inout [UInt8]) {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty && bytes.allSatisfy(IMAPGrammar.isAStringChar) && text.uppercased() != "NIL" {
            out.append(contentsOf: bytes)
        } else {
            string(bytes, &out)
        }
    }

    /// A mailbox name: modified UTF-7 unless UTF8=ACCEPT, always quoted (or a literal).
    public func mailbox(_ name: String, _ out: inout [UInt8]) {
        string(Array((utf8Accept ? name : ModifiedUTF7.encode(name)).utf8), &out)
    }

    func literal(_ bytes: [UInt8], binary: Bool, _ out: inout [UInt8]) {
        if binary && bytes.contains(0) { out.append(UInt8(ascii: "~")) }
        out.append(contentsOf: "{\(bytes.count)}\r\n".utf8)
        out.append(contentsOf: bytes)
    }

    private func literalOrNil(_ bytes: [UInt8]?, binary: Bool, _ out: inout [UInt8]) {
        guard let bytes else { out.append(contentsOf: "NIL".utf8); return }
        literal(bytes, binary: binary, &out)
    }
}
