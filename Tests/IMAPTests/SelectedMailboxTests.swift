// SelectedMailbox: UID ↔ sequence-number mapping with UID gaps, message and UID sets
// (`*`, reversed ranges, duplicates, `$`), numbers after expunges, range checks, the
// flag list; and, through a session, expunges from elsewhere held back (the message
// keeps its number) until an EXPUNGE may be sent (RFC 3501 §7.4.1).
import Testing
@testable import IMAP

@Suite struct SelectedMailboxTests {
    /// UIDs 2 5 9 10 (sequence numbers 1–4), given out of order.
    func mailbox(_ uids: [UInt32] = [9, 2, 10, 5], flags: [UInt32: [String]] = [:]) -> SelectedMailbox {
        let records = uids.map { uid in
            IMAPMessageRecord(uid: uid, flags: flags[uid] ?? [], modSeq: UInt64(uid), size: 10, internalDate: 0,
                              handle: IMAPMessageHandle(mailbox: 1, key: UInt64(uid)))
        }
        let snapshot = IMAPMailboxSnapshot(id: IMAPMailboxID(1), uidValidity: 7, uidNext: 11, highestModSeq: 0, messages: records)
        return SelectedMailbox(snapshot, name: "INBOX", readOnly: false)
    }

    func set(_ text: String) -> SequenceSet {
        guard case .fetch(let set, _, _, _)? = try? IMAPParser().parse("a FETCH \(text) UID").command else {
            preconditionFailure("bad set \(text)")
        }
        return set
    }

    @Test func messagesAreInUIDOrder() {
        let box = mailbox()
        #expect(box.messages.map(\.uid) == [2, 5, 9, 10])
        #expect(box.count == 4)
        #expect(box.largestUID == 10)
        #expect(box.highestModSeq == 1)                  // never 0 (RFC 7162 §3.1.2.1)
        #expect(mailbox([]).largestUID == 0)
    }

