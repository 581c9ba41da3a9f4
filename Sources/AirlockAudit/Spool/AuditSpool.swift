import AirlockCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The durable local spool: append-only segment files of checksummed frames, fsync'd before
/// an append returns. Used while PostgreSQL is slow or down; the writer replays it in order
/// and deletes a segment once every record in it is committed.
///
/// Frames as in `SpoolFrames`. A torn frame at the end of the newest segment (crash
/// mid-write; never acknowledged) is cut off on open.
///
/// Owned by the writer loop alone, hence not Sendable.
final class AuditSpool {
    let directory: String
    let segmentLimit: Int
    private var activeFD: Int32 = -1
    private var activePath: String?
    private var activeSize: Int = 0
    /// Segments on disk, oldest first (the active one last, when open).
    private(set) var segments: [String] = []
    /// Records appended and not yet removed (approximate after a restart: counted on open).
    private(set) var pendingRecords: Int = 0

    /// Room an append needs to be likely to succeed: a batch of large events, with slack.
    static let minimumFreeBytes: UInt64 = 64 << 10

    /// Whether the spool folder is writable and its file system has room for another batch
    /// (a full disk is the usual way the fallback fails, and `write` only says so too late
    /// for a stream that has already started).
    static func hasRoom(directory: String) -> Bool {
        guard FileManager.default.isWritableFile(atPath: directory) else { return false }
        var info = statvfs()
        guard statvfs(directory, &info) == 0 else { return false }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize) >= minimumFreeBytes
    }

    init(directory: String, segmentLimit: Int = 16 << 20) throws(AirlockError) {
        self.directory = directory
        self.segmentLimit = segmentLimit
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AirlockError(.auditUnavailable, "cannot create audit spool folder")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        segments = names.filter { $0.hasPrefix("segment-") && $0.hasSuffix(".spool") }.sorted().map { directory + "/" + $0 }
    }

    deinit { if activeFD >= 0 { close(activeFD) } }

    var isEmpty: Bool { segments.isEmpty }

    /// Reads every segment, truncating a torn tail in the newest; returns the last record
    /// (the chain head the spool knows) and counts pending records.
    func recover() throws(AirlockError) -> AuditRecord? {
        var last: AuditRecord?
        pendingRecords = 0
        for (index, path) in segments.enumerated() {
            let (entries, validBytes, fileSize) = try read(path)
            if validBytes < fileSize {
                guard index == segments.count - 1 else {
                    throw AirlockError(.auditUnavailable, "audit spool segment \(URL(fileURLWithPath: path).lastPathComponent) is corrupt before its end; move it aside to continue")
                }
                guard truncate(path, off_t(validBytes)) == 0 else { throw AirlockError(.auditUnavailable, "cannot repair audit spool") }
            }
            pendingRecords += entries.count
            if let tail = entries.last?.record { last = tail }
        }
        // Drop empty segments so `isEmpty` means "nothing to replay".
        for path in segments where (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == 0 {
            try? FileManager.default.removeItem(atPath: path)
        }
        segments.removeAll { !FileManager.default.fileExists(atPath: $0) }
        return last
    }

    /// Appends and fsyncs; on any failure the segment is cut back so no partial frame stays.
    func append(_ entries: [SpoolEntry]) throws(AirlockError) {
        guard !entries.isEmpty else { return }
        let bytes = SpoolFrames.encode(entries)
        if activeFD < 0 || activeSize >= segmentLimit { try openNewSegment() }
        let start = activeSize
        let ok = SpoolFrames.writeAll(activeFD, bytes) && fsync(activeFD) == 0
        guard ok else {
            _ = ftruncate(activeFD, off_t(start))
            throw AirlockError(.auditUnavailable, "audit spool write failed")
        }
        activeSize += bytes.count
        pendingRecords += entries.count
    }

    /// Closes the active segment so replay can consume it while new appends go to a new one.
    func sealActive() {
        if activeFD >= 0 { close(activeFD); activeFD = -1; activePath = nil; activeSize = 0 }
    }

    /// Segments replay may read: all of them except the one being appended to.
    var sealedSegments: [String] { segments.filter { $0 != activePath } }

    func entries(of path: String) throws(AirlockError) -> [SpoolEntry] { try read(path).entries }

    func remove(_ path: String, records: Int) {
        if path == activePath { sealActive() }
        try? FileManager.default.removeItem(atPath: path)
        segments.removeAll { $0 == path }
        pendingRecords = max(0, pendingRecords - records)
    }

    private func openNewSegment() throws(AirlockError) {
        sealActive()
        let next = (segments.last.flatMap { Int($0.split(separator: "-").last?.split(separator: ".").first ?? "") } ?? 0) + 1
        let path = directory + "/segment-" + String(format: "%016d", next) + ".spool"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw AirlockError(.auditUnavailable, "cannot open audit spool segment") }
        // The new directory entry must itself survive a crash.
        let dirFD = open(directory, O_RDONLY)
        if dirFD >= 0 { _ = fsync(dirFD); close(dirFD) }
        activeFD = fd
        activePath = path
        activeSize = 0
        segments.append(path)
    }

    private func read(_ path: String) throws(AirlockError) -> (entries: [SpoolEntry], validBytes: Int, fileSize: Int) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AirlockError(.auditUnavailable, "cannot read audit spool segment")
        }
        let bytes = [UInt8](data)
        let (entries, validBytes) = SpoolFrames.decode(bytes)
        return (entries, validBytes, bytes.count)
    }
}
