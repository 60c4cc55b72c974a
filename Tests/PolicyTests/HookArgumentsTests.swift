// The shape of hook arguments as Lua sees them.
import MailCore
import Testing
@testable import Policy

private func describe(_ hook: String, _ signature: String, _ body: String, call: HookCall) throws -> String? {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("""
    return { \(hook) = function(\(signature))
      return mailgate.reject(550, nil, \(body))
    end }
    """, host: host)
    let result = engine.run(call)
    if result == .policyFailure { return "FAILED: \(host.errors())" }
    return result.reply?.text
}

@Test func sessionFields() throws {
    let s = SessionInfo(id: "abc", protocolName: "pop3", listener: "pop3s", clientIP: "192.0.2.1", clientPort: 5555,
                        heloName: nil, authUser: "alice@example.test", tls: true)
    let text = try describe("connect", "s", """
      table.concat({ s.id, s.protocol, s.listener, s.client_ip, s.client_port, tostring(s.helo), s.auth_user, tostring(s.tls) }, "|")
    """, call: .connect(s))
    #expect(text == "abc|pop3|pop3s|192.0.2.1|5555|nil|alice@example.test|true")
    #expect(try describe("helo", "s, name", "name .. '|' .. s.helo", call: .helo(session(), name: "mail.example")) == "mail.example|client.example")
    #expect(try describe("disconnect", "s", "s.id", call: .disconnect(session())) == "s1")
}

@Test func authResult() throws {
    let text = try describe("auth", "s, r", "r.user .. '|' .. r.mechanism .. '|' .. tostring(r.success)",
                            call: .auth(session(protocolName: "imap"), user: "bob%example.test", mechanism: "PLAIN", success: false))
    #expect(text == "bob%example.test|PLAIN|false")
}

@Test func transactionFields() throws {
    let tx = transaction(from: "Sender@Remote.example", recipients: ["a@example.test", "b@example.test"], size: 1234,
                         headers: [HeaderField(name: "Subject", value: "Hi"), HeaderField(name: "X-Spam", value: "no")])
    let text = try describe("data", "tx", """
      table.concat({ tx.queue_id, tx.mail_from.address, tx.mail_from.local_part, tx.mail_from.domain, #tx.recipients,
        tx.recipients[2].address, tx.size, #tx.headers, tx.headers[1].name, tx:header("subject"), tostring(tx:header("nope")),
        tx.session.client_ip, tostring(tx.recipients[1]) }, "|")
    """, call: .data(tx))
    #expect(text == "Q1|Sender@remote.example|Sender|remote.example|2|b@example.test|1234|2|Subject|Hi|nil|192.0.2.10|a@example.test")
}

@Test func mailFromGetsTheSenderAndNilForTheNullPath() throws {
    #expect(try describe("mail_from", "tx, sender", "sender.address .. '|' .. tx.mail_from.address",
                         call: .mailFrom(transaction(from: nil), sender: address("x@remote.example"))) == "x@remote.example|x@remote.example")
    #expect(try describe("mail_from", "tx, sender", "tostring(sender) .. '|' .. tostring(tx.mail_from)",
                         call: .mailFrom(transaction(from: nil), sender: nil)) == "nil|nil")
}

@Test func rcptAndDeliverArguments() throws {
    #expect(try describe("rcpt", "tx, rcpt", "rcpt.local_part .. '@' .. rcpt.domain",
                         call: .rcpt(transaction(), recipient: address("User@Example.TEST"))) == "User@example.test")
    #expect(try describe("deliver", "tx, rcpt, info", "rcpt.address .. '|' .. tostring(info['local'])",
                         call: .deliver(transaction(), recipient: address("a@example.test"), local: true)) == "a@example.test|true")
}

