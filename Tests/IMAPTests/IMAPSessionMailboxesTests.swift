// CREATE, DELETE, RENAME, SUBSCRIBE, LIST (extended, status), LSUB, STATUS, QUOTA, APPEND.
import Testing
import MailCore
@testable import IMAP

@Suite struct IMAPSessionMailboxesTests {
    @Test func createListDeleteRename() {
        let h = IMAPSessionHarness.loggedIn()
        #expect(h.send("a CREATE Work/Projects") == "a OK CREATE completed\r\n")
        #expect(h.send("b CREATE Work/Projects") == "b NO [ALREADYEXISTS] Mailbox already exists\r\n")
        #expect(h.send("c CREATE inbox") == "c NO [ALREADYEXISTS] INBOX always exists\r\n")
        #expect(h.send("d LIST \"\" *") == """
            * LIST (\\HasNoChildren) "/" "INBOX"\r
            * LIST (\\NonExistent \\HasChildren) "/" "Work"\r
            * LIST (\\HasNoChildren) "/" "Work/Projects"\r
            d OK LIST completed\r\n
            """.replacingOccurrences(of: "\\NonExistent", with: "\\Noselect"))
        #expect(h.send("e LIST \"\" %") == "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n* LIST (\\Noselect \\HasChildren) \"/\" \"Work\"\r\ne OK LIST completed\r\n")
        #expect(h.send("f RENAME Work/Projects Done") == "f OK RENAME completed\r\n")
        #expect(h.send("g DELETE Done") == "g OK DELETE completed\r\n")
        #expect(h.send("h DELETE Done") == "h NO [NONEXISTENT] No such mailbox\r\n")
        #expect(h.send("i DELETE INBOX") == "i NO [CANNOT] INBOX cannot be deleted\r\n")
        #expect(h.send("j LIST \"\" \"\"") == "* LIST (\\Noselect) \"/\" \"\"\r\nj OK LIST completed\r\n")
    }

    @Test func specialUseAndExtendedList() {
        let h = IMAPSessionHarness.loggedIn()
        #expect(h.send("a CREATE Sent (USE (\\Sent))") == "a OK CREATE completed\r\n")
        #expect(h.send("b CREATE Odd (USE (\\Bogus))") == "b NO [USEATTR] Unsupported special-use attribute\r\n")
        #expect(h.send("c LIST (SPECIAL-USE) \"\" *") == "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"\r\nc OK LIST completed\r\n")
        _ = h.send("d UNSUBSCRIBE Sent")
        #expect(h.send("e LIST (SUBSCRIBED) \"\" *") == "* LIST (\\HasNoChildren \\Subscribed) \"/\" \"INBOX\"\r\ne OK LIST completed\r\n")
        #expect(h.send("f LSUB \"\" *") == "* LSUB () \"/\" \"INBOX\"\r\nf OK LSUB completed\r\n")
    }

    @Test func listStatus() {
        let store = InMemoryIMAPStore()
        store.deliver("Subject: a\r\n\r\nx\r\n")
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a LIST \"\" INBOX RETURN (STATUS (MESSAGES UNSEEN))") ==
                "* LIST (\\HasNoChildren) \"/\" \"INBOX\"\r\n* STATUS \"INBOX\" (MESSAGES 1 UNSEEN 1)\r\na OK LIST completed\r\n")
    }

    @Test func statusItems() {
        let store = InMemoryIMAPStore()
        store.deliver("Subject: a\r\n\r\nx\r\n", flags: ["\\Seen"])
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a STATUS inbox (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)") ==
                "* STATUS \"INBOX\" (MESSAGES 1 RECENT 1 UIDNEXT 2 UIDVALIDITY 101 UNSEEN 0 DELETED 0 SIZE 17 HIGHESTMODSEQ 2 APPENDLIMIT 10485760)\r\na OK STATUS completed\r\n")
        #expect(h.send("b STATUS Nope (MESSAGES)") == "b NO [NONEXISTENT] No such mailbox\r\n")
    }

    @Test func appendReturnsAppendUIDAndErrors() {
        let store = InMemoryIMAPStore()
        let h = IMAPSessionHarness.loggedIn(store: store)
        _ = h.feed(Array("a APPEND INBOX (\\Seen $Work) \"01-Jan-2024 10:00:00 +0000\" {12+}\r\nSubject: x\r\n\r\n".utf8))
        #expect(h.output.hasSuffix("a OK [APPENDUID 101 1] APPEND completed\r\n"))
        #expect(store.mailboxes[0].messages[0].flags == ["\\Seen", "$Work"])
        #expect(store.mailboxes[0].messages[0].internalDate == 1_704_103_200)
        #expect(h.send("b APPEND Nope {1+}\r\nx") == "b NO [TRYCREATE] No such mailbox\r\n")
        store.quotaLimit = 10
        #expect(h.send("c APPEND INBOX {12+}\r\nSubject: y\r\n") == "c NO [OVERQUOTA] Quota exceeded\r\n")
    }

    @Test func appendToSelectedMailboxSendsExists() {
        let h = IMAPSessionHarness.selected()
        #expect(h.send("a APPEND INBOX {3+}\r\nx\r\n") == "* 1 EXISTS\r\n* 1 RECENT\r\na OK [APPENDUID 101 1] APPEND completed\r\n")
    }

    @Test func quota() {
        let store = InMemoryIMAPStore()
        store.deliver(String(repeating: "x", count: 2048))
        let h = IMAPSessionHarness.loggedIn(store: store)
        #expect(h.send("a GETQUOTAROOT INBOX") == "* QUOTAROOT \"INBOX\" \"\"\r\n* QUOTA \"\" (STORAGE 2 976)\r\na OK GETQUOTAROOT completed\r\n")
        #expect(h.send("b GETQUOTA \"\"") == "* QUOTA \"\" (STORAGE 2 976)\r\nb OK GETQUOTA completed\r\n")
        #expect(h.send("c GETQUOTA other") == "c NO [NONEXISTENT] No such quota root\r\n")
    }
}
