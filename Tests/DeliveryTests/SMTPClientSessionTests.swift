import Testing
@testable import Delivery

@Suite struct SMTPClientSessionTests {
    @Test func deliversOneMessageStepByStepAndQuits() throws {
        var client = ClientHarness()
        client.enqueue(message(body: "Subject: hi\r\n\r\n.leading dot\r\nlast line without newline"))
        client.connect()
        #expect(client.take() == "MAIL From:<alice@example.test>\r\n")
        client.server("250 ok\r\n")
        #expect(client.take() == "RCPT To:<bob@example.net>\r\n")
        client.server("250 ok\r\n")
        #expect(client.take() == "DATA\r\n")
        client.server("354 go ahead\r\n")
        #expect(client.take() == "Subject: hi\r\n\r\n..leading dot\r\nlast line without newline\r\n.\r\n")
        client.server("250 2.0.0 Ok: queued as ABC\r\n")
        let result = try #require(client.results.first)
        #expect(result.messageID == "Q1" && result.connectionFailure == nil)
        #expect(result.recipients == [RecipientResult(
            address: "bob@example.net", status: .delivered, enhancedStatus: "2.0.0",
            reply: ServerReply(code: 250, lines: ["2.0.0 Ok: queued as ABC"]),
            text: "mx.example.net. accepted message. Remote host said: 250 2.0.0 Ok: queued as ABC")])
        #expect(client.idles == 1)
        client.quit()
        #expect(client.take() == "QUIT\r\n")
        client.server("221 bye\r\n")
        #expect(client.closed && client.failures.isEmpty)
    }

    @Test func pipelinesAndReportsEachRecipientWithTheTranscript() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING", "SIZE 10485760", "8BITMIME"])
        #expect(client.idles == 1)
        client.enqueue(message(to: ["x@example.net", "y@example.net", "z@example.net"]))
        #expect(client.take() == "MAIL From:<alice@example.test> SIZE=22\r\nRCPT To:<x@example.net>\r\n"
                + "RCPT To:<y@example.net>\r\nRCPT To:<z@example.net>\r\nDATA\r\n")
        client.server("250 ok\r\n550 MAILBOX NOT FOUND\r\n250 ok\r\n451 4.2.1 try later\r\n354 go\r\n")
        #expect(client.take() == "Subject: hi\r\n\r\nhello\r\n.\r\n")
        client.server("250 ok\r\n")
        let outcome = try #require(client.results.first).recipients
        #expect(outcome.map(\.status) == [.failed, .delivered, .deferred])
        #expect(outcome[0].text == "mx.example.net. does not like recipient. Remote host said: ... while talking to "
                + "mx.example.net.: >>> RCPT To:<x@example.net> <<< 550 MAILBOX NOT FOUND")
        #expect(outcome[0].text.contains("while talking to mx.example.net.: >>> RCPT To:<x@example.net> <<< 550 MAILBOX NOT FOUND"))
        #expect(outcome[0].enhancedStatus == "5.0.0")
        #expect(outcome[2].enhancedStatus == "4.2.1")
        #expect(outcome[2].text.hasSuffix(">>> RCPT To:<z@example.net> <<< 451 4.2.1 try later"))
    }

    @Test func byteAtATimeRepliesGiveTheSameResult() throws {
        var client = ClientHarness()
        client.enqueue(message())
        client.serverBytewise("220 mx ESMTP\r\n")
        _ = client.take()
        client.serverBytewise("250-mx\r\n250 PIPELINING\r\n")
        #expect(client.take().hasSuffix("DATA\r\n"))
        client.serverBytewise("250 ok\r\n250 ok\r\n354 go\r\n")
        _ = client.take()
        client.serverBytewise("250-2.0.0 queued\r\n250 2.0.0 as X\r\n")
        #expect(try #require(client.results.first).recipients.map(\.status) == [.delivered])
    }

    @Test func fallsBackToHeloWhenEhloIsRefused() {
        var client = ClientHarness()
        client.enqueue(message())
        client.server("220 old ESMTP\r\n")
        #expect(client.take() == "EHLO relay.example.test\r\n")
        client.server("502 5.5.1 command not recognized\r\n")
        #expect(client.take() == "HELO relay.example.test\r\n")
        client.server("250 old\r\n")
        #expect(client.take() == "MAIL From:<alice@example.test>\r\n")
    }

    @Test func heloRefusalFailsTheConnection() throws {
        var client = ClientHarness()
        client.enqueue(message())
        client.server("220 old ESMTP\r\n502 no EHLO\r\n550 go away\r\n")
        let (failure, unsent) = try #require(client.failures.first)
        #expect(failure.kind == .hello && failure.isPermanent && unsent == ["Q1"])
        #expect(failure.text == "Connected to mx.example.net. but my name was rejected. Remote host said: ... while "
                + "talking to mx.example.net.: >>> HELO relay.example.test <<< 550 go away")
        #expect(client.closed)
    }

    @Test func greetingFailureGivesBackEveryMessage() throws {
        var client = ClientHarness()
        client.enqueue(message("Q1"))
        client.enqueue(message("Q2"))
        client.server("554 5.7.1 no service\r\n")
        let (failure, unsent) = try #require(client.failures.first)
        #expect(failure.kind == .greeting && failure.isPermanent && failure.enhancedStatus == "5.7.1")
        #expect(unsent == ["Q1", "Q2"] && client.results.isEmpty && client.closed)
        #expect(failure.text == "Connected to mx.example.net. but greeting failed. Remote host said: ... while talking "
                + "to mx.example.net.: <<< 554 5.7.1 no service")
    }

    @Test func startsTLSWhenOfferedAndForgetsWhatCameBefore() {
        var client = ClientHarness()
        client.enqueue(message())
        client.connect(extensions: ["STARTTLS", "PIPELINING"])
        #expect(client.take() == "STARTTLS\r\n")
        // A reply injected in clear right after 220 must not answer our EHLO.
        client.server("220 ready\r\n250 injected\r\n")
        client.server("250 injected later\r\n")
        #expect(client.tlsStarts == 1 && client.failures.isEmpty)
        client.run(client.session.tlsStarted())
        #expect(client.take() == "EHLO relay.example.test\r\n")
        client.server("250-mx.example.net\r\n250 SIZE 100\r\n")
        // No PIPELINING after TLS: one command at a time, and no STARTTLS again.
        #expect(client.take() == "MAIL From:<alice@example.test> SIZE=22\r\n")
        #expect(client.session.tlsActive)
    }

    @Test func opportunisticTLSCarriesOnInClearWhenNotOfferedOrRefused() {
        var plain = ClientHarness()
        plain.enqueue(message())
        plain.connect()
        #expect(plain.take().hasPrefix("MAIL From:"))

        var refused = ClientHarness()
        refused.enqueue(message())
        refused.connect(extensions: ["STARTTLS"])
        #expect(refused.take() == "STARTTLS\r\n")
        refused.server("454 4.7.0 TLS not available\r\n")
        #expect(refused.take().hasPrefix("MAIL From:"))

        var never = ClientHarness(tls: .none)
        never.enqueue(message())
        never.connect(extensions: ["STARTTLS"])
        #expect(never.take().hasPrefix("MAIL From:"))
    }

    @Test func requiredTLSFailsWhenNotOffered() throws {
        var client = ClientHarness(tls: .required)
        client.enqueue(message())
        client.connect()
        let (failure, unsent) = try #require(client.failures.first)
        #expect(failure.kind == .tlsNotOffered && !failure.isPermanent && unsent == ["Q1"])
        #expect(failure.text == "Sorry, TLS is required for this route but mx.example.net. does not offer STARTTLS. (#4.7.10)")
        #expect(client.take() == "" && client.closed)
    }

    @Test func handshakeFailureIsReportedWithTheReasonAndTheRetryRule() throws {
        var opportunistic = ClientHarness()
        opportunistic.enqueue(message())
        opportunistic.connect(extensions: ["STARTTLS"])
        opportunistic.server("220 go\r\n")
        opportunistic.run(opportunistic.session.tlsFailed("handshake failure: certificate expired"))
        let (failure, unsent) = try #require(opportunistic.failures.first)
        #expect(failure.text == "TLS not available: connect failed: handshake failure: certificate expired")
        #expect(failure.kind == .tlsFailed && failure.retryWithoutTLS && unsent == ["Q1"] && opportunistic.closed)

        var required = ClientHarness(tls: .required)
        required.connect(extensions: ["STARTTLS"])
        required.server("220 go\r\n")
        required.run(required.session.tlsFailed("bad certificate"))
        #expect(try #require(required.failures.first).0.retryWithoutTLS == false)
    }

    @Test func authenticatesWithPlainAfterTLS() {
        var client = ClientHarness(credentials: SMTPCredentials(user: "relay", password: "s3cret"))
        client.enqueue(message())
        client.connect(extensions: ["STARTTLS", "AUTH LOGIN"])
        client.server("220 go\r\n")
        client.run(client.session.tlsStarted())
        _ = client.take()
        client.server("250-mx\r\n250 AUTH PLAIN LOGIN\r\n")
        // base64("\0relay\0s3cret")
        #expect(client.take() == "AUTH PLAIN AHJlbGF5AHMzY3JldA==\r\n")
        client.server("235 2.7.0 ok\r\n")
        #expect(client.take().hasPrefix("MAIL From:"))
    }

    @Test func authenticatesWithLogin() {
        var client = ClientHarness(credentials: SMTPCredentials(user: "relay", password: "s3cret"), authRequiresTLS: false)
        client.enqueue(message())
        client.connect(extensions: ["AUTH=LOGIN"])
        #expect(client.take() == "AUTH LOGIN\r\n")
        client.server("334 VXNlcm5hbWU6\r\n")
        #expect(client.take() == "cmVsYXk=\r\n")
        client.server("334 UGFzc3dvcmQ6\r\n")
        #expect(client.take() == "czNjcmV0\r\n")
        client.server("235 ok\r\n")
        #expect(client.take().hasPrefix("MAIL From:"))
    }

    @Test func authenticationProblemsFailTheConnectionWithoutLeakingThePassword() throws {
        var noTLS = ClientHarness(credentials: SMTPCredentials(user: "relay", password: "s3cret"))
        noTLS.enqueue(message())
        noTLS.connect(extensions: ["AUTH PLAIN"])
        #expect(try #require(noTLS.failures.first).0.text == "Sorry, I won't send a password to mx.example.net. without TLS. (#4.7.0)")

        var refused = ClientHarness(credentials: SMTPCredentials(user: "relay", password: "s3cret"), authRequiresTLS: false)
        refused.enqueue(message())
        refused.connect(extensions: ["AUTH PLAIN"])
        refused.server("535 5.7.8 bad credentials\r\n")
        let failure = try #require(refused.failures.first).0
        #expect(failure.kind == .authentication && !failure.isPermanent)
        #expect(failure.text.hasSuffix(">>> AUTH PLAIN (credentials) <<< 535 5.7.8 bad credentials"))
        #expect(!failure.text.contains("AHJlbGF5"))

        var none = ClientHarness(credentials: SMTPCredentials(user: "relay", password: "s3cret"), authRequiresTLS: false)
        none.enqueue(message())
        none.connect(extensions: ["AUTH CRAM-MD5"])
        #expect(try #require(none.failures.first).0.text.contains("offers no AUTH mechanism I can use"))
    }

    @Test func sendsESMTPAndDSNParametersOnlyWhenOffered() {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING", "SIZE 0", "8BITMIME", "SMTPUTF8", "DSN"])
        client.enqueue(message(to: ["bob@example.net"], body: "Subject: caf\u{E9}\r\n\r\nx\r\n", envid: "QQ+2B1", ret: "hdrs",
                               notify: "success,failure", orcpt: "rfc822;bob+40example.net"))
        #expect(client.take() == "MAIL From:<alice@example.test> SIZE=21 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1\r\n"
                + "RCPT To:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.net\r\nDATA\r\n")

        var plain = ClientHarness()
        plain.connect(extensions: ["PIPELINING"])
        plain.enqueue(message(body: "caf\u{E9}\r\n", envid: "E", ret: "FULL", notify: "NEVER", orcpt: "rfc822;b@x"))
        #expect(plain.take() == "MAIL From:<alice@example.test>\r\nRCPT To:<bob@example.net>\r\nDATA\r\n")

        var invalid = ClientHarness()
        invalid.connect(extensions: ["PIPELINING", "DSN"])
        invalid.enqueue(message(envid: "has space", notify: "SUCCESS,NEVER", orcpt: "no-semicolon"))
        #expect(invalid.take() == "MAIL From:<alice@example.test>\r\nRCPT To:<bob@example.net>\r\nDATA\r\n")
    }

    @Test func internationalAddressesNeedSMTPUTF8() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message(to: ["j\u{F6}rg@example.net"]))
        #expect(client.take() == "")
        let result = try #require(client.results.first).recipients[0]
        #expect(result.status == .failed && result.enhancedStatus == "5.6.7")
        #expect(result.text == "Sorry, this message needs SMTPUTF8 and mx.example.net. does not support it. (#5.6.7)")

        var modern = ClientHarness()
        modern.connect(extensions: ["PIPELINING", "SMTPUTF8"])
        modern.enqueue(message(to: ["j\u{F6}rg@example.net"]))
        #expect(modern.take().hasPrefix("MAIL From:<alice@example.test> SMTPUTF8\r\nRCPT To:<j\u{F6}rg@example.net>\r\n"))
    }

    @Test func messagesOverTheAdvertisedSizeFailWithoutBeingSent() throws {
        var client = ClientHarness()
        client.connect(extensions: ["SIZE 10"])
        client.enqueue(message())
        #expect(client.take() == "")
        let result = try #require(client.results.first).recipients[0]
        #expect(result.status == .failed && result.enhancedStatus == "5.3.4")
        #expect(result.text == "Sorry, the message is larger than mx.example.net. accepts (10 bytes). (#5.3.4)")
    }

    @Test func unsafeAddressesNeverReachTheWire() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message(to: ["evil@example.net>\r\nRCPT To:<x@y", "ok@example.net"]))
        #expect(client.take() == "MAIL From:<alice@example.test>\r\nRCPT To:<ok@example.net>\r\nDATA\r\n")
        #expect(client.results.isEmpty)
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        _ = client.take()
        client.server("250 ok\r\n")
        let result = try #require(client.results.first).recipients
        #expect(result.map(\.status) == [.failed, .delivered])
        #expect(result[0].text == "Sorry, the address <evil@example.net>\\x0d\\x0aRCPT To:<x@y> cannot be sent over SMTP. (#5.1.3)")
    }

    @Test func refusedSenderDefersOrFailsEveryRecipientAndResetsBeforeTheNextMessage() throws {
        var client = ClientHarness()
        client.connect()
        client.enqueue(message("Q1", to: ["a@example.net", "b@example.net"]))
        client.enqueue(message("Q2"))
        #expect(client.take() == "MAIL From:<alice@example.test>\r\n")
        client.server("451 4.3.0 busy\r\n")
        let first = try #require(client.results.first)
        #expect(first.recipients.map(\.status) == [.deferred, .deferred])
        #expect(first.recipients[0].text == "Connected to mx.example.net. but sender was rejected. Remote host said: ... "
                + "while talking to mx.example.net.: >>> MAIL From:<alice@example.test> <<< 451 4.3.0 busy")
        #expect(client.take() == "RSET\r\n")
        client.server("250 ok\r\n")
        #expect(client.take() == "MAIL From:<alice@example.test>\r\n")
        client.server("553 5.7.1 sender refused\r\n")
        #expect(client.results.last?.recipients.map(\.status) == [.failed])
    }

    @Test func noAcceptedRecipientMeansNoData() throws {
        var client = ClientHarness()
        client.connect()
        client.enqueue(message(to: ["a@example.net", "b@example.net"]))
        client.enqueue(message("Q2"))
        #expect(client.take() == "MAIL From:<alice@example.test>\r\n")
        client.server("250 ok\r\n")
        #expect(client.take() == "RCPT To:<a@example.net>\r\n")
        client.server("550 no\r\n")
        #expect(client.take() == "RCPT To:<b@example.net>\r\n")
        client.server("450 later\r\n")
        #expect(client.results.first?.recipients.map(\.status) == [.failed, .deferred])
        #expect(client.take() == "RSET\r\n")
    }

    @Test func pipelinedGroupWithoutAcceptedRecipients() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message("Q1"))
        client.enqueue(message("Q2"))
        _ = client.take()
        client.server("250 ok\r\n550 no such user\r\n554 no valid recipients\r\n")
        #expect(client.results.first?.recipients.map(\.status) == [.failed])
        // The next group starts with RSET, pipelined with it.
        #expect(client.take() == "RSET\r\nMAIL From:<alice@example.test>\r\nRCPT To:<bob@example.net>\r\nDATA\r\n")
        // A server that says 354 anyway gets an empty message, never the content.
        client.server("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n")
        #expect(client.take() == ".\r\n")
        client.server("554 empty\r\n")
        #expect(client.results.count == 2 && client.results[1].recipients.map(\.status) == [.failed])
        #expect(client.results[1].recipients[0].text.contains(">>> RCPT To:<bob@example.net> <<< 550 no"))
    }

    @Test func pipelinedSenderRefusalIgnoresTheRestOfTheGroup() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message(to: ["a@example.net", "b@example.net"]))
        _ = client.take()
        client.server("550 5.7.1 you are blocked\r\n503 need MAIL\r\n503 need MAIL\r\n503 need MAIL\r\n")
        let result = try #require(client.results.first)
        #expect(result.recipients.map(\.status) == [.failed, .failed])
        #expect(result.recipients.allSatisfy { $0.text.hasSuffix("<<< 550 5.7.1 you are blocked") && $0.enhancedStatus == "5.7.1" })
    }

    @Test func finalReplyDecidesAcceptedRecipients() throws {
        for (reply, status, stage) in [("554 5.7.1 spam\r\n", RecipientStatus.failed, "failed after I sent the message."),
                                       ("452 4.3.1 full\r\n", .deferred, "failed after I sent the message.")] {
            var client = ClientHarness()
            client.connect(extensions: ["PIPELINING"])
            client.enqueue(message())
            client.server("250 ok\r\n250 ok\r\n354 go\r\n")
            client.server(reply)
            let result = try #require(client.results.first).recipients[0]
            #expect(result.status == status)
            #expect(result.text == "mx.example.net. \(stage) Remote host said: ... while talking to mx.example.net.: "
                    + ">>> . <<< \(reply.dropLast(1))")
        }
    }

    @Test func dataCommandRefusal() throws {
        var client = ClientHarness()
        client.connect()
        client.enqueue(message())
        client.server("250 ok\r\n250 ok\r\n")
        #expect(client.take().hasSuffix("DATA\r\n"))
        client.server("554 5.3.0 no data today\r\n")
        let result = try #require(client.results.first).recipients[0]
        #expect(result.status == .failed)
        #expect(result.text.hasPrefix("mx.example.net. failed on DATA command."))
    }

    @Test func reusesTheConnectionForSeveralMessages() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message("Q1"))
        client.enqueue(message("Q2", to: ["carol@example.net"]))
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        _ = client.take()
        client.server("250 queued 1\r\n")
        // No RSET after a completed transaction.
        #expect(client.take() == "MAIL From:<alice@example.test>\r\nRCPT To:<carol@example.net>\r\nDATA\r\n")
        client.server("250 ok\r\n250 ok\r\n354 go\r\n")
        _ = client.take()
        client.server("250 queued 2\r\n")
        #expect(client.results.map(\.messageID) == ["Q1", "Q2"])
        #expect(client.results.allSatisfy { $0.recipients.allSatisfy { $0.status == .delivered } })
        #expect(client.idles == 2)
        client.quit()
        #expect(client.take() == "QUIT\r\n")
        client.run(client.session.connectionClosed())
        #expect(client.failures.isEmpty)
    }

    @Test func lostConnectionDefersTheMessageInFlightAndGivesBackTheRest() throws {
        var client = ClientHarness()
        client.connect(extensions: ["PIPELINING"])
        client.enqueue(message("Q1", to: ["a@example.net", "b@example.net"]))
        client.enqueue(message("Q2"))
        client.server("250 ok\r\n550 unknown\r\n250 ok\r\n354 go\r\n")
        client.run(client.session.connectionClosed())
        let result = try #require(client.results.first)
        #expect(result.recipients.map(\.status) == [.failed, .deferred])
        #expect(result.recipients[1].text == "Connected to mx.example.net. but connection died. (#4.4.2)")
        #expect(result.connectionFailure?.kind == .connectionLost)
        let (failure, unsent) = try #require(client.failures.first)
        #expect(failure.kind == .connectionLost && unsent == ["Q2"])
        #expect(client.session.isClosed)
    }

    @Test func serviceClosingDefersAndStops() throws {
        var client = ClientHarness()
        client.connect()
        client.enqueue(message())
        client.server("250 ok\r\n")
        client.server("421 4.3.2 shutting down\r\n")
        let result = try #require(client.results.first).recipients[0]
        #expect(result.status == .deferred && result.enhancedStatus == "4.3.2")
        #expect(result.text.hasSuffix(">>> RCPT To:<bob@example.net> <<< 421 4.3.2 shutting down"))
        #expect(client.failures.first?.0.kind == .serviceClosing && client.closed)
    }

    @Test func malformedOrUnexpectedRepliesAreProtocolErrors() throws {
        var client = ClientHarness()
        client.enqueue(message())
        client.server("HTTP/1.1 400 Bad Request\r\n")
        let failure = try #require(client.failures.first).0
        #expect(failure.kind == .protocolError && !failure.isPermanent)
        #expect(failure.text == "Connected to mx.example.net. but it sent a malformed reply (\"HTTP/1.1 400 Bad Request\"). (#4.5.0)")

        var chatty = ClientHarness()
        chatty.connect()
        chatty.server("250 unsolicited\r\n")
        #expect(chatty.failures.first?.0.kind == .protocolError)
    }

    @Test func timeoutsFollowTheStepAndFailTheConnection() throws {
        var client = ClientHarness()
        #expect(client.session.replyTimeout == .seconds(300))
        client.connect()
        #expect(client.session.replyTimeout == nil)
        client.enqueue(message())
        client.server("250 ok\r\n250 ok\r\n")
        #expect(client.session.replyTimeout == .seconds(120))
        client.server("354 go\r\n")
        #expect(client.session.replyTimeout == .seconds(600))
        client.run(client.session.timedOut())
        #expect(try #require(client.results.first).recipients[0].text
                == "Connected to mx.example.net. but connection timed out. (#4.4.2)")
        #expect(client.closed)
    }

    @Test func addressPeersAreShownInBrackets() throws {
        var client = ClientHarness(peer: "192.0.2.7")
        client.connect()
        client.enqueue(message())
        client.server("550 no\r\n")
        #expect(try #require(client.results.first).recipients[0].text.contains("while talking to [192.0.2.7]:"))
    }

    @Test func manyMessagesRefusedWithoutARoundTripDoNotRecurse() {
        var client = ClientHarness()
        for index in 0..<20_000 { client.enqueue(message("Q\(index)")) }
        client.connect(extensions: ["SIZE 10"])
        #expect(client.results.count == 20_000 && client.take() == "")
        client.quit()
        #expect(client.take() == "QUIT\r\n")
    }

    @Test func enqueueAfterCloseGivesTheMessageBack() throws {
        var client = ClientHarness()
        client.server("554 no\r\n")
        client.enqueue(message("Q9"))
        #expect(client.failures.last?.1 == ["Q9"])
    }
}
