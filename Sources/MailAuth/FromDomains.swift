// The RFC5322.From domains of a message (DMARC's identifier, the signer's choice of key):
// every address of every From field, comments, quoted strings, display names, groups
// and obs-routes understood, lowercased, without a trailing dot, deduplicated in order.
// An address whose domain is not a plausible domain name is skipped; callers that need
// exactly one domain check the count. Bounded: at most `maxAddresses` per message.

import Foundation

enum FromDomains {
    static let maxAddresses = 100

    static func domains(in fields: [RawHeaderField]) -> [String] {
        var result: [String] = []
        var seen = 0
        for field in fields {
            for spec in addrSpecs(field.value) {
                seen += 1
                if seen > maxAddresses { return result }
                if let domain = domain(of: spec), !result.contains(domain) { result.append(domain) }
            }
        }
        return result
    }

    /// The addr-specs in an address list, comments and quoted strings neutralised.
    static func addrSpecs(_ value: String) -> [String] {
        var cleaned: [Unicode.Scalar] = []
        var depth = 0
        var quoted = false
        var escaped = false
        for scalar in value.unicodeScalars {
            if escaped { escaped = false; if !quoted && depth == 0 { cleaned.append("x") }; continue }
            if scalar == "\\" { escaped = true; continue }
            if quoted {
                if scalar == "\"" { quoted = false; cleaned.append("x") }
                continue
            }
            if depth > 0 {
                if scalar == "(" { depth += 1 } else if scalar == ")" { depth -= 1 }
                continue
            }
            switch scalar {
            case "(": depth = 1; cleaned.append(" ")
            case "\"": quoted = true
            default: cleaned.append(scalar)
            }
        }
        // Split into mailboxes at "," and ";" outside angle brackets; a "name:" group
        // opener before the first address is dropped.
        var specs: [String] = []
        var current = String.UnicodeScalarView()
        var inAngle = false
        func finish() {
            let text = String(current)
            current = String.UnicodeScalarView()
            if let spec = mailboxSpec(text) { specs.append(spec) }
        }
        for scalar in cleaned {
            switch scalar {
            case "<": inAngle = true; current.append(scalar)
            case ">": inAngle = false; current.append(scalar)
            case "," where !inAngle, ";" where !inAngle: finish()
            case ":" where !inAngle && !String(current).contains("@"):
                current = String.UnicodeScalarView()   // group display name
            default: current.append(scalar)
            }
        }
        finish()
        return specs
    }

    /// "Name <a@b>" → "a@b" (an obs-route "@x,@y:" dropped); "a@b" → "a@b".
    static func mailboxSpec(_ text: String) -> String? {
        var spec = Substring(text)
        if let open = spec.firstIndex(of: "<") {
            let inner = spec[spec.index(after: open)...]
            spec = inner.prefix { $0 != ">" }
            if let colon = spec.lastIndex(of: ":") { spec = spec[spec.index(after: colon)...] }
        }
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    static func domain(of spec: String) -> String? {
        guard let at = spec.lastIndex(of: "@") else { return nil }
        var domain = spec[spec.index(after: at)...].filter { $0 != " " && $0 != "\t" }.lowercased()
        if domain.hasSuffix(".") { domain.removeLast() }
        guard !domain.isEmpty, domain.utf8.count <= 253 else { return nil }
        let plausible = domain.unicodeScalars.allSatisfy {
            $0.isASCIILetter || ("0"..."9").contains($0) || $0 == "-" || $0 == "." || $0 == "_" || $0.value > 127
        }
        guard plausible, !domain.hasPrefix("."), !domain.contains("..") else { return nil }
        return domain
    }
}
