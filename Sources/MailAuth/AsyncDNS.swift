// The shared resolver (MailCore.DNSLookupService) seen from the engines' async code:
// SPF, DKIM key, DMARC record and report-authorization lookups all come through here,
// so every engine follows the same timeout and failure vocabulary.
import MailCore

extension DNSLookupService {
    /// One lookup, suspended until the resolver answers (it always does, within
    /// `timeout` plus scheduling).
    public func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration) async -> DNSLookupResult {
        await withCheckedContinuation { continuation in
            lookup(name, type, timeout: timeout) { continuation.resume(returning: $0) }
        }
    }

    /// The TXT strings at `name` (each record's character-strings already joined), or
    /// the result that says why there are none.
    public func texts(_ name: String, timeout: Duration) async -> Result<[String], DNSLookupOutcomeWithoutRecords> {
        switch await lookup(name, .txt, timeout: timeout) {
        case .records(let records, _):
            return .success(records.compactMap { if case .text(let text) = $0 { text } else { nil } })
        case .nxdomain: return .failure(.nxdomain)
        case .nodata: return .failure(.nodata)
        case .failure(let failure): return .failure(.failure(failure))
        }
    }
}

/// Why a lookup gave no records: an answer (the name or the type is absent) or a
/// failure of the lookup itself (a temporary error for every engine).
public enum DNSLookupOutcomeWithoutRecords: Error, Sendable, Hashable {
    case nxdomain
    case nodata
    case failure(DNSFailure)

    /// The name or type does not exist (RFC 7208's "void lookup"), as opposed to a
    /// lookup that failed.
    public var isAnswer: Bool {
        if case .failure = self { return false }
        return true
    }
}
