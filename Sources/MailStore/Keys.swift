// Key layout of every named database, designed for range scans: big-endian integers,
// one prefix per owner. Addresses are split "domain\0local" so a domain's accounts,
// aliases and mailboxes are one contiguous key range.
//
//   domains       domain                         -> DomainRecord
//   accounts      domain \0 local                -> AccountRecord
//   aliases       domain \0 local                -> AliasRecord
//   catchall      domain                         -> target address (UTF-8)
//   mailboxNames  domain \0 local \0 name        -> mailbox id (8 BE)
//   mailboxes     mailbox id (8 BE)              -> MailboxRecord
//   messages      mailbox id (8 BE) + uid (4 BE) -> MessageRecord
//   modseqIndex   mailbox id (8 BE) + modseq (8 BE) + uid (4 BE) -> [1]
//                 one row per message at its current modseq (CONDSTORE change queries)
//   expunged      mailbox id (8 BE) + modseq (8 BE) + uid (4 BE) -> [1]
//                 tombstones of removed messages (QRESYNC VANISHED), bounded per mailbox
//   subscriptions domain \0 local \0 name        -> [1] (IMAP SUBSCRIBE, names need not exist)
//   blobs         blob id (8 BE)                 -> raw message bytes
//   blobRefs      blob id (8 BE)                 -> reference count (4 BE)
//   queue         queue id (sortable string)     -> QueueEntry (JSON)
//   whitelist     ip (as given)                  -> WhitelistRecord
//   counters      key (as given)                 -> CounterRecord
//   meta          name                           -> schema version, id sequences
//   dkim_keys     domain \0 selector             -> DKIMKeyRow (algorithm, private key PEM, created)
//   dmarcReports  period (8 BE)                  -> policy domains in the period (4 BE)
//                 period (8 BE) + domain \0      -> DMARCReportDomainSummary
//                 period (8 BE) + domain \0 + group (16) -> count (8 BE) + row bytes
//                 rows for DMARC aggregate reports: a period's rows of one domain are
//                 one range (DMARCReports.swift)

enum Keys {
    static let separator: UInt8 = 0

    /// "domain\0local" for an address already normalized ("local@domain").
    static func address(_ address: String) -> [UInt8] {
        let (local, domain) = split(address)
        var key: [UInt8] = []
        key.reserveCapacity(address.utf8.count + 1)
        key.append(contentsOf: domain.utf8)
        key.append(separator)
        key.append(contentsOf: local.utf8)
        return key
    }

    /// Prefix of every address key in `domain`: "domain\0".
    static func domainPrefix(_ domain: String) -> [UInt8] {
        Array(domain.utf8) + [separator]
    }

    /// Inverse of `address(_:)`.
    static func addressFromKey(_ key: UnsafeRawBufferPointer) -> String {
        guard let sep = key.firstIndex(of: separator) else { return String(decoding: key, as: UTF8.self) }
        let domain = String(decoding: key[..<sep], as: UTF8.self)
        let local = String(decoding: key[(sep + 1)...], as: UTF8.self)
        return "\(local)@\(domain)"
    }

    static func mailboxNamePrefix(account: String) -> [UInt8] {
        address(account) + [separator]
    }

    static func mailboxName(account: String, name: String) -> [UInt8] {
        mailboxNamePrefix(account: account) + Array(name.utf8)
    }

    static func id(_ value: UInt64) -> [UInt8] { be64(value) }

    static func message(_ mailboxID: UInt64, _ uid: UInt32) -> [UInt8] {
        be64(mailboxID) + be32(uid)
    }

    /// A modseq-ordered row of `modseqIndex` or `expunged`.
    static func modSeqRow(_ mailboxID: UInt64, _ modSeq: UInt64, _ uid: UInt32) -> [UInt8] {
        be64(mailboxID) + be64(modSeq) + be32(uid)
    }

    static func split(_ address: String) -> (local: Substring, domain: Substring) {
        guard let at = address.utf8.lastIndex(of: UInt8(ascii: "@")) else { return (address[...], "") }
        return (address[..<at], address[address.utf8.index(after: at)...])
    }

    static func be64(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func be32(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    static func readBE64(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value = value << 8 | UInt64(bytes[offset + i]) }
        return value
    }

    static func readBE32(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) -> UInt32 {
        var value: UInt32 = 0
        for i in 0..<4 { value = value << 8 | UInt32(bytes[offset + i]) }
        return value
    }
}
