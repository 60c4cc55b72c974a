// Finds the line of a key in a TOML file, for transcript errors ("file:line: ...").
// TOMLKit reports no positions for parsed values, so the text is scanned: table headers
// (`[a.b]`, `[[step]]`, counted per array) give the current section, and `key = ...`
// lines give a key path under it. Multi-line strings are skipped. It is a locator for
// messages, not a parser: when it cannot tell, it answers the nearest enclosing line.
import Foundation

struct TranscriptLineLocator {
    /// (line number, key path) for every header and key line, in file order. Elements of
    /// arrays of tables are "#0", "#1" ... in the path.
    private var entries: [(line: Int, path: [String])] = []

    init(text: String) {
        var section: [String] = []
        var arrayCounts: [String: Int] = [:]
        var inMultiline: String?  // the closing delimiter while inside a multi-line string
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = offset + 1
            var line = Substring(rawLine)
            if let delimiter = inMultiline {
                if line.components(separatedBy: delimiter).count % 2 == 0 { inMultiline = nil }
                continue
            }
            line = line.drop { $0 == " " || $0 == "\t" }
            if line.hasPrefix("#") || line.isEmpty { continue }
            if line.hasPrefix("[[") {
                let name = Self.keyParts(line.dropFirst(2).prefix { $0 != "]" })
                let joined = name.joined(separator: ".")
                let index = arrayCounts[joined, default: 0]
                arrayCounts[joined] = index + 1
                section = name + ["#\(index)"]
                entries.append((lineNumber, section))
                continue
            }
            if line.hasPrefix("[") {
                section = Self.keyParts(line.dropFirst().prefix { $0 != "]" })
                entries.append((lineNumber, section))
                continue
            }
            guard let equals = Self.assignment(in: line) else { continue }
            let key = Self.keyParts(line[..<equals])
            entries.append((lineNumber, section + key))
            let value = line[line.index(after: equals)...].drop { $0 == " " || $0 == "\t" }
            for delimiter in ["\"\"\"", "'''"] where value.hasPrefix(delimiter) {
                if value.components(separatedBy: delimiter).count == 2 { inMultiline = delimiter }
            }
        }
    }

    /// The line of `path`, else of its longest prefix that has one (the section), else nil.
    func line(of path: [String]) -> Int? {
        var probe = path
        while !probe.isEmpty {
            if let entry = entries.first(where: { $0.path == probe }) { return entry.line }
            probe.removeLast()
        }
        return nil
    }

    /// The `=` of a `key = value` line (outside quoted key parts), or nil.
    private static func assignment(in line: Substring) -> Substring.Index? {
        var quote: Character?
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if let open = quote {
                if character == open { quote = nil }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "=" {
                return index
            }
            index = line.index(after: index)
        }
        return nil
    }

    /// `a . "b.c" . d` → ["a", "b.c", "d"].
    static func keyParts(_ text: Substring) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        for character in text {
            if let open = quote {
                if character == open { quote = nil } else { current.append(character) }
            } else if character == "\"" || character == "'" {
                quote = character
            } else if character == "." {
                parts.append(current.trimmingCharacters(in: .whitespaces)); current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current.trimmingCharacters(in: .whitespaces))
        return parts
    }
}
