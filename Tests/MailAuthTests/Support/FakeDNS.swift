// An in-memory DNSLookupService for the MailAuth engines' tests: answers from a zone
// written as (name, type, value) entries, counts the questions, and can be told that
// a name times out (like the RFC 7208 suite's TIMEOUT entries) or that names under
// "error." fail. Names compare without regard to case and trailing dot.
import Foundation
import MailCore
import MailAuth

final class FakeDNS: DNSLookupService, @unchecked Sendable {
    enum Entry: Equatable {
        case record(DNSRecordType, DNSRecordData)
        case cname(String)
        /// Lookups reaching this entry before a record of their type time out
        /// (for any type, or only `type`).
        case timeout(DNSRecordType?)
    }

    private let lock = NSLock()
    private var zone: [String: [Entry]] = [:]
    private(set) var questions: [(String, DNSRecordType)] = []

    init() {}

    static func key(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    func add(_ name: String, _ entry: Entry) {
        lock.withLock { zone[Self.key(name), default: []].append(entry) }
    }

    func txt(_ name: String, _ text: String) { add(name, .record(.txt, .text(text))) }
    func a(_ name: String, _ address: String) { add(name, .record(address.contains(":") ? .aaaa : .a, .address(address))) }
    func mx(_ name: String, _ preference: Int, _ exchange: String) { add(name, .record(.mx, .mx(preference: preference, exchange: exchange))) }
    func ptr(_ name: String, _ target: String) { add(name, .record(.ptr, .name(target))) }

    var questionCount: Int { lock.withLock { questions.count } }

    /// Each answer comes this late (an answer later than the caller's timeout is a timeout).
    var delay: Duration = .zero

    func lookup(_ name: String, _ type: DNSRecordType, timeout: Duration,
                _ completion: @escaping @Sendable (DNSLookupResult) -> Void) {
        lock.withLock { questions.append((name, type)) }
        let result = answer(Self.key(name), type, followCNAME: true)
        guard delay > .zero else { return completion(result) }
        let wait = min(delay, timeout)
        let late = delay > timeout
        let nanoseconds = Int(wait.components.seconds) * 1_000_000_000 + Int(wait.components.attoseconds / 1_000_000_000)
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) {
            completion(late ? .failure(.timeout) : result)
        }
    }

    func answer(_ name: String, _ type: DNSRecordType, followCNAME: Bool) -> DNSLookupResult {
        guard let entries = lock.withLock({ zone[name] }) else {
            return name.hasPrefix("error.") ? .failure(.timeout) : .nxdomain
        }
        var found: [DNSRecordData] = []
        for entry in entries {
            switch entry {
            case .record(let recordType, let data) where recordType == type:
                found.append(data)
            case .record:
                break
            case .timeout(let only):
                if found.isEmpty && (only == nil || only == type) { return .failure(.timeout) }
            case .cname(let target):
                // One level, as the RFC 7208 suite's driver does: a CNAME loop ends empty.
                if type == .cname { found.append(.name(target)); continue }
                guard followCNAME else { continue }
                if case .records(let records, _) = answer(Self.key(target), type, followCNAME: false) { found += records }
            }
        }
        return found.isEmpty ? .nodata : .records(found, ttl: 300)
    }
}
