// libFuzzer target: a DNS response as the MX resolver reads it (RFC 1035 §4). Anything
// malformed must be a DNSParseError. Checks besides "never crash": the record counts
// stay within the parser's limits, and every name (owner, MX exchange, CNAME target)
// is in presentation form: letters, digits, "-", "_", "." and "\DDD" escapes only, at
// most 255 wire octets (so at most 4 × 255 characters), since these names reach
// logs, SMTP greetings and Received lines.
import Delivery

private func checkName(_ name: String, _ what: String) {
    precondition(name.utf8.count <= 4 * 255, "\(what) of \(name.utf8.count) characters")
    for byte in name.utf8 {
        let allowed = (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\")
        precondition(allowed, "\(what) holds byte \(byte): \(name.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDNS(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let message = try? DNSMessage.parse(bytes) else { return 0 }
    precondition(message.questions.count <= 16 && message.answers.count <= 512, "too many records")
    for name in message.questions { checkName(name, "question name") }
    for record in message.answers {
        checkName(record.name, "owner name")
        switch record.data {
        case .mx(_, let name): checkName(name, "MX exchange")
        case .cname(let name): checkName(name, "CNAME target")
        default: break
        }
    }
    return 0
}
