import AirlockCore
import Foundation
import Logging
import PostgresNIO

/// Runs a private PostgreSQL server for the zero-configuration setup: `initdb` on first use,
/// `pg_ctl start` with a Unix socket only (no TCP port, so it never clashes with another
/// server on the machine), and a clean `pg_ctl stop` at shutdown.
///
/// `initdb` and `postgres` refuse to run as root, so when Airlock runs as root the server is
/// run as the unprivileged `postgres` user and the folder is handed to that user.
public struct ManagedPostgres: Sendable {
    public let rootDirectory: String
    public let port: Int
    public let databaseName: String
    public let superuser = "airlock"
    let binDirectory: String
    let runAsUser: String?

    public var dataDirectory: String { rootDirectory + "/data" }
    public var socketDirectory: String { rootDirectory + "/run" }
    public var logFile: String { rootDirectory + "/postgres.log" }

    public var url: DatabaseURL {
        DatabaseURL(username: superuser, port: port, database: databaseName, socketDirectory: socketDirectory)
    }

    public init(rootDirectory: String, port: Int = 5432, databaseName: String = "airlock", binDirectory: String? = nil) throws(AirlockError) {
        self.rootDirectory = URL(fileURLWithPath: rootDirectory).standardizedFileURL.path
        self.port = port
        self.databaseName = databaseName
        guard let bin = binDirectory ?? ManagedPostgres.findBinDirectory() else {
            throw AirlockError(.notReady, "PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package or set AIRLOCK_DATABASE_URL")
        }
        self.binDirectory = bin
        self.runAsUser = geteuid() == 0 ? "postgres" : nil
        // Unix socket paths are limited to 107 bytes.
        guard (socketDirectory + "/.s.PGSQL.\(port)").utf8.count < 108 else {
            throw AirlockError(.invalidRequest, "managed database folder path is too long for a Unix socket; choose a shorter data directory")
        }
    }

    /// Debian keeps server binaries in /usr/lib/postgresql/<major>/bin, outside PATH.
    static func findBinDirectory() -> String? {
        let fm = FileManager.default
        if let env = ProcessInfo.processInfo.environment["AIRLOCK_PG_BINDIR"], fm.fileExists(atPath: env + "/pg_ctl") { return env }
        if let versions = try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql") {
            let sorted = versions.compactMap { Int($0) }.sorted(by: >)
            for v in sorted where fm.fileExists(atPath: "/usr/lib/postgresql/\(v)/bin/pg_ctl") { return "/usr/lib/postgresql/\(v)/bin" }
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") where fm.fileExists(atPath: "\(dir)/pg_ctl") && fm.fileExists(atPath: "\(dir)/initdb") {
            return String(dir)
        }
        return nil
    }

    public var isInitialized: Bool { FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION") }

    /// Initialises (first run) and starts the server unless it is already running, then makes
    /// sure the application database exists. Returns true when this call started the server.
    @discardableResult
    public func start(logger: Logger) async throws -> Bool {
        try prepareDirectories()
        if !isInitialized {
            logger.info("initialising managed PostgreSQL", metadata: ["data_dir": .string(dataDirectory)])
            try run("initdb", ["-D", dataDirectory, "-U", superuser, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
        }
        var started = false
        if !isRunning {
            logger.info("starting managed PostgreSQL", metadata: ["socket_dir": .string(socketDirectory)])
            let options = "-c listen_addresses='' -k \(socketDirectory) -p \(port) -c unix_socket_permissions=0777 -c max_connections=200 -c fsync=on"
            try run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"])
            started = true
        }
        try await createDatabaseIfMissing(logger: logger)
        return started
    }

    public var isRunning: Bool {
        guard FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") else { return false }
        return (try? run("pg_ctl", ["-D", dataDirectory, "status"])) != nil
    }

    /// Fast shutdown: rolls back open transactions, checkpoints, exits.
    public func stop(logger: Logger) throws {
        guard isRunning else { return }
        logger.info("stopping managed PostgreSQL")
        try run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
    }

    private func prepareDirectories() throws {
        let fm = FileManager.default
        // Parents stay traversable (the server may run as another user); our folder is private.
        let parent = URL(fileURLWithPath: rootDirectory).deletingLastPathComponent().path
        try fm.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for dir in [rootDirectory, socketDirectory] where !fm.fileExists(atPath: dir) {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        if let user = runAsUser {
            // The server user must be able to walk down to its folder.
            var ancestor = URL(fileURLWithPath: rootDirectory).deletingLastPathComponent()
            while ancestor.path != "/" {
                let mode = (try? fm.attributesOfItem(atPath: ancestor.path)[.posixPermissions] as? Int) ?? 0
                if mode & 0o001 == 0 {
                    throw AirlockError(.notReady, "the '\(user)' user cannot enter \(ancestor.path) to reach the managed database folder; choose a data directory whose parent folders are world-searchable (chmod o+x)")
                }
                ancestor.deleteLastPathComponent()
            }
            try ManagedPostgres.execute("/bin/chown", ["-R", "\(user):\(user)", rootDirectory])
        }
    }

    private func createDatabaseIfMissing(logger: Logger) async throws {
        var config = url
        config.database = "postgres"
        let connection = try await PostgresConnection.connect(configuration: .init(unixSocketPath: config.socketPath!, username: superuser, password: nil, database: "postgres"), id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        let rows = try await connection.query("SELECT 1 FROM pg_database WHERE datname = \(databaseName)", logger: logger)
        var exists = false
        for try await _ in rows { exists = true }
        if !exists {
            // Identifiers cannot be bound; the name is ours (configuration), quoted defensively.
            let quoted = "\"" + databaseName.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(quoted)"), logger: logger)
        }
    }

    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let path = binDirectory + "/" + tool
        if let user = runAsUser {
            return try ManagedPostgres.execute("/usr/sbin/runuser", ["-u", user, "--", path] + arguments, label: tool)
        }
        return try ManagedPostgres.execute(path, arguments, label: tool)
    }

    /// Runs a tool with its output in a temporary file (a pipe could be inherited by the
    /// daemonised postmaster and never reach end-of-file).
    @discardableResult
    static func execute(_ executable: String, _ arguments: [String], label: String? = nil) throws(AirlockError) -> String {
        let outputPath = NSTemporaryDirectory() + "airlock-pg-\(UUID().uuidString).log"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status = try ChildProcess.run(executable, arguments, outputPath: outputPath)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let tail = text.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw AirlockError(.notReady, "\(label ?? executable) failed with status \(status): \(tail)")
        }
        return text
    }
}
