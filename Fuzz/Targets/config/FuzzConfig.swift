// libFuzzer target: mailgate.toml as the server reads it (TOMLKit, then the checking
// reader). Every bad file must end in a ConfigurationError naming the key, never a
// trap; a file that is accepted has no negative event_loops.
import FuzzConfigReader

/// A table header whose name starts with a byte toml++ (inside TOMLKit 0.6.0) does not
/// expect, such as `[\x]`, trips its assertion in parse_key() and aborts the process
/// (Fuzz/crashes/config/, docs/security.md). Until the reader refuses such a header
/// before TOMLKit sees it, such inputs are skipped so the rest of the reader is fuzzed.
private func tripsKnownTOMLAssertion(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    var index = 0
    var lineStart = true
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }
    while index < bytes.count {
        let byte = bytes[index]
        if byte == 0x0A { lineStart = true; index += 1; continue }
        if lineStart && isSpace(byte) { index += 1; continue }
        if lineStart && byte == UInt8(ascii: "[") {
            var next = index + 1
            if next < bytes.count && bytes[next] == UInt8(ascii: "[") { next += 1 }
            while next < bytes.count && isSpace(bytes[next]) { next += 1 }
            if next < bytes.count {
                let first = bytes[next]
                let keyStart = (48...57).contains(first) || (65...90).contains(first) || (97...122).contains(first)
                    || first == UInt8(ascii: "-") || first == UInt8(ascii: "_") || first == UInt8(ascii: "\"")
                    || first == UInt8(ascii: "'") || first == UInt8(ascii: "]") || first == 0x0A || first == 0x0D
                if !keyStart { return true }
            }
        }
        lineStart = false
        index += 1
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    guard let text = String(validating: buffer, as: UTF8.self), !tripsKnownTOMLAssertion(buffer) else { return 0 }
    do {
        let configuration = try GatewayConfiguration.parse(text, baseDirectory: "/nonexistent/fuzz")
        precondition(configuration.eventLoops >= 0, "negative event_loops accepted")
    } catch {
        precondition(!error.description.isEmpty, "an error without words")
    }
    return 0
}
