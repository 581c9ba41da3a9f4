import AirlockCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs a tool to completion with posix_spawn + waitpid. Foundation's `Process` can miss the
/// exit of a child whose own child daemonises (`pg_ctl start` → postmaster) and wait forever,
/// so the database tools are run this way instead.
enum ChildProcess {
    /// Runs `executable` with `arguments`, stdin from /dev/null, stdout and stderr into
    /// `outputPath`. Returns the exit status (128+signal when killed by a signal).
    static func run(_ executable: String, _ arguments: [String], outputPath: String) throws(AirlockError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw AirlockError(.notReady, "could not start \(executable) (errno \(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { throw AirlockError(.notReady, "lost track of \(executable)") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros, spelled out here.
        if status & 0x7F == 0 { return (status >> 8) & 0xFF }
        return 128 + (status & 0x7F)
    }
}
