// Every bound mailgate puts on peer input and resource use, with its default.
// Decoders and sessions read their bounds from here; config overrides fill it in.

public struct Limits: Sendable, Equatable {
    /// Largest message accepted (SIZE advertised in EHLO, APPENDLIMIT in IMAP).
    public var maxMessageSize: Int = 10 * 1024 * 1024
    /// Recipients per SMTP transaction; the next one gets 452 4.5.3.
    public var maxRecipients: Int = 100
    /// SMTP command line including CRLF (RFC 5321 §4.5.3.1.4: 512).
    public var maxCommandLine: Int = 512
    /// MAIL FROM line: the command line plus what its extensions may add (RFC 1870 SIZE
    /// 26, RFC 3461 RET/ENVID 110, RFC 4954 AUTH= 500, RFC 6531 SMTPUTF8 10, BODY=8BITMIME 14).
    public var maxMailCommandLine: Int { maxCommandLine + 26 + 110 + 500 + 10 + 14 }
    /// RCPT TO line: the command line plus RFC 3461 NOTIFY/ORCPT (500).
    public var maxRcptCommandLine: Int { maxCommandLine + 500 }
    /// SMTP text line in DATA including CRLF (RFC 5321 §4.5.3.1.6: 1000).
    public var maxTextLine: Int = 1000
    /// How long a queued message is retried before it bounces.
    public var queueLifetime: Duration = .seconds(24 * 3600)
    /// Idle time allowed between commands (RFC 5321 §4.5.3.2.7 suggests 5 min).
    public var commandTimeout: Duration = .seconds(300)
    /// Idle time allowed while receiving DATA (RFC 5321 §4.5.3.2.6: 10 min).
    public var dataTimeout: Duration = .seconds(600)
    /// Whole-session cap, so a slow-drip client cannot hold a slot forever.
    public var sessionTimeout: Duration = .seconds(3600)
    /// Concurrent connections over all listeners.
    public var maxConnections: Int = 1000
    /// Concurrent connections from one client IP.
    public var maxConnectionsPerIP: Int = 50
    /// Bad commands tolerated per session before 421 and disconnect.
    public var maxErrors: Int = 20
    /// IMAP: one command line (the text between literals) including CRLF. RFC 7162 §4
    /// asks servers to accept at least 8192 octets; long UID sets need more.
    public var maxIMAPLine: Int = 64 * 1024
    /// IMAP: a literal in any command but APPEND (APPEND literals use maxMessageSize).
    public var maxIMAPLiteral: Int = 64 * 1024
    /// IMAP: bytes of one whole command (lines and literals) other than APPEND's messages.
    public var maxIMAPCommand: Int = 256 * 1024
    /// IMAP: parenthesis nesting in a command (SEARCH, LIST options, BODY sections).
    public var maxIMAPNesting: Int = 32
    /// IMAP: items in one list (FETCH attributes, SEARCH keys, flags, sequence ranges).
    public var maxIMAPItems: Int = 10_000
    /// Default per-account quota (bytes).
    public var defaultQuota: Int64 = 25 * 1024 * 1024
    /// Instructions one Lua hook call may run before it is stopped (451 4.3.0).
    public var policyInstructionBudget: Int = 1_000_000
    /// Memory one Lua VM may hold.
    public var policyMemoryLimit: Int = 32 * 1024 * 1024
    /// Lua VMs in the pool (hooks running at once).
    public var policyVMs: Int = 4
    /// Largest message or body Lua's tx:body() / tx:message() return whole (bigger ones
    /// are read in chunks of at most this size); also the cap of tx:part_text().
    public var policyBodySize: Int = 1024 * 1024
    /// How long SIGTERM waits for transactions in flight.
    public var shutdownGrace: Duration = .seconds(10)

    public init() {}
}
