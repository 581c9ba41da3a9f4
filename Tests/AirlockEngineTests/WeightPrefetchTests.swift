import Foundation
import Testing
@testable import AirlockEngine

/// Workers prefetch, during attention, the weight rows they will compute next. That plan
/// must follow the pool's real shares and queue every byte of the matrices once.
@Suite("Weight prefetch during attention")
struct WeightPrefetchTests {
    /// `share` partitions the items in worker order, gives all to worker 0 when the pool runs
    /// solo or the job is one chunk, and is where each owner's first claim in `parallelFor` starts.
    @Test(arguments: [1, 2, 3])
    func sharesMatchTheOwnersFirstClaims(_ threads: Int) {
        let pool = WorkerPool(threadCount: threads)
        for (count, chunk) in [(576, 36), (48, 3), (301, 4), (10, 16), (7, 1)] {
            let shares = (0..<threads).map { pool.share(count: count, chunk: chunk, worker: $0) }
            if count <= chunk || threads == 1 {
                // One chunk (or one thread): the job runs on the calling thread.
                #expect(shares[0] == 0..<count && shares.dropFirst().allSatisfy(\.isEmpty))
            } else {
                #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == count, "\(count)/\(chunk)")
                for w in 1..<threads { #expect(shares[w - 1].upperBound == shares[w].lowerBound) }
            }
            let firsts = FirstClaims(workers: threads)
            pool.parallelFor(count: count, chunk: chunk) { range, worker in firsts.record(worker, range) }
            // A job of one chunk, or on one thread, runs on the submitter from the start. Otherwise
            // any worker (the submitter included: on a busy machine the helpers can take its whole
            // share before it is scheduled) may start elsewhere, inside another share, but never
            // in the middle of its own.
            if count <= chunk || threads == 1 { #expect(firsts.first(0)?.lowerBound == 0) }
            for w in 0..<threads {
                if let f = firsts.first(w), shares[w].contains(f.lowerBound) {
                    #expect(f.lowerBound == shares[w].lowerBound, "worker \(w), \(count)/\(chunk)")
                }
            }
        }
        pool.runsSolo = true
        #expect(pool.share(count: 576, chunk: 36, worker: 0) == 0..<576)
        if threads > 1 { #expect(pool.share(count: 576, chunk: 36, worker: 1).isEmpty) }
        pool.runsSolo = false
    }

    /// The queue hands out its ranges in order, a cache line at a time from the first one's
    /// line, skips to the next range when one is used up, stops when all are, and ignores
    /// ranges beyond its capacity.
    @Test func queueWalksRangesInOrder() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8192, alignment: 64)
        defer { buffer.deallocate() }
        let base = Int(bitPattern: buffer)
        let p = WeightPrefetch(workers: 2)
        p.append(worker: 1, buffer + 70, bytes: 100)      // lines 64 and 128
        p.append(worker: 1, buffer + 1024, bytes: 64)     // line 1024
        for _ in 0..<10 { p.append(worker: 1, buffer + 4096, bytes: 64) }
        #expect(p.queue(worker: 1).ranges.count == WeightPrefetch.maxRanges)
        #expect(p.queue(worker: 1).ranges.first == (base + 64)..<(base + 170))
        p.step(1, lines: 1)
        #expect(p.queue(worker: 1).cursor == base + 128)
        p.step(1, lines: 1)
        #expect(p.queue(worker: 1).cursor == base + 192)
        p.step(1, lines: 1)
        #expect(p.queue(worker: 1).cursor == base + 1088)
        p.step(1, lines: 100)
        #expect(p.queue(worker: 1).cursor == base + 4096 + 64)
        #expect(p.queue(worker: 0).ranges.isEmpty)
        p.clear()
        #expect(p.queue(worker: 1).ranges.isEmpty)
        p.step(1, lines: 4)  // nothing queued: nothing to do
    }

    /// `MatMul.planPrefetch` queues each worker's rows as `MatMul.run` shares them, from the
    /// copy the decode kernels read (the repacked one when there is one): together, every
    /// byte of the matrix once.
    @Test(arguments: [1, 2])
    func matmulPlanCoversTheMatrixOnce(_ threads: Int) {
        let rows = 576, cols = 576
        let (w, _, _) = DecodeKernelTests.randomInputs(.q4_1, cols, rows: rows, tokens: 1, seed: 5)
        let pool = WorkerPool(threadCount: threads)
        w.withUnsafeBytes { wb in
            let m = WeightMatrix(repacking: WeightMatrix(type: .q4_1, data: wb.baseAddress!, rows: rows, cols: cols))
            let p = WeightPrefetch(workers: threads)
            MatMul.planPrefetch(m, pool: pool, into: p)
            let start = Int(bitPattern: m.decodeRow(0))
            var covered = 0
            for worker in 0..<threads {
                let chunk = MatMul.chunkRows(total: rows, bytesPerRow: m.rowBytes, threads: threads)!
                let share = pool.share(count: rows, chunk: chunk, worker: worker)
                let ranges = p.queue(worker: worker).ranges
                #expect(ranges.count == 1)
                #expect(ranges[0].upperBound == start + share.upperBound * m.rowBytes)
                #expect(ranges[0].lowerBound == (start + share.lowerBound * m.rowBytes) & ~63)
                covered += share.count * m.rowBytes
            }
            #expect(covered == rows * m.rowBytes)
        }
    }
}

/// The first range each worker ran in a job (tests only).
private final class FirstClaims: @unchecked Sendable {
    private var firsts: [Range<Int>?]
    private let lock = NSLock()
    init(workers: Int) { firsts = Array(repeating: nil, count: workers) }
    func record(_ worker: Int, _ range: Range<Int>) {
        lock.lock()
        if firsts[worker] == nil { firsts[worker] = range }
        lock.unlock()
    }
    func first(_ worker: Int) -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        return firsts[worker]
    }
}
