import Foundation
import MailAuth
import MailCore
import Testing
@testable import Policy

@Test func addAuthResultCollectsResinfosInChainOrder() throws {
    let dir = PolicyDirectory()
    dir.write("a.lua", """
    return { data = function(tx)
      tx:add_auth_result("spf", "pass", {{"smtp.mailfrom", "remote.example"}})
      return mailgate.next
    end }
    """)
    dir.write("b.lua", """
    return { data = function(tx)
      tx:add_auth_result("dkim", "fail", {["header.s"] = "sel", ["header.d"] = "remote.example"}, "body hash did not verify")
      tx:add_auth_result("dmarc", "none")
      return mailgate.next
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a", "b"]), host: TestPolicyHost())
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next)
    #expect(result.authenticationResults == [
        "spf=pass smtp.mailfrom=remote.example",
        "dkim=fail reason=\"body hash did not verify\" header.d=remote.example header.s=sel",
        "dmarc=none",
    ])
}

@Test func addAuthResultRefusesBadInputAndOtherHooks() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("a.lua", """
    return {
      data = function(tx)
        local bad = {
          pcall(tx.add_auth_result, tx, "spf;x", "pass"),
          pcall(tx.add_auth_result, tx, "spf", "pass\\r\\nBcc: x"),
          pcall(tx.add_auth_result, tx, "spf", "pass", {mailfrom = "x"}),
          (pcall(tx.add_auth_result, tx, "spf", "pass", "not a table")),
        }
        for index, ok in ipairs(bad) do if ok then return mailgate.reject(550, nil, "case " .. index) end end
        return mailgate.next
      end,
      rcpt = function(tx) tx:add_auth_result("spf", "pass") return mailgate.next end,
    }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next, "\(result)")
    #expect(result.authenticationResults.isEmpty)
    #expect(engine.run(.rcpt(transaction(), recipient: address("a@example.test"))) == .policyFailure)
    #expect(host.errors().first?.contains("only available in the data hook") == true)
}

// MARK: - mailgate.spf / dkim / dmarc through the engine, DNS from TestResolver

private final class RecordingReports: DMARCReportRecorder, @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [DMARCReportRow] = []
    func record(_ row: DMARCReportRow) { lock.lock(); stored.append(row); lock.unlock() }
    var rows: [DMARCReportRow] { lock.lock(); defer { lock.unlock() }; return stored }
}


private func txt(_ resolver: TestResolver, _ name: String, _ text: String) {
    resolver.answer(name, .txt, .records([.text(text)], ttl: 300))
}

/// A message from alice@signer.example signed with a fresh Ed25519 key, published
/// under sel._domainkey.signer.example.
private func signedMessage(_ resolver: TestResolver, tamper: Bool = false) throws -> [UInt8] {
    let key = try DKIMKeyPair.generate(.ed25519SHA256)
    txt(resolver, "sel._domainkey.signer.example", key.dnsRecord)
    let text = "From: Alice <alice@signer.example>\r\nTo: bob@example.test\r\nSubject: hi\r\n"
        + "Date: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@signer.example>\r\n\r\nHello Bob.\r\n"
    let signer = DKIMSigner(domain: "signer.example", selector: "sel", key: key)
    let field = try signer.signatureField(for: AuthMessage(text), now: 1_800_000_000)
    let signed = field + text
    return Array((tamper ? signed.replacingOccurrences(of: "Hello Bob.", with: "Hello Eve.") : signed).utf8)
}

private func dataTransaction(_ bytes: [UInt8], from: String = "alice@signer.example", ip: String = "192.0.2.10") -> TransactionInfo {
    var info = transaction(session(ip: ip), from: from, recipients: ["bob@example.test"], size: bytes.count,
                           headers: HeaderFields.parse(bytes))
    info.message = MessageContent(bytes: bytes)
    return info
}

private let authPolicy = """
return { data = function(tx)
  local spf = mailgate.spf.check(tx.session.client_ip, tx.session.helo or "", tx.mail_from and tx.mail_from.address or "")
  local dkim = mailgate.dkim.verify(tx)
  local again = mailgate.dkim.verify(tx)
  local dmarc = mailgate.dmarc.check(tx, spf, dkim)
  local first = dkim[1] or {}
  return mailgate.reject(550, nil, table.concat({ spf.result, spf.domain, #dkim, tostring(first.result),
    tostring(first.domain), tostring(first.algorithm), tostring(#again), dmarc.result, dmarc.disposition,
    tostring(dmarc.policy), tostring(dmarc.dkim_aligned), tostring(dmarc.spf_aligned), tostring(dmarc.problem) }, " "))
end }
"""

@Test func spfDKIMAndDMARCPassForAnAlignedSignedMessage() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let resolver = TestResolver()
    host.resolver = resolver
    txt(resolver, "signer.example", "v=spf1 ip4:192.0.2.0/24 -all")
    txt(resolver, "_dmarc.signer.example", "v=DMARC1; p=reject")
    dir.write("auth.lua", authPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["auth"]), host: host)
    let bytes = try signedMessage(resolver)
    let result = engine.run(.data(dataTransaction(bytes)))
    #expect(result.reply?.text == "pass signer.example 1 pass signer.example ed25519-sha256 1 pass none reject true true nil")
}

