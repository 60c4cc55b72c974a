// The host functions Lua can call, by id. Each becomes a C trampoline closure in
// the table handed to the sandbox prelude, which places it under `mailgate.*`.

enum HostFunction: Int32, CaseIterable {
    case log = 1
    case isLocal, hasCatchAll, userExists, aliasExists
    case whitelistContains, whitelistAdd, whitelistRemove
    case counterIncrement, counterGet
    case inNetworks, parseIP
    case now, list, duration, size, parseAddress
    case addHeader
    case transactionField
    case dnsQuery, dnsReverse, dnsQueryAll
    case readLibrary
    // mailgate.kv, tx results and the message (LuaVM+KeyValue.swift, LuaVM+Message.swift).
    case kvGet, kvSet, kvIncrement, kvDelete
    case setResult, getResult
    case messageBytes, messageParts, partText
    // Mail authentication (LuaVM+MailAuth.swift).
    case setSubject, setFolder
    case addAuthResult, spfCheck, dkimVerify, dmarcCheck, arcVerify
    // mailgate.http (LuaVM+HTTP.swift).
    case httpRequest
    // mailgate.json (LuaVM+JSON.swift).
    case jsonDecode

    /// The key in the prelude's `host` table.
    var luaName: String {
        switch self {
        case .log: "log"
        case .isLocal: "is_local"
        case .hasCatchAll: "has_catchall"
        case .userExists: "user_exists"
        case .aliasExists: "alias_exists"
        case .whitelistContains: "whitelist_contains"
        case .whitelistAdd: "whitelist_add"
        case .whitelistRemove: "whitelist_remove"
        case .counterIncrement: "counter_incr"
        case .counterGet: "counter_get"
        case .inNetworks: "in_networks"
        case .parseIP: "parse_ip"
        case .now: "now"
        case .list: "list"
        case .duration: "duration"
        case .size: "size"
        case .parseAddress: "parse_address"
        case .addHeader: "add_header"
        case .transactionField: "tx_field"
        case .dnsQuery: "dns_query"
        case .dnsReverse: "dns_reverse"
        case .dnsQueryAll: "dns_query_all"
        case .readLibrary: "read_library"
        case .kvGet: "kv_get"
        case .kvSet: "kv_set"
        case .kvIncrement: "kv_incr"
        case .kvDelete: "kv_delete"
        case .setResult: "tx_set_result"
        case .getResult: "tx_result"
        case .messageBytes: "tx_message_bytes"
        case .messageParts: "tx_parts"
        case .partText: "tx_part_text"
        case .setSubject: "set_subject"
        case .setFolder: "set_folder"
        case .addAuthResult: "tx_add_auth_result"
        case .spfCheck: "spf_check"
        case .dkimVerify: "dkim_verify"
        case .dmarcCheck: "dmarc_check"
        case .arcVerify: "arc_verify"
        case .httpRequest: "http_request"
        case .jsonDecode: "json_decode"
        }
    }

    /// The name in error messages.
    var apiName: String {
        switch self {
        case .log: "mailgate.log"
        case .isLocal: "mailgate.domains.is_local"
        case .hasCatchAll: "mailgate.domains.has_catchall"
        case .userExists: "mailgate.users.exists"
        case .aliasExists: "mailgate.users.alias_exists"
        case .whitelistContains: "mailgate.whitelist.contains"
        case .whitelistAdd: "mailgate.whitelist.add"
        case .whitelistRemove: "mailgate.whitelist.remove"
        case .counterIncrement: "mailgate.counters.incr"
        case .counterGet: "mailgate.counters.get"
        case .inNetworks: "mailgate.net.in_networks"
        case .parseIP: "mailgate.net.parse_ip"
        case .now: "mailgate.now"
        case .list: "mailgate.list"
        case .duration: "mailgate.duration"
        case .size: "mailgate.size"
        case .parseAddress: "mailgate.parse_address"
        case .addHeader: "tx:add_header"
        case .transactionField: "tx"
        case .dnsQuery: "mailgate.dns.query"
        case .dnsReverse: "mailgate.dns.reverse"
        case .dnsQueryAll: "mailgate.dns.query_all"
        case .readLibrary: "require"
        case .kvGet: "mailgate.kv.get"
        case .kvSet: "mailgate.kv.set"
        case .kvIncrement: "mailgate.kv.incr"
        case .kvDelete: "mailgate.kv.delete"
        case .setResult: "tx:set_result"
        case .getResult: "tx:result"
        case .messageBytes: "tx:body"
        case .messageParts: "tx:parts"
        case .partText: "tx:part_text"
        case .setSubject: "tx:set_subject"
        case .setFolder: "tx:set_folder"
        case .addAuthResult: "tx:add_auth_result"
        case .spfCheck: "mailgate.spf.check"
        case .dkimVerify: "mailgate.dkim.verify"
        case .dmarcCheck: "mailgate.dmarc.check"
        case .arcVerify: "mailgate.arc.verify"
        case .httpRequest: "mailgate.http.request"
        case .jsonDecode: "mailgate.json.decode"
        }
    }
}
