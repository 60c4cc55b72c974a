import Testing
@testable import Policy

@Test func smoke() throws {
    let dir = PolicyDirectory()
    let host = TestPolicyHost()
    let engine = try dir.engine("""
    local p = {}
    function p.connect(session)
      mailgate.log.info("hello " .. session.client_ip)
      return mailgate.reject(554, "5.7.1", "go away " .. session.client_ip)
    end
    return p
    """, host: host)
    let result = engine.connect()
    #expect(result.reply?.code == 554)
    #expect(result.reply?.text == "go away 192.0.2.10")
    print(host.logs)
}
