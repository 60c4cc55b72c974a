// Transcripts with canned HTTP answers ([[http]], MemoryHTTP in PolicyTestFixture.swift):
// the parser's checks, and the shipped rspamd transcripts played through the runner.
import Foundation
import MailCore
import Policy
import Testing
@testable import Gateway

@Suite struct PolicyTranscriptHTTPTests {
    private func parse(_ text: String) throws(TranscriptError) -> PolicyTranscript {
        try PolicyTranscriptParser.parse(text + "\n[[step]]\nhook = \"connect\"\nexpect = \"next\"\n", file: "t.toml", baseDirectory: "/tmp")
    }

    @Test func readsAnswersAndErrors() throws {
        let transcript = try parse("""
        [limits]
        policy_http_timeout = "4s"
        [[http]]
        url = "http://127.0.0.1:11333/checkv2"
        method = "post"
        status = 200
        body = "{}"
        headers = { "Content-Type" = "application/json" }
        [[http]]
        url = "http://down.example/"
        error = "timeout"
        """)
        #expect(transcript.httpTimeout == .seconds(4))
        #expect(transcript.http.count == 2)
        #expect(transcript.http[0].method == "POST")
        #expect(transcript.http[0].result == .success(PolicyHTTPResponse(
            status: 200, headers: [HeaderField(name: "Content-Type", value: "application/json")], body: Array("{}".utf8))))
        #expect(transcript.http[1].result == .failure(.timeout))
    }

    @Test(arguments: [
        ("[[http]]\nstatus = 200", "needs url"),
        ("[[http]]\nurl = \"ftp://x/\"\nstatus = 200", "is not an http:// or https:// URL"),
        ("[[http]]\nurl = \"http://x/\"", "give either status"),
        ("[[http]]\nurl = \"http://x/\"\nstatus = 200\nerror = \"timeout\"", "give either status"),
        ("[[http]]\nurl = \"http://x/\"\nerror = \"nxdomain\"", "is not an HTTP error"),
        ("[[http]]\nurl = \"http://x/\"\nstatus = 700", "from 100 to 599"),
        ("[[http]]\nurl = \"http://x/\"\nstatus = 200\nbodyy = \"\"", "bodyy"),
    ])
    func refusesMistakes(text: String, message: String) {
        do {
            _ = try parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func memoryHTTPAnswersByURLAndMethod() async {
        let http = MemoryHTTP()
        http.set("HTTP://LocalHost:80/a", method: "POST", .success(PolicyHTTPResponse(status: 201)))
        http.set("http://localhost/a", .success(PolicyHTTPResponse(status: 200)))
        func status(_ method: String, _ url: String, max: Int = 1000) async -> String {
            let request = PolicyHTTPRequest(method: method, url: PolicyHTTPURL(url)!, maxResponseBytes: max)
            return await withCheckedContinuation { continuation in
                http.send(request, timeout: .seconds(1)) { result in
                    switch result {
                    case .success(let response): continuation.resume(returning: String(response.status))
                    case .failure(let error): continuation.resume(returning: error.rawValue)
                    }
                }
            }
        }
        #expect(await status("POST", "http://localhost/a") == "201")
        #expect(await status("GET", "http://localhost/a") == "200")
        #expect(await status("GET", "http://localhost/b") == "refused")
        #expect(await status("GET", "http://localhost/a", max: 10) == "too_large")
        #expect(http.takeRequests().count == 4)
    }

    /// The rspamd plugin's transcripts, offline.
    @Test func theRspamdTranscriptsPass() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let folder = root.appendingPathComponent("examples/transcripts")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasPrefix("rspamd-") && $0.hasSuffix(".toml") }.sorted()
        #expect(names.count >= 10)
        let base = PolicyConfiguration(directory: root.appendingPathComponent("policies").path,
                                       pluginDirectory: root.appendingPathComponent("plugins").path,
                                       globals: ["hostname": "mx.example.test", "max_message_size": 10_485_760,
                                                 "max_recipients": 100])
        for name in names {
            let transcript = try PolicyTranscriptParser.load(path: folder.appendingPathComponent(name).path, checkSyntax: false)
            var lines: [String] = []
            let outcome = PolicyTranscriptRunner(transcript: transcript, base: base, verbose: true).run { lines.append($0) }
            #expect(outcome == .passed(steps: transcript.steps.count), "\(name):\n\(lines.joined(separator: "\n"))")
        }
    }
}
