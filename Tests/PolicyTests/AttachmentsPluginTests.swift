// plugins/attachments.lua through the real engine: messages built here, walked by the
// host's MIME walk (tx:parts()).
import MailCore
import Testing
@testable import Policy

/// A multipart message with one text part and one attachment.
private func message(filename: String?, type: String = "application/octet-stream",
                     disposition: String = "attachment") -> [UInt8] {
    let name = filename.map { "; name=\"\($0)\"" } ?? ""
    let dispositionLine = filename.map { "Content-Disposition: \(disposition); filename=\"\($0)\"\r\n" } ?? ""
    let text = "From: sender@example.org\r\nTo: bob@example.test\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        + "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        + "--b1\r\nContent-Type: \(type)\(name)\r\n\(dispositionLine)Content-Transfer-Encoding: base64\r\n\r\n"
        + "TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=\r\n--b1--\r\n"
    return Array(text.utf8)
}

private func data(_ plugin: ShippedPolicies, _ bytes: [UInt8], ip: String = "198.51.100.7") -> HookResult {
    let session = SessionInfo(id: "s1", protocolName: "smtp", listener: "smtp", clientIP: ip, clientPort: 40000,
                              heloName: "mail.example.org", authUser: nil, tls: false)
    let tx = TransactionInfo(session: session, queueID: "Q1", mailFrom: address("sender@example.org"),
                             recipients: [address("bob@example.test")], size: bytes.count,
                             message: MessageContent(bytes: bytes))
    return plugin.engine.run(.data(tx))
}

private func refused(_ what: String) -> Verdict {
    .reject(Reply(554, "5.3.4", "Sorry, I don't accept messages with attachments of type \(what) (#5.3.4)"))
}

@Test func attachmentsRefusedByExtension() throws {
    let plugin = try ShippedPolicies(["attachments"])
    #expect(data(plugin, message(filename: "setup.exe")).verdict == refused(".exe"))
    #expect(data(plugin, message(filename: "Invoice.PDF.EXE", type: "application/pdf")).verdict == refused(".exe"))
    #expect(data(plugin, message(filename: "x.scr. . ")).verdict == refused(".scr"))
    #expect(data(plugin, message(filename: "readme.js", type: "text/plain", disposition: "inline")).verdict == refused(".js"))
    #expect(plugin.host.logs.contains { $0.message == "attachments: Q1 refused .exe (setup.exe)" })
}

@Test func attachmentsRefusedByContentType() throws {
    let plugin = try ShippedPolicies(["attachments"])
    #expect(data(plugin, message(filename: "data.bin", type: "application/x-msdownload")).verdict
        == refused("application/x-msdownload"))
    #expect(data(plugin, message(filename: nil, type: "Application/X-MSDownload")).verdict
        == refused("application/x-msdownload"))
}

@Test func attachmentsHarmlessMessagesPass() throws {
    let plugin = try ShippedPolicies(["attachments"])
    #expect(data(plugin, message(filename: "report.pdf", type: "application/pdf")).verdict == .next)
    #expect(data(plugin, message(filename: "noextension")).verdict == .next)
    #expect(data(plugin, Array("Subject: plain\r\n\r\nthe word setup.exe in a text\r\n".utf8)).verdict == .next)
    #expect(plugin.host.errors().isEmpty)
}

@Test func attachmentsTagAndLists() throws {
    let tagging = try ShippedPolicies(["attachments"], settings: ["attachments": ["action": "tag"]])
    let result = data(tagging, message(filename: "setup.exe"))
    #expect(result.verdict == .next)
    #expect(result.addedHeaders == [HeaderField(name: "X-Attachment-Refused", value: ".exe (setup.exe)")])

    let custom = try ShippedPolicies(["attachments"], settings: ["attachments": [
        "extensions": [".PDF"], "types": ["application/x-ms*"], "exempt_networks": ["203.0.113.0/24"]]])
    #expect(data(custom, message(filename: "setup.exe")).verdict == .next)
    #expect(data(custom, message(filename: "report.pdf", type: "application/pdf")).verdict == refused(".pdf"))
    #expect(data(custom, message(filename: "a.bin", type: "application/x-msi")).verdict == refused("application/x-msi"))
    #expect(data(custom, message(filename: "report.pdf"), ip: "203.0.113.5").verdict == .next)
}

@Test func attachmentsBadSettingsFailTheLoad() throws {
    for settings: PolicyValue in [["action": "drop"], ["extensions": [1]], ["exempt_networks": ["x"]]] {
        #expect(throws: PolicyLoadError.self, "\(settings)") {
            try ShippedPolicies(["attachments"], settings: ["attachments": settings])
        }
    }
}

/// A message with `count` text parts: beyond 256 the host's walk is incomplete.
private func manyParts(_ count: Int, last: String? = nil) -> [UInt8] {
    var text = "Subject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
    for index in 0..<count { text += "--b\r\nContent-Type: text/plain\r\n\r\npart \(index)\r\n" }
    if let last { text += "--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"\(last)\"\r\n\r\nx\r\n" }
    return Array((text + "--b--\r\n").utf8)
}

@Test func attachmentsMessagesTooDeepToWalk() throws {
    let plugin = try ShippedPolicies(["attachments"])
    #expect(data(plugin, manyParts(200)).verdict == .next)
    // An .exe hidden behind 300 parts is out of the walk's reach: refused as unchecked.
    #expect(data(plugin, manyParts(300, last: "setup.exe")).verdict
        == .reject(Reply(554, "5.3.4", "Sorry, I can't check attachments in a message with that many parts (#5.3.4)")))
    // A refused part the walk reached is the one named.
    #expect(data(plugin, manyParts(1, last: "setup.exe")).verdict == refused(".exe"))

    let lenient = try ShippedPolicies(["attachments"], settings: ["attachments": ["incomplete": "accept"]])
    #expect(data(lenient, manyParts(300, last: "setup.exe")).verdict == .next)
    let tagging = try ShippedPolicies(["attachments"], settings: ["attachments": ["action": "tag"]])
    #expect(data(tagging, manyParts(300)).addedHeaders
        == [HeaderField(name: "X-Attachment-Refused", value: "unchecked (too many parts)")])
    #expect(throws: PolicyLoadError.self) {
        try ShippedPolicies(["attachments"], settings: ["attachments": ["incomplete": "maybe"]])
    }
}
