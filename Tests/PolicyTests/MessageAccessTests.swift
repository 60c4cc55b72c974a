// tx:set_result/tx:result, tx:body/message (whole and in chunks), tx:parts and
// tx:part_text through the real engine (LuaVM+Message.swift, LuaVM+KeyValue.swift,
// MessageContent.swift, TransactionResults.swift).
import Foundation
import MailCore
import Testing
@testable import Policy

let multipartMessage = Array("""
From: a@example.org\r
To: b@example.test\r
Subject: parts\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="outer"\r
\r
preamble\r
--outer\r
Content-Type: multipart/alternative; boundary="inner"\r
\r
--inner\r
Content-Type: text/plain; charset=ISO-8859-1\r
Content-Transfer-Encoding: quoted-printable\r
\r
caf=E9 au lait, a long line that is =\r
continued\r
--inner\r
Content-Type: text/html; charset=utf-8\r
Content-Transfer-Encoding: base64\r
\r
PHA+aMOpbGxvPC9wPg==\r
--inner--\r
--outer\r
Content-Type: application/octet-stream; name="ignored.bin"\r
Content-Disposition: attachment; filename="Invoice.EXE"\r
Content-Transfer-Encoding: base64\r
\r
TVqQAAMAAAAEAAAA\r
--outer\r
Content-Type: message/rfc822\r
\r
Subject: forwarded\r
Content-Type: multipart/mixed; boundary=fw\r
\r
--fw\r
Content-Type: text/plain\r
\r
see attached\r
--fw\r
Content-Type: application/pdf\r
Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r
\r
%PDF-1.4\r
--fw\r
Content-Type: text/plain; name="=?UTF-8?B?w7xiZXIudHh0?="\r
Content-Disposition: inline\r
\r
inline text\r
--fw--\r
--outer--\r

""".utf8)

private func dataTransaction(_ bytes: [UInt8], results: TransactionResults = TransactionResults()) -> TransactionInfo {
    var info = transaction(recipients: ["b@example.test"], size: bytes.count, headers: HeaderFields.parse(bytes))
    info.results = results
    info.message = MessageContent(bytes: bytes)
    return info
}

/// Runs `body` in the data hook over `bytes`; tostring() of what it returns, or
/// "FAILED: <errors>".
private func inData(_ body: String, _ bytes: [UInt8] = multipartMessage, host: TestPolicyHost = TestPolicyHost(),
                    bodySize: Int? = nil, dir: PolicyDirectory = PolicyDirectory()) throws -> String {
    // The answer comes back through tx:set_result: a reply text cannot carry line breaks.
    dir.write("p.lua", """
    return { data = function(tx)
      local value = (function() \(body) end)()
      tx:set_result("out", tostring(value))
      return mailgate.next
    end }
    """)
    var configuration = dir.configuration(["p"])
    if let bodySize { configuration.bodySizeLimit = bodySize }
    let engine = try PolicyEngine(configuration: configuration, host: host)
    let info = dataTransaction(bytes)
    let result = engine.run(.data(info))
    if result == .policyFailure { return "FAILED: \(host.errors())" }
    guard case .string(let text)? = info.results.value("out") else { return "no result" }
    return text
}

@Suite struct TransactionResultsTests {
    @Test func resultsAreSharedAcrossHooksPoliciesAndVMs() throws {
        let dir = PolicyDirectory()
        dir.write("a.lua", """
        return {
          rcpt = function(tx, rcpt)
            tx:set_result("score", (tx:result("score") or 0) + 2)
            tx:set_result("hits", { "dnsbl", "helo", detail = nil })
            tx:set_result("info", { zone = "bl.example", codes = { 2, 4 }, listed = true })
            return mailgate.next
          end,
        }
        """)
        dir.write("b.lua", """
        return {
          data = function(tx)
            local info = tx:result("info")
            return mailgate.reject(550, nil, table.concat({ tx:result("score"), #tx:result("hits"),
              info.zone, info.codes[2], tostring(info.listed), tostring(tx:result("none")) }, ","))
          end,
        }
        """)
        let host = TestPolicyHost()
        let first = try PolicyEngine(configuration: dir.configuration(["a"]), host: host)
        let second = try PolicyEngine(configuration: dir.configuration(["b"]), host: host)
        let results = TransactionResults()
        var info = transaction(recipients: [])
        info.results = results
        #expect(first.run(.rcpt(info, recipient: address("x@example.test"))) == HookResult(verdict: .next))
        #expect(first.run(.rcpt(info, recipient: address("y@example.test"))) == HookResult(verdict: .next))
        #expect(results.value("score") == .integer(4))
        #expect(results.value("hits") == .array(["dnsbl", "helo"]))
        let reply = second.run(.data(info)).reply?.text
        #expect(reply == "4,2,bl.example,4,true,nil", "\(host.errors())")
        // A copy of the TransactionInfo shares the box and still compares equal.
        let copy = info
        #expect(copy == info)
        #expect(copy.results === results)
        // Equality is by content: fresh boxes are equal, a box with results is not.
        #expect(transaction() == transaction())
        #expect(transaction(recipients: []) != info)
    }

