// Plays a transcript through the real policy engine over a PolicyTestFixture: builds
// each hook call's session and transaction the way the SMTP session does (HELO names
// the session once accepted, MAIL starts a transaction, an accepted RCPT joins it, DATA
// gives size and headers and the added headers reach `deliver`, a disconnect verdict
// ends the session, AUTH success sets auth_user) including the checks the SMTP session
// makes before calling a hook (declared or real size over the maximum, too many
// recipients), compares each result with the step's expectation and prints one line per
// step. A mismatch does not stop the transcript: the run goes on with what the chain
// really answered, as the server would, so every mismatch is reported at once. A step
// the session could not reach (RCPT without an accepted MAIL ...) ends the transcript.
import Foundation
import MailAuth
import MailCore
import Policy

public struct PolicyTranscriptRunner {
    public enum Outcome: Equatable, Sendable {
        /// Every step matched.
        case passed(steps: Int)
        /// Steps run and how many did not match.
        case failed(steps: Int, mismatches: Int)
        /// The policies could not be loaded: nothing ran.
        case broken(String)
    }

    public var transcript: PolicyTranscript
    /// The configuration the transcript's own settings override (mailgate.toml or defaults).
    public var base: PolicyConfiguration
    /// `--chain`: used when the transcript names none.
    public var chainOverride: [String]?
    /// Print every policy log line and DNS question, not only warnings and errors.
    public var verbose = false

    public init(transcript: PolicyTranscript, base: PolicyConfiguration, chainOverride: [String]? = nil,
                verbose: Bool = false) {
        self.transcript = transcript; self.base = base; self.chainOverride = chainOverride; self.verbose = verbose
    }

    /// The engine configuration: the base with the transcript's chain, directories,
    /// settings (merged key by key) and limits; one VM (steps run one at a time).
    public var configuration: PolicyConfiguration {
        var configuration = base
        if let chain = transcript.chain ?? chainOverride { configuration.chain = chain }
        if let shadow = transcript.shadow {
            configuration.shadow = shadow
        } else if transcript.chain != nil || chainOverride != nil {
            configuration.shadow = []  // the configured shadows go with the configured chain
        }
        if let directory = transcript.policyDirectory { configuration.directory = directory }
        if let directory = transcript.pluginDirectory { configuration.pluginDirectory = directory }
        for (name, values) in transcript.settings {
            var merged: [String: PolicyValue] = [:]
            if case .table(let table)? = configuration.settings[name] { merged = table }
            merged.merge(values) { _, new in new }
            configuration.settings[name] = .table(merged)
        }
        if let hostname = transcript.hostname { configuration.globals["hostname"] = .string(hostname) }
        if let size = transcript.maxMessageSize { configuration.globals["max_message_size"] = .integer(size) }
        if let count = transcript.maxRecipients { configuration.globals["max_recipients"] = .integer(count) }
        if let budget = transcript.instructionBudget { configuration.instructionBudget = budget }
        if let deadline = transcript.deadline { configuration.deadline = deadline }
        if let lookups = transcript.dnsLookups { configuration.maxHostWaits = lookups }
        if let timeout = transcript.dnsTimeout { configuration.dnsTimeout = timeout }
        if let timeout = transcript.httpTimeout { configuration.httpTimeout = timeout }
        configuration.vmCount = 1
        return configuration
    }

    /// The authserv-id of the Authentication-Results field the data hook's results make.
    var authservID: String {
        if case .string(let name)? = configuration.globals["hostname"] { return name }
        return "localhost"
    }

    var maxMessageSize: Int {
        if case .integer(let size)? = configuration.globals["max_message_size"] { return size }
        return Limits().maxMessageSize
    }

    var maxRecipients: Int {
        if case .integer(let count)? = configuration.globals["max_recipients"] { return count }
        return Limits().maxRecipients
    }

