// TLS server contexts: the configured certificate and key, or a self-signed
// certificate generated into the data dir on first start so STARTTLS works out of
// the box. Loading happens at start and again on every reload.
import Foundation
import NIOCore
import Crypto
import NIOSSL
import SwiftASN1
import X509

public enum TLSSetup {
    public struct Material: Sendable {
        public var context: NIOSSLContext
        public var certificatePath: String
        public var selfSigned: Bool
    }

    public static func load(_ configuration: GatewayConfiguration) throws -> Material {
        var certificatePath = configuration.certificatePath
        var keyPath = configuration.privateKeyPath
        var selfSigned = false
        if certificatePath == nil {
            let generated = try ensureSelfSigned(directory: configuration.dataDirectory, hostname: configuration.hostname)
            certificatePath = generated.certificate
            keyPath = generated.key
            selfSigned = true
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath!)
            key = try NIOSSLPrivateKey(file: keyPath!, format: .pem)
        } catch {
            throw ConfigurationError(key: "tls", reason: "cannot load \(certificatePath!) / \(keyPath!): \(error)")
        }
        guard !chain.isEmpty else { throw ConfigurationError(key: "tls.certificate", reason: "no certificate in \(certificatePath!)") }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        return Material(context: try NIOSSLContext(configuration: tls), certificatePath: certificatePath!,
                        selfSigned: selfSigned)
    }

    /// Creates `tls-cert.pem`/`tls-key.pem` in `directory` unless they exist.
    public static func ensureSelfSigned(directory: String, hostname: String) throws -> (certificate: String, key: String) {
        let certificatePath = directory + "/tls-cert.pem"
        let keyPath = directory + "/tls-key.pem"
        let files = FileManager.default
        if files.fileExists(atPath: certificatePath) && files.fileExists(atPath: keyPath) {
            return (certificatePath, keyPath)
        }
        try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let privateKey = P256.Signing.PrivateKey()
        let certificateKey = Certificate.PrivateKey(privateKey)
        let name = try DistinguishedName {
            CommonName(hostname)
            OrganizationName("mailgate self-signed")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: certificateKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
            issuer: name,
            subject: name,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                SubjectAlternativeNames([.dnsName(hostname), .dnsName("localhost")])
            },
            issuerPrivateKey: certificateKey)
        let certificatePEM = try certificate.serializeAsPEM().pemString
        let keyPEM = privateKey.pemRepresentation
        // Key first, with restrictive permissions, so a crash never leaves a readable key.
        guard files.createFile(atPath: keyPath + ".tmp", contents: Data(keyPEM.utf8), attributes: [.posixPermissions: 0o600]),
              files.createFile(atPath: certificatePath + ".tmp", contents: Data(certificatePEM.utf8), attributes: [.posixPermissions: 0o644])
        else { throw ConfigurationError(key: "tls", reason: "cannot write a self-signed certificate into \(directory)") }
        _ = rename(keyPath + ".tmp", keyPath)
        _ = rename(certificatePath + ".tmp", certificatePath)
        return (certificatePath, keyPath)
    }
}

extension ServerContext {
    /// STARTTLS/STLS: puts a TLS server handler in front of the connection with the
    /// current certificate. False (and the connection closed) when that cannot be done.
    func startTLS(on context: ChannelHandlerContext) -> Bool {
        guard let tls else {
            context.close(promise: nil)
            return false
        }
        do {
            try context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context), position: .first)
            return true
        } catch {
            context.close(promise: nil)
            return false
        }
    }
}
