import Testing
@testable import MailStore

@Suite struct PasswordHashTests {
    @Test func makeWritesSHA512Crypt() {
        let hash = PasswordHash.make("correct horse")
        #expect(hash.hasPrefix("$6$"))
        #expect(PasswordHash.verify("correct horse", against: hash))
        #expect(!PasswordHash.verify("correct horsE", against: hash))
        #expect(PasswordHash.make("correct horse") != hash)   // fresh salt
        #expect(PasswordHash.verify("correct horse", against: "{SHA512-CRYPT}" + hash))
        #expect(PasswordHash.verify("correct horse", against: "{CRYPT}" + hash))
        #expect(!PasswordHash.verify("correct horse", against: "{BLF-CRYPT}" + hash))
    }

    @Test func verifiesYescryptAndBcrypt() throws {
        let yescrypt = try #require(PasswordHash.make("s3cret", prefix: "$y$"))
        #expect(yescrypt.hasPrefix("$y$"))
        #expect(PasswordHash.verify("s3cret", against: yescrypt))
        #expect(!PasswordHash.verify("s3cret!", against: yescrypt))
        let bcrypt = try #require(PasswordHash.make("s3cret", prefix: "$2b$"))
        #expect(PasswordHash.verify("s3cret", against: bcrypt))
        #expect(PasswordHash.verify("s3cret", against: "{BLF-CRYPT}" + bcrypt))
        let md5 = try #require(PasswordHash.make("s3cret", prefix: "$1$"))
        #expect(PasswordHash.verify("s3cret", against: md5))
    }

    @Test func plainAndUnknownSchemes() {
        #expect(PasswordHash.verify("secret", against: "{PLAIN}secret"))
        #expect(PasswordHash.verify("secret", against: "{plain}secret"))
        #expect(!PasswordHash.verify("secret2", against: "{PLAIN}secret"))
        #expect(!PasswordHash.verify("", against: "{PLAIN}secret"))
        #expect(!PasswordHash.verify("secret", against: "secret"))
        #expect(!PasswordHash.verify("secret", against: "{SSHA}abcdef"))
        #expect(!PasswordHash.verify("secret", against: ""))
        #expect(!PasswordHash.verify("secret", against: "!"))
        #expect(!PasswordHash.verify("secret", against: "$6$broken"))
        #expect(!PasswordHash.verify("sec\0ret", against: "{PLAIN}sec\0ret"))
    }
}
