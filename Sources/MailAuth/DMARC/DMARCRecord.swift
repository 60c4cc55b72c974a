import Foundation

// An RFC 7489 §6.3 DMARC policy record, parsed with the shared TagList. "v=DMARC1"
// must be the first tag; unknown tags are ignored (§6.3). A missing or invalid "p"
// (or an invalid "sp") turns the record into "p=none" when "rua" holds a valid URI
// and into no record at all otherwise (§6.6.3 step 6). Other invalid values fall back
// to the tag's default (adkim/aspf "r", pct 100, ri 86400), which is what a receiver
// can do with them; `ignoredTags` says which, for diagnostics.

public enum DMARCResult: String, Sendable { case pass, fail, none, temperror, permerror }

public enum DMARCPolicy: String, Sendable, CaseIterable { case none, quarantine, reject }

/// adkim / aspf: "r" (relaxed, the default) or "s" (strict).
public enum DMARCAlignmentMode: String, Sendable { case relaxed = "r", strict = "s" }

public struct DMARCRecord: Sendable, Equatable {
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not a DMARC record ("v=DMARC1" is not the first tag).
        case notDMARC
        /// The tag list itself is malformed (a permerror for the policy domain).
        case malformed(TagList.ParseError)
        /// No valid "p" (or an invalid "sp") and no valid "rua": as if there were no record.
        case noPolicy

        public var description: String {
            switch self {
            case .notDMARC: "not a DMARC record (v=DMARC1 must come first)"
            case .malformed(let error): "malformed DMARC record (\(error))"
            case .noPolicy: "DMARC record without a valid p= and without rua="
            }
        }
    }

    public var v: String = "DMARC1"
    public var p: DMARCPolicy
    public var sp: DMARCPolicy?
    public var adkim: DMARCAlignmentMode = .relaxed
    public var aspf: DMARCAlignmentMode = .relaxed
    public var pct: Int = 100
    /// The reporting URIs as written (a "!size" suffix kept), only those that are URIs.
    public var rua: [String] = []
    public var ruf: [String] = []
    public var fo: String = "0"
    public var rf: String = "afrf"
    public var ri: Int = 86400
    /// "p" was missing or invalid and is taken as "none" because "rua" is present.
    public var policyImplied = false
    /// Tags present with a value this parser could not use (their default applies).
    public var ignoredTags: [String] = []

    public init(p: DMARCPolicy, sp: DMARCPolicy? = nil) {
        self.p = p
        self.sp = sp
    }

    /// Whether a TXT string is meant as a DMARC record: starts with "v" "=" "DMARC1"
    /// (spaces allowed around "="), followed by ";" or the end.
    public static func isDMARC(_ text: String) -> Bool {
        var rest = Substring(text).drop(while: { $0 == " " || $0 == "\t" })
        guard rest.hasPrefix("v") else { return false }
        rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        guard rest.hasPrefix("=") else { return false }
        rest = rest.dropFirst().drop(while: { $0 == " " || $0 == "\t" })
        guard rest.hasPrefix("DMARC1") else { return false }
        rest = rest.dropFirst(6).drop(while: { $0 == " " || $0 == "\t" })
        return rest.isEmpty || rest.hasPrefix(";")
    }

    public init(parsing text: String) throws(ParseError) {
        guard Self.isDMARC(text) else { throw .notDMARC }
        let list: TagList
        do { list = try TagList(parsing: text) } catch { throw .malformed(error) }
        guard list.tags.first?.name == "v", list.tags.first?.value == "DMARC1" else { throw .notDMARC }
        // Values are case-insensitive in the ABNF (only v's is exact).
        func value(_ name: String) -> String? { list[name] }
        func lower(_ name: String) -> String? { list[name]?.lowercased() }

        rua = Self.uris(value("rua"))
        ruf = Self.uris(value("ruf"))
        var policy = lower("p").flatMap(DMARCPolicy.init(rawValue:))
        var subdomainPolicy: DMARCPolicy? = nil
        var spInvalid = false
        if let sp = lower("sp") {
            subdomainPolicy = DMARCPolicy(rawValue: sp)
            spInvalid = subdomainPolicy == nil
        }
        if policy == nil || spInvalid {
            guard !rua.isEmpty else { throw .noPolicy }
            policy = .none
            subdomainPolicy = nil
            policyImplied = true
            ignoredTags += ["p", "sp"].filter { list[$0] != nil }
        }
        self.p = policy ?? .none
        self.sp = subdomainPolicy
        for name in ["adkim", "aspf"] {
            guard let text = lower(name) else { continue }
            if let mode = DMARCAlignmentMode(rawValue: text) {
                if name == "adkim" { adkim = mode } else { aspf = mode }
            } else {
                ignoredTags.append(name)
            }
        }
        if let text = value("pct") {
            if text.count <= 3, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text), number <= 100 {
                pct = number
            } else {
                ignoredTags.append("pct")
            }
        }
        if let text = value("ri") {
            if text.count <= 10, text.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int(text) {
                ri = number
            } else {
                ignoredTags.append("ri")
            }
        }
        if let text = value("fo") {
            let options = text.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if !options.isEmpty, options.allSatisfy({ ["0", "1", "d", "s"].contains($0) }) {
                fo = options.joined(separator: ":")
            } else {
                ignoredTags.append("fo")
            }
        }
        if let text = lower("rf") { rf = text }
    }

    /// A comma-separated URI list: each entry trimmed; entries that are not
    /// "scheme:rest" are dropped (§6.4 dmarc-uri).
    static func uris(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ",").compactMap { entry in
            let uri = String(entry).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let colon = uri.firstIndex(of: ":"), colon != uri.startIndex, uri.index(after: colon) != uri.endIndex,
                  let first = uri.unicodeScalars.first, first.isASCIILetter,
                  uri[..<colon].unicodeScalars.allSatisfy({ $0.isASCIILetter || ("0"..."9").contains($0) || "+.-".unicodeScalars.contains($0) })
            else { return nil }
            return uri
        }
    }
}
