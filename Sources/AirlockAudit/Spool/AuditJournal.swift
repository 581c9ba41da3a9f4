import AirlockCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The write-ahead journal: sealed events are appended here (without fsync) as soon as the
/// writer has them, and the journal is emptied once PostgreSQL has committed them.
///
/// Why: events wait in memory for company so that one database transaction carries many of
/// them (each transaction costs the client four round trips). Without the journal, a process
/// killed outright (SIGKILL, a crash) loses every event of that wait; with it, the events are
/// in the kernel's page cache and the next start moves them into the spool, whose replay skips
/// what was already committed. So the wait can be long without widening what a kill loses. A
/// crash of the host itself can still lose what the kernel had not written back; fail-closed
/// callers never rely on the journal (their events are committed or fsync'd before the answer).
///
/// One file, `journal.wal`, in the spool folder (the spool reads only its `segment-*` files).
/// Owned by the writer loop alone, hence not Sendable.
final class AuditJournal {
    static let fileName = "journal.wal"
    let path: String
    private let fd: Int32
    private(set) var size = 0
    /// Records appended since the last reset.
    private(set) var records = 0

    /// Opens (creating) the journal in `directory`, which must exist. Its contents are kept:
    /// read them with `leftover(in:)` first.
    init(directory: String) throws(AirlockError) {
        path = directory + "/" + Self.fileName
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AirlockError(.auditUnavailable, "cannot open audit journal") }
        size = Int(lseek(fd, 0, SEEK_END))
    }

    deinit { close(fd) }

    /// The intact records a previous process left in `directory`'s journal (none when there is
    /// no journal). A torn last frame (the process died mid-write) is ignored.
    static func leftover(in directory: String) -> [SpoolEntry] {
        guard let data = FileManager.default.contents(atPath: directory + "/" + fileName), !data.isEmpty else { return [] }
        return SpoolFrames.decode([UInt8](data)).entries
    }

    /// Removes a leftover journal once its records are safe elsewhere.
    static func discard(in directory: String) {
        try? FileManager.default.removeItem(atPath: directory + "/" + fileName)
    }

    /// Appends without fsync; on failure the file is cut back so no partial frame stays.
    func append(_ entries: [SpoolEntry]) throws(AirlockError) {
        guard !entries.isEmpty else { return }
        let bytes = SpoolFrames.encode(entries)
        guard SpoolFrames.writeAll(fd, bytes) else {
            _ = ftruncate(fd, off_t(size))
            throw AirlockError(.auditUnavailable, "audit journal write failed")
        }
        size += bytes.count
        records += entries.count
    }

    /// Empties the journal: everything in it is committed (or fsync'd to the spool).
    func reset() {
        guard size > 0 else { return }
        if ftruncate(fd, 0) == 0 { size = 0; records = 0 }
    }
}
