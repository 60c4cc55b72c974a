import Foundation

// The Public Suffix List (publicsuffix.org; Debian's `publicsuffix` package) and the
// RFC 7489 §3.2 organizational domain: the public suffix plus one label. Both the
// ICANN and the private sections are used, as RFC 7489 does. Rules with non-ASCII
// labels (the file writes them in UTF-8) are kept as A-labels (punycode), and a name
// is turned into A-labels before matching, so "食狮.公司.cn" and "xn--85x722f.xn--55qx5d.cn"
// give the same answer, each in its own spelling.
//
// Without the file, `PublicSuffixList.fallback` (no rules: the implicit "*" rule alone)
// makes the organizational domain the last two labels; callers that cannot load the
// file get a `LoadError` and decide to use it.

public struct PublicSuffixList: Sendable {
    public static let defaultPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    public enum LoadError: Error, Sendable, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case empty(path: String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason):
                "cannot read the public suffix list \(path): \(reason) (install Debian's publicsuffix package; without it the organizational domain is the last two labels)"
            case .empty(let path):
                "the public suffix list \(path) holds no rules"
            }
        }
    }

    /// Normal rules, wildcard rules ("*.ck" stored as "ck") and exception rules
    /// ("!www.ck" stored as "www.ck"), all lowercased A-label names.
    private var rules: Set<String> = []
    private var wildcards: Set<String> = []
    private var exceptions: Set<String> = []

    /// How many rules were read (both sections).
    public var ruleCount: Int { rules.count + wildcards.count + exceptions.count }

    /// No rules: every TLD is a public suffix, the organizational domain is the last
    /// two labels.
    public static let fallback = PublicSuffixList(rules: "")

    public static func load(path: String = defaultPath) throws -> PublicSuffixList {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw LoadError.unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        let list = PublicSuffixList(rules: text)
        guard list.ruleCount > 0 else { throw LoadError.empty(path: path) }
        return list
    }

    /// Parses the .dat text: one rule per line (its first whitespace-delimited word),
    /// "//" comments, blank lines ignored.
    public init(rules text: String) {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let word = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                  !word.hasPrefix("//") else { continue }
            var rule = Substring(word)
            if rule.hasPrefix("!") {
                rule = rule.dropFirst()
                if let name = Self.aLabels(rule) { exceptions.insert(name) }
            } else if rule.hasPrefix("*.") {
                if let name = Self.aLabels(rule.dropFirst(2)) { wildcards.insert(name) }
            } else if let name = Self.aLabels(rule) {
                rules.insert(name)
            }
        }
    }

    /// The public suffix of `domain` (lowercased, in its own spelling), or nil for a
    /// name that is empty or has an empty label.
    public func publicSuffix(_ domain: String) -> String? {
        guard let (labels, ascii) = Self.normalize(domain) else { return nil }
        let count = suffixLabelCount(ascii)
        return labels.suffix(count).joined(separator: ".")
    }

    /// The registrable domain (public suffix + one label), or nil when `domain` is
    /// itself a public suffix or not a name.
    public func registrableDomain(_ domain: String) -> String? {
        guard let (labels, ascii) = Self.normalize(domain) else { return nil }
        let count = suffixLabelCount(ascii)
        guard labels.count > count else { return nil }
        return labels.suffix(count + 1).joined(separator: ".")
    }

    /// RFC 7489 §3.2: the registrable domain; a name that is itself a public suffix
    /// (or unparseable) is its own organizational domain. Case-insensitive; a
    /// trailing dot is tolerated; the result is lowercased without the dot.
    public func organizationalDomain(_ domain: String) -> String {
        if let registrable = registrableDomain(domain) { return registrable }
        var name = domain.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// How many labels (from the right) the prevailing rule covers: an exception rule
    /// wins, else the longest match; no match is the implicit "*" (one label).
    private func suffixLabelCount(_ labels: [String]) -> Int {
        var best = 1
        for start in 0..<labels.count {
            let name = labels[start...].joined(separator: ".")
            let covered = labels.count - start
            if exceptions.contains(name) { return covered - 1 }
            if rules.contains(name) { best = max(best, covered) }
            if start > 0 && wildcards.contains(name) { best = max(best, covered + 1) }
        }
        return best
    }

    /// (labels as given, lowercased; the same labels as A-labels), or nil.
    private static func normalize(_ domain: String) -> ([String], [String])? {
        var name = domain.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !name.isEmpty, labels.allSatisfy({ !$0.isEmpty }), labels.count <= 128 else { return nil }
        var ascii: [String] = []
        for label in labels {
            guard let a = Punycode.aLabel(label) else { return nil }
            ascii.append(a)
        }
        return (labels, ascii)
    }

    private static func aLabels(_ rule: Substring) -> String? {
        let labels = rule.lowercased().split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.isEmpty, labels.allSatisfy({ !$0.isEmpty }) else { return nil }
        var out: [String] = []
        for label in labels {
            guard let a = Punycode.aLabel(String(label)) else { return nil }
            out.append(a)
        }
        return out.joined(separator: ".")
    }
}

/// RFC 3492 Punycode encoding of one label ("xn--" prefixed when non-ASCII).
enum Punycode {
    static func aLabel(_ label: String) -> String? {
        if label.unicodeScalars.allSatisfy(\.isASCII) { return label }
        guard let encoded = encode(Array(label.unicodeScalars.map(\.value))) else { return nil }
        return "xn--" + encoded
    }

    static func encode(_ input: [UInt32]) -> String? {
        let base: UInt32 = 36, tMin: UInt32 = 1, tMax: UInt32 = 26, skew: UInt32 = 38, damp: UInt32 = 700
        guard input.count <= 256 else { return nil }
        func digit(_ d: UInt32) -> Character {
            Character(Unicode.Scalar(d < 26 ? d + 97 : d + 22)!)
        }
        func adapt(_ delta: UInt32, _ numPoints: UInt32, _ first: Bool) -> UInt32 {
            var delta = first ? delta / damp : delta / 2
            delta += delta / numPoints
            var k: UInt32 = 0
            while delta > ((base - tMin) * tMax) / 2 { delta /= base - tMin; k += base }
            return k + (base - tMin + 1) * delta / (delta + skew)
        }
        var output = ""
        for c in input where c < 0x80 { output.append(Character(Unicode.Scalar(c)!)) }
        let basicCount = UInt32(output.count)
        var handled = basicCount
        if basicCount > 0 { output.append("-") }
        var n: UInt32 = 0x80, delta: UInt32 = 0, bias: UInt32 = 72
        while handled < UInt32(input.count) {
            guard let m = input.filter({ $0 >= n }).min() else { return nil }
            let (product, overflow) = (m - n).multipliedReportingOverflow(by: handled + 1)
            guard !overflow else { return nil }
            delta += product
            n = m
            for c in input {
                if c < n { delta += 1 }
                if c == n {
                    var q = delta
                    var k = base
                    while true {
                        let t = k <= bias ? tMin : (k >= bias + tMax ? tMax : k - bias)
                        if q < t { break }
                        output.append(digit(t + (q - t) % (base - t)))
                        q = (q - t) / (base - t)
                        k += base
                    }
                    output.append(digit(q))
                    bias = adapt(delta, handled + 1, handled == basicCount)
                    delta = 0
                    handled += 1
                }
            }
            delta += 1
            n += 1
        }
        return output
    }
}
