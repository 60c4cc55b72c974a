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
        // Runs of ordinary bytes, CRLF line ends included, come out as one piece.
        var encoder = POP3MessageEncoder()
        var pieces = 0
        let line = Array(String(repeating: "a", count: 1000).utf8) + [13, 10]
        let lines = Array(repeating: line, count: 10).flatMap { $0 }
        lines.withUnsafeBytes { raw in encoder.encode(raw) { _ in pieces += 1 } }
        #expect(pieces == 1)
        // A piece breaks where the output differs: the added "." and a bare LF's CRLF.
        pieces = 0
        Array("ab\r\n.cd\nef".utf8).withUnsafeBytes { raw in encoder.encode(raw) { _ in pieces += 1 } }
        #expect(pieces == 5)  // "ab\r\n", ".", ".cd", "\r\n", "ef"
    }

    /// Byte-at-a-time RFC 1939 encoding, to check the word-at-a-time scanner against.
    static func reference(_ input: [UInt8], bodyLines: Int?) -> [UInt8] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var index = 0
        var terminated = true
        while index < input.count {
            let byte = input[index]
            if byte == 13 || byte == 10 {
                lines.append(current)
                current = []
                index += byte == 13 && index + 1 < input.count && input[index + 1] == 10 ? 2 : 1
                terminated = true
            } else {
                current.append(byte)
                index += 1
                terminated = false
            }
        }
        if !terminated { lines.append(current) }
        if let bodyLines, let blank = lines.firstIndex(of: []) {
            lines = Array(lines.prefix(blank + 1 + bodyLines))
        }
        var output: [UInt8] = []
        for line in lines {
            if line.first == 46 { output.append(46) }
            output += line + [13, 10]
        }
        return output + [46, 13, 10]
    }

    @Test func matchesAByteAtATimeEncoderOnRandomInput() {
        // Dense CR, LF and "." at every offset within a word, in random chunks.
        let alphabet: [UInt8] = [13, 10, 46, 97, 98, 32, 13, 10, 97, 97, 97, 97]
        var seed: UInt64 = 0x2545_F491_4F6C_DD1D
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int(seed >> 33) % bound
        }
        for round in 0..<300 {
            let input = (0..<next(120)).map { _ in alphabet[next(alphabet.count)] }
            let bodyLines: Int? = round % 3 == 0 ? next(4) : nil
            var chunks: [[UInt8]] = []
            var index = 0
            while index < input.count {
                let length = next(20)
                chunks.append(Array(input[index..<min(input.count, index + length)]))
                index += length
            }
            let expected = Self.reference(input, bodyLines: bodyLines)
            #expect(encode(chunks, bodyLines: bodyLines) == expected, "input \(input) TOP \(bodyLines as Any)")
            #expect(POP3MessageEncoder.encode(input, bodyLines: bodyLines) == expected)
        }
    }
}
