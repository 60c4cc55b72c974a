import Testing
@testable import MailStore

@Suite struct AliasesTests {
    @Test func aliasCRUD() throws {
        try withStore { store, _ throws in
            expectError(.notFound) { try store.addAlias("info@example.test", targets: ["a@b.test"]) }
            try store.addDomain("example.test")
            try store.addAlias("Info@Example.test", targets: ["Alice@example.test", "x@remote.test", "alice@example.test"])
            #expect(store.alias("info@example.test") == Alias(source: "info@example.test",
                                                              targets: ["alice@example.test", "x@remote.test"]))
            expectError(.alreadyExists) { try store.addAlias("info@example.test", targets: ["z@z.test"]) }
            expectError(.invalid) { try store.addAlias("loop@example.test", targets: ["loop@example.test"]) }
            expectError(.invalid) { try store.addAlias("none@example.test", targets: []) }
            expectError(.invalid) { try store.addAlias("bad@example.test", targets: ["not an address"]) }
            try store.addDomain("other.test")
            try store.addAlias("sales@other.test", targets: ["info@example.test"])
            #expect(try store.aliases(domain: "example.test").map(\.source) == ["info@example.test"])
            #expect(try store.aliases(domain: nil).map(\.source) == ["info@example.test", "sales@other.test"])
            try store.removeAlias("INFO@example.test")
            #expect(store.alias("info@example.test") == nil)
            expectError(.notFound) { try store.removeAlias("info@example.test") }
        }
    }

    @Test func catchAll() throws {
        try withStore { store, _ throws in
            expectError(.notFound) { try store.setCatchAll(domain: "example.test", target: "a@example.test") }
            try store.addDomain("example.test")
            #expect(store.catchAll(domain: "example.test") == nil)
            try store.setCatchAll(domain: "Example.test", target: "Postmaster@example.test")
            #expect(store.catchAll(domain: "example.TEST") == "postmaster@example.test")
            try store.setCatchAll(domain: "example.test", target: "other@remote.test")
            #expect(store.catchAll(domain: "example.test") == "other@remote.test")
            try store.clearCatchAll(domain: "example.test")
            #expect(store.catchAll(domain: "example.test") == nil)
            expectError(.notFound) { try store.clearCatchAll(domain: "example.test") }
        }
    }
}
