// Turning what a hook function returned into a Verdict (and, for `deliver`, a
// DeliveryAction). Only values made by mailgate.* verdict constructors count;
// anything else (nil, a string, a forged table, a wrong code) is a failure, so a
// script's mistake can never accept by accident.
import CLua
import CLuaShim
import MailCore

extension LuaVM {
    func decodeVerdict(at index: Int32, hook: Hook, file: String) -> PolicyOutcome {
        let stack = self.stack
        stack.pushRef(refs.nextVerdict)
        let isNext = lua_rawequal(state, index, -1) != 0
        stack.pop()
        if isNext { return .next }
        let expected = "expected a verdict such as mailgate.next, mailgate.accept or mailgate.reject(...)"
        guard stack.type(at: index) == LUA_TTABLE else {
            return .failure("\(file): hook \"\(hook.rawValue)\" returned \(typeName(at: index)); \(expected)")
        }
        stack.pushRef(refs.verdicts)
        stack.pushValue(index)
        guard lua_rawget(state, -2) == LUA_TTABLE else {
            return .failure("\(file): hook \"\(hook.rawValue)\" returned a table that is not a verdict; \(expected)")
        }
        let data = stack.absolute(-1)
        stack.pushRawIndex(data, 1); let kind = stack.string(at: -1)
        stack.pushRawIndex(data, 2); let code = stack.integer(at: -1)
        stack.pushRawIndex(data, 3); let enhanced = stack.string(at: -1)
        stack.pushRawIndex(data, 4); let text = stack.string(at: -1)

        func reply(_ range: ClosedRange<Int>) -> Reply? {
            guard let code, range.contains(code), let text else { return nil }
            if let enhanced, enhanced.first?.wholeNumberValue != code / 100 { return nil }
            return Reply(code, enhanced, text)
        }
        func deliveryOnly(_ action: DeliveryAction, _ name: String, alsoIn other: Hook? = nil) -> PolicyOutcome {
            guard hook == .deliver || hook == other else {
                let hooks = other.map { "the deliver and \($0.rawValue) hooks" } ?? "the deliver hook"
                return .failure("\(file): mailgate.\(name) is only valid in \(hooks), not in \"\(hook.rawValue)\"")
            }
            return .final(.accept, action)
        }
        // Built only when needed: interpolating it for every verdict showed in profiles.
        var badCode: String { "\(file): hook \"\(hook.rawValue)\" returned \(kind ?? "?") with an invalid code \(code.map(String.init) ?? "nil")" }

        switch kind {
        case "next": return .next
        case "accept": return .final(.accept, .normal)
        case "reject":
            guard let reply = reply(500...599) else { return .failure(badCode) }
            return .final(.reject(reply), .normal)
        case "defer":
            guard let reply = reply(400...499) else { return .failure(badCode) }
            return .final(.deferred(reply), .normal)
        case "disconnect":
            guard let reply = reply(400...599) else { return .failure(badCode) }
            return .final(.disconnect(reply), .normal)
        case "redirect":
            guard let text, let address = try? MailAddress.parse(text) else {
                return .failure("\(file): mailgate.redirect got an invalid address")
            }
            return deliveryOnly(.redirect(address), "redirect", alsoIn: .bounce)
        case "discard":
            return deliveryOnly(.discard, "discard", alsoIn: .bounce)
        case "folder":
            guard let text, !text.isEmpty else { return .failure("\(file): mailgate.folder got an empty name") }
            return deliveryOnly(.folder(text), "folder")
        case "route":
            guard let text, !text.isEmpty else { return .failure("\(file): mailgate.route got an empty name") }
            return deliveryOnly(.route(text), "route")
        default:
            return .failure("\(file): hook \"\(hook.rawValue)\" returned an unknown verdict")
        }
    }
}
