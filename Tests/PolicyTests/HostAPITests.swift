// The mailgate.* host API as Lua sees it, through the real engine.
import Foundation
import MailCore
import Testing
@testable import Policy

/// Evaluates `expression` in a connect hook and returns tostring() of it.
private func lua(_ expression: String, host: TestPolicyHost = TestPolicyHost(), dir: PolicyDirectory = PolicyDirectory(),
                 prelude: String = "") throws -> String? {
    let engine = try dir.engine("""
    \(prelude)
    return { connect = function(session)
      return mailgate.reject(550, nil, tostring(\(expression)))
    end }
    """, host: host)
    let result = engine.connect()
    if result == .policyFailure { return "FAILED: \(host.errors())" }
    return result.reply?.text
}

@Test func domainsAndUsers() throws {
    let host = TestPolicyHost(localDomains: ["example.test"], users: ["alice@example.test"], aliases: ["info@example.test"],
                              catchAll: ["example.test"])
    #expect(try lua("mailgate.domains.is_local('Example.TEST')", host: host) == "true")
    #expect(try lua("mailgate.domains.is_local('[192.0.2.1]')", host: host) == "false")
    #expect(try lua("mailgate.domains.is_local('other.test')", host: host) == "false")
    #expect(try lua("mailgate.domains.has_catchall('example.test')", host: host) == "true")
    #expect(try lua("mailgate.users.exists('Alice@example.test')", host: host) == "true")
    #expect(try lua("mailgate.users.exists('bob@example.test')", host: host) == "false")
    #expect(try lua("mailgate.users.exists('not an address')", host: host) == "false")
    #expect(try lua("mailgate.users.alias_exists('info@example.test')", host: host) == "true")
    #expect(try lua("mailgate.users.exists(42)", host: host)?.contains("mailgate.users.exists: expected an address") == true)
}

@Test func whitelist() throws {
    let host = TestPolicyHost()
    #expect(try lua("mailgate.whitelist.contains('192.0.2.7')", host: host) == "false")
    #expect(try lua("(function() mailgate.whitelist.add('192.0.2.7', '1h', 'alice@example.test') return mailgate.whitelist.contains('192.0.2.7') end)()", host: host) == "true")
    #expect(host.whitelist["192.0.2.7"]?.user == "alice@example.test")
    #expect(host.whitelist["192.0.2.7"]?.expires == host.now() + 3600)
    #expect(try lua("(function() mailgate.whitelist.add('::ffff:192.0.2.8', 60) return mailgate.whitelist.contains('192.0.2.8') end)()", host: host) == "true")
    #expect(try lua("(function() mailgate.whitelist.remove('192.0.2.7') return mailgate.whitelist.contains('192.0.2.7') end)()", host: host) == "false")
    #expect(try lua("mailgate.whitelist.add('nonsense', 60)", host: host)?.contains("FAILED") == true)
    #expect(try lua("mailgate.whitelist.add('192.0.2.9', 0)", host: host)?.contains("positive TTL") == true)
}

@Test func counters() throws {
    let host = TestPolicyHost()
    #expect(try lua("mailgate.counters.incr('k', 60) .. ',' .. mailgate.counters.incr('k', 60, 5) .. ',' .. mailgate.counters.get('k', '1m')", host: host) == "1,6,6")
    host.advance(61)
    #expect(try lua("mailgate.counters.get('k', 60)", host: host) == "0")
    #expect(try lua("mailgate.counters.incr('', 60)", host: host)?.contains("counter key") == true)
    #expect(try lua("mailgate.counters.incr('k', 0)", host: host)?.contains("window") == true)
    #expect(try lua("mailgate.counters.incr('k', 60, -1)", host: host)?.contains("amount") == true)
}

