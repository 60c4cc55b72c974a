// `mailgate queue list|show|retry|delete|hold|release|stats`: the outbound queue.
// Safe while the server runs: every change is one store write of the entry, and the
// queue runner re-reads entries at each scan (and before applying a delivery's
// results), so a retry, hold or delete is seen within `delivery.scan_interval`.
import ArgumentParser
import Foundation
import Gateway
import MailCore
import MailStore

/// Which entries a command applies to: one id, every entry, or those with a recipient in a domain.
struct QueueSelection: ParsableArguments {
    @Argument(help: "Queue id.") var id: String?
    @Flag(help: "Every entry.") var all = false
    @Option(help: "Entries with recipients in this domain (only those recipients are affected).") var domain: String?

    func validate() throws {
        let chosen = [id != nil, all, domain != nil].filter { $0 }.count
        guard chosen == 1 else { throw ValidationError("give a queue id, --all or --domain") }
    }

    /// The selected entries, and per entry whether a recipient is affected.
    func entries(_ store: LMDBStore) throws -> [QueueEntry] {
        if let id {
            guard let entry = store.queueEntry(id) else { throw CLIError("no queue entry \(id)") }
            return [entry]
        }
        let all = try store.queueEntries()
        guard let domain = domain?.lowercased() else { return all }
        return all.filter { entry in entry.recipients.contains { QueueCommand.domain(of: $0.address) == domain } }
    }

    func affects(_ recipient: QueueRecipient) -> Bool {
        guard let domain = domain?.lowercased() else { return true }
        return QueueCommand.domain(of: recipient.address) == domain
    }
}

struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "The outbound queue.",
        subcommands: [List.self, Show.self, Retry.self, Delete.self, Hold.self, Release.self, Stats.self])

    static func domain(of address: String) -> String {
        guard let at = address.lastIndex(of: "@") else { return "" }
        return address[address.index(after: at)...].lowercased()
    }

    static func isOpen(_ recipient: QueueRecipient) -> Bool {
        recipient.state == .pending || recipient.state == .deferred
    }

    static func age(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One line per queued message: id, size, created, sender, recipients(state), held.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only entries with a recipient in this domain.") var domain: String?
        @Option(name: .customLong("older-than"), help: "Only entries queued longer than this, e.g. 1h.") var olderThan: String?
        @Option(help: "Only entries with a recipient in this state (pending, deferred, delivered, failed), or held.")
        var status: String?

        func run() throws {
            try guarded {
                var minimumAge: Double?
                if let olderThan {
                    guard let duration = ConfigValues.duration(olderThan) else {
                        throw CLIError("\"\(olderThan)\" is not a duration like 1h or 90s")
                    }
                    minimumAge = duration.seconds
                }
                if let status, status != "held", QueueRecipient.State(rawValue: status) == nil {
                    throw CLIError("--status must be pending, deferred, delivered, failed or held")
                }
                let store = try global.openStore()
                defer { store.close() }
                let now = Date().timeIntervalSince1970
                let entries = try store.queueEntries().filter { entry in
                    if let domain, !entry.recipients.contains(where: { QueueCommand.domain(of: $0.address) == domain.lowercased() }) {
                        return false
                    }
                    if let minimumAge, now - entry.created < minimumAge { return false }
                    if let status {
                        if status == "held" { return entry.held }
                        return entry.recipients.contains { $0.state.rawValue == status }
                    }
                    return true
                }
                for entry in entries {
                    let recipients = entry.recipients.map { "\($0.address)(\($0.state.rawValue))" }.joined(separator: ",")
                    print("\(entry.id)\t\(entry.size)\t\(MessageDate.short(entry.created))\t<\(entry.sender)>\t\(recipients)\(entry.held ? "\theld" : "")")
                }
                if entries.isEmpty { print("queue is empty") }
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Envelope and per-recipient state of one entry.")
        @OptionGroup var global: GlobalOptions
        @Argument var id: String
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                guard let entry = store.queueEntry(id) else { throw CLIError("no queue entry \(id)") }
                print("id:       \(entry.id)")
                print("sender:   <\(entry.sender)>")
                print("size:     \(entry.size)")
                print("created:  \(MessageDate.short(entry.created)) UTC (\(QueueCommand.age(Date().timeIntervalSince1970 - entry.created)) ago)")
                print("held:     \(entry.held)")
                if let envid = entry.envid { print("envid:    \(envid)") }
                if let ret = entry.ret { print("ret:      \(ret)") }
                for recipient in entry.recipients {
                    var line = "rcpt:     \(recipient.address) \(recipient.state.rawValue) attempts=\(recipient.attempts)"
                    if QueueCommand.isOpen(recipient) {
                        line += recipient.nextAttempt > 0 ? " next=\(MessageDate.short(recipient.nextAttempt))" : " next=now"
                    }
                    if let notify = recipient.notify { line += " notify=\(notify)" }
                    if let route = recipient.route { line += " route=\(route)" }
                    if let error = recipient.lastError { line += " last_error=\"\(error)\"" }
                    print(line)
                }
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Try pending and deferred recipients at the next scan (not held entries: release them).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                var count = 0
                for var entry in try selection.entries(store) {
                    var changed = false
                    for index in entry.recipients.indices
                    where QueueCommand.isOpen(entry.recipients[index]) && selection.affects(entry.recipients[index]) {
                        entry.recipients[index].nextAttempt = 0
                        changed = true
                    }
                    guard changed else { continue }
                    try store.updateQueueEntry(entry)
                    count += 1
                }
                print("\(count) \(count == 1 ? "entry" : "entries") scheduled for delivery")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove entries (with --domain: only those recipients; the entry goes when none is left). No bounce.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                var removed = 0
                var dropped = 0
                for var entry in try selection.entries(store) {
                    if selection.domain == nil {
                        try store.removeQueueEntry(entry.id)
                        removed += 1
                        continue
                    }
                    for index in entry.recipients.indices
                    where QueueCommand.isOpen(entry.recipients[index]) && selection.affects(entry.recipients[index]) {
                        entry.recipients[index].state = .failed
                        entry.recipients[index].lastError = "Deleted from the queue by the operator."
                        dropped += 1
                    }
                    if entry.recipients.contains(where: QueueCommand.isOpen) {
                        try store.updateQueueEntry(entry)
                    } else {
                        try store.removeQueueEntry(entry.id)
                        removed += 1
                    }
                }
                print("\(removed) \(removed == 1 ? "entry" : "entries") deleted"
                      + (selection.domain == nil ? "" : ", \(dropped) recipients dropped"))
            }
        }
    }

    static func setHeld(_ held: Bool, global: GlobalOptions, selection: QueueSelection) throws {
        let store = try global.openStore()
        defer { store.close() }
        var count = 0
        for var entry in try selection.entries(store) where entry.held != held {
            entry.held = held
            try store.updateQueueEntry(entry)
            count += 1
        }
        print("\(count) \(count == 1 ? "entry" : "entries") \(held ? "held" : "released")")
    }

    struct Hold: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop delivering entries until released (an attempt already running finishes).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection
        func run() throws { try guarded { try QueueCommand.setHeld(true, global: global, selection: selection) } }
    }

    struct Release: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver held entries again (at their next attempt).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var selection: QueueSelection
        func run() throws { try guarded { try QueueCommand.setHeld(false, global: global, selection: selection) } }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Counts and ages by destination domain: entries, pending, deferred, held, oldest.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try guarded {
                let store = try global.openStore()
                defer { store.close() }
                struct Row { var entries = Set<String>(); var pending = 0; var deferred = 0; var held = 0; var oldest = Double.infinity }
                var rows: [String: Row] = [:]
                let entries = try store.queueEntries()
                let now = Date().timeIntervalSince1970
                for entry in entries {
                    for recipient in entry.recipients where QueueCommand.isOpen(recipient) {
                        var row = rows[QueueCommand.domain(of: recipient.address), default: Row()]
                        row.entries.insert(entry.id)
                        if entry.held { row.held += 1 } else if recipient.state == .pending { row.pending += 1 } else { row.deferred += 1 }
                        row.oldest = min(row.oldest, entry.created)
                        rows[QueueCommand.domain(of: recipient.address)] = row
                    }
                }
                print("entries: \(entries.count)  held: \(entries.filter(\.held).count)"
                      + "  oldest: \(entries.map(\.created).min().map { QueueCommand.age(now - $0) } ?? "-")")
                if !rows.isEmpty { print("domain\tentries\tpending\tdeferred\theld\toldest") }
                for (domain, row) in rows.sorted(by: { $0.key < $1.key }) {
                    print("\(domain)\t\(row.entries.count)\t\(row.pending)\t\(row.deferred)\t\(row.held)\t\(QueueCommand.age(now - row.oldest))")
                }
            }
        }
    }
}
