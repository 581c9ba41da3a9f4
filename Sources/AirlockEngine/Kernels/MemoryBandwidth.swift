import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Measures sustained read bandwidth with the engine's own worker pool, to put decode speed
/// in context: decoding one token streams every weight once, so bandwidth ÷ weight bytes
/// is the ceiling for single-stream decode.
public enum MemoryBandwidth {
    /// Bytes per second reading a buffer far larger than the caches (best of `passes`, each
    /// a full read by `threads` workers in contiguous shares, as a decode matmul reads). The
    /// buffer sits on 2 MB pages when the OS has them, like the weights (`MappedFile`): on
    /// 4 KB pages the read is slower and the ceiling would be understated. The machine is
    /// shared, so single passes swing; the best of many is the steadiest ceiling.
    public static func measure(threads: Int, megabytes: Int = 512, passes: Int = 12) -> Double {
        let count = megabytes << 20 / 32
        let bytes = count * 32
        let buffer = allocate(bytes).bindMemory(to: SIMD8<Float>.self, capacity: count)
        defer { free(UnsafeMutableRawPointer(buffer), bytes) }
        buffer.initialize(repeating: SIMD8<Float>(repeating: 1), count: count)
        let pool = WorkerPool(threadCount: threads)
        let sink = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: threads * 8)
        defer { sink.deallocate() }
        sink.initialize(repeating: SIMD8<Float>(), count: threads * 8)
        var best = Double.infinity
        for _ in 0..<max(1, passes) {
            let start = DispatchTime.now().uptimeNanoseconds
            pool.parallelFor(count: count, chunk: 1 << 15) { range, worker in
                var a = SIMD8<Float>(), b = SIMD8<Float>(), c = SIMD8<Float>(), d = SIMD8<Float>()
                var i = range.lowerBound
                while i + 4 <= range.upperBound {
                    a += buffer[i]; b += buffer[i + 1]; c += buffer[i + 2]; d += buffer[i + 3]
                    i += 4
                }
                sink[worker * 8] += a + b + c + d
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(bytes) / best
    }

    private static func allocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        #if os(Linux)
        if let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED {
            _ = madvise(p, bytes, MADV_HUGEPAGE)
            return p
        }
        #endif
        return UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    private static func free(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        #if os(Linux)
        munmap(p, bytes)
        #else
        p.deallocate()
        #endif
    }
}
