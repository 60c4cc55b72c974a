import Testing
@testable import POP3

@Suite struct POP3MessageEncoderTests {
    struct Fixture: CustomStringConvertible, Sendable {
        var input: String
        var bodyLines: Int?
        var expected: String
        var description: String { "\(bodyLines.map { "TOP \($0)" } ?? "RETR") \(input.debugDescription)" }
    }

    static let retr: [Fixture] = [
        Fixture(input: "Subject: a\r\n\r\nbody\r\n", expected: "Subject: a\r\n\r\nbody\r\n.\r\n"),
        Fixture(input: "a\nb\n", expected: "a\r\nb\r\n.\r\n"),
        Fixture(input: "a\rb\r", expected: "a\r\nb\r\n.\r\n"),
        Fixture(input: "a\r\r\nb", expected: "a\r\n\r\nb\r\n.\r\n"),
        Fixture(input: "a\n\rb", expected: "a\r\n\r\nb\r\n.\r\n"),
        Fixture(input: ".\r\n..x\r\n.y\n.\n", expected: "..\r\n...x\r\n..y\r\n..\r\n.\r\n"),
        Fixture(input: "a.b\r\n x.\r\n", expected: "a.b\r\n x.\r\n.\r\n"),
        Fixture(input: "abc", expected: "abc\r\n.\r\n"),
        Fixture(input: "", expected: ".\r\n"),
        Fixture(input: "\r\n", expected: "\r\n.\r\n"),
        Fixture(input: "\n\n", expected: "\r\n\r\n.\r\n"),
        Fixture(input: "x\r\n.\r\nafter", expected: "x\r\n..\r\nafter\r\n.\r\n"),
        Fixture(input: ".", expected: "..\r\n.\r\n"),
        Fixture(input: "x\r", expected: "x\r\n.\r\n"),
        Fixture(input: "ünïcödé\r\n.é\n", expected: "ünïcödé\r\n..é\r\n.\r\n"),
    ]

    static let top: [Fixture] = [
        Fixture(input: "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n", bodyLines: 0, expected: "H1: a\r\nH2: b\r\n\r\n.\r\n"),
        Fixture(input: "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n", bodyLines: 2, expected: "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\n.\r\n"),
        Fixture(input: "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n", bodyLines: 10,
                expected: "H1: a\r\nH2: b\r\n\r\nl1\r\nl2\r\nl3\r\n.\r\n"),
        Fixture(input: "H: a\n\n.l1\nl2", bodyLines: 1, expected: "H: a\r\n\r\n..l1\r\n.\r\n"),
        Fixture(input: "H: a\n\n.l1\nl2", bodyLines: 5, expected: "H: a\r\n\r\n..l1\r\nl2\r\n.\r\n"),
        Fixture(input: "H: a\r\n", bodyLines: 3, expected: "H: a\r\n.\r\n"),
        Fixture(input: "H: a", bodyLines: 0, expected: "H: a\r\n.\r\n"),
        Fixture(input: "H: a\r\rl1\rl2\r", bodyLines: 1, expected: "H: a\r\n\r\nl1\r\n.\r\n"),
        Fixture(input: "H: a\r\n\r\n\r\n\r\nx\r\n", bodyLines: 2, expected: "H: a\r\n\r\n\r\n\r\n.\r\n"),
        Fixture(input: "", bodyLines: 0, expected: ".\r\n"),
    ]

    static let all = retr + top

    func encode(_ chunks: [[UInt8]], bodyLines: Int?) -> [UInt8] {
        var encoder = POP3MessageEncoder(bodyLines: bodyLines)
        var output: [UInt8] = []
        for chunk in chunks { encoder.encode(chunk, into: &output) }
        encoder.finish(into: &output)
        return output
    }

    /// What the client reassembles: stuffing and the terminator removed.
    func unstuffed(_ wire: String) -> Int {
        var lines = wire.components(separatedBy: "\r\n")
        lines.removeLast(2)  // "." and the empty string after its CRLF
        return lines.reduce(0) { $0 + ($1.hasPrefix(".") ? $1.utf8.count - 1 : $1.utf8.count) + 2 }
    }

