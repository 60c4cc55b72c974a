// `mailgate serve`: run the server in the foreground until SIGTERM/SIGINT.
import ArgumentParser
import Foundation
import Gateway
import Logging

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the mail server in the foreground.")
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try guarded {
            let configuration = try global.load()
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = Logger.Level(rawValue: configuration.logLevel) ?? .info
                return handler
            }
            let logger = Logger(label: "mailgate")
            let server = GatewayServer(configuration: configuration, configurationFile: global.configFilePath,
                                       explicitFile: global.config != nil,
                                       dataDirectoryOverridden: global.dataDir != nil, logger: logger)
            do { try server.start() }
            catch { throw CLIError("cannot start: \(error)") }
            server.wait()
        }
    }
}
