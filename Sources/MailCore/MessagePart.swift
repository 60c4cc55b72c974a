// The MIME tree of a stored message (RFC 2045/2046), as byte ranges into the
// message: each part's header and body, its content type, and its children (parts of
// a multipart, or the one encapsulated message of message/rfc822). Parsing is lenient
// (missing Content-Type, bad boundaries, a missing close delimiter) and bounded (depth
// and part count from Limits: deeper or further parts are kept as opaque leaves).
// Shared by IMAP (FETCH, SEARCH) and Policy (tx:parts, tx:part_text); MIMEWalk.swift
// lists the leaves and decodes their content.

public struct MessagePart: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case leaf
        /// `children` are the parts, in order.
        case multipart
        /// `children` holds the encapsulated message (message/rfc822, message/global).
        case message
    }

    /// The part's header section, including the empty line that ends it.
    public var headerRange: Range<Int>
    public var bodyRange: Range<Int>
    public var kind: Kind
    public var children: [MessagePart]
    /// Lower-cased media type and subtype after defaults (text/plain; message/rfc822 in a digest).
    public var type: String
    public var subtype: String
    /// As written in the header (nil: defaulted).
    public var contentType: MIMEValue?
    public var header: MIMEHeader

    /// Parses `bytes` as a whole message.
    public static func parse(_ bytes: [UInt8], limits: Limits = Limits()) -> MessagePart {
        parse(bytes, maxDepth: limits.maxIMAPNesting, maxParts: limits.maxIMAPItems).root
    }

    /// Parses `bytes` with at most `maxParts` parts `maxDepth` levels deep; `complete`
    /// is false when the part budget ran out (later parts were left out).
    public static func parse(_ bytes: [UInt8], maxDepth: Int, maxParts: Int) -> (root: MessagePart, complete: Bool) {
        var budget = maxParts
        let root = parse(bytes, range: 0..<bytes.count, parentSubtype: nil, depth: 0, maxDepth: maxDepth, budget: &budget)
        return (root, budget > 0)
    }

    static func parse(_ bytes: [UInt8], range: Range<Int>, parentSubtype: String?, depth: Int, maxDepth: Int,
                      budget: inout Int) -> MessagePart {
        budget -= 1
        let header = MIMEHeader(bytes, start: range.lowerBound, end: range.upperBound)
        let bodyRange = header.bodyStart..<range.upperBound
        var type = "text", subtype = "plain"
        var contentType: MIMEValue?
        if let raw = header.value("Content-Type", in: bytes) {
            let parsed = MIMEParameters.parse(raw)
            let pieces = parsed.value?.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false) ?? []
            if pieces.count == 2, !pieces[0].isEmpty, !pieces[1].isEmpty {
                type = pieces[0].lowercased(); subtype = pieces[1].lowercased()
                contentType = parsed
            }
            // RFC 2045 §5.2: an unparsable Content-Type means text/plain; charset=us-ascii.
        } else if parentSubtype == "digest" {
            type = "message"; subtype = "rfc822"   // RFC 2046 §5.1.5
        }
        var part = MessagePart(headerRange: header.range, bodyRange: bodyRange, kind: .leaf, children: [],
                               type: type, subtype: subtype, contentType: contentType, header: header)
        guard depth < maxDepth, budget > 0 else {
            if type == "multipart" || type == "message" {
                part.type = "application"; part.subtype = "octet-stream"; part.contentType = nil
            }
            return part
        }
        if type == "multipart" {
            let boundary = contentType?.parameters.first(where: { $0.name.caseInsensitiveEquals("boundary") })?.value ?? ""
            let ranges = boundary.isEmpty ? [] : splitMultipart(bytes, bodyRange, boundary: Array(boundary.utf8))
            // No boundary, or no delimiter in the body: IMAP needs at least one part, so
            // (as Dovecot does) the multipart gets one empty text/plain part.
            let parts = ranges.isEmpty ? [bodyRange.upperBound..<bodyRange.upperBound] : ranges
            part.kind = .multipart
            for childRange in parts where budget > 0 {
                part.children.append(parse(bytes, range: childRange, parentSubtype: subtype, depth: depth + 1,
                                           maxDepth: maxDepth, budget: &budget))
            }
        } else if type == "message" && (subtype == "rfc822" || subtype == "global") {
            part.kind = .message
            part.children = [parse(bytes, range: bodyRange, parentSubtype: nil, depth: depth + 1,
                                   maxDepth: maxDepth, budget: &budget)]
        }
        return part
    }

    /// The body ranges of a multipart's parts (RFC 2046 §5.1.1): each starts after a
    /// delimiter line and ends before the line break that precedes the next delimiter.
    /// Without a close delimiter the last part runs to the end; with no delimiter at
    /// all there are no parts.
    static func splitMultipart(_ bytes: [UInt8], _ body: Range<Int>, boundary: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var partStart: Int?
        var lineStart = body.lowerBound
        while lineStart < body.upperBound {
            var lineEnd = lineStart
            while lineEnd < body.upperBound && bytes[lineEnd] != 10 { lineEnd += 1 }
            let next = lineEnd < body.upperBound ? lineEnd + 1 : body.upperBound
            if let close = delimiter(bytes, lineStart, lineEnd, boundary) {
                if let start = partStart {
                    // The CRLF (or LF) before the delimiter belongs to the delimiter.
                    var end = lineStart
                    if end > start && bytes[end - 1] == 10 { end -= 1 }
                    if end > start && bytes[end - 1] == 13 { end -= 1 }
                    ranges.append(start..<max(start, end))
                }
                if close { return ranges }
                partStart = next
            }
            lineStart = next
        }
        if let start = partStart { ranges.append(start..<body.upperBound) }
        return ranges
    }

    /// nil if the line is not a delimiter for `boundary`; true for the close delimiter.
    static func delimiter(_ bytes: [UInt8], _ start: Int, _ end: Int, _ boundary: [UInt8]) -> Bool? {
        let length = 2 + boundary.count
        guard end - start >= length, bytes[start] == 45, bytes[start + 1] == 45 else { return nil }
        for i in 0..<boundary.count where bytes[start + 2 + i] != boundary[i] { return nil }
        var index = start + length
        // A close delimiter may be followed by anything (seen in the wild; nothing else
        // can be meant once "--boundary--" is complete).
        if index + 1 < end && bytes[index] == 45 && bytes[index + 1] == 45 { return true }
        // Transport padding (RFC 2046 §5.1.1), then the line end.
        while index < end && (bytes[index] == 32 || bytes[index] == 9 || bytes[index] == 13) { index += 1 }
        return index == end ? false : nil
    }

    /// The header field value (unfolded), for builders.
    public func headerValue(_ name: String, _ bytes: [UInt8]) -> String? { header.value(name, in: bytes) }

    public static func == (a: MessagePart, b: MessagePart) -> Bool {
        a.headerRange == b.headerRange && a.bodyRange == b.bodyRange && a.kind == b.kind && a.children == b.children
            && a.type == b.type && a.subtype == b.subtype
    }
}
