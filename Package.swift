// swift-tools-version:6.0
// mailgate: SMTP/POP3/IMAP gateway with Lua policies and an LMDB store.
// End-to-end tests (Tests/EndToEndTests) are Python/pytest driving the built binary
// with real clients; `make test` runs them after the Swift unit tests.
//
// Set MAILGATE_CORE_ONLY=1 to build only the I/O-free modules (C shims, MailCore,
// MailStore, Policy, SMTP, POP3, IMAP) and their tests: no SwiftNIO/TLS compile, ~1 min on 2 cores.
// MAILGATE_CORE_ONLY=Policy (a module name) narrows that to one module, its
// dependencies and its test target, so work on one module is not blocked by another.
//
// Set MAILGATE_FUZZ=1 to build the libFuzzer targets in Fuzz/ (one per wire parser)
// instead of the tests and the server: no SwiftNIO, only TOMLKit for the config
// reader. Use scripts/fuzz, which adds the sanitizer flags (docs/security.md).
import PackageDescription
import Foundation

let coreOnlySetting = ProcessInfo.processInfo.environment["MAILGATE_CORE_ONLY"]
let fuzz = ProcessInfo.processInfo.environment["MAILGATE_FUZZ"] != nil
let coreOnly = coreOnlySetting != nil || fuzz

var targets: [Target] = [
    .systemLibrary(name: "CLua", pkgConfig: "lua5.4",
                   providers: [.apt(["liblua5.4-dev"])]),
    .systemLibrary(name: "CLMDB", pkgConfig: "lmdb",
                   providers: [.apt(["liblmdb-dev"])]),
    .target(name: "CLuaShim", dependencies: ["CLua"]),
    .target(name: "CCrypt", linkerSettings: [.linkedLibrary("crypt")]),
    // zlib, for the gzip of DMARC aggregate reports (RFC 7489 §7.2.1.1).
    .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                   providers: [.apt(["zlib1g-dev"])]),
    .target(name: "MailCore"),
    // SPF, DKIM, DMARC and ARC: parsers and engines over MailCore's DNS lookup and
    // swift-crypto (RSA through _CryptoExtras).
    .target(name: "MailAuth", dependencies: [
        "MailCore", "CZlib",
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "_CryptoExtras", package: "swift-crypto"),
    ]),
    .target(name: "MailStore", dependencies: ["MailCore", "CLMDB", "CCrypt"]),
    .target(name: "Policy", dependencies: ["MailCore", "MailAuth", "CLua", "CLuaShim"]),
    .target(name: "SMTP", dependencies: ["MailCore", "MailAuth", "Policy"]),
    .target(name: "Delivery", dependencies: ["MailCore", "MailStore", "Policy"]),
    .target(name: "POP3", dependencies: ["MailCore", "Policy"]),
    .target(name: "IMAP", dependencies: ["MailCore", "Policy"]),
    // Helpers shared by test targets (a deterministic random generator).
    .target(name: "TestSupport", path: "Tests/TestSupport"),
    .testTarget(name: "MailCoreTests", dependencies: ["MailCore"]),
    .testTarget(name: "MailAuthTests", dependencies: ["MailAuth", "TestSupport"],
                exclude: ["Fixtures"]),   // read from the source tree by path
    .testTarget(name: "MailStoreTests", dependencies: ["MailStore"]),
    .testTarget(name: "PolicyTests", dependencies: ["Policy", "MailAuth"]),
    .testTarget(name: "SMTPTests", dependencies: ["SMTP", "TestSupport"]),
    .testTarget(name: "DeliveryTests", dependencies: ["Delivery", "TestSupport"]),
    .testTarget(name: "POP3Tests", dependencies: ["POP3"]),
    .testTarget(name: "IMAPTests", dependencies: ["IMAP", "TestSupport"]),
]

if let only = coreOnlySetting, only != "1" {
    // Keep `only`, its test target and their transitive target dependencies.
    var keep: Set<String> = [only, only + "Tests"]
    var changed = true
    while changed {
        changed = false
        for target in targets where keep.contains(target.name) {
            for case .targetItem(let name, _) in target.dependencies where !keep.contains(name) {
                keep.insert(name); changed = true
            }
            for case .byNameItem(let name, _) in target.dependencies where !keep.contains(name) {
                keep.insert(name); changed = true
            }
        }
    }
    targets = targets.filter { keep.contains($0.name) }
}

// Every build mode compiles MailAuth (Policy needs it), and so swift-crypto.
let cryptoPackage: Package.Dependency = .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2")
var dependencies: [Package.Dependency] = [cryptoPackage]
var products: [Product] = []

if fuzz {
    // Each fuzz target is one file exposing LLVMFuzzerTestOneInput; libFuzzer supplies
    // main, so the file is compiled as a library (-parse-as-library).
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("smtp", ["SMTP", "MailCore"]),
        ("pop3", ["POP3", "MailCore"]),
        ("imap", ["IMAP", "MailCore"]),
        ("mime", ["IMAP", "MailCore"]),
        ("dns", ["Delivery"]),
        ("address", ["MailCore"]),
        ("json", ["MailCore"]),
        ("config", ["FuzzConfigReader"]),
        ("dkim", ["MailAuth"]),
        ("spf", ["MailAuth"]),
        ("dmarc", ["MailAuth"]),
        ("dmarc-report", ["MailAuth"]),
    ]
    targets = targets.filter { $0.type != .test && $0.name != "TestSupport" }
    dependencies = [cryptoPackage, .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0")]
    // The config reader without the rest of Gateway (and so without SwiftNIO): the two
    // files only need MailCore, Policy and TOMLKit.
    targets.append(.target(name: "FuzzConfigReader",
                           dependencies: ["MailCore", "Policy", .product(name: "TOMLKit", package: "TOMLKit")],
                           path: "Sources/Gateway", sources: ["Configuration.swift", "ConfigurationReader.swift"]))
    for target in fuzzTargets {
        targets.append(.executableTarget(name: "fuzz-\(target.name)", dependencies: target.dependencies,
                                         path: "Fuzz/Targets/\(target.name)",
                                         swiftSettings: [.unsafeFlags(["-parse-as-library"])]))
    }
}

if !coreOnly {
    dependencies = [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        cryptoPackage,
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ]
    targets += [
        .target(name: "Gateway", dependencies: [
            "MailCore", "MailAuth", "MailStore", "Policy", "SMTP", "POP3", "IMAP", "Delivery",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            // mailgate.http (HTTPClient.swift): one request per connection, HTTP/1.1.
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "TOMLKit", package: "TOMLKit"),
        ]),
        .executableTarget(name: "mailgate", dependencies: [
            "Gateway", "MailStore", "MailCore", "Policy", "MailAuth",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "TestSupport"]),
    ]
    products = [.executable(name: "mailgate", targets: ["mailgate"])]
}

let package = Package(
    name: "mailgate",
    platforms: [.macOS(.v14)],
    products: products,
    dependencies: dependencies,
    targets: targets,
    swiftLanguageModes: [.v6]
)