    /// Runs every step, writing lines to `output`.
    public func run(output: (String) -> Void) -> Outcome {
        output("== \(transcript.file)\(transcript.description.map { ": \($0)" } ?? "")")
        let fixture = PolicyTestFixture(transcript: transcript)
        let configuration = self.configuration
        let engine: PolicyEngine
        do { engine = try PolicyEngine(configuration: configuration, host: fixture) }
        catch {
            printLogs(fixture, output)
            output("ERROR \(transcript.file): the policies did not load: \(error)")
            return .broken("\(error)")
        }
        printLogs(fixture, output)
        output("     chain: \(configuration.chain.joined(separator: ", "))"
               + (configuration.shadow.isEmpty ? "" : "; shadow: \(configuration.shadow.joined(separator: ", "))"))
        var state = SessionState(transcript: transcript, maxMessageSize: maxMessageSize, maxRecipients: maxRecipients,
                                 authservID: authservID)
        var mismatches = 0
        var ran = 0
        for step in transcript.steps {
            ran += 1
            switch step.action {
            case .wait(let seconds, let text):
                fixture.advance(seconds)
                output(line("ok", step, "wait \(text)", "clock \(Self.number(fixture.now()))"))
            case .hook(let hookStep):
                let played: Played
                do { played = try state.play(hookStep, engine: engine, fixture: fixture) }
                catch {
                    output(line("FAIL", step, hookStep.hook.rawValue, "cannot run: \(error)"))
                    output("     \(location(step)): the transcript stops here")
                    printLogs(fixture, output)
                    return .failed(steps: ran, mismatches: mismatches + 1)
                }
                engine.waitForShadowCalls()  // their disagreements print under this step
                let logs = fixture.takeLogs()
                let problems = check(hookStep, played, logs: logs)
                let shown = played.result.transcriptDescription
                    + (played.decidedBy.map { " by \($0)" } ?? "")
                output(line(problems.isEmpty ? "ok" : "FAIL", step, played.label, shown))
                if !problems.isEmpty {
                    mismatches += 1
                    for problem in problems { output("     \(location(step, expect: true)): \(problem)") }
                }
                let added = played.result.fieldsAdded(authservID: authservID)
                if verbose || !problems.isEmpty, !added.isEmpty {
                    for header in added { output("     + \(header.name): \(header.value)") }
                }
                printLogs(fixture, output, logs: logs, all: !problems.isEmpty && hookStep.expectLog != nil)
            }
        }
        output(mismatches == 0 ? "     passed: \(ran) steps" : "     FAILED: \(mismatches) of \(ran) steps")
        return mismatches == 0 ? .passed(steps: ran) : .failed(steps: ran, mismatches: mismatches)
    }

    private func location(_ step: PolicyTranscript.Step, expect: Bool = false) -> String {
        "\(transcript.file)\((expect ? step.expectLine : step.line).map { ":\($0)" } ?? "")"
    }

    private func line(_ status: String, _ step: PolicyTranscript.Step, _ label: String, _ result: String) -> String {
        let head = "\(status.padding(toLength: 4, withPad: " ", startingAt: 0)) \(String(step.number).leftPadded(3)) "
        return head + label.padding(toLength: max(label.count, 34), withPad: " ", startingAt: 0) + " " + result
    }

    /// Prints the step's log lines (warnings and errors; every one with `verbose` or `all`).
    private func printLogs(_ fixture: PolicyTestFixture, _ output: (String) -> Void,
                           logs: [PolicyTestFixture.LogLine]? = nil, all: Bool = false) {
        for entry in logs ?? fixture.takeLogs() where verbose || all || entry.level == .warning || entry.level == .error {
            output("     [\(entry.level.rawValue)] \(entry.policy): \(entry.message)")
        }
        let queries = fixture.memoryDNS.takeQueries()
        let requests = fixture.memoryHTTP.takeRequests()
        guard verbose else { return }
        for query in queries {
            output("     dns \(query.type.name) \(query.name) -> \(Self.describe(query.result))")
        }
        for asked in requests {
            let answer: String
            switch asked.result {
            case .success(let response): answer = "\(response.status) (\(response.body.count) bytes)"
            case .failure(let error): answer = error.rawValue
            }
            output("     http \(asked.request.method) \(asked.request.url) (\(asked.request.body.count) bytes) -> \(answer)")
        }
    }

