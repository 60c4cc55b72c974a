import Foundation

// Account logins as the hosted-mail service documents them: "user@domain" or the
// qmail/vpopmail form "user%domain" (for clients that cannot send an "@").

public enum LoginName {
    /// Returns the normalized "user@domain" for a login, or nil when it names no domain.
    public static func normalize(_ login: String) -> String? {
        let trimmed = login.trimmingCharacters(in: .whitespaces)
        let separator: Character
        if trimmed.contains("@") { separator = "@" }
        else if trimmed.contains("%") { separator = "%" }
        else { return nil }
        guard let index = trimmed.lastIndex(of: separator) else { return nil }
        let user = trimmed[..<index]
        let domain = trimmed[trimmed.index(after: index)...]
        guard !user.isEmpty, !domain.isEmpty, !user.contains("@"),
              let address = try? MailAddress.parse("\(user)@\(domain)") else { return nil }
        return address.normalized
    }
}
