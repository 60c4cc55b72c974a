import Testing
@testable import Delivery

@Suite struct BounceTests {
    @Test func failuresGoToTheSenderThenThePostmasterThenNowhere() {
        #expect(Bounce.destination(forFailureOf: "alice@example.test", postmaster: "postmaster@relay.test")
                == .notify(recipient: "alice@example.test", sender: ""))
        #expect(Bounce.destination(forFailureOf: "", postmaster: "postmaster@relay.test")
                == .notify(recipient: "postmaster@relay.test", sender: "#@[]"))
        #expect(Bounce.destination(forFailureOf: "#@[]", postmaster: "postmaster@relay.test") == .discard)
    }

    @Test func noticesOnlyGoToRealSenders() {
        #expect(Bounce.destination(forNoticeTo: "alice@example.test") == .notify(recipient: "alice@example.test", sender: ""))
        #expect(Bounce.destination(forNoticeTo: "") == .discard)
        #expect(Bounce.destination(forNoticeTo: Bounce.doubleBounceSender) == .discard)
    }
}
