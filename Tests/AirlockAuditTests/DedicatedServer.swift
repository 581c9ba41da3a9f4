import AirlockStore
import Foundation

/// A private PostgreSQL for tests that stop and restart the server (so other suites sharing
/// the test server are not disturbed). Runs as the `postgres` user when we are root.
struct DedicatedServer: Sendable {
    let root: String
    let bin: String
    var socketDirectory: String { root + "/run" }
    var url: DatabaseURL { DatabaseURL(username: "airlock", port: 5432, database: "postgres", socketDirectory: socketDirectory) }
    var asRoot: Bool { geteuid() == 0 }

    static func binDirectory() -> String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for v in versions.compactMap(Int.init).sorted(by: >) where FileManager.default.fileExists(atPath: "/usr/lib/postgresql/\(v)/bin/pg_ctl") {
            return "/usr/lib/postgresql/\(v)/bin"
        }
        return nil
    }

    static var available: Bool { TestDatabase.available && binDirectory() != nil }

    init() throws {
        root = "/tmp/alsp-" + UUID().uuidString.prefix(8).lowercased()
        bin = DedicatedServer.binDirectory()!
        try FileManager.default.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if asRoot { try DedicatedServer.exec("/bin/chown", ["-R", "postgres:postgres", root]) }
        try tool("initdb", ["-D", root + "/data", "-U", "airlock", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"])
    }

    func start() throws {
        try tool("pg_ctl", ["-D", root + "/data", "-l", root + "/log", "-w", "-t", "30", "-o",
                            "-c listen_addresses='' -k \(socketDirectory) -p 5432 -c fsync=off", "start"])
    }

    /// `immediate`: like a crash — no checkpoint, connections cut.
    func stop(immediate: Bool = true) throws {
        try tool("pg_ctl", ["-D", root + "/data", "-m", immediate ? "immediate" : "fast", "-w", "-t", "30", "stop"])
    }

    func destroy() {
        try? stop()
        try? FileManager.default.removeItem(atPath: root)
    }

    private func tool(_ name: String, _ args: [String]) throws {
        if asRoot { try DedicatedServer.exec("/usr/sbin/runuser", ["-u", "postgres", "--", bin + "/" + name] + args) }
        else { try DedicatedServer.exec(bin + "/" + name, args) }
    }

    /// posix_spawn + waitpid: Foundation's Process can miss the child's exit on Linux when
    /// the child daemonises a grandchild (pg_ctl), leaving waitUntilExit hanging.
    static func exec(_ path: String, _ args: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in [Int32(0), 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
        let argv = ([path] + args).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { throw TestFailure("cannot spawn \(path)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw TestFailure("\(path) \(args.first ?? "") failed with status \(status)") }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
