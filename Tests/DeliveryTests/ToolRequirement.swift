// Tests that need an external program (dnsmasq, smtp-sink, /usr/bin/python3) are
// skipped on a developer machine without it, but run — and fail on the missing tool —
// when the CI environment variable is set: CI installs every tool (make test-deps).
import Foundation

enum ToolRequirement {
    static var inCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }

    /// Whether a test needing a tool runs: when the tool is there, and always in CI.
    static func runs(_ available: Bool) -> Bool { available || inCI }
}
