// A stored message's structure for FETCH: ENVELOPE, BODYSTRUCTURE/BODY, and the
// bytes of BODY[section]<partial> and BINARY[part] (RFC 3501 §6.4.5, RFC 3516).
// Parse once per message (`MessageStructure(bytes)`), then answer any number of
// FETCH items from it. Pure: bytes in, values out.
import MailCore

public struct MessageStructure: Sendable {
    public let bytes: [UInt8]
    public let root: MessagePart

    public init(_ bytes: [UInt8], limits: Limits = Limits()) {
        self.bytes = bytes
        self.root = MessagePart.parse(bytes, limits: limits)
    }

    public var envelope: Envelope { Envelope(header: root.header, bytes: bytes) }

    /// BODYSTRUCTURE (with extension data) and BODY (without) share this value; the
    /// encoder leaves the extension data out for BODY.
    public var bodyStructure: BodyStructure { body(of: root) }

    // MARK: - BODYSTRUCTURE

    func body(of part: MessagePart) -> BodyStructure {
        let language = part.headerValue("Content-Language", bytes).map(MIMEParameters.list).flatMap { $0.isEmpty ? nil : $0 }
        let location = part.headerValue("Content-Location", bytes)
        var disposition: BodyDisposition?
        if let raw = part.headerValue("Content-Disposition", bytes) {
            let parsed = MIMEParameters.parse(raw)
            if let type = parsed.value { disposition = BodyDisposition(type: type, parameters: parsed.parameters) }
        }
        let ext = BodyExtension(disposition: disposition, language: language, location: location)
        switch part.kind {
        case .multipart:
            return .multipart(MultipartBody(parts: part.children.map(body(of:)), subtype: originalSubtype(part),
                                            parameters: part.contentType?.parameters ?? [], extension_: ext))
        case .leaf, .message:
            var parameters = part.contentType?.parameters ?? []
            // RFC 2045 §5.2 default, shown as Dovecot does for any text/* without a charset.
            if part.type == "text" && !parameters.contains(where: { $0.name.caseInsensitiveEquals("charset") }) {
                parameters.insert(BodyParameter("charset", "us-ascii"), at: 0)
            }
            let size = part.bodyRange.count
            let kind: SinglePartBody.Kind
            if part.kind == .message, let inner = part.children.first {
                kind = .message(envelope: Envelope(header: inner.header, bytes: bytes), body: body(of: inner),
                                lines: lineCount(part.bodyRange))
            } else if part.type == "text" {
                kind = .text(lines: lineCount(part.bodyRange))
            } else {
                kind = .basic
            }
            let encoding = part.headerValue("Content-Transfer-Encoding", bytes)
                .flatMap { MIMEParameters.parse($0).value } ?? "7bit"
            return .single(SinglePartBody(type: originalType(part), subtype: originalSubtype(part), parameters: parameters,
                                          id: part.headerValue("Content-ID", bytes),
                                          description: part.headerValue("Content-Description", bytes),
                                          encoding: encoding, size: size, kind: kind, md5: nil, extension_: ext))
        }
    }

    /// The type as the message wrote it (Dovecot keeps the case), or the default.
    func originalType(_ part: MessagePart) -> String {
        guard let value = part.contentType?.value, let slash = value.firstIndex(of: "/") else { return part.type }
        return String(value[..<slash])
    }

    func originalSubtype(_ part: MessagePart) -> String {
        guard let value = part.contentType?.value, let slash = value.firstIndex(of: "/") else { return part.subtype }
        return String(value[value.index(after: slash)...])
    }

    /// Lines in a body: its line breaks (a last line without one is not counted, as in
    /// Dovecot; a multipart's part ends before the CRLF that precedes the delimiter).
    func lineCount(_ range: Range<Int>) -> Int {
        var lines = 0
        for index in range where bytes[index] == 10 { lines += 1 }
        return lines
    }

    // MARK: - sections

