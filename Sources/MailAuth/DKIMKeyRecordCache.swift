// Parsed DKIM key records by their text: the resolver's cache hands back the same TXT
// string for every message from a domain, and parsing it (base64, the RSA key's DER,
// the modulus checks) costs more than verifying the signature with it. Bounded; the
// text is the key, so a changed record is parsed anew and nothing outlives its DNS TTL
// by more than one look-up.
import Foundation

final class DKIMKeyRecordCache: @unchecked Sendable {
    static let shared = DKIMKeyRecordCache()
    static let capacity = 1024

    private struct Key: Hashable {
        var text: String
        var minimumRSABits: Int
    }

    private let lock = NSLock()
    private var records: [Key: Result<DKIMKeyRecord, DKIMSignatureProblem>] = [:]

    func record(_ text: String, minimumRSABits: Int) -> Result<DKIMKeyRecord, DKIMSignatureProblem> {
        let key = Key(text: text, minimumRSABits: minimumRSABits)
        lock.lock()
        if let known = records[key] {
            lock.unlock()
            return known
        }
        lock.unlock()
        let parsed: Result<DKIMKeyRecord, DKIMSignatureProblem>
        do { parsed = .success(try DKIMKeyRecord(parsing: text, minimumRSABits: minimumRSABits)) } catch {
            parsed = .failure(error)
        }
        lock.lock()
        if records.count >= Self.capacity { records.removeAll(keepingCapacity: true) }
        records[key] = parsed
        lock.unlock()
        return parsed
    }
}
