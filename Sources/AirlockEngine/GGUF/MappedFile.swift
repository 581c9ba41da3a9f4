import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file in read-only memory: on Linux a private copy on 2 MB transparent huge pages
/// (see `hugePageCopy`) when the model fits comfortably (`wantsHugePageCopy`), else a private
/// map of the page cache. Either way the weights count
/// once towards RSS no matter how many streams run.
public final class MappedFile: @unchecked Sendable {
    // Immutable after init; the mapping is never written, so sharing across threads is safe.
    public let base: UnsafeRawPointer
    public let count: Int
    /// Bytes mapped at `base` (the huge-page copy is rounded up to whole 2 MB pages).
    private var mappedBytes = 0
    /// How the bytes are held, which decides how `releasePages` hands memory back.
    private var backing = Backing.anonymous
    private enum Backing {
        /// A private copy on huge pages; the file stays open to map parts of it back over
        /// the copy.
        case hugePageCopy(fd: Int32)
        case fileMapping
        /// Bytes given to `init(bytes:)`: nothing to re-read them from.
        case anonymous
    }

    /// `hugePageSetting` is `AIRLOCK_ENGINE_HUGE_PAGES` (see `wantsHugePageCopy`).
    public init(path: String, hugePageSetting: String? = ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_HUGE_PAGES"]) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.invalidFile("cannot open model file (errno \(errno))") }
        var keepOpen = false
        defer { if !keepOpen { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EngineError.invalidFile("cannot stat model file") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw EngineError.invalidFile("model path is not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else { throw EngineError.invalidFile("model file is empty") }
        #if os(Linux)
        if Self.wantsHugePageCopy(size: size, setting: hugePageSetting,
                                  availableBytes: Self.availableMemory()),
           let copy = Self.hugePageCopy(fd: fd, size: size) {
            base = UnsafeRawPointer(copy.base)
            count = size
            mappedBytes = copy.bytes
            backing = .hugePageCopy(fd: fd)
            keepOpen = true
            Self.register(self)
            return
        }
        #endif
        // MAP_POPULATE pre-faults the pages so the first request does not pay for them.
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else {
            throw EngineError.invalidFile("cannot memory-map model file (errno \(errno))")
        }
        base = UnsafeRawPointer(p)
        count = size
        backing = .fileMapping
        Self.register(self)
    }

    /// Whether the weights are copied onto huge pages: by default when the file takes at most
    /// half of the memory available now, so a model near the machine's size is never copied
    /// into memory it cannot page back out (it stays a file mapping the kernel can evict);
    /// `AIRLOCK_ENGINE_HUGE_PAGES=off` keeps every model a plain file mapping (shared page
    /// cache between processes), `on` copies regardless of size.
    static func wantsHugePageCopy(size: Int, setting: String?, availableBytes: Int?) -> Bool {
        switch setting?.lowercased() {
        case "off", "0", "false": return false
        case "on", "1", "true": return true
        default:
            guard let availableBytes else { return false }
            return size <= availableBytes / 2
        }
    }

    /// `MemAvailable` from /proc/meminfo, in bytes (nil where there is none).
    static func availableMemory() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kb = Int(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }

    #if os(Linux)
    /// The file read into private memory on transparent 2 MB pages, or nil (then the file is
    /// mapped as is). Decode streams every weight each token: from the page cache's 4 KB pages
    /// that is a TLB miss per 4 KB and the hardware prefetcher restarting at every page; on 2 MB
    /// pages one core's Q4_1 matvec from DRAM went from 14.3–14.8 to 17.7–18.2 GB/s (EPYC, 128 MB).
    /// The copy still counts once towards RSS however many streams run; page cache sharing
    /// between processes is what it gives up.
    private static func hugePageCopy(fd: Int32, size: Int) -> (base: UnsafeMutableRawPointer, bytes: Int)? {
        let huge = 2 << 20
        let bytes = (size + huge - 1) / huge * huge
        // Over-allocate by one page and trim, for a 2 MB-aligned start.
        guard let raw = mmap(nil, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { return nil }
        let start = (Int(bitPattern: raw) + huge - 1) / huge * huge
        let head = start - Int(bitPattern: raw)
        if head > 0 { munmap(raw, head) }
        let aligned = UnsafeMutableRawPointer(bitPattern: start)!
        munmap(aligned + bytes, huge - head)
        // Only the huge pages matter: without them (THP off) the file mapping is as good.
        guard madvise(aligned, bytes, MADV_HUGEPAGE) == 0 else { munmap(aligned, bytes); return nil }
        var done = 0
        while done < size {
            let n = pread(fd, aligned + done, min(size - done, 1 << 30), off_t(done))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { munmap(aligned, bytes); return nil }
            done += n
        }
        _ = mprotect(aligned, bytes, PROT_READ)
        return (aligned, bytes)
    }
    #endif

    /// Maps anonymous bytes (tests, fuzzing): copies `bytes` into a private mapping.
    public init(bytes: [UInt8]) throws {
        let size = max(bytes.count, 1)
        guard let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            throw EngineError.invalidFile("cannot allocate mapping")
        }
        bytes.withUnsafeBytes { src in
            if let s = src.baseAddress { p.copyMemory(from: s, byteCount: bytes.count) }
        }
        base = UnsafeRawPointer(p)
        count = bytes.count
    }

    /// Hints the kernel to read ahead the whole file (weights are streamed every token).
    public func adviseWillNeed() {
        _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_WILLNEED)
    }

    deinit {
        Self.live.withLock { $0.removeAll { $0.file == nil || $0.file === self } }
        munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes > 0 ? mappedBytes : max(count, 1))
        if case .hugePageCopy(let fd) = backing { close(fd) }
    }

    // MARK: Handing pages back

    /// Gives back the memory of the whole pages inside `start..<start + bytes`, bytes the
    /// engine holds a rearranged copy of (`RepackedRows`) and no longer reads, so weights count
    /// once towards RSS. The bytes stay readable and unchanged: a file mapping drops the pages
    /// (read again, they fault back in from the page cache); a huge-page copy gets that part of
    /// the file mapped over it. Returns the bytes released (0 when `start` is not in a model
    /// file's mapping, e.g. bytes given to `init(bytes:)`).
    @discardableResult
    static func releasePages(_ start: UnsafeRawPointer, bytes: Int) -> Int {
        let owner = live.withLock { entries in
            entries.lazy.compactMap(\.file).first { $0.base <= start && start + bytes <= $0.base + $0.count }
        }
        return owner?.release(start, bytes: bytes) ?? 0
    }

    private func release(_ start: UnsafeRawPointer, bytes: Int) -> Int {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: start) + page - 1) / page * page
        let hi = (Int(bitPattern: start) + bytes) / page * page
        guard hi > lo, let from = UnsafeMutableRawPointer(bitPattern: lo) else { return 0 }
        switch backing {
        case .fileMapping:
            return madvise(from, hi - lo, MADV_DONTNEED) == 0 ? hi - lo : 0
        case .hugePageCopy(let fd):
            // `base` holds file offset 0 and is 2 MB aligned, so the offset is page aligned.
            let offset = off_t(lo - Int(bitPattern: base))
            let p = mmap(from, hi - lo, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, offset)
            return p == from ? hi - lo : 0
        case .anonymous:
            return 0
        }
    }

    private struct Entry: @unchecked Sendable { weak var file: MappedFile? }
    private static let live = Mutex<[Entry]>([])
    private static func register(_ file: MappedFile) {
        live.withLock { $0.removeAll { $0.file == nil }; $0.append(Entry(file: file)) }
    }
}
