// libFuzzer target: a DNS response as the resolver reads it (RFC 1035 §4). Anything
// malformed must be a DNSParseError. Checks besides "never crash": the record counts
// stay within the parser's limits, every name (owner, MX exchange, CNAME/PTR/NS target,
// SOA names) is in presentation form: letters, digits, "-", "_", "." and "\DDD" escapes only, at
// most 255 wire octets (so at most 4 × 255 characters), since these names reach
// logs, SMTP greetings and Received lines.
import Delivery
import MailCore

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
    // The classifier too (with the ID and question of the input itself, so it gets past
    // the spoofing checks): a verdict, never a crash, and records within the limits.
    if bytes.count >= 2, let message = try? DNSMessage.parse(bytes), message.questions.count == 1,
       let type = DNSRecordType(rawValue: UInt16(truncatingIfNeeded: message.questionTypes[0])) {
        let id = UInt16(bytes[0]) << 8 | UInt16(bytes[1])
        if case .result(.records(let records, _), _) = DNSResponse.classify(bytes, id: id, name: message.questions[0],
                                                                            type: type) {
            precondition(!records.isEmpty && records.count <= DNSAnswerLimits().maxRecords, "\(records.count) records")
        }
    }
    guard let message = try? DNSMessage.parse(bytes) else { return 0 }
    precondition(message.questions.count <= 16 && message.answers.count <= 512 && message.authority.count <= 512,
                 "too many records")
    for name in message.questions { checkName(name, "question name") }
    for record in message.answers + message.authority {
        checkName(record.name, "owner name")
        switch record.data {
        case .mx(_, let name): checkName(name, "MX exchange")
        case .cname(let name): checkName(name, "CNAME target")
        case .ptr(let name): checkName(name, "PTR target")
        case .ns(let name): checkName(name, "NS target")
        case .soa(let soa): checkName(soa.mname, "SOA mname"); checkName(soa.rname, "SOA rname")
        case .txt(let strings): precondition(strings.allSatisfy { $0.count <= 255 }, "TXT string over 255")
        default: break
        }
    }
    return 0
}