    @Test func uidToSequenceNumber() {
        let box = mailbox()
        #expect(box.index(ofUID: 2) == 0)
        #expect(box.index(ofUID: 9) == 2)
        #expect(box.index(ofUID: 10) == 3)
        for missing: UInt32 in [0, 1, 3, 6, 11, .max] { #expect(box.index(ofUID: missing) == nil) }
        #expect(mailbox([]).index(ofUID: 1) == nil)
    }

    @Test func messageNumberSets() {
        let box = mailbox()
        #expect(box.indexes(set("2:3"), uid: false, saved: []) == [1, 2])
        #expect(box.indexes(set("*"), uid: false, saved: []) == [3])
        #expect(box.indexes(set("3:*"), uid: false, saved: []) == [2, 3])
        #expect(box.indexes(set("4:2"), uid: false, saved: []) == [1, 2, 3])
        #expect(box.indexes(set("1,1:2,2"), uid: false, saved: []) == [0, 1])
        #expect(box.indexes(set("3:9"), uid: false, saved: []) == [2, 3])      // clipped; BAD is the session's call
        #expect(mailbox([]).indexes(set("1:*"), uid: false, saved: []) == [])
    }

    @Test func uidSets() {
        let box = mailbox()
        #expect(box.indexes(set("5:9"), uid: true, saved: []) == [1, 2])
        #expect(box.indexes(set("6:8"), uid: true, saved: []) == [])
        #expect(box.indexes(set("1:*"), uid: true, saved: []) == [0, 1, 2, 3])
        // RFC 3501 §6.4.8: "11:*" is "10:11", so the last message is always included.
        #expect(box.indexes(set("11:*"), uid: true, saved: []) == [3])
        #expect(box.indexes(set("10,2,2"), uid: true, saved: []) == [0, 3])
        // `$` (RFC 5182): the saved UIDs that still exist, in mailbox order.
        #expect(box.indexes(.lastResult, uid: true, saved: [10, 2, 99]) == [0, 3])
        #expect(box.indexes(.lastResult, uid: false, saved: [5]) == [1])
    }

    @Test func numbersCloseUpAfterAnExpunge() {
        var box = mailbox()
        box.messages.removeAll { $0.uid == 5 }
        #expect(box.messages.map(\.uid) == [2, 9, 10])
        #expect(box.index(ofUID: 9) == 1)
        #expect(box.indexes(set("2"), uid: false, saved: []) == [1])
        #expect(box.indexes(set("*"), uid: false, saved: []) == [2])
        #expect(box.sequenceOutOfRange(set("4")))
    }

    @Test func outOfRangeMessageNumbers() {
        let box = mailbox()
        #expect(!box.sequenceOutOfRange(set("1:4")))
        #expect(!box.sequenceOutOfRange(set("*")))
        #expect(box.sequenceOutOfRange(set("5")))
        #expect(box.sequenceOutOfRange(set("2,7:8")))
        #expect(!box.sequenceOutOfRange(.lastResult))
        #expect(mailbox([]).sequenceOutOfRange(set("1")))
        #expect(mailbox([]).sequenceOutOfRange(set("*")))
    }

    @Test func flagListAndFlagTests() {
        let box = mailbox(flags: [2: ["\\Seen", "$Work"], 5: ["$Forwarded", "\\Deleted"], 9: ["$Work"]])
        #expect(box.flagList == ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Work", "$Forwarded"])
        #expect(box.has("\\seen", at: 0))
        #expect(!box.has("\\Seen", at: 1))
        #expect(SelectedMailbox.contains(["$work"], "$Work"))
    }

    // MARK: pending expunges, through two sessions on one store

    @Test func expungesFromElsewhereWaitUntilTheyMayBeSent() {
        let store = InMemoryIMAPStore()
        for n in 1...4 { store.deliver("Subject: m\(n)\r\n\r\nbody \(n)\r\n") }
        let watcher = IMAPSessionHarness.selected(store: store)
        let other = IMAPSessionHarness.selected(store: store)
        #expect(other.send("x STORE 2 +FLAGS.SILENT (\\Deleted)") == "x OK STORE completed\r\n")
        #expect(other.send("y EXPUNGE").hasPrefix("* 2 EXPUNGE\r\n"))
        // SEARCH, FETCH and STORE may not announce it (RFC 3501 §7.4.1): message 2 keeps
        // its number, and 3 and 4 theirs.
        #expect(watcher.send("a SEARCH ALL") == "* SEARCH 1 2 3 4\r\na OK SEARCH completed\r\n")
        #expect(watcher.send("b FETCH 3:4 (UID)") == "* 3 FETCH (UID 3)\r\n* 4 FETCH (UID 4)\r\nb OK FETCH completed\r\n")
        #expect(!watcher.send("c STORE 4 +FLAGS.SILENT (\\Seen)").contains("EXPUNGE"))
        // NOOP may: then the numbers close up.
        #expect(watcher.send("d NOOP") == "* 2 EXPUNGE\r\nd OK NOOP completed\r\n")
        #expect(watcher.send("e SEARCH ALL") == "* SEARCH 1 2 3\r\ne OK SEARCH completed\r\n")
        #expect(watcher.send("f FETCH 2 (UID)") == "* 2 FETCH (UID 3)\r\nf OK FETCH completed\r\n")
        #expect(watcher.send("g UID SEARCH ALL") == "* SEARCH 1 3 4\r\ng OK UID SEARCH completed\r\n")
    }

    @Test func uidCommandsMayAnnounceExpunges() {
        let store = InMemoryIMAPStore()
        for n in 1...3 { store.deliver("Subject: m\(n)\r\n\r\nbody\r\n") }
        let watcher = IMAPSessionHarness.selected(store: store)
        let other = IMAPSessionHarness.selected(store: store)
        _ = other.send("x STORE 1 +FLAGS.SILENT (\\Deleted)")
        _ = other.send("y EXPUNGE")
        #expect(watcher.send("a UID SEARCH ALL") == "* 1 EXPUNGE\r\n* SEARCH 2 3\r\na OK UID SEARCH completed\r\n")
        #expect(watcher.send("b SEARCH ALL") == "* SEARCH 1 2\r\nb OK SEARCH completed\r\n")
    }

    @Test func keywordsAreLearnedOnceAndRecentShowsInFlags() {
        var box = mailbox(flags: [2: ["$Work"]])
        #expect(box.permanentFlags == ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "$Work", "\\*"])
        let record = { (flags: [String]) in IMAPMessageRecord(uid: 5, flags: flags, modSeq: 1, size: 1, internalDate: 0,
                                                              handle: IMAPMessageHandle(mailbox: 1, key: 5)) }
        let known = box.learnKeywords([record(["$work", "\\Seen"])])   // case-insensitive, system flags ignored
        let new = box.learnKeywords([record(["$Later"])])
        #expect(!known && new)
        #expect(box.flagList.suffix(2) == ["$Work", "$Later"])
        box.recent = [5]
        #expect(box.flags(of: record(["\\Seen"])) == ["\\Seen", "\\Recent"])
        #expect(box.flags(of: box.messages[0]) == ["$Work"])
        let readOnly = SelectedMailbox(IMAPMailboxSnapshot(id: IMAPMailboxID(1), uidValidity: 1, uidNext: 1, highestModSeq: 1, messages: []),
                                       name: "x", readOnly: true)
        #expect(readOnly.permanentFlags.isEmpty)
    }
}
