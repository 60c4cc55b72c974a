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
    case dnsQuery, dnsReverse
    case readLibrary

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
        case .readLibrary: "read_library"
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
        case .readLibrary: "require"
        }
    }
}