@Test func networks() throws {
    #expect(try lua("mailgate.net.in_networks('10.1.2.3', {'192.0.2.0/24', '10.0.0.0/8'})") == "true")
    #expect(try lua("mailgate.net.in_networks('10.1.2.3', '10.0.0.0/8')") == "true")
    #expect(try lua("mailgate.net.in_networks('::1', {'127.0.0.0/8', '::1/128'})") == "true")
    #expect(try lua("mailgate.net.in_networks('192.0.2.1', {})") == "false")
    #expect(try lua("mailgate.net.in_networks('192.0.2.1', nil)") == "false")
    #expect(try lua("mailgate.net.in_networks('garbage', {'0.0.0.0/0'})") == "false")
    #expect(try lua("mailgate.net.in_networks('192.0.2.1', mailgate.config.nets)", dir: {
        let dir = PolicyDirectory(); return dir }()) == "false")
    let invalid = try lua("mailgate.net.in_networks('192.0.2.1', {'10.0.0.0/33'})")
    #expect(invalid?.contains("in_networks: invalid network") == true, "\(invalid ?? "")")
    #expect(try lua("select(2, mailgate.net.parse_ip('::FFFF:192.0.2.1')) .. ' ' .. mailgate.net.parse_ip('2001:DB8::1')") == "4 2001:db8::1")
    #expect(try lua("mailgate.net.parse_ip('nope')") == "nil")
}

@Test func networksFromReadOnlyGlobals() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("""
    return { connect = function(s)
      return mailgate.reject(550, nil, tostring(mailgate.net.in_networks(s.client_ip, mailgate.config.nets)))
    end }
    """, host: host, globals: ["nets": ["192.0.2.0/24"]])
    #expect(engine.connect().reply?.text == "true")
}

@Test func durationsSizesAndAddresses() throws {
    #expect(try lua("mailgate.duration('1h30m') .. ' ' .. mailgate.duration(45) .. ' ' .. mailgate.duration('250ms')") == "5400 45 0.25")
    #expect(try lua("mailgate.duration('soon')")?.contains("expected a duration") == true)
    #expect(try lua("mailgate.size('10MB') .. ' ' .. mailgate.size(1000)") == "10485760 1000")
    #expect(try lua("mailgate.parse_address('Bob@Example.TEST').domain .. ' ' .. tostring(mailgate.parse_address('Bob@Example.TEST'))") == "example.test Bob@example.test")
    #expect(try lua("mailgate.parse_address('no-at-sign')") == "nil")
    #expect(try lua("mailgate.now()") == "1800000000")
}

@Test func logLevels() throws {
    let host = TestPolicyHost()
    _ = try lua("(function() mailgate.log.debug('d') mailgate.log.info('i') mailgate.log.warn('w') mailgate.log.error('e') mailgate.log('info', 'call') return 1 end)()", host: host)
    #expect(host.logs.map(\.level) == [.debug, .info, .warning, .error, .info])
    #expect(host.logs.map(\.message) == ["d", "i", "w", "e", "call"])
    #expect(try lua("mailgate.log('loud', 'x')")?.contains("unknown level") == true)
}

@Test func listReadsFilesOnlyWhileLoading() throws {
    let dir = PolicyDirectory()
    dir.write("blocked", "# comment\n\nSpammer@Example.NET\r\n  @bad.example  \n")
    #expect(try lua("table.concat(entries, ',') .. ' ' .. tostring(found)", dir: dir,
                    prelude: "local entries, found = mailgate.list('blocked')") == "spammer@example.net,@bad.example true")
    #expect(try lua("#entries .. ' ' .. tostring(found)", dir: dir, prelude: "local entries, found = mailgate.list('absent')") == "0 false")
    #expect(try lua("mailgate.list('blocked')", dir: dir)?.contains("only available while policies load") == true)
    #expect(throws: PolicyLoadError.self) { try lua("1", dir: dir, prelude: "mailgate.list('../secret')") }
    #expect(throws: PolicyLoadError.self) { try lua("1", dir: dir, prelude: "mailgate.list('/etc/passwd')") }
}

@Test func hostErrorsCarryThePolicyPosition() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("""
    return { connect = function(session)
      local ok = mailgate.whitelist.contains(session.client_ip)
      return mailgate.counters.incr(nil, 60)
    end }
    """, host: host)
    #expect(engine.connect() == .policyFailure)
    #expect(host.errors().first == dir.file("p.lua") + ":3: mailgate.counters.incr: expected a counter key of 1 to 400 bytes")
}
