// PreparedSearchKey: string keys become header/address/body/text needles (header and
// address keys name their field), compound keys keep their shape, the rest stays as parsed.
import Testing
@testable import IMAP

@Suite struct PreparedSearchKeyTests {
    @Test func shapes() {
        guard case .address("From", let needle) = PreparedSearchKey(.from("BoB")) else { Issue.record("FROM"); return }
        #expect(needle.bytes == Array("bob".utf8))
        guard case .header("X-Spam", _) = PreparedSearchKey(.header("X-Spam", "yes")) else { Issue.record("HEADER"); return }
        for (key, field) in [(SearchKey.to("a"), "To"), (.cc("a"), "Cc"), (.bcc("a"), "Bcc")] {
            guard case .address(let name, _) = PreparedSearchKey(key), name == field else { Issue.record("\(key)"); continue }
        }
        guard case .header("Subject", _) = PreparedSearchKey(.subject("a")) else { Issue.record("SUBJECT"); return }
        guard case .body = PreparedSearchKey(.body("x")), case .text = PreparedSearchKey(.text("x")) else { Issue.record("BODY/TEXT"); return }
        guard case .or(.plain(.seen), .not(.body(_))) = PreparedSearchKey(.or(.seen, .not(.body("x")))) else { Issue.record("OR/NOT"); return }
        guard case .and(let keys) = PreparedSearchKey(.and([.seen, .larger(5)])), keys.count == 2,
              case .plain(.larger(5)) = keys[1] else { Issue.record("AND"); return }
    }
}
