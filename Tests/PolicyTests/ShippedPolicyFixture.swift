// Runs the shipped policies (policies/*.lua) and plugins (plugins/*.lua) through the
// real engine with a test host. Each fixture copies the files into a temp directory
// (plugins into its plugin directory, with plugins/lib, as the engine looks them up) so
// list files (badmailfrom) can be written per test.
import Foundation
@testable import Policy

struct ShippedPolicies {
    let dir = PolicyDirectory()
    let host: TestPolicyHost
    let engine: PolicyEngine

    init(_ chain: [String], host: TestPolicyHost = TestPolicyHost(), settings: [String: PolicyValue] = [:],
         globals: [String: PolicyValue] = ["hostname": "mx.example.test", "max_message_size": 10_485_760, "max_recipients": 100],
         files: [String: String] = [:]) throws {
        self.host = host
        for name in chain {
            let policy = shippedPolicyDirectory + "/\(name).lua"
            if FileManager.default.fileExists(atPath: policy) {
                dir.write("\(name).lua", try String(contentsOfFile: policy, encoding: .utf8))
            } else {
                let plugin = try String(contentsOfFile: shippedPluginDirectory + "/\(name).lua", encoding: .utf8)
                dir.write("plugins/\(name).lua", plugin)
            }
        }
        // The plugins' shared helpers (require), as the engine finds them: plugins/lib.
        let libraries = shippedPluginDirectory + "/lib"
        try FileManager.default.createDirectory(atPath: dir.plugins + "/lib", withIntermediateDirectories: true)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: libraries)) ?? [] where file.hasSuffix(".lua") {
            dir.write("plugins/lib/\(file)", try String(contentsOfFile: libraries + "/" + file, encoding: .utf8))
        }
        for (name, text) in files { dir.write(name, text) }
        engine = try PolicyEngine(configuration: dir.configuration(chain, settings: settings, globals: globals,
                                                                    budget: 1_000_000, memory: 16 * 1024 * 1024),
                                  host: host)
    }
}
