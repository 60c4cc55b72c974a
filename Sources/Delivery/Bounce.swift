// Who gets told that a message failed, so bounces never loop (qmail's rules): a
// failure notice goes to the envelope sender; a failed notice (null sender) goes to
// the postmaster as a double bounce, sent with the marker sender "#@[]"; a failed
// double bounce is dropped.

public enum Bounce {
    /// Envelope sender stored for a double bounce; it goes on the wire as "<>".
    public static let doubleBounceSender = "#@[]"

    public enum Destination: Sendable, Equatable {
        /// Send a DSN to `recipient` with envelope sender `sender` ("" or the double-bounce marker).
        case notify(recipient: String, sender: String)
        /// Nobody to tell: log and drop.
        case discard
    }

    /// Where the failure notice for a message from `sender` goes.
    public static func destination(forFailureOf sender: String, postmaster: String) -> Destination {
        switch sender {
        case doubleBounceSender: .discard
        case "": .notify(recipient: postmaster, sender: doubleBounceSender)
        default: .notify(recipient: sender, sender: "")
        }
    }

    /// Success and delay notices (NOTIFY=SUCCESS/DELAY) only ever go to a real sender.
    public static func destination(forNoticeTo sender: String) -> Destination {
        sender.isEmpty || sender == doubleBounceSender ? .discard : .notify(recipient: sender, sender: "")
    }
}
