// Temporary: commands still being written.
extension IMAPSession {
    mutating func create(_ tag: String, _ name: MailboxName, specialUse: [String], store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func delete(_ tag: String, _ name: MailboxName, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func rename(_ tag: String, _ from: MailboxName, _ to: MailboxName, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func subscribe(_ tag: String, _ name: MailboxName, _ on: Bool, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func list(_ tag: String, _ command: ListCommand, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func lsub(_ tag: String, reference: MailboxName, pattern: [UInt8], store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func status(_ tag: String, _ name: MailboxName, _ items: [StatusItem], store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func append(_ tag: String, _ name: MailboxName, _ messages: [AppendMessage], store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func getQuota(_ tag: String, root: String, store: any IMAPMailStore) { no(tag, "Not yet") }
    mutating func getQuotaRoot(_ tag: String, _ name: MailboxName, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func search(_ tag: String, _ command: SearchCommand, uid: Bool, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func fetch(_ tag: String, _ set: SequenceSet, _ attributes: [FetchAttribute], _ modifiers: FetchModifiers, uid: Bool, store: any IMAPMailStore, output: IMAPOutput, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func storeFlags(_ tag: String, _ set: SequenceSet, _ modifiers: StoreModifiers, _ action: StoreAction, uid: Bool, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
    mutating func copy(_ tag: String, _ set: SequenceSet, _ destination: MailboxName, uid: Bool, move: Bool, store: any IMAPMailStore, _ actions: inout [IMAPAction]) { no(tag, "Not yet") }
}
