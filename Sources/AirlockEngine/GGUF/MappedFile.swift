#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only, private memory map of a whole file. Weights are read straight from the
/// page cache, so they count once towards RSS no matter how many streams run.
public final class MappedFile: @unchecked Sendable {
    // Immutable after init; the mapping is never written, so sharing across threads is safe.
    public let base: UnsafeRawPointer
    public let count: Int

    public init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw EngineError.invalidFile("cannot open model file (errno \(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw EngineError.invalidFile("cannot stat model file") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw EngineError.invalidFile("model path is not a regular file") }
        let size = Int(st.st_size)
        guard size > 0 else { throw EngineError.invalidFile("model file is empty") }
        // MAP_POPULATE pre-faults the pages so the first request does not pay for them.
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0), p != MAP_FAILED else {
            throw EngineError.invalidFile("cannot memory-map model file (errno \(errno))")
        }
        base = UnsafeRawPointer(p)
        count = size
    }

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
        munmap(UnsafeMutableRawPointer(mutating: base), max(count, 1))
    }
}