    @Test func shadowPoliciesKeepTheirResultsToThemselves() throws {
        let dir = PolicyDirectory()
        dir.write("live.lua", """
        return {
          rcpt = function(tx) tx:set_result("score", 1) return mailgate.next end,
          data = function(tx) return mailgate.reject(550, nil, "live " .. tostring(tx:result("score"))) end,
        }
        """)
        dir.write("trial.lua", """
        return {
          rcpt = function(tx) tx:set_result("score", (tx:result("score") or 0) + 100) return mailgate.next end,
          data = function(tx) tx:set_result("trial_saw", tx:result("score")) return mailgate.next end,
        }
        """)
        let host = TestPolicyHost()
        var configuration = dir.configuration(["live"])
        configuration.shadow = ["trial"]
        let engine = try PolicyEngine(configuration: configuration, host: host)
        let info = transaction()
        _ = engine.run(.rcpt(info, recipient: address("x@example.test")))
        engine.waitForShadowCalls()
        #expect(engine.run(.data(info)).reply?.text == "live 1", "\(host.errors())")
        engine.waitForShadowCalls()
        #expect(info.results.value("score") == .integer(1))
        #expect(info.results.value("score", shadow: true) == .integer(101))
        #expect(info.results.value("trial_saw", shadow: true) == .integer(101))
        #expect(info.results.value("trial_saw") == nil)
    }

    @Test func valueBounds() throws {
        let cases: [(String, String)] = [
            ("tx:set_result('x', { a = { b = { c = { d = {} } } } })", "nest more than 4 levels"),
            ("tx:set_result('x', string.rep('v', 16 * 1024 + 1))", "larger than 16384 bytes"),
            ("tx:set_result('x', function() end)", "expected a string, number, boolean or table value"),
            ("tx:set_result('x', { [1] = 1, [3] = 3 })", "a sequence"),
            ("tx:set_result('', 1)", "expected a result name"),
        ]
        for (statement, expected) in cases {
            let result = try inData("\(statement) return 'set'")
            #expect(result.contains(expected) && result.contains("p.lua:2:"), "\(statement): \(result)")
        }
        #expect(try inData("tx:set_result('x', { a = { b = { c = 1 } } }) return tx:result('x').a.b.c") == "1")
        #expect(try inData("tx:set_result('x', 1); tx:set_result('x', nil) return tx:result('x')") == "nil")
    }
}

@Suite struct MessageAccessTests {
    let plain = Array("Subject: hi\r\nX-A: b\r\n\r\nline one\r\nline two\r\n".utf8)

    @Test func bodyAndMessage() throws {
        #expect(try inData("return tx:body()", plain) == "line one\r\nline two\r\n")
        #expect(try inData("local b, size = tx:body() return size", plain) == "20")
        #expect(try inData("return tx:message() == 'Subject: hi\\r\\nX-A: b\\r\\n\\r\\n' .. tx:body()", plain) == "true")
        #expect(try inData("return select(2, tx:message())", plain) == "\(plain.count)")
        // Cached per tx table: the same string both times.
        #expect(try inData("return rawequal(tx:body(), tx:body())", plain) == "true")
    }

