// The client state machine against a real SMTP server: Postfix's smtp-sink on a
// loopback port, driven by a small blocking socket loop (the real driver is NIO in
// Gateway). Skipped when smtp-sink is not installed (Debian package postfix), failed when CI is set.
import Foundation
import Testing
@testable import Delivery

final class SMTPSink {
    let process: Process
    let port: Int
    let dumpDirectory: String

    static var binary: String? {
        ["/usr/sbin/smtp-sink", "/usr/bin/smtp-sink"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// smtp-sink on a free loopback port (another port is tried when it exits at once).
    init?(options: [String] = []) {
        guard let binary = Self.binary else { return nil }
        dumpDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("sink-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dumpDirectory, withIntermediateDirectories: true,
                                                 attributes: [.posixPermissions: 0o777])
        for _ in 0..<8 {
            let candidate = FreePort.loopback()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            var arguments = options + ["-d", dumpDirectory + "/msg."]
            if getuid() == 0 { arguments += ["-u", "nobody"] }
            process.arguments = arguments + ["127.0.0.1:\(candidate)", "10"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            do { try process.run() } catch { return nil }
            for _ in 0..<150 {   // up to ~15 s on a loaded machine
                if let fd = try? BlockingConnection.open(port: candidate) {
                    close(fd)
                    self.process = process
                    self.port = candidate
                    return
                }
                guard process.isRunning else { break }
                usleep(100_000)
            }
            if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        }
        try? FileManager.default.removeItem(atPath: dumpDirectory)
        return nil
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dumpDirectory)
    }

    /// The dumped transactions (smtp-sink's X-*-Args headers, then the message).
    func dumps() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dumpDirectory)) ?? []
        return names.sorted().compactMap { try? String(contentsOfFile: dumpDirectory + "/" + $0, encoding: .utf8) }
    }
}

enum BlockingConnection {
    struct Failure: Error { var text: String }

    static func open(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(text: "socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw Failure(text: "connect") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Runs one connection to the end: every message is enqueued up front, QUIT when idle.
    static func deliver(_ messages: [OutboundMessage], port: Int,
                        configuration: SMTPClientConfiguration) throws -> (results: [MessageResult], failures: [ConnectionFailure]) {
        let fd = try open(port: port)
        defer { close(fd) }
        var session = SMTPClientSession(configuration: configuration)
        var results: [MessageResult] = []
        var failures: [ConnectionFailure] = []
        var queue: [SMTPClientAction] = []
        for message in messages { queue += session.enqueue(message) }
        var closed = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !closed {
            while !queue.isEmpty {
                switch queue.removeFirst() {
                case .send(let bytes):
                    var offset = 0
                    while offset < bytes.count {
                        let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                        guard written > 0 else { throw Failure(text: "write") }
                        offset += written
                    }
                case .startTLS: throw Failure(text: "no TLS in this driver")
                case .messageFinished(let result): results.append(result)
                case .idle: queue += session.quit()
                case .connectionFailed(let failure, _): failures.append(failure)
                case .close: closed = true
                }
            }
            if closed { break }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 {
                queue += session.connectionClosed()
                closed = true
                continue
            }
            queue += session.receive(Array(buffer[0..<count]))
        }
        // Drain what the last events produced.
        for action in queue {
            if case .messageFinished(let result) = action { results.append(result) }
            if case .connectionFailed(let failure, _) = action { failures.append(failure) }
        }
        return (results, failures)
    }
}

@Suite(.serialized, .enabled(if: ToolRequirement.runs(SMTPSink.binary != nil))) struct SMTPClientInteropTests {
    let configuration = SMTPClientConfiguration(heloName: "relay.example.test", peerName: "127.0.0.1", tls: .opportunistic)

    @Test func deliversSeveralMessagesOverOneConnection() throws {
        let sink = try #require(SMTPSink(), "smtp-sink did not start")
        defer { sink.stop() }
        let messages = [
            message("Q1", to: ["a@example.net", "b@example.net"], body: "Subject: one\r\n\r\n.dotted line\r\nend\r\n",
                    envid: "ENV1", ret: "HDRS", notify: "SUCCESS,FAILURE", orcpt: "rfc822;a@example.net"),
            message("Q2", from: "", to: ["c@example.net"], body: "Subject: two\r\n\r\ncaf\u{E9}\r\n"),
            message("Q3", to: ["d@example.net"], body: "Subject: three\r\n\r\nno final newline"),
        ]
        let (results, failures) = try BlockingConnection.deliver(messages, port: sink.port, configuration: configuration)
        #expect(failures.isEmpty)
        #expect(results.map(\.messageID) == ["Q1", "Q2", "Q3"])
        #expect(results.allSatisfy { $0.recipients.allSatisfy { $0.status == .delivered } && $0.remoteSupportsDSN })
        #expect(results[0].recipients[0].text == "[127.0.0.1] accepted message. Remote host said: 250 2.0.0 Ok")
        usleep(200_000)
        let dumps = sink.dumps()
        #expect(dumps.count == 3)
        let first = try #require(dumps.first { $0.contains("Subject: one") })
        #expect(first.contains("X-Mail-Args: <alice@example.test> RET=HDRS ENVID=ENV1\n"))
        #expect(first.contains("X-Rcpt-Args: <a@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@example.net\n"))
        #expect(first.contains("\n.dotted line\nend\n") || first.contains("\r\n.dotted line\r\nend\r\n"))
        let second = try #require(dumps.first { $0.contains("Subject: two") })
        #expect(second.contains("X-Mail-Args: <> BODY=8BITMIME\n"))
        #expect(dumps.contains { $0.contains("no final newline") })
    }

    @Test func hardAndSoftRejectionsBecomeFailedAndDeferred() throws {
        let hard = try #require(SMTPSink(options: ["-f", "rcpt"]), "smtp-sink did not start")
        defer { hard.stop() }
        let (results, _) = try BlockingConnection.deliver([message("Q1", to: ["x@example.net"])], port: hard.port,
                                                          configuration: configuration)
        let refused = try #require(results.first?.recipients.first)
        #expect(refused.status == .failed && refused.enhancedStatus.hasPrefix("5."))
        #expect(refused.text.hasPrefix("[127.0.0.1] does not like recipient. Remote host said: ... while talking to "
                                       + "[127.0.0.1]: >>> RCPT To:<x@example.net> <<< 5"))

        let soft = try #require(SMTPSink(options: ["-r", "data"]), "smtp-sink did not start")
        defer { soft.stop() }
        let (later, _) = try BlockingConnection.deliver([message("Q2")], port: soft.port, configuration: configuration)
        let deferred = try #require(later.first?.recipients.first)
        #expect(deferred.status == .deferred && deferred.text.hasPrefix("[127.0.0.1] failed on DATA command."))
    }

    @Test func aServerThatHangsUpDefersTheMessage() throws {
        let sink = try #require(SMTPSink(options: ["-q", "data"]), "smtp-sink did not start")
        defer { sink.stop() }
        let (results, failures) = try BlockingConnection.deliver([message("Q1")], port: sink.port,
                                                                 configuration: configuration)
        #expect(results.first?.recipients.first?.status == .deferred)
        #expect(results.first?.recipients.first?.text == "Connected to [127.0.0.1] but connection died. (#4.4.2)")
        #expect(failures.first?.kind == .connectionLost)
    }
}
