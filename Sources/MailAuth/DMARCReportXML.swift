// The XML of a DMARC aggregate report, element for element as RFC 7489 Appendix C's
// schema orders them (feedback: version, report_metadata, policy_published, record+).
// Every text is escaped (& < > " ') and stripped of what XML 1.0 cannot carry; every
// enumerated value is mapped into the schema's vocabulary (an unknown result becomes
// the schema's neutral word) so a report always validates; IPv6 sources are written in
// full form because the schema's IPv6 pattern accepts nothing else. Output is UTF-8.
import MailCore

public enum DMARCReportXML {
    /// Longest text written for one element (DNS names and addresses are far shorter).
    public static let maxTextLength = 1024

    public static func document(_ report: DMARCAggregateReport) -> String {
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedback>\n"
        out += "  <version>1.0</version>\n"
        let m = report.metadata
        out += "  <report_metadata>\n"
        element(&out, 4, "org_name", m.orgName)
        element(&out, 4, "email", m.email)
        if let contact = m.extraContactInfo { element(&out, 4, "extra_contact_info", contact) }
        element(&out, 4, "report_id", m.reportID)
        out += "    <date_range>\n"
        element(&out, 6, "begin", String(m.begin))
        element(&out, 6, "end", String(m.end))
        out += "    </date_range>\n  </report_metadata>\n"
        let p = report.policy
        out += "  <policy_published>\n"
        element(&out, 4, "domain", p.domain)
        element(&out, 4, "adkim", alignment(p.adkim))
        element(&out, 4, "aspf", alignment(p.aspf))
        element(&out, 4, "p", disposition(p.p))
        element(&out, 4, "sp", disposition(p.sp))
        element(&out, 4, "pct", String(min(max(p.pct, 0), 100)))
        element(&out, 4, "fo", p.fo)
        out += "  </policy_published>\n"
        for record in report.records { write(record, to: &out) }
        out += "</feedback>\n"
        return out
    }

    static func write(_ record: DMARCAggregateReport.Record, to out: inout String) {
        out += "  <record>\n    <row>\n"
        element(&out, 6, "source_ip", sourceIP(record.sourceIP))
        element(&out, 6, "count", String(max(record.count, 0)))
        out += "      <policy_evaluated>\n"
        element(&out, 8, "disposition", disposition(record.disposition))
        element(&out, 8, "dkim", record.dkim == "pass" ? "pass" : "fail")
        element(&out, 8, "spf", record.spf == "pass" ? "pass" : "fail")
        for reason in record.reasons {
            out += "        <reason>\n"
            element(&out, 10, "type", overrideType(reason))
            out += "        </reason>\n"
        }
        out += "      </policy_evaluated>\n    </row>\n    <identifiers>\n"
        if let to = record.envelopeTo { element(&out, 6, "envelope_to", to) }
        // Required by the RFC 7489 schema; empty for the null reverse-path.
        element(&out, 6, "envelope_from", record.envelopeFrom ?? "")
        element(&out, 6, "header_from", record.headerFrom)
        out += "    </identifiers>\n    <auth_results>\n"
        for dkim in record.dkimResults {
            out += "      <dkim>\n"
            element(&out, 8, "domain", dkim.domain)
            if let selector = dkim.selector { element(&out, 8, "selector", selector) }
            element(&out, 8, "result", oneOf(dkim.result, dkimResults, otherwise: "neutral"))
            out += "      </dkim>\n"
        }
        out += "      <spf>\n"
        element(&out, 8, "domain", record.spfResult.domain)
        element(&out, 8, "scope", record.spfResult.scope == "helo" ? "helo" : "mfrom")
        element(&out, 8, "result", oneOf(record.spfResult.result, spfResults, otherwise: "neutral"))
        out += "      </spf>\n    </auth_results>\n  </record>\n"
    }

    static let dkimResults: Set<String> = ["none", "pass", "fail", "policy", "neutral", "temperror", "permerror"]
    static let spfResults: Set<String> = ["none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"]
    static let overrideTypes: Set<String> = ["forwarded", "sampled_out", "trusted_forwarder", "mailing_list",
                                             "local_policy", "other"]

    static func oneOf(_ value: String, _ allowed: Set<String>, otherwise: String) -> String {
        let lower = value.lowercased()
        return allowed.contains(lower) ? lower : otherwise
    }

    static func alignment(_ value: String) -> String { value.lowercased() == "s" ? "s" : "r" }
    static func disposition(_ value: String) -> String {
        oneOf(value, ["none", "quarantine", "reject"], otherwise: "none")
    }
    static func overrideType(_ value: String) -> String { oneOf(value, overrideTypes, otherwise: "other") }

    /// The schema's forms: dotted quad, or eight groups of hex for IPv6 (it has no
    /// pattern for "::"). Something that is not an address is written as given (and the
    /// recorder never stores one).
    static func sourceIP(_ text: String) -> String {
        guard let ip = IPAddress(text) else { return text }
        if ip.isV4 { return ip.bytes.map { String($0) }.joined(separator: ".") }
        return stride(from: 0, to: 16, by: 2).map { String(UInt16(ip.bytes[$0]) << 8 | UInt16(ip.bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }

    static func element(_ out: inout String, _ indent: Int, _ name: String, _ text: String) {
        out += String(repeating: " ", count: indent) + "<" + name + ">" + escaped(text) + "</" + name + ">\n"
    }

    /// XML character data: markup characters escaped, characters XML 1.0 forbids
    /// (controls but tab/LF/CR, U+FFFE, U+FFFF) dropped, capped at `maxTextLength` bytes.
    public static func escaped(_ text: String) -> String {
        var out = ""
        var bytes = 0
        for scalar in text.unicodeScalars {
            let piece: String
            switch scalar {
            case "&": piece = "&amp;"
            case "<": piece = "&lt;"
            case ">": piece = "&gt;"
            case "\"": piece = "&quot;"
            case "'": piece = "&apos;"
            case "\t", "\n", "\r": piece = String(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                piece = String(scalar)
            }
            bytes += piece.utf8.count
            if bytes > maxTextLength { break }
            out += piece
        }
        return out
    }
}
