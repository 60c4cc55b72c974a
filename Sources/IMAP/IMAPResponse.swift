// The responses the server sends (RFC 3501 §7, RFC 9051 §7 and extensions): status
// responses with response codes, untagged data, and continuation requests. Values
// only; IMAPEncoder turns them into bytes.
import MailCore

public enum IMAPStatus: String, Sendable, Equatable {
    case ok = "OK", no = "NO", bad = "BAD"
}

public enum UntaggedStatus: String, Sendable, Equatable {
    case ok = "OK", no = "NO", bad = "BAD", bye = "BYE", preauth = "PREAUTH"
}

public enum IMAPResponse: Sendable, Equatable {
    case tagged(tag: String, status: IMAPStatus, code: IMAPResponseCode?, text: String)
    case untagged(status: UntaggedStatus, code: IMAPResponseCode?, text: String)
    /// "+ text" (RFC 3501 §7.5); a SASL challenge is sent as its base64 text.
    case continuation(String)
    case data(UntaggedData)
}

/// Response codes (RFC 3501 §7.1, RFC 5530, RFC 4315 UIDPLUS, RFC 7162, RFC 7889, RFC 3516).
public enum IMAPResponseCode: Sendable, Equatable {
    case alert, parse, readOnly, readWrite, tryCreate, uidNotSticky, noModSeq, closed
    case badCharset([String])
    case capability([String])
    case permanentFlags([String])
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(Int)
    case highestModSeq(UInt64)
    case modified(SequenceSet)
    case appendUID(uidValidity: UInt32, uids: SequenceSet)
    case copyUID(uidValidity: UInt32, source: SequenceSet, destination: SequenceSet)
    case alreadyExists, nonExistent, tooBig, overQuota, limit, unavailable
    case authenticationFailed, authorizationFailed, expired, privacyRequired, contactAdmin
    case noPerm, inUse, expungeIssued, corruption, serverBug, clientBug, cannot, hasChildren
    case unknownCTE
    /// Any other code: atom and optional text.
    case other(String, String?)
}

public enum UntaggedData: Sendable, Equatable {
    case capability([String])
    case enabled([String])
    case flags([String])
    case exists(Int)
    case recent(Int)
    case expunge(Int)
    /// VANISHED [(EARLIER)] uid-set (RFC 7162 §3.2.10).
    case vanished(earlier: Bool, SequenceSet)
    case list(ListEntry)
    case lsub(ListEntry)
    /// Mailbox name as Unicode (the encoder applies modified UTF-7 unless UTF8=ACCEPT).
    case status(String, [StatusValue])
    /// `* SEARCH 2 3 6 (MODSEQ 917162500)`.
    case search([UInt32], modSeq: UInt64?)
    case esearch(ESearchResponse)
    case fetch(Int, [FetchResponseItem])
    /// NIL for a namespace kind: an empty array.
    case namespace(personal: [NamespaceEntry], other: [NamespaceEntry], shared: [NamespaceEntry])
    case id([IDField]?)
    case quota(root: String, [QuotaResource])
    case quotaRoot(mailbox: String, roots: [String])
}

public struct ListEntry: Sendable, Equatable {
    /// "\\HasNoChildren", "\\Sent", "\\Subscribed", …
    public var attributes: [String]
    /// nil: NIL (flat namespace).
    public var delimiter: Character?
    /// The name as Unicode.
    public var name: String
    /// CHILDINFO extended data (RFC 5258 §4): "SUBSCRIBED".
    public var childInfo: [String]
    public init(attributes: [String], delimiter: Character?, name: String, childInfo: [String] = []) {
        self.attributes = attributes; self.delimiter = delimiter; self.name = name; self.childInfo = childInfo
    }
}

public struct StatusValue: Sendable, Equatable {
    public var item: StatusItem
    public var value: UInt64
    public init(_ item: StatusItem, _ value: UInt64) { self.item = item; self.value = value }
}

/// ESEARCH response (RFC 4731 §3.1, RFC 7162 §3.1.5 MODSEQ).
public struct ESearchResponse: Sendable, Equatable {
    public var tag: String?
    public var uid: Bool
    public var min: UInt32?
    public var max: UInt32?
    public var all: SequenceSet?
    public var count: Int?
    public var modSeq: UInt64?
    public init(tag: String?, uid: Bool, min: UInt32? = nil, max: UInt32? = nil, all: SequenceSet? = nil,
                count: Int? = nil, modSeq: UInt64? = nil) {
        self.tag = tag; self.uid = uid; self.min = min; self.max = max; self.all = all; self.count = count; self.modSeq = modSeq
    }
}

public struct NamespaceEntry: Sendable, Equatable {
    public var prefix: String
    public var delimiter: Character?
    public init(prefix: String, delimiter: Character?) { self.prefix = prefix; self.delimiter = delimiter }
}

public struct QuotaResource: Sendable, Equatable {
    /// "STORAGE" (in KiB), "MESSAGE", …
    public var name: String
    public var usage: UInt64
    public var limit: UInt64
    public init(name: String, usage: UInt64, limit: UInt64) { self.name = name; self.usage = usage; self.limit = limit }
}

public enum FetchResponseItem: Sendable, Equatable {
    case flags([String])
    case internalDate(Double)
    case rfc822Size(Int)
    case uid(UInt32)
    case modSeq(UInt64)
    case envelope(Envelope)
    case bodyStructure(BodyStructure)
    /// BODY: the non-extensible form.
    case body(BodyStructure)
    /// BODY[section]<origin> data (nil: NIL). `origin` is the partial's offset, echoed as "<n>".
    case bodySection(SectionSpec, origin: Int?, data: [UInt8]?)
    case binary(part: [Int], origin: Int?, data: [UInt8]?)
    case binarySize(part: [Int], size: Int)
    case rfc822([UInt8]?)
    case rfc822Header([UInt8]?)
    case rfc822Text([UInt8]?)
}