@Test func forgedMessageFailsDMARCWithTheRejectDisposition() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let resolver = TestResolver()
    host.resolver = resolver
    txt(resolver, "signer.example", "v=spf1 ip4:192.0.2.0/24 -all")
    txt(resolver, "_dmarc.signer.example", "v=DMARC1; p=reject; rua=mailto:dmarc@signer.example")
    dir.write("auth.lua", authPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["auth"]), host: host)
    let bytes = try signedMessage(resolver, tamper: true)
    let result = engine.run(.data(dataTransaction(bytes, ip: "203.0.113.9")))
    #expect(result.reply?.text == "fail signer.example 1 fail signer.example ed25519-sha256 1 fail reject reject false false nil",
            "\(host.errors())")
}

@Test func dmarcWithoutOneFromDomainAndWithoutResolver() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("auth.lua", authPolicy)
    let engine = try PolicyEngine(configuration: dir.configuration(["auth"]), host: host)
    let noFrom = Array("Subject: x\r\n\r\nbody\r\n".utf8)
    #expect(engine.run(.data(dataTransaction(noFrom))).reply?.text
            == "temperror  0 nil nil nil 0 none none nil false false no From domain")
    let twoFroms = Array("From: a@one.example, b@two.example\r\nSubject: x\r\n\r\nbody\r\n".utf8)
    #expect(engine.run(.data(dataTransaction(twoFroms))).reply?.text
            == "temperror  0 nil nil nil 0 permerror none nil false false several From domains")
}

@Test func checksRefuseBadArgumentsAndLoadTime() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    host.resolver = TestResolver()
    dir.write("bad.lua", """
    return { data = function(tx)
      local problems = {}
      for _, call in ipairs({
        function() return mailgate.spf.check("not an ip", "", "") end,
        function() return mailgate.spf.check("192.0.2.1", nil, "") end,
        function() return mailgate.dkim.verify({}) end,
        function() return mailgate.dmarc.check(tx, "pass", {}) end,
        function() return mailgate.dmarc.check(tx, {result = "great"}, {}) end,
      }) do
        local ok, err = pcall(call)
        problems[#problems + 1] = ok and "ok" or string.match(err, "mailgate%.%w+%.%w+: [^(]*")
      end
      return mailgate.reject(550, nil, table.concat(problems, "|"))
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["bad"]), host: host)
    let text = engine.run(.data(dataTransaction(Array("From: a@b.example\r\n\r\nx".utf8)))).reply?.text ?? ""
    #expect(!text.contains("ok"), "\(text)")
    #expect(text.contains("mailgate.spf.check: expected the client's IP address"))
    #expect(text.contains("mailgate.dkim.verify: expected the transaction"))
    #expect(text.contains("mailgate.dmarc.check: spf.result must be an SPF result"))
}

@Test func dmarcEvaluationsWithRuaAreRecordedOncePerMessage() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let reports = RecordingReports()
    host.reportRecorder = reports
    let resolver = TestResolver()
    host.resolver = resolver
    txt(resolver, "signer.example", "v=spf1 ip4:192.0.2.0/24 -all")
    txt(resolver, "_dmarc.signer.example", "v=DMARC1; p=quarantine; rua=mailto:dmarc@signer.example")
    dir.write("auth.lua", authPolicy)
    dir.write("again.lua", """
    return { data = function(tx)
      mailgate.dmarc.check(tx, mailgate.spf.check(tx.session.client_ip, "", tx.mail_from.address), mailgate.dkim.verify(tx))
      return mailgate.next
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["again", "auth"]), host: host)
    let bytes = try signedMessage(resolver)
    _ = engine.run(.data(dataTransaction(bytes)))
    let rows = reports.rows
    #expect(rows.count == 1)
    #expect(rows.first?.policyDomain == "signer.example")
    #expect(rows.first?.headerFrom == "signer.example")
    #expect(rows.first?.sourceIP == "192.0.2.10")
    #expect(rows.first?.dkim.first?.selector == "sel")
    #expect(rows.first?.spf.result == "pass")
    #expect(rows.first?.disposition == "none")
}

@Test func setSubjectIsTheLastCallsTextAndOnlyInData() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("a.lua", """
    return {
      data = function(tx)
        tx:set_subject("first")
        tx:set_subject("*** SPAM *** hello")
        if pcall(tx.set_subject, tx, "a\\r\\nBcc: x") then return mailgate.accept end
        return mailgate.next
      end,
      rcpt = function(tx) tx:set_subject("x") return mailgate.next end,
    }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next)
    #expect(result.newSubject == "*** SPAM *** hello")
    #expect(result.fieldsAdded(authservID: "mx").first == HeaderField(name: "Subject", value: "*** SPAM *** hello"))
    #expect(engine.run(.rcpt(transaction(), recipient: address("a@example.test"))) == .policyFailure)
}

@Test func setFolderChoosesTheLocalFolderFromTheDataHook() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("a.lua", """
    return {
      data = function(tx)
        tx:set_folder("Junk")
        if pcall(tx.set_folder, tx, "") then return mailgate.accept end
        return mailgate.next
      end,
    }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result.verdict == .next)
    #expect(result.folder == "Junk")
}

@Test func setFolderSurvivesAWait() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let resolver = TestResolver()
    resolver.delay = .milliseconds(20)
    host.resolver = resolver
    dir.write("a.lua", """
    return { data = function(tx)
      mailgate.dns.txt("x.example")
      tx:set_folder("Junk")
      return mailgate.next
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
    #expect(engine.run(.data(transaction(size: 10))).folder == "Junk")
}
