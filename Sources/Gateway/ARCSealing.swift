// ARC sealing (RFC 8617) of mail we forward: when an alias (or catch-all) of one of our
// domains sends a message on to a remote address, the forwarding domain adds an ARC set
// (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results) so the next hop can see
// what we verified before forwarding changed the path; with it, DMARC keeps passing for
// receivers that trust our seal although SPF no longer aligns.
//
// Sealed once per message, with the newest DKIM key of the first forwarding domain that
// has one (`mailgate dkim keygen`); no key, no seal. The chain result (cv=) is the one
// our own policies recorded ("arc=pass|fail" in our Authentication-Results, from the
// dkim plugin); a message carrying ARC sets that nobody here verified is not sealed
// (we must not vouch for a chain we did not check). Our own outgoing mail (DKIM-signed at
// queueing) is not sealed: it is not forwarded. The set goes into the one stored copy,
// so local recipients of the same message see it too.
import Logging
import MailAuth
import MailCore
import SMTP

struct ARCSealingJob: Sendable {
    let sealer: ARCSealer
    let domain: String
    let authResults: String
    let chain: ARCResult
    let message: AuthMessage

    /// Whether the transaction may forward at all (one of its recipients is an alias or
    /// in a catch-all domain): decides the thread pool before the plan is known.
    static func mayForward(_ transaction: SMTPTransaction, context: ServerContext) -> Bool {
        transaction.info.recipients.contains { recipient in
            context.store.alias(recipient.normalized) != nil
                || (context.store.account(recipient) == nil && context.store.catchAll(domain: recipient.domain) != nil)
        }
    }

    /// nil when nothing is to be sealed: no forwarding domain with a key, or a chain we
    /// cannot vouch for.
    static func prepare(_ transaction: SMTPTransaction, forwarders: [String], context: ServerContext,
                        logger: Logger) -> ARCSealingJob? {
        guard !forwarders.isEmpty else { return nil }
        guard let (domain, signer) = forwarders.lazy.compactMap({ domain -> (String, DKIMSigner)? in
            context.dkimKeys.signers(for: domain).first.map { (domain, $0) }
        }).first else { return nil }
        let hostname = context.configuration.hostname
        let ours = transaction.info.headers.first {
            $0.name.lowercased() == "authentication-results"
                && AuthenticationResults.authservID(ofValue: Array($0.value.utf8)) == hostname.lowercased()
        }
        let authResults = ours?.value ?? "\(hostname); none"
        let message = AuthMessage(bytes: transaction.message)
        let hasSets = message.headerFields.contains { $0.lowercasedName == "arc-seal" }
        let chain: ARCResult
        if authResults.contains("arc=pass") {
            chain = .pass
        } else if authResults.contains("arc=fail") {
            chain = .fail
        } else if !hasSets {
            chain = .none
        } else {
            logger.info("not ARC-sealing a forwarded message whose ARC chain was not verified (add the dkim plugin)",
                        metadata: ["queue_id": "\(transaction.info.queueID)"])
            return nil
        }
        let sealer = ARCSealer(domain: signer.domain, selector: signer.selector, key: signer.key)
        return ARCSealingJob(sealer: sealer, domain: domain, authResults: authResults, chain: chain, message: message)
    }

    /// The three fields to put on top of the message, or nothing when sealing failed.
    func fields(now: Double, logger: Logger, queueID: String) -> [UInt8] {
        do {
            return Array(try sealer.seal(message, authResults: authResults, chain: chain, now: now).joined().utf8)
        } catch {
            logger.warning("ARC sealing failed; forwarding unsealed",
                           metadata: ["queue_id": "\(queueID)", "domain": "\(domain)", "error": "\(error)"])
            return []
        }
    }
}
