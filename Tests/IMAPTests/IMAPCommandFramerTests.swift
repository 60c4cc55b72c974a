import Testing
import MailCore
@testable import IMAP

@Suite struct IMAPCommandFramerTests {
    func commands(_ events: [IMAPCommandFramer.Event]) -> [String] {
        events.compactMap { if case .command(let f) = $0 { return String(decoding: f.bytes, as: UTF8.self) }; return nil }
    }

    @Test func linesInAnyChunking() {
        let input = "a1 NOOP\r\na2 LOGIN x y\r\na3 LOGOUT\n"
        for chunk in [1, 2, 5, 100] {
            #expect(Fixtures.frame(input, chunk: chunk) == [
                .command(IMAPCommandFrame("a1 NOOP")), .command(IMAPCommandFrame("a2 LOGIN x y")), .command(IMAPCommandFrame("a3 LOGOUT")),
            ])
        }
    }

    @Test func synchronizingLiteralAsksForContinuation() {
        let input = "a LOGIN {4}\r\nfred {6}\r\nsec\r\nt\r\na2 NOOP\r\n"
        for chunk in [1, 3, 100] {
            #expect(Fixtures.frame(input, chunk: chunk) == [
                .continuationNeeded, .continuationNeeded,
                .command(IMAPCommandFrame("a LOGIN {4}\r\nfred {6}\r\nsec\r\nt")), .command(IMAPCommandFrame("a2 NOOP")),
            ])
        }
    }

    @Test func nonSynchronizingLiteralDoesNot() {
        #expect(Fixtures.frame("a LOGIN {4+}\r\nfred {0+}\r\n\r\n", chunk: 1) == [.command(IMAPCommandFrame("a LOGIN {4+}\r\nfred {0+}\r\n"))])
        // A literal that looks like a command inside is data.
        #expect(Fixtures.frame("a APPEND INBOX {8+}\r\nb NOOP\r\n\r\n", chunk: 2) == [.command(IMAPCommandFrame("a APPEND INBOX {8+}\r\nb NOOP\r\n"))])
    }

    @Test func tooLongLineIsReportedOnceAtItsEnd() {
        var limits = Limits()
        limits.maxIMAPLine = 20
        let input = "t7 SEARCH " + String(repeating: "X", count: 100) + "\r\nt8 NOOP\r\n"
        for chunk in [1, 8, 1000] {
            #expect(Fixtures.frame(input, chunk: chunk, limits: limits) == [
                .error(IMAPError(tag: "t7", "Line too long (more than 20 bytes)")), .command(IMAPCommandFrame("t8 NOOP")),
            ])
        }
        // A long line that ends with a non-synchronizing literal: the literal is skipped too.
        let literal = "t1 LOGIN " + String(repeating: "u", count: 40) + " {5+}\r\nAB\r\nC\r\nt2 NOOP\r\n"
        #expect(Fixtures.frame(literal, chunk: 1, limits: limits) == [
            .error(IMAPError(tag: "t1", "Line too long (more than 20 bytes)")), .command(IMAPCommandFrame("t2 NOOP")),
        ])
    }

    @Test func literalLimits() {
        var limits = Limits()
        limits.maxIMAPLiteral = 10
        limits.maxMessageSize = 100
        // Synchronizing and too big: refused at once, the client sends nothing more.
        #expect(Fixtures.frame("a LOGIN {11}\r\nb NOOP\r\n", chunk: 1, limits: limits) == [
            .error(IMAPError(tag: "a", "Literal too big (over 10 bytes)", code: .tooBig)), .command(IMAPCommandFrame("b NOOP")),
        ])
        // APPEND: APPENDLIMIT applies, NO [TOOBIG].
        #expect(Fixtures.frame("a APPEND INBOX {101}\r\n", chunk: 1, limits: limits) == [
            .error(IMAPError(tag: "a", "Message too big (over 100 bytes)", status: .no, code: .tooBig)),
        ])
        #expect(Fixtures.frame("a APPEND INBOX {50}\r\n", chunk: 1, limits: limits) == [.continuationNeeded])
        // Non-synchronizing and too big: its bytes are skipped, then one error.
        let body = String(repeating: "z", count: 120)
        #expect(Fixtures.frame("a APPEND INBOX {120+}\r\n\(body) {3+}\r\nabc\r\nb NOOP\r\n", chunk: 7, limits: limits) == [
            .error(IMAPError(tag: "a", "Message too big (over 100 bytes)", status: .no, code: .tooBig)), .command(IMAPCommandFrame("b NOOP")),
        ])
        // A size that overflows Int.
        #expect(Fixtures.frame("a LOGIN {99999999999999999999999}\r\n", chunk: 1, limits: limits) == [
            .error(IMAPError(tag: "a", "Literal too big (over 10 bytes)", code: .tooBig)),
        ])
    }

    @Test func literalMinus() {
        let big = String(repeating: "m", count: 5000)
        #expect(Fixtures.frame("a APPEND INBOX {5000+}\r\n\(big)\r\nb NOOP\r\n", chunk: 100, literalPlus: false) == [
            .error(IMAPError(tag: "a", "Non-synchronizing literal over 4096 bytes (LITERAL-)", code: .tooBig)), .command(IMAPCommandFrame("b NOOP")),
        ])
        #expect(Fixtures.frame("a LOGIN {3+}\r\nabc x\r\n", chunk: 1, literalPlus: false) == [.command(IMAPCommandFrame("a LOGIN {3+}\r\nabc x"))])
    }

    @Test func wholeCommandLimit() {
        var limits = Limits()
        limits.maxIMAPLiteral = 100
        limits.maxIMAPCommand = 150
        let piece = String(repeating: "q", count: 90)
        #expect(Fixtures.frame("a LOGIN {90+}\r\n\(piece) {90+}\r\n\(piece)\r\nb NOOP\r\n", chunk: 1, limits: limits) == [
            .error(IMAPError(tag: "a", "Command too long (over 150 bytes)", code: .tooBig)), .command(IMAPCommandFrame("b NOOP")),
        ])
    }

    @Test func lineModeForSASLAndDone() {
        var framer = IMAPCommandFramer()
        framer.feed(Array("a AUTHENTICATE PLAIN\r\n".utf8))
        #expect(framer.next() == .command(IMAPCommandFrame("a AUTHENTICATE PLAIN")))
        framer.expectLine()
        framer.feed(Array("AGZyZWQAc2VjcmV0 {5}\r\nDONE\r\n".utf8))
        #expect(framer.next() == .line(Array("AGZyZWQAc2VjcmV0 {5}".utf8)))
        framer.expectLine()
        #expect(framer.next() == .line(Array("DONE".utf8)))
        #expect(framer.next() == nil)
        #expect(!framer.isMidCommand)
        framer.feed(Array("x NO".utf8))
        #expect(framer.next() == nil)
        #expect(framer.isMidCommand)
    }

    @Test func memoryStaysBounded() {
        var limits = Limits()
        limits.maxIMAPLine = 1000
        var framer = IMAPCommandFramer(limits: limits)
        let chunk = Array(repeating: UInt8(ascii: "A"), count: 10_000)
        for _ in 0..<200 {
            framer.feed(chunk)
            #expect(framer.next() == nil)
            #expect(framer.bufferedCount == 0)
        }
        framer.feed(Array("\r\n".utf8))
        #expect(framer.next() == .error(IMAPError(tag: nil, "Line too long (more than 1000 bytes)")))
    }

    /// The events never depend on how the bytes are chunked.
    @Test func chunkingNeverChangesTheEvents() {
        var limits = Limits()
        limits.maxIMAPLine = 40
        limits.maxIMAPLiteral = 20
        limits.maxIMAPCommand = 60
        let pieces = ["a NOOP\r\n", "b LOGIN {3}\r\nabc x\r\n", "c LOGIN {3+}\r\nabc {2+}\r\nde\r\n", "d X {30}\r\n",
                      "e X {30+}\r\n" + String(repeating: "z", count: 30) + "\r\n", "f " + String(repeating: "L", count: 60) + "\r\n",
                      "g A {0}\r\n\r\n", "h APPEND I {5}\r\n12345\r\n", "\n", "i {19+}\r\n0123456789012345678 {19+}\r\n0123456789012345678\r\n"]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let input = (0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            let whole = Fixtures.frame(input, chunk: input.utf8.count, limits: limits)
            for chunk in [1, 2, 3, 5, 11] {
                #expect(Fixtures.frame(input, chunk: chunk, limits: limits) == whole, "chunk \(chunk): \(input.debugDescription)")
            }
        }
    }

    /// Before login every literal over the bound is refused unread: synchronizing with an
    /// error (no continuation), non-synchronizing with `.fatal`; at the bound it is fine.
    @Test func literalBoundBeforeLogin() {
        func events(_ input: String) -> [IMAPCommandFramer.Event] {
            var framer = IMAPCommandFramer()
            framer.literalLimitBeforeLogin = 10
            framer.feed(Array(input.utf8))
            var out: [IMAPCommandFramer.Event] = []
            while let event = framer.next() { out.append(event) }
            return out
        }
        #expect(events("a LOGIN {10}\r\n") == [.continuationNeeded])
        #expect(events("a APPEND INBOX {11}\r\nb NOOP\r\n") == [
            .error(IMAPError(tag: "a", "Literal too big before login (over 10 bytes)", code: .tooBig)),
            .command(IMAPCommandFrame("b NOOP")),
        ])
        #expect(events("a APPEND INBOX {11+}\r\n0123456789A\r\n") == [
            .fatal(IMAPError(tag: "a", "Literal too big before login (over 10 bytes)", code: .tooBig)),
        ])
    }

    @Test func discardBufferedDropsEverythingUnread() {
        var framer = IMAPCommandFramer()
        framer.feed(Array("a STARTTLS\r\nb LOGIN {5}\r\nx".utf8))
        #expect(framer.next() == .command(IMAPCommandFrame("a STARTTLS")))
        framer.discardBuffered()
        #expect(framer.bufferedCount == 0 && !framer.isMidCommand)
        framer.feed(Array("c NOOP\r\n".utf8))
        #expect(framer.next() == .command(IMAPCommandFrame("c NOOP")))
    }
}
