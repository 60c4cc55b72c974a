// libFuzzer target: MailCore's JSONParser (rspamd replies read by mailgate.json.decode).
// Checks besides "never crash or hang": a parse within the limits stays within them
// (depth), and a value that parses is deterministic (parsing twice gives the same tree).
import MailCore

private func depth(_ value: JSONValue) -> Int {
    switch value {
    case .array(let elements): 1 + (elements.map(depth).max() ?? 0)
    case .object(let members): 1 + (members.map { depth($0.1) }.max() ?? 0)
    default: 0
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let limits = JSONLimits(maxDepth: 16, maxValues: 5000)
    guard let (value, _) = try? JSONParser.parse(bytes, limits: limits) else { return 0 }
    precondition(depth(value) <= limits.maxDepth + 1, "nesting beyond the limit")
    let again = try? JSONParser.parse(bytes, limits: limits)
    precondition(again?.0 == value, "parsing is not deterministic")
    return 0
}