@Test func argumentsAreFreshForEveryPolicy() throws {
    let dir = PolicyDirectory()
    dir.write("meddler.lua", "return { rcpt = function(tx, rcpt) tx.session.auth_user = 'root' rcpt.domain = 'example.test' return mailgate.next end }")
    dir.write("judge.lua", "return { rcpt = function(tx, rcpt) return mailgate.reject(550, nil, tostring(tx.session.auth_user) .. ' ' .. rcpt.domain) end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["meddler", "judge"]), host: TestPolicyHost())
    #expect(engine.run(.rcpt(transaction(), recipient: address("x@evil.example"))).reply?.text == "nil evil.example")
}

@Test func nestedArgumentsAreFreshForEveryPolicy() throws {
    let dir = PolicyDirectory()
    dir.write("meddler.lua", """
    return { bounce = function(n)
      n.recipients[1].status = '2.0.0'
      n.recipients[1].recipient.domain = 'meddled.example'
      n.to.address = 'x@meddled.example'
      return mailgate.next
    end }
    """)
    dir.write("judge.lua", """
    return { bounce = function(n, ...)
      local e = n.recipients[1]
      return mailgate.reject(550, nil, table.concat({ e.status, e.recipient.domain, tostring(n.to),
        tostring(select('#', ...)) }, ' '))
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["meddler", "judge"]), host: TestPolicyHost())
    let event = QueueEventInfo(queueID: "Q9", sender: nil, recipient: address("x@remote.example"), host: nil,
                               status: "5.1.1", text: "unknown", attempts: 1, nextAttempt: nil)
    let notice = NoticeInfo(queueID: "Q9", kind: "failure", sender: nil, to: address("postmaster@example.test"),
                            doubleBounce: false, recipients: [event])
    // The judge sees the original values, and exactly the hook's one argument.
    #expect(engine.run(.bounce(notice)).reply?.text == "5.1.1 remote.example postmaster@example.test 0")
}

@Test func hooksGetTheArgumentsTheyDeclare() throws {
    let dir = PolicyDirectory()
    dir.write("one.lua", "return { rcpt = function(tx) if tx.queue_id ~= 'Q1' then error('no tx') end return mailgate.next end }")
    dir.write("none.lua", "return { rcpt = function() return mailgate.next end }")
    dir.write("all.lua", """
    return { rcpt = function(...)
      local tx, rcpt = ...
      return mailgate.reject(550, nil, select('#', ...) .. ' ' .. tx.queue_id .. ' ' .. rcpt.address)
    end }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["one", "none", "all"]), host: TestPolicyHost())
    #expect(engine.run(.rcpt(transaction(), recipient: address("a@example.test"))).reply?.text == "2 Q1 a@example.test")
}

@Test func dataHookAddsHeaders() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    dir.write("a.lua", "return { data = function(tx) tx:add_header('X-Policy', 'a') return mailgate.next end }")
    dir.write("b.lua", "return { data = function(tx) tx:add_header('X-Checked', 'yes, ' .. tx.size) return mailgate.next end }")
    dir.write("c.lua", """
    return {
      data = function(tx)
        local ok = pcall(tx.add_header, tx, 'Bad Name', 'x')
        local ok2 = pcall(tx.add_header, tx, 'X-Inject', 'a\\r\\nBcc: victim@example.test')
        if ok or ok2 then return mailgate.accept end
        return mailgate.next
      end,
      rcpt = function(tx) tx:add_header('X-Too-Early', '1') return mailgate.next end,
    }
    """)
    let engine = try PolicyEngine(configuration: dir.configuration(["a", "b", "c"]), host: host)
    let result = engine.run(.data(transaction(size: 10)))
    #expect(result == HookResult(verdict: .next, addedHeaders: [HeaderField(name: "X-Policy", value: "a"),
                                                                 HeaderField(name: "X-Checked", value: "yes, 10")]))
    #expect(engine.run(.rcpt(transaction(), recipient: address("a@example.test"))) == .policyFailure)
    #expect(host.errors().first?.contains("only available in the data hook") == true)
}