    /// The part numbered `numbers` (RFC 3501 §6.4.5): a multipart's children count from
    /// 1; a message/rfc822 part's numbers continue into its message's body; a
    /// non-multipart message body is part 1. nil if there is no such part.
    public func part(_ numbers: [Int]) -> MessagePart? {
        var current = root
        for (step, number) in numbers.enumerated() {
            var container = current
            if step > 0 && current.kind == .message, let inner = current.children.first { container = inner }
            if container.kind == .multipart {
                guard number >= 1 && number <= container.children.count else { return nil }
                current = container.children[number - 1]
            } else {
                // The body of a non-multipart message is its part 1.
                guard number == 1, step == 0 || current.kind == .message else { return nil }
                current = container
            }
        }
        return current
    }

    /// The bytes of BODY[spec]<partial>; nil when the part does not exist or the
    /// specifier does not apply (HEADER/TEXT of a part that is not message/rfc822).
    public func section(_ spec: SectionSpec, partial: Partial? = nil) -> [UInt8]? {
        guard let data = sectionBytes(spec) else { return nil }
        return Self.apply(partial, to: data)
    }

    func sectionBytes(_ spec: SectionSpec) -> [UInt8]? {
        guard let target = part(spec.part) else { return nil }
        // The message whose header/text is meant: the root, or the encapsulated one.
        var message: MessagePart? = spec.part.isEmpty ? root : nil
        if !spec.part.isEmpty, target.kind == .message { message = target.children.first }
        switch spec.text {
        case nil:
            if spec.part.isEmpty { return bytes }
            return Array(bytes[target.bodyRange])
        case .mime:
            return headerBytes(target.headerRange)
        case .header:
            guard let message else { return nil }
            return headerBytes(message.headerRange)
        case .text:
            guard let message else { return nil }
            return Array(bytes[message.bodyRange])
        case .headerFields(let names), .headerFieldsNot(let names):
            guard let message else { return nil }
            var keep = false
            if case .headerFields = spec.text { keep = true }
            var out: [UInt8] = []
            for field in message.header.fields
            where names.contains(where: { $0.caseInsensitiveEquals(field.name) }) == keep {
                out.append(contentsOf: bytes[field.range])
                if out.last != 10 { out.append(contentsOf: [13, 10]) }
            }
            out.append(contentsOf: [13, 10])
            return out
        }
    }

    /// A header section as stored, ending with its empty line (added if the stored one
    /// had none, as at the end of a body-less message).
    func headerBytes(_ range: Range<Int>) -> [UInt8] {
        var out = Array(bytes[range])
        if out.isEmpty { return [13, 10] }
        if out.last != 10 { out.append(contentsOf: [13, 10]) }
        let endsWithEmptyLine = out.count >= 2 && (out.suffix(2) == [10, 10] || (out.count >= 4 && out.suffix(4) == [13, 10, 13, 10])
                                                   || (out.count == 2 && out == [13, 10]))
        if !endsWithEmptyLine { out.append(contentsOf: [13, 10]) }
        return out
    }

    /// `<offset.length>`: the bytes from offset, at most length; empty past the end.
    public static func apply(_ partial: Partial?, to data: [UInt8]) -> [UInt8] {
        guard let partial else { return data }
        guard partial.offset < data.count else { return [] }
        let end = partial.offset + min(partial.length, data.count - partial.offset)
        return Array(data[partial.offset..<end])
    }

    // MARK: - BINARY

    public enum BinaryContent: Sendable, Equatable {
        case data([UInt8])
        case noSuchPart
        /// The part's Content-Transfer-Encoding is not one we can decode: NO [UNKNOWN-CTE].
        case unknownEncoding
    }

    /// The decoded content of `part` (RFC 3516): BINARY[] is the whole message as stored.
    public func binary(part numbers: [Int], partial: Partial? = nil) -> BinaryContent {
        if numbers.isEmpty { return .data(Self.apply(partial, to: bytes)) }
        guard let target = part(numbers), target.kind != .multipart else { return .noSuchPart }
        let body = Array(bytes[target.bodyRange])
        let encoding = (target.headerValue("Content-Transfer-Encoding", bytes)
            .flatMap { MIMEParameters.parse($0).value } ?? "7bit").lowercased()
        switch encoding {
        case "7bit", "8bit", "binary": return .data(Self.apply(partial, to: body))
        case "base64": return .data(Self.apply(partial, to: TransferDecoding.base64(body)))
        case "quoted-printable": return .data(Self.apply(partial, to: TransferDecoding.quotedPrintable(body)))
        default: return .unknownEncoding
        }
    }
}
