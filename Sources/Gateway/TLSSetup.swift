// TLS server contexts: the configured certificate and key, or a self-signed
// certificate generated into the data dir on first start so STARTTLS works out of
// the box. Loading happens at start and again on every reload.
import Foundation
import NIOCore
import Crypto
import NIOSSL
import SwiftASN1
import X509
import MailStore

public enum TLSSetup {
    public struct Material: Sendable {
        public var context: NIOSSLContext
        public var certificatePath: String
        public var selfSigned: Bool
        /// The self-signed certificate was created by this load (first start).
        public var generated = false
        public var keyPath = ""
    }

    public static func load(_ configuration: GatewayConfiguration) throws -> Material {
        guard let certificatePath = configuration.certificatePath, let keyPath = configuration.privateKeyPath else {
            let generated = try ensureSelfSigned(directory: configuration.dataDirectory, hostname: configuration.hostname)
            var material = try load(certificate: generated.certificate, key: generated.key,
                                    certificateKey: "tls", keyKey: "tls")
            material.selfSigned = true
            material.generated = generated.created
            return material
        }
        return try load(certificate: certificatePath, key: keyPath, certificateKey: "tls.certificate",
                        keyKey: "tls.private_key")
    }

    /// Reads and checks a PEM certificate chain and its key. Every failure is one sentence
    /// naming the key, the file and what to do (no raw BoringSSL error stacks).
    static func load(certificate certificatePath: String, key keyPath: String,
                     certificateKey: String, keyKey: String) throws -> Material {
        let chainText = try readable(certificatePath, key: certificateKey, what: "certificate")
        let keyText = try readable(keyPath, key: keyKey, what: "private key")
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMBytes(Array(chainText)) } catch {
            throw ConfigurationError(key: certificateKey, reason: "\(certificatePath) is not a PEM certificate "
                                     + "(expected -----BEGIN CERTIFICATE-----): point \(certificateKey) at your certificate chain")
        }
        guard !chain.isEmpty else {
            throw ConfigurationError(key: certificateKey, reason: "\(certificatePath) holds no certificate "
                                     + "(expected -----BEGIN CERTIFICATE-----): point \(certificateKey) at your certificate chain")
        }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(bytes: Array(keyText), format: .pem) } catch {
            throw ConfigurationError(key: keyKey, reason: "\(keyPath) is not an unencrypted PEM private key "
                                     + "(expected -----BEGIN PRIVATE KEY-----): point \(keyKey) at the certificate's key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                           privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: tls) } catch {
            throw ConfigurationError(key: keyKey, reason: "\(keyPath) does not match the certificate in "
                                     + "\(certificatePath): use the key the certificate was issued for")
        }
        return Material(context: context, certificatePath: certificatePath, selfSigned: false, keyPath: keyPath)
    }

    /// The file's bytes, or one sentence saying why it cannot be read.
    static func readable(_ path: String, key: String, what: String) throws -> Data {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            let reason = switch code {
            case ENOENT: "\(path) does not exist: set [tls] \(key.split(separator: ".").last ?? "") to an existing PEM file, "
                + "or remove certificate and private_key to use a self-signed certificate"
            case EACCES, EPERM: "cannot read \(path) (permission denied): let the user running mailgate read it"
            default: "cannot read \(path) (\(LMDBStore.errorText(code))): check the file"
            }
            throw ConfigurationError(key: key, reason: reason)
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard let data = try? handle.readToEnd(), !data.isEmpty else {
            throw ConfigurationError(key: key, reason: "\(path) is empty or unreadable: it must hold the \(what) in PEM form")
        }
        return data
    }

    /// Creates `tls-cert.pem`/`tls-key.pem` in `directory` unless they exist.
    /// `created`: the files did not exist and were written now.
    public static func ensureSelfSigned(directory: String, hostname: String)
        throws -> (certificate: String, key: String, created: Bool) {
        let certificatePath = directory + "/tls-cert.pem"
        let keyPath = directory + "/tls-key.pem"
        let files = FileManager.default
        if files.fileExists(atPath: certificatePath) && files.fileExists(atPath: keyPath) {
            return (certificatePath, keyPath, false)
        }
        do { try LMDBStore.prepareDirectory(directory) }
        catch { throw ConfigurationError(key: "data_dir", reason: error.message) }
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
              files.createFile(atPath: certificatePath + ".tmp", contents: Data(certificatePEM.utf8), attributes: [.posixPermissions: 0o644]),
              rename(keyPath + ".tmp", keyPath) == 0, rename(certificatePath + ".tmp", certificatePath) == 0
        else {
            let reason = LMDBStore.errorText(errno)
            unlink(keyPath + ".tmp")
            unlink(certificatePath + ".tmp")
            throw ConfigurationError(key: "tls", reason: "cannot write a self-signed certificate into \(directory) "
                                     + "(\(reason)): let mailgate write there, or set [tls] certificate and private_key")
        }
        return (certificatePath, keyPath, true)
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
