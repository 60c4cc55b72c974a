// The text of one message as SEARCH sees it (RFC 9051 §6.4.4), folded for
// `SearchNeedle`:
// - header fields: unfolded (tabs as spaces), RFC 2047 encoded-words decoded;
// - body: every text/* part with its Content-Transfer-Encoding (base64, quoted-
//   printable) undone and its charset converted to UTF-8; a message/rfc822 part
//   contributes its header and its body's text, recursively. Other parts
//   (attachments, images) are not searched, nor MIME part headers or preambles.
// Bounded: at most `budget` decoded body bytes are searched per message (the stored size:
// transfer decoding only shrinks text, so real text is cut only by charset growth, and
// a message can never cost more than a few passes over its own bytes). Computed
// lazily, at most once per message, and shared by all keys of a search.
import MailCore

final class SearchableText {
    let message: MessageStructure
    private(set) var budget: Int

    init(_ message: MessageStructure) {
        self.message = message
        self.budget = message.bytes.count
    }

    struct Field {
        let name: String
        /// The folded, decoded value.
        let value: [UInt8]
        /// The unfolded value as stored (not RFC 2047-decoded), for address parsing.
        let raw: String
    }

    /// The top-level header's fields, in message order.
    /// Not charged to the budget (so results never depend on the order keys run in):
    /// decoding makes a header no bigger than as stored, bar 8-bit bytes read as Latin-1.
    private(set) lazy var headerFields: [Field] = fields(of: message.root, charged: false)

    /// The header as one text ("Name: value" lines) for TEXT.
    private(set) lazy var headerText: [UInt8] = Self.joined(headerFields)

    /// The body's texts for BODY and TEXT: one folded chunk per text part, in order (a
    /// needle never spans parts).
    private(set) lazy var bodyTexts: [[UInt8]] = {
        var out: [[UInt8]] = []
        collectBody(of: message.root, into: &out)
        return out
    }()

    /// Whether a field named `name` (case-insensitive) contains `needle`; an empty
    /// needle matches any message that has the field.
    func header(_ name: String, contains needle: SearchNeedle) -> Bool {
        headerFields.contains { $0.name.caseInsensitiveEquals(name) && needle.occurs(in: $0.value) }
    }

    /// FROM/TO/CC/BCC (RFC 3501 §6.4.4): whether a field named `name` contains `needle`
    /// as written, or in its addresses as parsed and written canonically ("Name
    /// <local@domain>", group names): so "user@domain" finds `<user (x)@ (y) domain>` and
    /// `user@domain (Real Name)`, and the name finds a comment used as one, as Dovecot does.
    func address(_ name: String, contains needle: SearchNeedle) -> Bool {
        headerFields.contains { field in
            guard field.name.caseInsensitiveEquals(name) else { return false }
            return needle.occurs(in: field.value) || needle.occurs(in: Self.canonicalAddresses(field.raw))
        }
    }

    /// The address list of a header value written one address per line, folded for search.
    static func canonicalAddresses(_ raw: String) -> [UInt8] {
        var lines: [String] = []
        for address in AddressListParser.parse(raw) {
            if address.host == nil {
                // A group's start carries its name as the mailbox; its end carries nothing.
                if let group = address.mailbox { lines.append(EncodedWords.decode(group) + ":") }
                continue
            }
            var spec = (address.mailbox ?? "") + "@" + (address.host ?? "")
            if let route = address.adl { spec = route + ":" + spec }
            if let name = address.name, !name.isEmpty {
                lines.append(EncodedWords.decode(name) + " <" + spec + ">")
            } else {
                lines.append(spec)
            }
        }
        return SearchNeedle.fold(lines.joined(separator: "\n"))
    }

    func body(contains needle: SearchNeedle) -> Bool { bodyTexts.contains { needle.occurs(in: $0) } }

    func text(contains needle: SearchNeedle) -> Bool { needle.occurs(in: headerText) || body(contains: needle) }

    // MARK: - decoding

    private func fields(of part: MessagePart, charged: Bool) -> [Field] {
        part.header.fields.map { field in
            let unfolded = MIMEHeader.unfolded(message.bytes, field.valueRange)
            let decoded = Self.tabsAsSpaces(EncodedWords.decode(unfolded))
            return Field(name: field.name, value: SearchNeedle.fold(charged ? spend(decoded) : decoded), raw: unfolded)
        }
    }

    private func collectBody(of part: MessagePart, into out: inout [[UInt8]]) {
        guard budget > 0 else { return }
        switch part.kind {
        case .multipart:
            for child in part.children { collectBody(of: child, into: &out) }
        case .message:
            guard let inner = part.children.first else { return }
            out.append(Self.joined(fields(of: inner, charged: true)))
            collectBody(of: inner, into: &out)
        case .leaf:
            guard part.type == "text" else { return }
            out.append(SearchNeedle.fold(spend(decodedText(of: part))))
        }
    }

    /// A text part's content as Unicode: transfer encoding undone, charset converted
    /// (unknown charsets and encodings: the bytes as written, read leniently).
    private func decodedText(of part: MessagePart) -> String {
        part.decodedText(in: message.bytes, rawLimit: budget)
    }

    /// Takes `text` out of the budget, cut to what is left of it.
    private func spend(_ text: String) -> String {
        let size = text.utf8.count
        guard size > budget else { budget -= size; return text }
        let cut = String(decoding: text.utf8.prefix(budget), as: UTF8.self)
        budget = 0
        return cut
    }

    static func tabsAsSpaces(_ text: String) -> String {
        guard text.utf8.contains(9) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\t" ? " " : $0 }))
    }

    /// Fields as "name: value" lines (the value already folded).
    static func joined(_ fields: [Field]) -> [UInt8] {
        var out: [UInt8] = []
        for field in fields {
            out += SearchNeedle.fold(field.name)
            out += [58, 32]
            out += field.value
            out.append(10)
        }
        return out
    }
}
