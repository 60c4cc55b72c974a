// DKIM signing at queueing: which accepted messages are signed, with which keys, and the
// cache of parsed keys.
//
// A message is signed once (never per recipient), before it is stored, when
//  - its client authenticated, is on the open-SMTP whitelist, or is in `[dkim]
//    sign_networks`, and
//  - it has exactly one RFC5322.From domain, and that domain has a key in the store, and
//  - for an authenticated or open-SMTP client, that From domain is the login's domain or
//    a subdomain of it: one hosted customer cannot get mail signed as another (rspamd's
//    `allow_username_mismatch = false`). Clients in sign_networks are trusted for any
//    domain, and so are whitelist entries an operator added without a user.
// With several selectors of one algorithm the newest key signs; a domain with both an
// RSA and an Ed25519 key gets both signatures (RFC 8463 §6: receivers that do not know
// Ed25519 ignore that one and still check the RSA one).
//
// Keys are parsed once and kept per domain (domains without keys too, so the common
// "no key" answer costs one store read). The cache is dropped whenever the store's DKIM
// generation changes (every `mailgate dkim keygen|remove`, from any process: one meta
// read per signed-eligible message) and on SIGHUP. Private keys are never logged.
import Foundation
import Logging
import MailAuth
import MailCore
import MailStore
import NIOConcurrencyHelpers
import Policy
import SMTP

final class DKIMSigningKeys: Sendable {
    /// Domains remembered at most (with or without keys); beyond it the cache restarts.
    static let maxDomains = 10_000

    private struct Cache {
        var generation: UInt64 = .max
        var byDomain: [String: [DKIMSigner]] = [:]
    }

    let store: LMDBStore
    let logger: Logger
    private let cache = NIOLockedValueBox(Cache())

    init(store: LMDBStore, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    func invalidate() {
        cache.withLockedValue { $0 = Cache() }
    }

    /// The signers for `domain`: the newest key of each algorithm.
    func signers(for domain: String) -> [DKIMSigner] {
        let generation = store.dkimKeysGeneration()
        if let known = cache.withLockedValue({ cache -> [DKIMSigner]? in
            if cache.generation != generation { cache = Cache(); cache.generation = generation }
            return cache.byDomain[domain]
        }) {
            return known
        }
        let signers = load(domain)
        cache.withLockedValue { cache in
            guard cache.generation == generation else { return }
            if cache.byDomain.count >= Self.maxDomains { cache.byDomain = [:] }
            cache.byDomain[domain] = signers
        }
        return signers
    }

    private func load(_ domain: String) -> [DKIMSigner] {
        guard let entries = try? store.dkimKeys(domain: domain) else { return [] }
        var newest: [DKIMAlgorithm: DKIMKeyEntry] = [:]
        for entry in entries {
            guard let algorithm = DKIMAlgorithm(rawValue: entry.algorithm) else { continue }
            if let current = newest[algorithm], current.created >= entry.created { continue }
            newest[algorithm] = entry
        }
        // RSA first: the signature receivers check first when they know only one.
        return DKIMAlgorithm.allCases.compactMap { algorithm in
            guard let entry = newest[algorithm] else { return nil }
            do {
                let key = try DKIMKeyPair(algorithm: algorithm, privateKeyPEM: entry.privateKeyPEM)
                return DKIMSigner(domain: entry.domain, selector: entry.selector, key: key)
            } catch {
                logger.error("DKIM key in the store cannot be read; not signing with it",
                             metadata: ["domain": "\(entry.domain)", "selector": "\(entry.selector)"])
                return nil
            }
        }
    }
}

/// The signing decision and the signing itself for one accepted transaction.
struct DKIMSigningJob: Sendable {
    let signers: [DKIMSigner]
    let message: AuthMessage

    /// RSA signing (about a millisecond) and hashing large bodies belong on the thread pool.
    var wantsThreadPool: Bool {
        signers.contains { $0.key.algorithm == .rsaSHA256 } || message.bytes.count > 256 * 1024
    }

    /// nil when the message is not to be signed.
    static func prepare(_ transaction: SMTPTransaction, context: ServerContext) -> DKIMSigningJob? {
        let session = transaction.info.session
        guard let client = signingClient(session, context: context) else { return nil }
        let message = AuthMessage(bytes: transaction.message)
        guard message.fromDomains.count == 1, let domain = message.fromDomains.first else { return nil }
        if case .user(let user) = client {
            let userDomain = user.split(separator: "@").last.map { $0.lowercased() } ?? ""
            guard !userDomain.isEmpty, domain == userDomain || domain.hasSuffix("." + userDomain) else {
                context.logger.info("not DKIM-signed: the From domain is not the login's",
                                    metadata: ["queue_id": "\(transaction.info.queueID)", "from_domain": "\(domain)"])
                return nil
            }
        }
        let signers = context.dkimKeys.signers(for: domain)
        guard !signers.isEmpty else { return nil }
        return DKIMSigningJob(signers: signers, message: message)
    }

    /// Whose mail may be signed: a login (for its own domain) or a trusted network (any).
    enum SigningClient: Equatable {
        case user(String)
        case trusted
    }

    static func signingClient(_ session: SessionInfo, context: ServerContext) -> SigningClient? {
        let networks = context.configuration.dkimSignNetworks
        if !networks.isEmpty, let ip = IPAddress(session.clientIP), IPNetwork.anyContains(networks, ip) { return .trusted }
        if let user = session.authUser { return .user(user) }
        guard let entry = context.store.whitelistEntry(ip: StorePolicyHost.normalizeIP(session.clientIP),
                                                       now: Date().timeIntervalSince1970) else { return nil }
        return entry.user.map { .user($0) } ?? .trusted
    }

    /// The DKIM-Signature fields to put on top of the message ("" when every signer failed).
    func fields(now: Double, logger: Logger, queueID: String) -> [UInt8] {
        var fields: [UInt8] = []
        for signer in signers {
            do {
                fields += Array(try signer.signatureField(for: message, now: now).utf8)
            } catch {
                logger.warning("DKIM signing failed", metadata: ["queue_id": "\(queueID)", "domain": "\(signer.domain)",
                                                                 "selector": "\(signer.selector)", "error": "\(error)"])
            }
        }
        return fields
    }
}
