// SEARCH criteria (RFC 3501 §6.4.4, RFC 7162 MODSEQ, RFC 4731 ESEARCH RETURN options,
// RFC 5182 SAVE). A search program with several keys is `.and`; OR and NOT nest.

public indirect enum SearchKey: Sendable, Equatable, Hashable {
    case all
    case answered, deleted, draft, flagged, new, old, recent, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    case keyword(String), unkeyword(String)
    /// Address and text keys carry the string as sent (bytes decoded as UTF-8).
    case bcc(String), body(String), cc(String), from(String), subject(String), text(String), to(String)
    case header(String, String)
    /// Internal date (day granularity, the server's zone).
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    /// Date: header (day granularity).
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(Int64), smaller(Int64)
    case uid(SequenceSet)
    case sequence(SequenceSet)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    case and([SearchKey])
    /// MODSEQ [entry-name entry-type] mod-sequence-valzer (RFC 7162 §3.1.5); the entry is kept but not used.
    case modSeq(UInt64, entry: String?, entryType: String?)
    /// RFC 9051 §6.4.4 / RFC 5032 WITHIN: OLDER / YOUNGER seconds.
    case older(Int), younger(Int)
}

public enum SearchReturnOption: Sendable, Equatable, Hashable {
    case min, max, all, count, save
}

public struct SearchCommand: Sendable, Equatable, Hashable {
    /// CHARSET as sent (upper-cased); nil when absent.
    public var charset: String?
    /// nil: plain SEARCH (answer `* SEARCH`); otherwise ESEARCH with these options
    /// (an empty list means ALL, RFC 4731 §3.1).
    public var returnOptions: [SearchReturnOption]?
    public var key: SearchKey
    public init(charset: String? = nil, returnOptions: [SearchReturnOption]? = nil, key: SearchKey) {
        self.charset = charset; self.returnOptions = returnOptions; self.key = key
    }
}
