import Testing
@testable import IMAP

@Suite struct SequenceSetTests {
    @Test func wireAndCompact() {
        #expect(SequenceSet.compact([7, 1, 2, 3, 9, 10]).wire == "1:3,7,9:10")
        #expect(SequenceSet.compact([]).wire == "")
        #expect(SequenceSet.compact([UInt32.max, UInt32.max - 1]).wire == "4294967294:4294967295")
        #expect(SequenceSet.ranges([SequenceRange(1, nil), SequenceRange(nil)]).wire == "1:*,*")
        #expect(SequenceSet.lastResult.wire == "$")
    }

    @Test func membership() {
        let set = SequenceSet.ranges([SequenceRange(5, 3), SequenceRange(10, nil)])
        #expect(set.contains(4, star: 20))
        #expect(!set.contains(6, star: 20))
        #expect(set.contains(15, star: 20))
        // "*" larger than the range's start: 10:* with * = 8 means 8:10.
        #expect(set.contains(9, star: 8))
        #expect(!SequenceSet.lastResult.contains(1, star: 1))
    }
}