    /// What did not match, one sentence each.
    func check(_ step: PolicyTranscript.HookStep, _ played: Played, logs: [PolicyTestFixture.LogLine] = []) -> [String] {
        var problems: [String] = []
        let result = played.result
        if !step.expect.matches(result) {
            problems.append("expected \(step.expect), got \(result.transcriptDescription)")
        }
        if let text = step.expectText {
            if let actual = result.replyText {
                if !actual.contains(text) { problems.append("expected the reply text to contain \"\(text)\", got \"\(actual)\"") }
            } else {
                problems.append("expected a reply text containing \"\(text)\", got \(result.transcriptDescription)")
            }
        }
        if let expected = step.expectHeaders {
            let added = result.fieldsAdded(authservID: authservID)
            let matches = expected.count == added.count && zip(expected, added).allSatisfy { want, header in
                let parts = want.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                guard name.caseInsensitiveCompare(header.name) == .orderedSame else { return false }
                guard parts.count == 2 else { return true }
                return header.value.contains(parts[1].trimmingCharacters(in: .whitespaces))
            }
            if !matches {
                let got = added.isEmpty ? "none" : added.map { "\($0.name): \($0.value)" }.joined(separator: "; ")
                problems.append("expected added headers [\(expected.joined(separator: ", "))], got \(got)")
            }
        }
        for text in step.expectLog ?? [] where !logs.contains(where: { $0.message.contains(text) }) {
            problems.append("expected a log line containing \"\(text)\"")
        }
        if let policy = step.expectPolicy, policy != (played.decidedBy ?? "") {
            problems.append("expected the verdict from \(policy.isEmpty ? "no policy" : policy), "
                            + "got it from \(played.decidedBy ?? "no policy")")
        }
        return problems
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    static func describe(_ result: DNSLookupResult) -> String {
        switch result {
        case .records(let records, _):
            return records.map { record in
                switch record {
                case .address(let text), .text(let text), .name(let text): text
                case .mx(let preference, let exchange): "\(preference) \(exchange)"
                }
            }.joined(separator: ", ")
        default:
            return result.errorName ?? "?"
        }
    }

    /// What one hook step gave.
    struct Played {
        var label: String
        var result: HookResult
        /// The policy, or "smtp" for a check the SMTP session makes before the hook.
        var decidedBy: String?
    }

    struct SequenceError: Error { var reason: String }

    /// The session and transaction, as the SMTP session keeps them between commands.
    struct SessionState {
        let transcript: PolicyTranscript
        let maxMessageSize: Int
        let maxRecipients: Int
        let authservID: String
        var session: SessionInfo
        var sessions = 1
        var closedBy: Int?
        var transaction: TransactionInfo?
        /// The message passed `data`: `deliver` may run.
        var delivered = false
        /// The folder the `data` hook chose for local recipients (tx:set_folder).
        var dataFolder: String?
        var queueIDs = 0
        var stepNumber = 0

        init(transcript: PolicyTranscript, maxMessageSize: Int, maxRecipients: Int, authservID: String) {
            self.transcript = transcript
            self.authservID = authservID
            self.maxMessageSize = maxMessageSize
            self.maxRecipients = maxRecipients
            self.session = Self.session(transcript.connection, number: 1)
        }

        static func session(_ connection: PolicyTranscript.Connection, number: Int) -> SessionInfo {
            SessionInfo(id: "test-\(number)", protocolName: connection.protocolName, listener: connection.listener,
                        clientIP: connection.clientIP, clientPort: connection.clientPort,
                        authUser: connection.authUser, tls: connection.tls)
        }

        mutating func play(_ step: PolicyTranscript.HookStep, engine: PolicyEngine,
                           fixture: PolicyTestFixture) throws(SequenceError) -> Played {
            stepNumber += 1
            if step.hook != .connect && step.hook != .disconnect, let closedBy {
                throw SequenceError(reason: "the session was closed by the verdict of step \(closedBy); "
                                    + "start a new one with hook = \"connect\"")
            }
            func run(_ call: HookCall) -> HookResult { engine.run(call) }
            func smtp(_ reply: Reply, _ deferred: Bool = false) -> HookResult {
                HookResult(verdict: deferred ? .deferred(reply) : .reject(reply))
            }
            let isSMTP = session.protocolName == "smtp"
            switch step.hook {
            case .connect:
                var connection = transcript.connection
                if let listener = step.listener {
                    connection.listener = listener
                    connection.tls = ["smtps", "pop3s", "imaps"].contains(listener)
                }
                if let ip = step.clientIP { connection.clientIP = ip }
                if let port = step.clientPort { connection.clientPort = port }
                if let tls = step.tls { connection.tls = tls }
                if let user = step.authUser { connection.authUser = user.isEmpty ? nil : user }
                sessions += 1
                session = Self.session(connection, number: sessions)
                closedBy = nil; transaction = nil; delivered = false
                let result = run(.connect(session))
                noteClosing(result.verdict, refusalCloses: true)
                return Played(label: "connect \(session.clientIP) (\(session.listener))", result: result,
                              decidedBy: result.decidedBy)

            case .helo:
                guard isSMTP else { throw SequenceError(reason: "helo in a \(session.protocolName) session") }
                let name = step.name ?? ""
                transaction = nil; delivered = false
                var hookSession = session
                hookSession.heloName = name
                let result = run(.helo(hookSession, name: name))
                if !result.verdict.isRefusal { session.heloName = name }
                noteClosing(result.verdict)
                return Played(label: "helo \(name)", result: result, decidedBy: result.decidedBy)

            case .auth:
                if isSMTP {
                    guard session.authUser == nil else { throw SequenceError(reason: "AUTH after a successful AUTH (SMTP answers 503)") }
                    guard transaction == nil || delivered else {
                        throw SequenceError(reason: "AUTH during a mail transaction (SMTP answers 503)")
                    }
                }
                let given = step.user ?? ""
                let user = step.success ? (LoginName.normalize(given) ?? given) : given
                let result = run(.auth(session, user: user, mechanism: step.mechanism, success: step.success))
                if step.success, !result.verdict.isRefusal { session.authUser = user }
                noteClosing(result.verdict)
                return Played(label: "auth \(given) \(step.mechanism) \(step.success ? "ok" : "failed")", result: result,
                              decidedBy: result.decidedBy)

            case .mailFrom:
                guard isSMTP else { throw SequenceError(reason: "mail_from in a \(session.protocolName) session") }
                let label = "mail_from <\(step.address?.address ?? "")>" + (step.size.map { " SIZE=\($0)" } ?? "")
                transaction = nil; delivered = false
                if let size = step.size, size > maxMessageSize {
                    return Played(label: label, result: smtp(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")),
                                  decidedBy: "smtp")
                }
                queueIDs += 1
                let info = TransactionInfo(session: session, queueID: "PT\(queueIDs)",
                                           mailFrom: nil, recipients: [], size: step.size)
                let result = run(.mailFrom(info, sender: step.address))
                if !result.verdict.isRefusal {
                    transaction = info
                    transaction?.mailFrom = step.address
                }
                noteClosing(result.verdict)
                return Played(label: label, result: result, decidedBy: result.decidedBy)

            case .rcpt:
                let recipient = step.address!
                let label = "rcpt <\(recipient.address)>"
                guard var info = transaction, !delivered else {
                    throw SequenceError(reason: "rcpt needs a mail transaction: add a mail_from step that is accepted")
                }
                guard info.recipients.count < maxRecipients else {
                    return Played(label: label, result: smtp(Reply(452, "4.5.3", "Too many recipients"), true), decidedBy: "smtp")
                }
                let result = run(.rcpt(info, recipient: recipient))
                if !result.verdict.isRefusal {
                    info.recipients.append(recipient)
                    transaction = info
                }
                noteClosing(result.verdict)
                return Played(label: label, result: result, decidedBy: result.decidedBy)

            case .data:
                guard var info = transaction, !delivered else {
                    throw SequenceError(reason: "data needs a mail transaction: add a mail_from step that is accepted")
                }
                guard !info.recipients.isEmpty else {
                    throw SequenceError(reason: "data needs an accepted recipient (SMTP answers 554 no valid recipients)")
                }
                let message = step.message ?? Self.defaultMessage(info)
                let size = step.size ?? message.count
                let label = "data \(size) bytes"
                guard size <= maxMessageSize else {
                    transaction = nil
                    return Played(label: label, result: smtp(Reply(552, "5.3.4", "Message size exceeds fixed maximum message size")),
                                  decidedBy: "smtp")
                }
                info.size = size
                info.headers = HeaderFields.parse(message)
                info.message = MessageContent(bytes: message)
                let result = run(.data(info))
                if result.verdict.isRefusal {
                    transaction = nil
                } else {
                    // deliver sees the message as it would be stored: the added headers
                    // first (the SMTP session's Received line is not simulated).
                    var stored: [UInt8] = []
                    if !result.authenticationResults.isEmpty {
                        stored.append(contentsOf: AuthenticationResults.field(authservID: authservID,
                                                                              results: result.authenticationResults).utf8)
                    }
                    var received = message
                    if let subject = result.newSubject {
                        stored.append(contentsOf: HeaderText.line("Subject", EncodedWords.encode(subject)).utf8)
                        received = HeaderFields.removingFields(named: "Subject", from: message) ?? message
                    }
                    for header in result.addedHeaders {
                        stored.append(contentsOf: HeaderText.line(header.name, header.value, allowUTF8: true).utf8)
                    }
                    info.message = MessageContent(bytes: stored + received)
                    info.headers = result.fieldsAdded(authservID: authservID) + info.headers
                    transaction = info
                    delivered = true
                    dataFolder = result.folder
                }
                noteClosing(result.verdict)
                return Played(label: label, result: result, decidedBy: result.decidedBy)

            case .deliver:
                let recipient = step.address!
                guard let info = transaction, delivered else {
                    throw SequenceError(reason: "deliver needs a message: add a data step that is accepted")
                }
                let isLocal = step.local ?? fixture.isLocalDomain(recipient.domain)
                var result = run(.deliver(info, recipient: recipient, local: isLocal))
                // As the server does: a local recipient the deliver hook leaves alone gets
                // the data hook's folder.
                if isLocal, let folder = dataFolder, result.delivery == .normal,
                   result.verdict == .next || result.verdict == .accept {
                    result.verdict = .accept
                    result.delivery = .folder(folder)
                }
                return Played(label: "deliver <\(recipient.address)>\(isLocal ? " (local)" : "")", result: result,
                              decidedBy: result.decidedBy)

            case .disconnect:
                let result = run(.disconnect(session))
                closedBy = closedBy ?? stepNumber
                transaction = nil; delivered = false
                return Played(label: "disconnect", result: result, decidedBy: result.decidedBy)

            default:
                throw SequenceError(reason: "hook \(step.hook.rawValue) is not run by transcripts")
            }
        }

        mutating func noteClosing(_ verdict: Verdict, refusalCloses: Bool = false) {
            switch verdict {
            case .disconnect: closedBy = stepNumber
            case .reject, .deferred: if refusalCloses { closedBy = stepNumber }
            default: break
            }
            if closedBy != nil { transaction = nil; delivered = false }
        }

        /// A short message when a data step gives none: From, To, Subject, Message-ID, body.
        static func defaultMessage(_ info: TransactionInfo) -> [UInt8] {
            let from = info.mailFrom?.address ?? "mailer-daemon@\(info.session.heloName ?? "client.example")"
            let to = info.recipients.map(\.address).joined(separator: ", ")
            let text = "From: <\(from)>\r\nTo: \(to)\r\nSubject: mailgate policy test\r\n"
                + "Message-ID: <\(info.queueID)@policy-test>\r\n\r\nA test message.\r\n"
            return Array(text.utf8)
        }
    }
}

extension Verdict {
    /// A verdict after which the SMTP session does not go on with the command.
    var isRefusal: Bool {
        switch self {
        case .next, .accept: false
        case .reject, .deferred, .disconnect: true
        }
    }
}

extension PolicyTranscriptRunner.SequenceError: CustomStringConvertible {
    var description: String { reason }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