    @Test func chunksOfALargeBody() throws {
        var big = Array("Subject: big\r\n\r\n".utf8)
        for i in 0..<200 { big += Array(String(format: "%04d56789\r\n", i).utf8) }   // 11 bytes a line
        let whole = try inData("return tx:body()", big, bodySize: 1024)
        #expect(whole.contains("p.lua:2:") && whole.contains("more than [limits] policy_body_size (1024)"), "\(whole)")
        #expect(try inData("return tx:body(0, 11)", big, bodySize: 1024) == "000056789\r\n")
        #expect(try inData("return tx:body(11 * 199, 100)", big, bodySize: 1024) == "019956789\r\n")
        #expect(try inData("return #tx:body(0)", big, bodySize: 1024) == "1024")
        #expect(try inData("return #tx:body(5000, 10)", big, bodySize: 1024) == "0")
        #expect(try inData("""
            local total, offset, chunks = select(2, tx:body(0, 0)), 0, {}
            while offset < total do
              local chunk = tx:body(offset, 1000)
              chunks[#chunks + 1] = chunk
              offset = offset + #chunk
            end
            return #table.concat(chunks) == total and #chunks
            """, big, bodySize: 1024) == "3")
        #expect(try inData("return tx:body(-1, 10)", big).contains("expected a byte offset"))
        #expect(try inData("return tx:message(0, 14)", big) == "Subject: big\r\n")
    }

    @Test func onlyInDataAndDeliver() throws {
        let dir = PolicyDirectory()
        let host = TestPolicyHost()
        let engine = try dir.engine("""
        return {
          rcpt = function(tx) return mailgate.reject(550, nil, tostring(tx:body())) end,
          deliver = function(tx, rcpt) return mailgate.reject(550, nil, #tx:body() .. " " .. #tx:parts()) end,
        }
        """, host: host)
        #expect(engine.run(.rcpt(transaction(), recipient: address("x@example.test"))) == .policyFailure)
        #expect(host.errors().first?.contains("p.lua:2: tx:body: only available in the data and deliver hooks") == true,
                "\(host.errors())")
        let deliver = engine.run(.deliver(dataTransaction(multipartMessage), recipient: address("b@example.test"), local: true))
        #expect(deliver.reply?.text.hasSuffix(" 6") == true, "\(host.errors())")
    }

    @Test func partsWalkTheMIMETree() throws {
        let listing = try inData("""
            local parts, complete = tx:parts()
            local lines = { tostring(complete) }
            for _, p in ipairs(parts) do
              lines[#lines + 1] = table.concat({ p.index, p.type, p.disposition or "-", p.filename or "-",
                p.charset or "-", p.encoding or "-", p.depth, p.size }, "|")
            end
            return table.concat(lines, "\\n")
            """)
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines == [
            "true",
            "1|text/plain|-|-|iso-8859-1|quoted-printable|2|48",
            "2|text/html|-|-|utf-8|base64|2|20",
            "3|application/octet-stream|attachment|Invoice.EXE|-|base64|1|16",
            "4|text/plain|-|-|-|-|3|12",
            "5|application/pdf|attachment|résumé.pdf|-|-|3|8",
            "6|text/plain|inline|über.txt|-|-|3|11",
        ], "\(listing)")
    }

    @Test func partTextDecodes() throws {
        #expect(try inData("return tx:part_text(1)") == "café au lait, a long line that is continued")
        #expect(try inData("return tx:part_text(2)") == "<p>héllo</p>")
        #expect(try inData("return tx:part_text(4)") == "see attached")
        #expect(try inData("return tx:part_text(1, 4)") == "caf")   // never cuts a character in two
        #expect(try inData("return select(2, tx:part_text(1, 4))") == "true")
        #expect(try inData("return select(2, tx:part_text(1))") == "false")
        #expect(try inData("return tx:part_text(7)").contains("expected a part index from 1 to 6"))
        #expect(try inData("return tx:part_text(1, 1000)", bodySize: 1024) == "café au lait, a long line that is continued")
    }

    @Test func partAndDepthBounds() throws {
        var many = Array("Content-Type: multipart/mixed; boundary=b\r\n\r\n".utf8)
        for i in 0..<300 { many += Array("--b\r\nContent-Type: text/plain\r\n\r\npart \(i)\r\n".utf8) }
        many += Array("--b--\r\n".utf8)
        #expect(try inData("local parts, complete = tx:parts() return #parts .. ' ' .. tostring(complete)", many) == "255 false")

        var deep = Array("Subject: deep\r\n".utf8)
        for level in 0..<20 { deep += Array("Content-Type: multipart/mixed; boundary=l\(level)\r\n\r\n--l\(level)\r\n".utf8) }
        deep += Array("Content-Type: text/plain\r\n\r\ncore\r\n".utf8)
        let deepListing = try inData("local parts, complete = tx:parts() return #parts .. ' ' .. parts[1].type .. ' ' .. tostring(complete)", deep)
        #expect(deepListing == "1 application/octet-stream false", "\(deepListing)")
    }

    @Test func messageContentParsesOnce() {
        let content = MessageContent(bytes: multipartMessage)
        #expect(content.walk.leaves.count == 6)
        #expect(content.bodyStart == (String(decoding: multipartMessage, as: UTF8.self).range(of: "\r\n\r\n")!.upperBound.utf16Offset(in: String(decoding: multipartMessage, as: UTF8.self))))
        #expect(content == content)
        #expect(content == MessageContent(bytes: multipartMessage))
        #expect(content != MessageContent(bytes: []))
    }
}
