import Testing
@testable import POP3
import MailCore

@Suite struct POP3SessionTransactionTests {
    func loggedIn() -> SessionHarness {
        var harness = SessionHarness()
        harness.login()
        return harness
    }

    @Test func statListAndUidl() {
        var harness = loggedIn()
        harness.send("STAT\r\nLIST\r\nLIST 3\r\nUIDL\r\nUIDL 1\r\n")
        #expect(harness.take() == """
            +OK 3 107\r
            +OK 3 messages (107 octets)\r
            1 28\r
            2 47\r
            3 32\r
            .\r
            +OK 3 32\r
            +OK Unique-ID listing follows\r
            1 1700000000.11\r
            2 1700000000.12\r
            3 1700000000.13\r
            .\r
            +OK 1 1700000000.11\r

            """)
    }

    @Test func badMessageNumbers() {
        var harness = loggedIn()
        harness.send("LIST 0\r\nLIST 4\r\nRETR 99999999999999999999\r\nTOP 9 1\r\nUIDL 4\r\nDELE 0\r\nRETR x\r\n")
        #expect(harness.take() == """
            -ERR no such message, only 3 messages in maildrop\r
            -ERR no such message, only 3 messages in maildrop\r
            -ERR no such message, only 3 messages in maildrop\r
            -ERR no such message, only 3 messages in maildrop\r
            -ERR no such message, only 3 messages in maildrop\r
            -ERR no such message, only 3 messages in maildrop\r
            -ERR Syntax: RETR needs a number, got "x"\r

            """)
        #expect(harness.transfers.isEmpty)
    }

    @Test func retrStreamsStuffedNormalisedContent() {
        var harness = loggedIn()
        harness.send("RETR 3\r\n")
        #expect(harness.take() == "+OK 32 octets\r\nSubject: three\r\n\r\nbare LF body\r\n.\r\n")
        let transfer = harness.transfers[0]
        #expect(transfer.number == 3)
        #expect(transfer.bodyLines == nil)
        #expect(transfer.message.id == POP3MessageID(mailboxID: 7, uid: 13))
    }

    @Test func topSendsHeadersAndBodyLines() {
        var harness = loggedIn()
        harness.send("TOP 2 0\r\nTOP 2 2\r\nTOP 1 99999999999999999999\r\n")
        #expect(harness.take() == """
            +OK Top of message follows\r
            Subject: two\r
            X: y\r
            \r
            .\r
            +OK Top of message follows\r
            Subject: two\r
            X: y\r
            \r
            line 1\r
            ..dotted\r
            .\r
            +OK Top of message follows\r
            Subject: one\r
            \r
            first body\r
            .\r

            """)
        #expect(harness.transfers.map(\.bodyLines) == [0, 2, Int.max])
    }

    @Test func deleMarksAndHidesButRemovesNothingUntilQuit() {
        var harness = loggedIn()
        harness.send("DELE 2\r\nDELE 2\r\nRETR 2\r\nLIST 2\r\nUIDL 2\r\nTOP 2 1\r\nSTAT\r\nLIST\r\nUIDL\r\n")
        #expect(harness.take() == """
            +OK Message 2 deleted\r
            -ERR message 2 already deleted\r
            -ERR message 2 already deleted\r
            -ERR message 2 already deleted\r
            -ERR message 2 already deleted\r
            -ERR message 2 already deleted\r
            +OK 2 60\r
            +OK 2 messages (60 octets)\r
            1 28\r
            3 32\r
            .\r
            +OK Unique-ID listing follows\r
            1 1700000000.11\r
            3 1700000000.13\r
            .\r

            """)
        #expect(harness.session.deletedCount == 1)
        #expect(harness.commits.isEmpty)
    }

    @Test func rsetUnmarks() {
        var harness = loggedIn()
        harness.send("DELE 1\r\nDELE 3\r\nRSET\r\nSTAT\r\nQUIT\r\n")
        #expect(harness.take() == "+OK Message 1 deleted\r\n+OK Message 3 deleted\r\n+OK Maildrop has 3 messages (107 octets)\r\n+OK 3 107\r\n+OK pop.example.test POP3 server signing off\r\n")
        #expect(harness.commits.isEmpty)
        #expect(harness.closed)
    }

    @Test func quitCommitsDeletionsBeforeAnswering() {
        var harness = loggedIn()
        let marked = harness.session.receive(Array("DELE 1\r\nDELE 3\r\nQUIT\r\nNOOP\r\n".utf8))
        #expect(marked == [.send(.ok("Message 1 deleted")), .send(.ok("Message 3 deleted")),
                           .commitDeletions([POP3MessageID(mailboxID: 7, uid: 11), POP3MessageID(mailboxID: 7, uid: 13)])])
        #expect(harness.session.state == .update)
        #expect(harness.session.isWaiting)
        let done = harness.session.deletionsCommitted(success: true)
        #expect(done == [.send(.ok("pop.example.test POP3 server signing off (2 messages deleted)")), .close])
    }

    @Test func failedCommitIsReported() {
        var harness = loggedIn()
        harness.commitSucceeds = false
        harness.send("DELE 2\r\nQUIT\r\n")
        #expect(harness.take() == "+OK Message 2 deleted\r\n-ERR [SYS/TEMP] Some deleted messages not removed\r\n")
        #expect(harness.commits == [[POP3MessageID(mailboxID: 7, uid: 12)]])
        #expect(harness.closed)
    }

    @Test func noopAndEmptyMaildrop() {
        var harness = SessionHarness()
        harness.maildrop = { _ in .opened([]) }
        harness.login()
        harness.send("NOOP\r\nSTAT\r\nLIST\r\nUIDL\r\nRETR 1\r\n")
        #expect(harness.take() == "+OK\r\n+OK 0 0\r\n+OK 0 messages (0 octets)\r\n.\r\n+OK Unique-ID listing follows\r\n.\r\n-ERR no such message, only 0 messages in maildrop\r\n")
    }

    @Test func pipelinedRetrievalsWaitForEachTransfer() {
        var harness = loggedIn()
        let first = harness.session.receive(Array("RETR 1\r\nRETR 2\r\nQUIT\r\n".utf8))
        #expect(first.count == 1)
        guard case .sendMessage(let transfer) = first[0] else { Issue.record("expected a transfer"); return }
        #expect(transfer.statusLine == .ok("28 octets"))
        #expect(harness.session.isWaiting)
        let second = harness.session.messageSent(.sent)
        #expect(second.count == 1)
        guard case .sendMessage(let next) = second[0] else { Issue.record("expected a transfer"); return }
        #expect(next.number == 2)
        #expect(harness.session.messageSent(.sent) == [.send(.ok("pop.example.test POP3 server signing off")), .close])
    }

    @Test func vanishedMessageAndBrokenTransfer() {
        var harness = loggedIn()
        harness.contents[12] = nil
        harness.send("RETR 2\r\nSTAT\r\n")
        #expect(harness.take() == "-ERR [SYS/TEMP] Message 2 is no longer available\r\n+OK 3 107\r\n")
        _ = harness.session.receive(Array("RETR 1\r\nSTAT\r\n".utf8))
        #expect(harness.session.messageSent(.failed) == [.close])
        #expect(harness.session.isClosed)
    }
}
