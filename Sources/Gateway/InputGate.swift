// Output back-pressure for the line protocols, shared by the SMTP, POP3 and IMAP
// drivers. A client that sends commands and never reads the replies must not make the
// server hold their answers: input reaches the session in slices, and only while the
// channel is writable (its unsent output is under the write-buffer high-water mark).
// What is left of a read waits here; NIO's `BackPressureHandler`, in front of the
// driver, stops reading from the socket meanwhile. When the output drains,
// `channelWritabilityChanged` feeds the rest. So one reader that never reads costs
// the water mark, one read's input and one slice's replies, whatever it sends.
import NIOCore

/// A class, not a struct: a write made while feeding can fire the channel's writability
/// event, which calls back into the gate (a struct would be accessed twice at once).
final class InputGate {
    /// Input given to the session in one go. Pipelined commands fit in one slice and are
    /// answered with one write, as before; what one slice's commands can make the
    /// session answer bounds what a client that never reads can leave with us.
    static let sliceSize = 4 * 1024

    private var held: ByteBuffer?
    private var feeding = false

    /// Whether input is waiting for the output to drain.
    var isHolding: Bool { held != nil }

    /// Installs NIO's back-pressure handler in front of `handler`: reads stop while the
    /// channel is not writable. NIO's default write-buffer water marks (32/64 KiB) are
    /// the bounds; setting them again per connection cost a future per accepted socket.
    static func install(before handler: ChannelHandler, context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(BackPressureHandler(), position: .before(handler))
    }

    /// Gives `buffer` to `deliver` slice by slice while `canContinue()` holds (the channel
    /// is writable and the session open); keeps the rest for `resume`. While
    /// `takesWhole()` (message content is arriving: it is answered once, at its end) the
    /// rest goes in one piece.
    func feed(_ buffer: ByteBuffer, canContinue: () -> Bool, takesWhole: () -> Bool = { false },
              deliver: (ByteBuffer) -> Void) {
        if feeding || held != nil {
            // A read that was already under way, or a nested call from a write's
            // writability event: queue behind what is held, in order.
            if held == nil { held = buffer } else { var more = buffer; held!.writeBuffer(&more) }
            return
        }
        feeding = true
        defer { feeding = false }
        var rest = buffer
        while rest.readableBytes > 0 {
            guard canContinue() else {
                // What nested calls queued meanwhile came later: it goes after the rest.
                if var later = held { rest.writeBuffer(&later) }
                held = rest
                return
            }
            let length = takesWhole() ? rest.readableBytes : min(Self.sliceSize, rest.readableBytes)
            deliver(rest.readSlice(length: length)!)
        }
        // Input queued by nested calls while delivering.
        if let queued = held, canContinue() {
            held = nil
            feeding = false
            feed(queued, canContinue: canContinue, takesWhole: takesWhole, deliver: deliver)
        }
    }

    /// The output drained: feed what was held.
    func resume(canContinue: () -> Bool, takesWhole: () -> Bool = { false }, deliver: (ByteBuffer) -> Void) {
        guard !feeding, let buffer = held else { return }
        held = nil
        feed(buffer, canContinue: canContinue, takesWhole: takesWhole, deliver: deliver)
    }

    /// The connection ended: drop what is held.
    func discard() { held = nil }
}
