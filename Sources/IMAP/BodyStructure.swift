// BODYSTRUCTURE / BODY values (RFC 3501 §7.4.2, RFC 9051 §7.5.2): the MIME tree of a
// message with sizes, line counts and extension data. Built from a message's bytes by
// `MessageStructure` (MessageStructure.swift); encoded by IMAPEncoder, with or without
// extension data.

import MailCore

/// A MIME parameter (MailCore parses them for IMAP and Policy alike).
public typealias BodyParameter = MIMEParameter

public struct BodyDisposition: Sendable, Equatable, Hashable {
    public var type: String
    public var parameters: [BodyParameter]
    public init(type: String, parameters: [BodyParameter] = []) { self.type = type; self.parameters = parameters }
}

/// Extension data shared by both kinds of parts.
public struct BodyExtension: Sendable, Equatable, Hashable {
    public var disposition: BodyDisposition?
    /// nil: NIL; otherwise sent as a list.
    public var language: [String]?
    public var location: String?
    public init(disposition: BodyDisposition? = nil, language: [String]? = nil, location: String? = nil) {
        self.disposition = disposition; self.language = language; self.location = location
    }
}

public struct SinglePartBody: Sendable, Equatable, Hashable {
    public enum Kind: Sendable, Equatable, Hashable {
        case basic
        case text(lines: Int)
        /// message/rfc822 (and message/global): the encapsulated message.
        indirect case message(envelope: Envelope, body: BodyStructure, lines: Int)
    }
    public var type: String
    public var subtype: String
    public var parameters: [BodyParameter]
    public var id: String?
    public var description: String?
    public var encoding: String
    public var size: Int
    public var kind: Kind
    /// Always nil here (we do not compute Content-MD5).
    public var md5: String?
    public var extension_: BodyExtension

    public init(type: String, subtype: String, parameters: [BodyParameter] = [], id: String? = nil,
                description: String? = nil, encoding: String = "7bit", size: Int, kind: Kind,
                md5: String? = nil, extension_: BodyExtension = BodyExtension()) {
        self.type = type; self.subtype = subtype; self.parameters = parameters; self.id = id
        self.description = description; self.encoding = encoding; self.size = size; self.kind = kind
        self.md5 = md5; self.extension_ = extension_
    }
}

public struct MultipartBody: Sendable, Equatable, Hashable {
    public var parts: [BodyStructure]
    public var subtype: String
    public var parameters: [BodyParameter]
    public var extension_: BodyExtension
    public init(parts: [BodyStructure], subtype: String, parameters: [BodyParameter] = [],
                extension_: BodyExtension = BodyExtension()) {
        self.parts = parts; self.subtype = subtype; self.parameters = parameters; self.extension_ = extension_
    }
}

public indirect enum BodyStructure: Sendable, Equatable, Hashable {
    case single(SinglePartBody)
    case multipart(MultipartBody)
}