@Test func queueHookArguments() throws {
    let event = QueueEventInfo(queueID: "Q9", sender: address("alice@example.test"), recipient: address("x@remote.example"),
                               host: "mx.remote.example", status: "4.3.0", text: "busy", attempts: 2,
                               nextAttempt: 1_800_000_060)
    #expect(try describe("deferred", "e, rcpt", """
      table.concat({ e.queue_id, e.sender.address, e.recipient.domain, e.host, e.status, e.text, e.attempts,
        string.format('%d', e.next_attempt), rcpt.address }, "|")
    """, call: .deferred(event)) == "Q9|alice@example.test|remote.example|mx.remote.example|4.3.0|busy|2|1800000060|x@remote.example")
    var delivered = event
    delivered.status = "2.0.0"; delivered.nextAttempt = nil
    #expect(try describe("delivered", "e, rcpt", "e.status .. '|' .. tostring(e.next_attempt)", call: .delivered(delivered))
            == "2.0.0|nil")
    let notice = NoticeInfo(queueID: "Q9", kind: "failure", sender: nil, to: address("postmaster@example.test"),
                            doubleBounce: true, recipients: [event])
    #expect(try describe("bounce", "n", """
      table.concat({ n.queue_id, n.kind, tostring(n.sender), n.to.address, tostring(n.double_bounce), #n.recipients,
        n.recipients[1].recipient.address }, "|")
    """, call: .bounce(notice)) == "Q9|failure|nil|postmaster@example.test|true|1|x@remote.example")
}

@Test func pairsListsEveryTransactionFieldAndNoPrivateKey() throws {
    let tx = transaction(from: "s@remote.example", recipients: ["a@example.test"], size: 5,
                         headers: [HeaderField(name: "Subject", value: "Hi")])
    let text = try describe("data", "tx", """
      (function()
        local keys = {}
        for key, value in pairs(tx) do keys[#keys + 1] = tostring(key) .. "=" .. type(value) end
        table.sort(keys)
        return table.concat(keys, ",")
      end)()
    """, call: .data(tx))
    #expect(text == "headers=table,mail_from=table,queue_id=string,recipients=table,session=table,size=number")
}

@Test func aTransactionKeptPastItsCallCannotReadNewFields() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("""
    local kept
    return {
      mail_from = function(tx) kept = tx; local _ = tx.session return mailgate.next end,
      rcpt = function(tx)
        local session_ip = kept.session.client_ip          -- read during its call: still there
        local ok, message = pcall(function() return kept.headers end)
        if ok then return mailgate.accept end
        return mailgate.reject(550, nil, session_ip .. "|" .. tostring(tx.mail_from) .. "|" .. message:gsub("^.*: ", ""))
      end,
    }
    """, host: host)
    #expect(engine.run(.mailFrom(transaction(from: nil), sender: address("x@remote.example"))) == HookResult(verdict: .next))
    let text = engine.run(.rcpt(transaction(from: "x@remote.example"), recipient: address("a@example.test"))).reply?.text
    #expect(text == "192.0.2.10|x@remote.example|tx.headers can only be read during the hook call that received this transaction")
}

@Test func aPolicyChangingALazyFieldDoesNotChangeItForTheNext() throws {
    let dir = PolicyDirectory()
    dir.write("meddler.lua", "return { data = function(tx) tx.headers = {} tx.mail_from = nil return mailgate.next end }")
    dir.write("judge.lua", "return { data = function(tx) return mailgate.reject(550, nil, #tx.headers .. ' ' .. tx.mail_from.address) end }")
    let engine = try PolicyEngine(configuration: dir.configuration(["meddler", "judge"]), host: TestPolicyHost())
    let tx = transaction(from: "s@remote.example", headers: [HeaderField(name: "Subject", value: "Hi")])
    #expect(engine.run(.data(tx)).reply?.text == "1 s@remote.example")
}
