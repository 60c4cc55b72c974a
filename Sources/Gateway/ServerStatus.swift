// The running server's pid file (also its single-instance lock) and status file,
// which `mailgate status` and `mailgate reload` read from another process.
import Foundation

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

    public static func path(dataDirectory: String) -> String { dataDirectory + "/mailgate.status" }
    public static func pidPath(dataDirectory: String) -> String { dataDirectory + "/mailgate.pid" }

    public func write(dataDirectory: String) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(self) else { return }
        let path = Self.path(dataDirectory: dataDirectory)
        let temporary = path + ".tmp"
        if FileManager.default.createFile(atPath: temporary, contents: data) { _ = rename(temporary, path) }
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
        case alreadyRunning(pid: String)
        case cannotOpen(String, errno: Int32)
        public var description: String {
            switch self {
            case .alreadyRunning(let pid): "another mailgate server (pid \(pid)) is using this data directory"
            case .cannotOpen(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    public init(dataDirectory: String) throws(Failure) {
        path = ServerStatus.pidPath(dataDirectory: dataDirectory)
        descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .cannotOpen(path, errno: errno) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let existing = (try? String(contentsOfFile: path, encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            Glibc.close(descriptor)
            throw .alreadyRunning(pid: existing)
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
