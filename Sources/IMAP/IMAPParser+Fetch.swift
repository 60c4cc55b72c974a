// FETCH arguments (RFC 3501 §6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED):
// a sequence set, one attribute, a macro or a parenthesised list, and modifiers.

extension IMAPCursor {
    mutating func fetchArguments(uid: Bool) throws(IMAPError) -> IMAPCommand {
        try space()
        let set = try sequenceSet()
        try space()
        var attributes: [FetchAttribute]
        if keyword("ALL") { attributes = FetchAttribute.all }
        else if keyword("FAST") { attributes = FetchAttribute.fast }
        else if keyword("FULL") { attributes = FetchAttribute.full }
        else if skip("(") {
            attributes = []
            repeat {
                attributes.append(try fetchAttribute())
                try checkCount(attributes.count)
            } while skip(" ")
            try expect(")")
        } else {
            attributes = [try fetchAttribute()]
        }
        var modifiers = FetchModifiers()
        if skip(" ") {
            try expect("(")
            repeat {
                if keyword("CHANGEDSINCE") {
                    try space()
                    modifiers.changedSince = try modSequence()
                } else if keyword("VANISHED") {
                    modifiers.vanished = true
                } else {
                    throw fail("Unknown FETCH modifier\(found)")
                }
            } while skip(" ")
            try expect(")")
            if modifiers.vanished && (!uid || modifiers.changedSince == nil) {
                throw fail("VANISHED needs UID FETCH with CHANGEDSINCE")
            }
        }
        return .fetch(set, attributes, modifiers, uid: uid)
    }

    /// The attribute's name: letters, digits, "." and "-" up to "[", "<", SP or ")".
    mutating func fetchName() -> String {
        let start = index
        while let byte = peek(), IMAPGrammar.isAtomChar(byte), byte != UInt8(ascii: "["), byte != UInt8(ascii: "<") {
            index += 1
        }
        return String(decoding: bytes[start..<index], as: UTF8.self).uppercased()
    }

    mutating func fetchAttribute() throws(IMAPError) -> FetchAttribute {
        let name = fetchName()
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "UID": return .uid
        case "BODYSTRUCTURE": return .bodyStructure
        case "MODSEQ": return .modSeq
        case "BODY", "BODY.PEEK":
            guard peek(is: "[") else {
                if name == "BODY" { return .body }
                throw fail("BODY.PEEK needs a section")
            }
            let section = try section()
            return .bodySection(section, partial: try partial(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
            try expect("[")
            var part: [Int] = []
            if !peek(is: "]") { part = try partNumbers(allowTrailingDot: false) }
            try expect("]")
            if name == "BINARY.SIZE" { return .binarySize(part: part) }
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "":
            throw fail("Expected a FETCH attribute\(found)")
        default:
            throw fail("Unknown FETCH attribute \(name.prefix(30))")
        }
    }

    /// "[" [section-spec] "]"
    mutating func section() throws(IMAPError) -> SectionSpec {
        try expect("[")
        var spec = SectionSpec()
        if skip("]") { return spec }
        if let byte = peek(), byte >= 48 && byte <= 57 {
            spec.part = try partNumbers(allowTrailingDot: true)
            if skip("]") { return spec }
        }
        let word = fetchName()
        switch word {
        case "HEADER": spec.text = .header
        case "TEXT": spec.text = .text
        case "MIME":
            guard !spec.part.isEmpty else { throw fail("MIME needs a part number") }
            spec.text = .mime
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try space()
            try expect("(", "a list of header field names")
            var names: [String] = []
            repeat {
                names.append(try astringText())
                try checkCount(names.count)
            } while skip(" ")
            try expect(")")
            spec.text = word == "HEADER.FIELDS" ? .headerFields(names) : .headerFieldsNot(names)
        default:
            throw fail("Bad section \(word.prefix(30))")
        }
        try expect("]")
        return spec
    }

    /// nz-number *("." nz-number); with `allowTrailingDot` a "." before a section text is consumed.
    mutating func partNumbers(allowTrailingDot: Bool) throws(IMAPError) -> [Int] {
        var part: [Int] = []
        repeat {
            if allowTrailingDot && !part.isEmpty, let byte = peek(), !(byte >= 48 && byte <= 57) { break }
            part.append(Int(try nzNumber()))
            try checkCount(part.count)
            guard part.count <= limits.maxIMAPNesting else { throw fail("Part number too deep") }
        } while skip(".")
        return part
    }

    /// "<" number "." nz-number ">"
    mutating func partial() throws(IMAPError) -> Partial? {
        guard skip("<") else { return nil }
        let offset = try number32()
        try expect(".")
        let length = try nzNumber()
        try expect(">")
        return Partial(offset: Int(offset), length: Int(length))
    }
}
