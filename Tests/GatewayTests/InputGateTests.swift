import NIOCore
import Testing
@testable import Gateway

@Suite struct InputGateTests {
    func buffer(_ count: Int, from start: UInt8 = 0) -> ByteBuffer {
        ByteBuffer(bytes: (0..<count).map { UInt8(truncatingIfNeeded: Int(start) + $0) })
    }

    @Test func feedsInSlicesWhileOutputCanGo() {
        let gate = InputGate()
        var slices: [Int] = []
        gate.feed(buffer(10_000), canContinue: { true }) { slices.append($0.readableBytes) }
        #expect(slices == [4096, 4096, 1808])
        #expect(!gate.isHolding)
    }

    @Test func holdsTheRestWhileBlockedAndResumesInOrder() {
        let gate = InputGate()
        var received: [UInt8] = []
        var writable = true
        gate.feed(buffer(10_000), canContinue: { writable }) { slice in
            received += Array(slice.readableBytesView)
            writable = false   // the replies to this slice filled the output
        }
        #expect(received.count == 4096)
        #expect(gate.isHolding)
        // A read already under way while blocked queues behind the held input.
        gate.feed(buffer(100, from: 200), canContinue: { writable }) { received += Array($0.readableBytesView) }
        #expect(received.count == 4096)
        writable = true
        gate.resume(canContinue: { writable }) { received += Array($0.readableBytesView) }
        #expect(!gate.isHolding)
        let expected = (0..<10_000).map { UInt8(truncatingIfNeeded: $0) } + (0..<100).map { UInt8(truncatingIfNeeded: 200 + $0) }
        #expect(received == expected)
    }

    @Test func messageContentGoesWhole() {
        let gate = InputGate()
        var slices: [Int] = []
        var inData = false
        gate.feed(buffer(10_000), canContinue: { true }, takesWhole: { inData }) { slice in
            slices.append(slice.readableBytes)
            inData = true   // the first slice started DATA
        }
        #expect(slices == [4096, 5904])
    }

    @Test func discardDropsWhatIsHeld() {
        let gate = InputGate()
        gate.feed(buffer(100), canContinue: { false }) { _ in Issue.record("nothing is delivered while blocked") }
        #expect(gate.isHolding)
        gate.discard()
        #expect(!gate.isHolding)
        gate.resume(canContinue: { true }) { _ in Issue.record("nothing left to deliver") }
    }
}
