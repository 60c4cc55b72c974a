// A search program ready to run over many messages: every string key's needle is
// folded and indexed once per command instead of once per message, and the header
// keys become one case naming their field (address keys FROM, TO, CC, BCC apart:
// they also match the parsed addresses).
// Keys without strings stay as parsed.

indirect enum PreparedSearchKey: Sendable {
    /// Flags, dates, sizes, sequence and UID sets, MODSEQ: evaluated from the key.
    case plain(SearchKey)
    /// A header field (by name) containing the needle.
    case header(String, SearchNeedle)
    /// An address field (FROM TO CC BCC) containing the needle as written or in its
    /// parsed addresses.
    case address(String, SearchNeedle)
    case body(SearchNeedle)
    case text(SearchNeedle)
    case not(PreparedSearchKey)
    case or(PreparedSearchKey, PreparedSearchKey)
    case and([PreparedSearchKey])

    init(_ key: SearchKey) {
        switch key {
        case .bcc(let text): self = .address("Bcc", SearchNeedle(text))
        case .cc(let text): self = .address("Cc", SearchNeedle(text))
        case .from(let text): self = .address("From", SearchNeedle(text))
        case .to(let text): self = .address("To", SearchNeedle(text))
        case .subject(let text): self = .header("Subject", SearchNeedle(text))
        case .header(let name, let text): self = .header(name, SearchNeedle(text))
        case .body(let text): self = .body(SearchNeedle(text))
        case .text(let text): self = .text(SearchNeedle(text))
        case .not(let inner): self = .not(PreparedSearchKey(inner))
        case .or(let a, let b): self = .or(PreparedSearchKey(a), PreparedSearchKey(b))
        case .and(let keys): self = .and(keys.map(PreparedSearchKey.init))
        default: self = .plain(key)
        }
    }
}
