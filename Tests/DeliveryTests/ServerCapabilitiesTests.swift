import Testing
@testable import Delivery

@Suite struct ServerCapabilitiesTests {
    @Test func readsTheExtensionsOfAnEHLOReply() {
        let reply = ServerReply(code: 250, lines: ["mx.example.net Hello", "PIPELINING", "SIZE 52428800", "8BITMIME",
                                                   "smtputf8", "DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "CHUNKING",
                                                   "AUTH PLAIN login", "AUTH=CRAM-MD5", "X-UNKNOWN foo"])
        let caps = ServerCapabilities(ehlo: reply)
        #expect(caps.pipelining && caps.eightBitMIME && caps.smtpUTF8 && caps.dsn && caps.startTLS && caps.chunking)
        #expect(caps.enhancedStatusCodes && caps.size == 52_428_800)
        #expect(caps.authMechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
    }

    @Test func greetingLineIsNotAnExtensionAndSizeMayBeBare() {
        let caps = ServerCapabilities(ehlo: ServerReply(code: 250, lines: ["PIPELINING", "SIZE"]))
        #expect(!caps.pipelining && caps.size == 0)
        #expect(ServerCapabilities(ehlo: ServerReply(code: 250, lines: ["mx", "SIZE -5"])).size == 0)
    }
}
