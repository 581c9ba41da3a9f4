import Foundation

/// Measures sustained read bandwidth with the engine's own worker pool, to put decode speed
/// in context: decoding one token streams every weight once, so bandwidth ÷ weight bytes
/// is the ceiling for single-stream decode.
public enum MemoryBandwidth {
    /// Bytes per second reading a buffer far larger than the caches (best of `passes`).
    public static func measure(threads: Int, megabytes: Int = 512, passes: Int = 4) -> Double {
        let count = megabytes << 20 / 32
        let buffer = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: SIMD8<Float>(repeating: 1), count: count)
        let pool = WorkerPool(threadCount: threads)
        let sink = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: threads * 8)
        defer { sink.deallocate() }
        var best = Double.infinity
        for _ in 0..<passes {
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
        return Double(count * 32) / best
    }
}
