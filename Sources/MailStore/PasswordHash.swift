// Password hashing with libxcrypt (Sources/CCrypt). `make` writes SHA512-CRYPT ("$6$");
// `verify` accepts crypt(3) strings ("$6$", "$5$", "$y$", "$2b$"/"$2y$"/"$2a$", "$1$")
// and Dovecot-style scheme prefixes ({SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT},
// {MD5-CRYPT}, {CRYPT}, {PLAIN}). It never throws: anything unknown or malformed is
// false, and comparisons are constant-time. Hashing costs milliseconds ($y$ ~46 ms):
// call it off the event loop.

import CCrypt

public enum PasswordHash {
    /// A "$6$" SHA512-CRYPT hash of `password` with a fresh salt. On a libcrypt failure
    /// (or a password containing NUL) returns "!", which never verifies.
    public static func make(_ password: String) -> String {
        guard !password.utf8.contains(0) else { return "!" }
        guard let setting = gensalt("$6$") else { return "!" }
        return crypt(password, setting: setting) ?? "!"
    }

    /// A hash with another crypt prefix ("$y$", "$2b$", …), or nil if libcrypt refuses.
    public static func make(_ password: String, prefix: String) -> String? {
        guard !password.utf8.contains(0), let setting = gensalt(prefix) else { return nil }
        return crypt(password, setting: setting)
    }

    public static func verify(_ password: String, against stored: String) -> Bool {
        guard !password.utf8.contains(0), !stored.utf8.contains(0) else { return false }
        var hash = Substring(stored)
        if hash.hasPrefix("{"), let close = hash.firstIndex(of: "}") {
            let scheme = hash[hash.index(after: hash.startIndex)..<close].uppercased()
            hash = hash[hash.index(after: close)...]
            switch scheme {
            case "PLAIN", "CLEARTEXT", "CLEAR":
                return constantTimeEqual(Array(password.utf8), Array(hash.utf8))
            case "SHA512-CRYPT": guard hash.hasPrefix("$6$") else { return false }
            case "SHA256-CRYPT": guard hash.hasPrefix("$5$") else { return false }
            case "MD5-CRYPT": guard hash.hasPrefix("$1$") else { return false }
            case "BLF-CRYPT": guard isBcrypt(hash) else { return false }
            case "CRYPT": break
            default: return false
            }
        }
        guard isSupportedCrypt(hash) else { return false }
        guard let computed = crypt(password, setting: String(hash)) else { return false }
        return constantTimeEqual(Array(computed.utf8), Array(hash.utf8))
    }

    static func isBcrypt(_ hash: Substring) -> Bool {
        hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$") || hash.hasPrefix("$2a$")
    }

    static func isSupportedCrypt(_ hash: Substring) -> Bool {
        hash.hasPrefix("$6$") || hash.hasPrefix("$5$") || hash.hasPrefix("$y$") || hash.hasPrefix("$1$")
            || isBcrypt(hash)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    static func gensalt(_ prefix: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let rc = buffer.withUnsafeMutableBufferPointer { out in
            mailgate_crypt_gensalt(prefix, 0, out.baseAddress, out.count)
        }
        guard rc == 0 else { return nil }
        return cString(buffer)
    }

    static func cString(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func crypt(_ password: String, setting: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 512)
        let rc = buffer.withUnsafeMutableBufferPointer { out in
            mailgate_crypt(password, setting, out.baseAddress, out.count)
        }
        guard rc == 0 else { return nil }
        return cString(buffer)
    }
}
