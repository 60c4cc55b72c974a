// The running server's pid file (also its single-instance lock) and status file,
// which `mailgate status` and `mailgate reload` read from another process.
import Foundation
import MailStore

public struct ServerStatus: Codable, Sendable {
    public var pid: Int32
    public var startedAt: Double
    public var hostname: String
    public var configFile: String?
    public var listeners: [String]
    public var policyGeneration: Int
    public var policyLoadedAt: Double
    public var policies: [String]
    public var lastReloadError: String?
    public var lastReloadAt: Double?
    public var reloadCount: Int
    public var tlsCertificate: String?
    public var tlsSelfSigned: Bool
    public var connections: Int
    public var updatedAt: Double
    /// Keys the last reload found changed that only a restart applies ("listen", "data_dir").
    public var restartNeeded: [String]? = nil
    /// `[policy] shadow` policies, their disagreements with the live chain (by shadow
    /// policy) and the shadow calls compared so far.
    public var shadowPolicies: [String]? = nil
    public var shadowDisagreements: [String: Int]? = nil
    public var shadowCalls: Int? = nil

    public static func path(dataDirectory: String) -> String { dataDirectory + "/mailgate.status" }
    public static func pidPath(dataDirectory: String) -> String { dataDirectory + "/mailgate.pid" }

    public func write(dataDirectory: String) {
        try? writeOrThrow(dataDirectory: dataDirectory)
    }

    /// Writes the status file atomically; the error says which file and what to do.
    public func writeOrThrow(dataDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let path = Self.path(dataDirectory: dataDirectory)
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data), rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw ConfigurationError(key: "data_dir", reason: "cannot write \(path) (\(LMDBStore.errorText(code))): "
                                     + LMDBStore.advice(errno: code, directory: dataDirectory))
        }
    }

    public static func read(dataDirectory: String) -> ServerStatus? {
        guard let data = FileManager.default.contents(atPath: path(dataDirectory: dataDirectory)) else { return nil }
        return try? JSONDecoder().decode(ServerStatus.self, from: data)
    }
}

/// An exclusive lock on the pid file: one server per data directory.
public final class PidFile {
    let descriptor: Int32
    let path: String

    public enum Failure: Error, CustomStringConvertible {
        case alreadyRunning(pid: String, directory: String)
        case cannotOpen(String, directory: String, errno: Int32)
        public var description: String {
            switch self {
            case .alreadyRunning(let pid, let directory):
                "another mailgate server (pid \(pid)) is using the data directory \(directory): "
                    + "stop it (`mailgate status` shows it) or choose another data_dir (or --data-dir)"
            case .cannotOpen(let path, let directory, let code):
                "cannot open \(path) (\(LMDBStore.errorText(code))): "
                    + LMDBStore.advice(errno: code, directory: directory)
            }
        }
    }

    public init(dataDirectory: String) throws(Failure) {
        path = ServerStatus.pidPath(dataDirectory: dataDirectory)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(path, directory: dataDirectory, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let existing = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            Glibc.close(descriptor)
            throw .alreadyRunning(pid: existing, directory: dataDirectory)
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
    }

    public func release() {
        unlink(path)
        Glibc.close(descriptor)
    }

    /// The pid of the running server, if one holds the lock.
    public static func runningServer(dataDirectory: String) -> pid_t? {
        let path = ServerStatus.pidPath(dataDirectory: dataDirectory)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { Glibc.close(descriptor) }
        // If we can take a shared lock, nobody holds the exclusive one: no server.
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { flock(descriptor, LOCK_UN); return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        return pid
    }
}
