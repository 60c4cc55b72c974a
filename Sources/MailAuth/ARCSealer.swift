// ARC sealing (RFC 8617 §5.1): the three fields a forwarder adds: ARC-Authentication-
// Results (i=N; then our Authentication-Results text), ARC-Message-Signature (as a DKIM
// signature: relaxed/relaxed, the signer's header set, i= the instance) and ARC-Seal
// (cv= the chain result we found; over every set, or only the new one when the chain
// failed, as dkimpy does). Returned in the order to put on top of the message: the
// ARC-Seal first.
import Crypto
import Foundation

public struct ARCSealer: Sendable {
    public enum SealError: Error, Equatable, Sendable {
        /// `chain` disagrees with the message (none with sets present, or pass/fail without).
        case chainMismatch
        case tooManyInstances
        case malformedChain(String)
    }

    let signer: DKIMSigner

    public init(domain: String, selector: String, key: DKIMKeyPair, headers: [String] = DKIMSigner.defaultHeaders) {
        signer = DKIMSigner(domain: domain, selector: selector, key: key,
                            headers: headers.filter { !$0.lowercased().hasPrefix("arc-") && $0.lowercased() != "authentication-results" })
    }

    /// - authResults: "authserv-id; method=result …", as in our Authentication-Results.
    /// - chain: the ARC result of the message as received (ARCVerifier).
    public func seal(_ message: AuthMessage, authResults: String, chain: ARCResult, now: Double) throws -> [String] {
        let sets: [ARCSet]
        switch ARCChain.collect(message.headerFields) {
        case .success(let found): sets = found
        case .failure(let problem):
            guard chain == .fail else { throw SealError.malformedChain(problem.text) }
            sets = []
        }
        if chain == .none && !sets.isEmpty { throw SealError.chainMismatch }
        if chain == .pass && sets.isEmpty { throw SealError.chainMismatch }
        let instance = (sets.last?.instance ?? 0) + 1
        guard instance <= ARCChain.maxInstances else { throw SealError.tooManyInstances }

        let aar = "ARC-Authentication-Results: i=\(instance); \(authResults)"
        let ams = try messageSignature(message, instance: instance, now: now)
        var folder = DKIMSigner.Folder(start: "ARC-Seal:")
        folder.add("i=\(instance);")
        folder.add("cv=\(chain.rawValue);")
        folder.add("a=\(signer.key.algorithm.rawValue);")
        folder.add("d=\(signer.domain);")
        folder.add("s=\(signer.selector);")
        folder.add("t=\(Int(now));")
        folder.add("b=")
        let unsigned = folder.text
        let previous = chain == .fail ? [] : sets
        let digest = ARCChain.sealDigest(fields: message.headerFields, sets: previous[...], seal: Array(unsigned.utf8),
                                         extra: (Array(aar.utf8), Array(ams.utf8.dropLast(2))))
        let seal = unsigned + DKIMSigner.foldedSignature(try signer.key.sign(digest: digest), after: folder) + "\r\n"
        return [seal, ams, aar + "\r\n"]
    }

    func messageSignature(_ message: AuthMessage, instance: Int, now: Double) throws -> String {
        let signed = signer.signedHeaderNames(message)
        guard signed.contains("from") else { throw DKIMSigner.SigningError.noFrom }
        var folder = DKIMSigner.Folder(start: "ARC-Message-Signature:")
        folder.add("i=\(instance);")
        return try signer.field(folder: folder, signed: signed, message: message, now: now)
    }
}
