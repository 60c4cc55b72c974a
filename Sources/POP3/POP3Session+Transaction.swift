// The TRANSACTION state (RFC 1939 §5, §7): STAT, LIST, UIDL answered from the
// snapshot taken at login, minus messages marked deleted; RETR and TOP handed to the
// driver to stream; DELE marks and RSET unmarks (nothing is removed before QUIT).

extension POP3Session {
    /// The snapshot entry for a message number that is valid and not deleted.
    func liveMessage(_ number: Int) throws(POP3Error) -> POP3Message {
        guard number >= 1, number <= messages.count else { throw POP3Error("no such message, only \(messages.count) messages in maildrop") }
        guard !deleted[number - 1] else { throw POP3Error("message \(number) already deleted") }
        return messages[number - 1]
    }

    mutating func recount() {
        liveCount = 0
        liveSize = 0
        for (index, message) in messages.enumerated() where !deleted[index] {
            liveCount += 1
            liveSize += message.size
        }
    }

    mutating func stat(_ actions: inout [POP3Action]) {
        send(.ok("\(liveCount) \(liveSize)"), &actions)
    }

    mutating func list(_ number: Int?, _ actions: inout [POP3Action]) {
        if let number {
            do throws(POP3Error) {
                let message = try liveMessage(number)
                send(.ok("\(number) \(message.size)"), &actions)
            } catch {
                commandError(error.reply, &actions)
            }
            return
        }
        var lines: [String] = []
        lines.reserveCapacity(liveCount)
        for (index, message) in messages.enumerated() where !deleted[index] {
            lines.append("\(index + 1) \(message.size)")
        }
        send(.ok("\(liveCount) messages (\(liveSize) octets)", lines: lines), &actions)
    }

    mutating func uidl(_ number: Int?, _ actions: inout [POP3Action]) {
        if let number {
            do throws(POP3Error) {
                let message = try liveMessage(number)
                send(.ok("\(number) \(message.uid)"), &actions)
            } catch {
                commandError(error.reply, &actions)
            }
            return
        }
        var lines: [String] = []
        lines.reserveCapacity(liveCount)
        for (index, message) in messages.enumerated() where !deleted[index] {
            lines.append("\(index + 1) \(message.uid)")
        }
        send(.ok("Unique-ID listing follows", lines: lines), &actions)
    }

    mutating func retrieve(_ number: Int, bodyLines: Int?, _ actions: inout [POP3Action]) {
        let message: POP3Message
        do throws(POP3Error) {
            message = try liveMessage(number)
        } catch {
            return commandError(error.reply, &actions)
        }
        let status: POP3Reply = bodyLines == nil ? .ok("\(message.size) octets") : .ok("Top of message follows")
        pending = .transfer(number: number)
        actions.append(.sendMessage(POP3Transfer(number: number, message: message, bodyLines: bodyLines,
                                                 statusLine: status)))
    }

    mutating func dele(_ number: Int, _ actions: inout [POP3Action]) {
        do throws(POP3Error) {
            let message = try liveMessage(number)
            deleted[number - 1] = true
            liveCount -= 1
            liveSize -= message.size
            send(.ok("Message \(number) deleted"), &actions)
        } catch {
            commandError(error.reply, &actions)
        }
    }

    mutating func rset(_ actions: inout [POP3Action]) {
        deleted = Array(repeating: false, count: messages.count)
        recount()
        send(.ok("Maildrop has \(liveCount) messages (\(liveSize) octets)"), &actions)
    }
}
