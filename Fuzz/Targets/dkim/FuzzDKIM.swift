// libFuzzer target: an arbitrary message through DKIM verification (header parsing,
// DKIM-Signature parsing, both canonicalizations with and without l=, the header hash)
// with the key record taken from the input itself: the value of its first "X-Key:" field
// answers every key lookup, so key-record parsing and the crypto calls are fuzzed too.
// Checks besides "never crash or hang": at most maxSignatures outcomes, every result that
// is not pass says why, and the From domains are lowercased plausible names.
import Dispatch
import MailAuth
import MailCore

private struct InputKeyDNS: DNSLookupService {
    let record: String?
    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        guard let record else { return completion(.nxdomain) }
        completion(.records([.text(record)], ttl: 60))
    }
}

private final class Box: @unchecked Sendable { var outcomes: [DKIMOutcome] = [] }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDKIM(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let message = AuthMessage(bytes: bytes)
    for domain in message.fromDomains {
        precondition(domain == domain.lowercased() && !domain.isEmpty && domain.utf8.count <= 253, "from domain \(domain)")
    }
    for canonicalization in [DKIMCanonicalization.simple, .relaxed] {
        let whole = message.bodyHash(canonicalization)
        let cut = message.bodyHash(canonicalization, length: size / 3)
        precondition(whole.digest.count == 32 && whole.canonicalLength == cut.canonicalLength, "body hash")
    }
    let key = message.headerFields.first { $0.lowercasedName == "x-key" }?.value
    let verifier = DKIMVerifier(dns: InputKeyDNS(record: key), now: { 1_700_000_000 })
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.outcomes = await verifier.verify(message)
        done.signal()
    }
    done.wait()
    precondition(box.outcomes.count <= 8, "\(box.outcomes.count) outcomes")
    for outcome in box.outcomes where outcome.result != .pass {
        precondition(outcome.problem != nil, "\(outcome.result) without a problem")
    }
    return 0
}
