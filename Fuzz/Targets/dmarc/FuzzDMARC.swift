// libFuzzer target: a DMARC record (RFC 7489 §6.3) as policy discovery parses it.
// Anything malformed must be a DMARCRecord.ParseError. Checks besides "never crash":
// a parsed record has pct within 0–100, a non-negative ri, and reporting URIs that
// are "scheme:rest" strings.
import MailAuth

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDMARC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for candidate in [text, "v=DMARC1; " + text] {
        guard let record = try? DMARCRecord(parsing: candidate) else { continue }
        precondition((0...100).contains(record.pct), "pct \(record.pct)")
        precondition(record.ri >= 0, "ri \(record.ri)")
        for uri in record.rua + record.ruf { precondition(uri.contains(":"), "uri \(uri)") }
    }
    return 0
}