    @Test(arguments: all) func whole(_ fixture: Fixture) {
        let output = POP3MessageEncoder.encode(Array(fixture.input.utf8), bodyLines: fixture.bodyLines)
        #expect(String(decoding: output, as: UTF8.self) == fixture.expected)
    }

    @Test(arguments: all) func oneByteAtATime(_ fixture: Fixture) {
        let output = encode(fixture.input.utf8.map { [$0] }, bodyLines: fixture.bodyLines)
        #expect(String(decoding: output, as: UTF8.self) == fixture.expected)
    }

    @Test(arguments: all) func everySplitPoint(_ fixture: Fixture) {
        let bytes = Array(fixture.input.utf8)
        for cut in 0...bytes.count {
            let output = encode([Array(bytes[..<cut]), [], Array(bytes[cut...])], bodyLines: fixture.bodyLines)
            #expect(String(decoding: output, as: UTF8.self) == fixture.expected, "cut at \(cut)")
        }
    }

    @Test(arguments: retr) func normalizedSizeMatchesWhatTheClientGets(_ fixture: Fixture) {
        let bytes = Array(fixture.input.utf8)
        #expect(POP3MessageEncoder.normalizedSize(of: bytes) == unstuffed(fixture.expected))
        var counter = POP3MessageSizeCounter()
        for byte in bytes { counter.count([byte]) }
        #expect(counter.size == unstuffed(fixture.expected))
    }

    @Test func topStopsConsumingOnceComplete() {
        var encoder = POP3MessageEncoder(bodyLines: 1)
        var output: [UInt8] = []
        encoder.encode(Array("H: a\r\n\r\nl1\r".utf8), into: &output)
        #expect(encoder.isComplete)
        encoder.encode(Array("\nl2\r\n".utf8), into: &output)
        encoder.finish(into: &output)
        #expect(String(decoding: output, as: UTF8.self) == "H: a\r\n\r\nl1\r\n.\r\n")
        #expect(encoder.isFinished)
    }

    @Test func randomChunkingOfALargeMessage() {
        var text = "Received: x\r\nSubject: big\n\n"
        for line in 0..<2000 {
            switch line % 7 {
            case 0: text += ".line \(line)\r\n"
            case 1: text += "line \(line)\n"
            case 2: text += "line \(line)\r"
            case 3: text += "\r\n"
            case 4: text += "..\n"
            default: text += String(repeating: "x", count: line % 97) + "\r\n"
            }
        }
        let bytes = Array(text.utf8)
        let whole = POP3MessageEncoder.encode(bytes)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<20 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                seed = seed &* 6364136223846793005 &+ 1442695040888963407
                let length = Int(seed >> 33) % 300
                chunks.append(Array(bytes[index..<min(bytes.count, index + length)]))
                index += length
            }
            #expect(encode(chunks, bodyLines: nil) == whole)
        }
        #expect(POP3MessageEncoder.normalizedSize(of: bytes) == unstuffed(String(decoding: whole, as: UTF8.self)))
        let top = POP3MessageEncoder.encode(bytes, bodyLines: 3)
        #expect(String(decoding: top, as: UTF8.self) == "Received: x\r\nSubject: big\r\n\r\n..line 0\r\nline 1\r\nline 2\r\n.\r\n")
    }

    @Test func emitsSlicesOfTheInputNotBytes() {
        // Runs of ordinary bytes come out as one piece: a 1,000-byte line is 2 pieces (text, CRLF).
        var encoder = POP3MessageEncoder()
        var pieces = 0
        let line = Array(String(repeating: "a", count: 1000).utf8) + [13, 10]
        line.withUnsafeBytes { raw in encoder.encode(raw) { _ in pieces += 1 } }
        #expect(pieces == 2)
    }
}
