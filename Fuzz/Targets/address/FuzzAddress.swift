// libFuzzer target: the address and header-text helpers of MailCore that take client
// text. MailAddress.parse (RFC 5321 Mailbox, with and without SMTPUTF8), the login
// normaliser, xtext (RFC 3461) and the one header writer. Checks besides "never
// crash": an accepted address holds no control character (RFC 5321 §4.1.2), its
// address literal holds only an IP address, and it parses again to itself; a name
// accepted as a domain or literal (copied raw into Received) cannot open a comment; xtext decodes what it encodes; a header line the server writes is
// one line whatever the value holds.
import MailCore

private func hasControl(_ text: String) -> Bool {
    text.utf8.contains { $0 < 0x20 || $0 == 0x7F }
}

/// An address literal is "[" IPv4 "]" or "[IPv6:" IPv6 "]" (RFC 5321 §4.1.3): after the
/// tag, only hex digits, ":" and ".".
private func isPlainLiteral(_ domain: String) -> Bool {
    guard domain.hasPrefix("[") else { return true }
    var inner = Substring(domain.dropFirst().dropLast())
    if inner.lowercased().hasPrefix("ipv6:") { inner = inner.dropFirst(5) }
    return domain.hasSuffix("]") && !inner.isEmpty && inner.utf8.allSatisfy {
        (48...57).contains($0) || (97...102).contains($0) || (65...70).contains($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddress(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    for allowUTF8 in [false, true] {
        guard let address = try? MailAddress.parse(text, allowUTF8: allowUTF8) else { continue }
        precondition(isPlainLiteral(address.domain), "address literal with more than an address: \(address.domain.debugDescription)")
        precondition(!hasControl(address.address), "address with a control character: \(address.address.debugDescription)")
        if !allowUTF8 { precondition(address.address.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII address without SMTPUTF8") }
        let again = try? MailAddress.parse(address.address, allowUTF8: allowUTF8)
        precondition(again == address, "\(address.address.debugDescription) does not parse to itself")
        let header = HeaderText.returnPath(address.address)
        precondition(header.utf8.filter({ $0 == 13 || $0 == 10 }).count == 2 && header.hasSuffix("\r\n"),
                     "Return-Path is not one line")
    }
    if let login = LoginName.normalize(text) {
        precondition(!hasControl(login), "login with a control character")
    }
    let encoded = XText.encode(text)
    // (isValid also refuses the empty value and values over 500 characters.)
    if !text.isEmpty && encoded.utf8.count <= 500 { precondition(XText.isValid(encoded), "xtext encoding is not valid xtext") }
    if let decoded = XText.decode(encoded) { precondition(decoded == text, "xtext round trip changed the text") }
    if let decoded = XText.decode(text) { _ = XText.encode(decoded) }
    if MailAddress.isDomainOrAddressLiteral(text) {
        // Taken as a HELO name and copied raw into Received: it must not open a comment.
        precondition(!hasControl(text) && isPlainLiteral(text) && !text.contains("(") && !text.contains(")"),
                     "HELO name taken as a domain or literal: \(text.debugDescription)")
    }
    let line = HeaderText.line(text, text, continuations: [text])
    precondition(line.utf8.filter({ $0 == 10 }).count == 2 && line.hasSuffix("\r\n"), "header line split")
    precondition(!HeaderText.commentText(text).utf8.contains { $0 < 0x20 }, "comment text with a control")
    return 0
}
