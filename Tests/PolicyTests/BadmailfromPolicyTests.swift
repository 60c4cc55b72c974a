// policies/badmailfrom.lua
import Foundation
import MailCore
import Testing
@testable import Policy

private let refused = Reply(554, "5.7.1", "sorry, your envelope sender is in my badmailfrom list (#5.7.1)")

private func mailFrom(_ policies: ShippedPolicies, _ sender: String?) -> HookResult {
    let address = sender.map { try! MailAddress.parse($0) }
    return policies.engine.run(.mailFrom(transaction(from: nil), sender: address))
}

@Test func listedAddressesAndDomainsAreRefused() throws {
    let policies = try ShippedPolicies(["badmailfrom"], files: [
        "badmailfrom": "# spammers\nspammer@bad.example\n\n@Evil.Example\n",
    ])
    #expect(mailFrom(policies, "spammer@bad.example").verdict == .reject(refused))
    #expect(mailFrom(policies, "SPAMMER@BAD.example").verdict == .reject(refused))
    #expect(mailFrom(policies, "anyone@evil.example").verdict == .reject(refused))
    #expect(mailFrom(policies, "other@bad.example") == HookResult(verdict: .next))
    #expect(mailFrom(policies, "anyone@sub.evil.example") == HookResult(verdict: .next))
    #expect(mailFrom(policies, nil) == HookResult(verdict: .next))
}

@Test func missingListIsEmpty() throws {
    let policies = try ShippedPolicies(["badmailfrom"])
    #expect(mailFrom(policies, "spammer@bad.example") == HookResult(verdict: .next))
    #expect(policies.host.errors().isEmpty)
}

@Test func configuredFileAndReloadRereadsIt() throws {
    let policies = try ShippedPolicies(["badmailfrom"], settings: ["badmailfrom": ["file": "lists/senders"]])
    #expect(mailFrom(policies, "new@spam.example") == HookResult(verdict: .next))
    try FileManager.default.createDirectory(atPath: policies.dir.file("lists"), withIntermediateDirectories: true)
    policies.dir.write("lists/senders", "new@spam.example\n")
    #expect(mailFrom(policies, "new@spam.example") == HookResult(verdict: .next))
    try policies.engine.reload(policies.engine.configuration)
    #expect(mailFrom(policies, "new@spam.example").verdict == .reject(refused))
}
