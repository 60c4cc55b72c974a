// Root command and the options every subcommand shares.
import ArgumentParser
import Foundation
import Gateway
import MailStore

struct Mailgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailgate",
        abstract: "SMTP gateway with Lua policies and an LMDB store.",
        subcommands: [Serve.self, Reload.self, Status.self, DomainCommand.self, UserCommand.self, AliasCommand.self,
                      CatchallCommand.self, WhitelistCommand.self, MailCommand.self, QueueCommand.self,
                      PolicyCommand.self, CountersCommand.self, DKIMCommand.self, SPFCommand.self,
                      DMARCCommand.self])
    @OptionGroup var global: GlobalOptions
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: ./mailgate.toml if present, else built-in defaults).")
    var config: String?

    @Option(name: .customLong("data-dir"), help: "Data directory (overrides data_dir from the configuration).")
    var dataDir: String?

    /// The effective configuration; exits with a clear message when the file is bad.
    func load() throws -> GatewayConfiguration {
        var configuration: GatewayConfiguration
        if let path = config ?? (FileManager.default.fileExists(atPath: "mailgate.toml") ? "mailgate.toml" : nil) {
            do {
                try ConfigurationSyntaxCheck.check(path: path)
                configuration = try GatewayConfiguration.load(path: path)
            }
            catch { throw CLIError("configuration error: \(error)") }
        } else {
            configuration = GatewayConfiguration.defaults()
        }
        if let dataDir {
            configuration.dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        }
        return configuration
    }

    var configFilePath: String? {
        config ?? (FileManager.default.fileExists(atPath: "mailgate.toml") ? "mailgate.toml" : nil)
    }

    /// Opens the store for an admin command. `create` allows a fresh data directory.
    func openStore(create: Bool = false) throws -> LMDBStore {
        let configuration = try load()
        let directory = configuration.dataDirectory
        var info = stat()
        if stat(directory, &info) != 0 {
            let code = errno
            // Only a directory that is really missing is "no data directory": one this user
            // may not look into is a permission problem (the store's open says so).
            if code == ENOENT || code == ENOTDIR {
                guard create else {
                    throw CLIError("no data directory at \(directory): run `mailgate domain add` or `mailgate serve` first, or pass --data-dir")
                }
            }
        } else if info.st_mode & S_IFMT != S_IFDIR {
            throw CLIError("the data directory \(directory) is not a directory: choose another data_dir (or --data-dir)")
        }
        // The store's errors are one sentence naming the path and what to do.
        do { return try LMDBStore(directory: directory) }
        catch { throw CLIError(error.message) }
    }
}

/// A user-facing failure: printed as "mailgate: message", exit status 1.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32 = 1
    init(_ message: String, exitCode: Int32 = 1) { self.message = message; self.exitCode = exitCode }
    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, turning CLIError and store errors into a message and exit code.
    func guarded(_ body: () throws -> Void) throws {
        if !(self is Serve) { ServerSignals.unblockForCommand() }
        do { try body() }
        catch let error as CLIError {
            FileHandle.standardError.write(Data("mailgate: \(error.message)\n".utf8))
            throw ExitCode(error.exitCode)
        } catch let error as StoreError {
            FileHandle.standardError.write(Data("mailgate: \(error)\n".utf8))
            throw ExitCode(1)
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("mailgate: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
