// libFuzzer target: an SPF record (RFC 7208 §12) and macro-strings (§7) as the SPF
// engine parses them. Anything malformed must be an SPFSyntaxError. Checks besides
// "never crash": parsed CIDR lengths and addresses are in range (SPFSyntax.check's
// preconditions), and every expansion stays within SPFSyntax.maxExpansion bytes
// whatever the transformers ask for.
import MailAuth

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSPF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? SPFSyntax.check(record: text)
    _ = try? SPFSyntax.check(record: "v=spf1 " + text)
    for explanation in [false, true] {
        for ip in ["192.0.2.3", "2001:db8::cafe"] {
            if let expanded = try? SPFSyntax.expand(text, explanation: explanation, ip: ip) {
                precondition(expanded.utf8.count <= SPFSyntax.maxExpansion, "expansion of \(expanded.utf8.count) bytes")
            }
        }
    }
    return 0
}
