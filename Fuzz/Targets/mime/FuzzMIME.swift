// libFuzzer target: a stored message as IMAP FETCH reads it. MessageStructure parses
// the MIME tree; BODYSTRUCTURE, BODY, ENVELOPE and the sections of the first parts are
// encoded as a FETCH response; SEARCH's text view decodes RFC 2047 encoded words and
// charsets; the encoded-word decoder also gets the raw input as one header value;
// MIMEWalk lists the leaves and decodes their text as Lua's tx:parts() does.
// Checks besides "never crash": BODY[] is the message as stored, and a partial fetch
// is never longer than asked.
@testable import IMAP
import MailCore

private let limits: Limits = {
    var limits = Limits()
    limits.maxIMAPNesting = 8
    return limits
}()

private let sections: [SectionSpec] = [
    .whole,
    SectionSpec(text: .header),
    SectionSpec(text: .text),
    SectionSpec(text: .headerFields(["Subject", "From"])),
    SectionSpec(part: [1]),
    SectionSpec(part: [1], text: .mime),
    SectionSpec(part: [1], text: .header),
    SectionSpec(part: [2, 1]),
    SectionSpec(part: [1, 1, 1], text: .text),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIME(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let structure = MessageStructure(bytes, limits: limits)
    var items: [FetchResponseItem] = [
        .bodyStructure(structure.bodyStructure),
        .body(structure.bodyStructure),
        .envelope(structure.envelope),
    ]
    for spec in sections {
        let section = structure.section(spec)
        items.append(.bodySection(spec, origin: nil, data: section))
    }
    precondition(structure.section(.whole) == bytes, "BODY[] differs from the message")
    let partial = structure.section(.whole, partial: Partial(offset: 3, length: 10))
    if let partial { precondition(partial.count <= 10, "partial longer than asked") }
    if case .data(let decoded) = structure.binary(part: [1]) {
        items.append(.binary(part: [1], origin: nil, data: decoded))
    }
    _ = IMAPEncoder().encode(.data(.fetch(1, items)))
    _ = IMAPEncoder(utf8Accept: true).encode(.data(.fetch(1, items)))
    _ = SearchableText(structure)
    _ = EncodedWords.decode(String(decoding: bytes, as: UTF8.self))
    // Lua's tx:parts() / tx:part_text(): the MIME walk and each leaf's decoded text.
    let walk = MIMEWalk(bytes, maxParts: 64, maxDepth: 8)
    precondition(walk.leaves.count <= 64, "more leaves than parts allowed")
    for leaf in walk.leaves { _ = leaf.part.decodedText(in: bytes, rawLimit: 4096) }
    return 0
}
