import Testing
@testable import IMAP

@Suite struct ModifiedUTF7Tests {
    @Test func rfc3501Examples() {
        #expect(ModifiedUTF7.encode("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-")
        #expect(ModifiedUTF7.decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-") == "~peter/mail/台北/日本語")
        #expect(ModifiedUTF7.encode("Entwürfe") == "Entw&APw-rfe")
        #expect(ModifiedUTF7.encode("Tom & Jerry") == "Tom &- Jerry")
        #expect(ModifiedUTF7.decode("Tom &- Jerry") == "Tom & Jerry")
        #expect(ModifiedUTF7.encode("INBOX") == "INBOX")
        #expect(ModifiedUTF7.encode("😀") == "&2D3eAA-")
        #expect(ModifiedUTF7.decode("&2D3eAA-") == "😀")
    }

    @Test func roundTrips() {
        for name in ["Élève", "Корзина", "ゴミ箱", "a&b&c", "mixed é & 北 end", "", "tab\there"] {
            #expect(ModifiedUTF7.decode(ModifiedUTF7.encode(name)) == name)
        }
    }

    @Test func malformed() {
        #expect(ModifiedUTF7.decode("&U,BTFw") == nil)          // no closing "-"
        #expect(ModifiedUTF7.decode("&U!BTFw-") == nil)         // not in the alphabet
        #expect(ModifiedUTF7.decode("&2D0-") == nil)            // lone high surrogate
        #expect(ModifiedUTF7.decode([0xc3, 0xa9]) == nil)       // raw 8-bit
        #expect(ModifiedUTF7.decode("&AGE") == nil)
    }

    @Test func mailboxNames() {
        #expect(MailboxName("inbox") == .inbox)
        #expect(MailboxName("INBOX.sub") != .inbox)
        #expect(MailboxName("&ZeVnLIqe-").decoded(utf8Accept: false) == "日本語")
        #expect(MailboxName("&ZeVnLIqe-").decoded(utf8Accept: true) == "&ZeVnLIqe-")
    }
}
