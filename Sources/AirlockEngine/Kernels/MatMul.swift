/// Multi-threaded matrix × activations: `out[t][o] = W[o] · x[t]` for every token row t.
///
/// Work is split over output rows (each worker streams its own slice of the weights) and
/// every weight row is applied to all token rows four at a time, so a batch of n tokens
/// reads the weights once instead of n times. Several matrices that consume the same input
/// (Q/K/V, gate/up) go in one job to halve the number of pool wake-ups.
public enum MatMul {
    /// One weight matrix and where its results go: `out + t * outStride + o`.
    public struct Target: @unchecked Sendable {
        // Scratch pointers owned by the forward pass for the duration of the call.
        public let weights: WeightMatrix
        public let out: UnsafeMutablePointer<Float>
        public let outStride: Int
        /// Own input rows instead of the call's: rows `firstRow..<firstRow + n` of `x`
        /// (stride `xStride`) and of `acts`. Lets one call run experts or heads that each
        /// see different tokens.
        let input: Input?

        public init(weights: WeightMatrix, out: UnsafeMutablePointer<Float>, outStride: Int) {
            self.weights = weights
            self.out = out
            self.outStride = outStride
            self.input = nil
        }

        init(weights: WeightMatrix, out: UnsafeMutablePointer<Float>, outStride: Int, input: Input) {
            self.weights = weights
            self.out = out
            self.outStride = outStride
            self.input = input
        }
    }

    struct Input: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let xStride: Int
        let acts: QuantizedActivations
        let firstRow: Int
        let n: Int
    }

    /// `x` holds `n` float rows (stride `xStride`) of the common input width; `acts` must be
    /// their quantized form when any target is quantized.
    public static func run(pool: WorkerPool, targets: [Target], x: UnsafePointer<Float>, xStride: Int,
                           acts: QuantizedActivations, n: Int) {
        guard n > 0 || targets.contains(where: { $0.input != nil }) else { return }
        var starts: [Int] = []
        starts.reserveCapacity(targets.count)
        var total = 0
        var bytesPerRow = 1
        for t in targets {
            starts.append(total)
            total += t.weights.rows
            bytesPerRow = max(bytesPerRow, t.weights.rowBytes)
        }
        guard let chunk = chunkRows(total: total, bytesPerRow: bytesPerRow, threads: pool.threadCount) else {
            for t in targets { rows(t, 0..<t.weights.rows, x, xStride, acts, n) }
            return
        }
        targets.withUnsafeBufferPointer { tbuf in
            starts.withUnsafeBufferPointer { sbuf in
                pool.parallelFor(count: total, chunk: chunk) { range, _ in
                    var lo = range.lowerBound
                    var ti = 0
                    while ti + 1 < sbuf.count && sbuf[ti + 1] <= lo { ti += 1 }
                    while lo < range.upperBound {
                        // Read in place, not copied out: a copy would retain the matrix's
                        // repacked copy, a reference count both workers would bounce.
                        let end = min(range.upperBound, sbuf[ti] + tbuf[ti].weights.rows)
                        rows(tbuf[ti], (lo - sbuf[ti])..<(end - sbuf[ti]), x, xStride, acts, n)
                        lo = end
                        ti += 1
                    }
                }
            }
        }
    }

    /// Rows per pool chunk for `total` rows of `bytesPerRow` bytes, or nil when the job runs
    /// on the calling thread.
    static func chunkRows(total: Int, bytesPerRow: Int, threads: Int) -> Int? {
        // Tiny jobs (an MoE router) cost less on the calling thread than a pool wake-up.
        if total * bytesPerRow <= 32_768 { return nil }
        // Row chunks sized so each claim covers ~32 KB of weights: small enough to balance,
        // large enough that the atomic claim is noise; at least ~8 claims per worker so one
        // slow claim cannot unbalance a small matrix.
        let balanced = total / (threads * 8)
        return max(4, min(256, 32_768 / bytesPerRow, balanced)) & ~3
    }

    /// Queues, for every worker, the rows of `w` it will compute when `w` runs alone in
    /// `run` (its share before stealing).
    static func planPrefetch(_ w: WeightMatrix, pool: WorkerPool, into prefetch: WeightPrefetch) {
        let total = w.rows
        guard let chunk = chunkRows(total: total, bytesPerRow: w.rowBytes, threads: pool.threadCount) else {
            prefetch.append(worker: 0, w.decodeRow(0), bytes: total * w.rowBytes)
            return
        }
        for worker in 0..<prefetch.workers {
            let r = pool.share(count: total, chunk: chunk, worker: worker)
            if !r.isEmpty { prefetch.append(worker: worker, w.decodeRow(r.lowerBound), bytes: r.count * w.rowBytes) }
        }
    }

    @inline(__always)
    static func rows(_ t: Target, _ range: Range<Int>, _ x: UnsafePointer<Float>, _ xStride: Int,
                     _ acts: QuantizedActivations, _ n: Int) {
        let w = t.weights
        let (x, xStride, acts, first, n) = t.input.map { ($0.x, $0.xStride, $0.acts, $0.firstRow, $0.n) }
            ?? (x, xStride, acts, 0, n)
        guard n > 0 else { return }
        #if AIRLOCK_X86_AVX2
        // A repacked matrix (Q4_1, VNNI): the four-row kernel over the run, once per token. For
        // several tokens (a prompt, a batch, a speculative check) this chunk's weights stay in
        // L1/L2 from one token to the next, every token's results are the decode step's bit for
        // bit, and the original rows, whose pages were handed back, are never read.
        if !range.isEmpty, let p = w.repackedBase {
            for tok in 0..<n {
                QuantizedDot.decodeRows(w, repacked: p, rows: w.repackedRows, range, acts, first + tok,
                                        t.out + tok * t.outStride + range.lowerBound)
            }
            return
        }
        // Other types with a row-run kernel (Q8_0, Q4_0, Q4_1 not repacked): the same, once per
        // token, so a 2-row speculative check costs about one decode step and gives its bits.
        // One token's outputs are contiguous.
        if !range.isEmpty {
            var tok = 0
            while tok < n, QuantizedDot.decodeRows(w.type, w.row(range.lowerBound), rowBytes: w.rowBytes, count: range.count,
                                                    w.cols, acts, first + tok, t.out + tok * t.outStride + range.lowerBound) {
                tok += 1
            }
            if tok == n { return }
        }
        #endif
        var tmp = (Float(0), Float(0), Float(0), Float(0))
        withUnsafeMutableBytes(of: &tmp) { raw in
            let buf = raw.baseAddress!.assumingMemoryBound(to: Float.self)
            for o in range {
                let wr = w.row(o)
                var tok = 0
                while tok < n {
                    let c = min(4, n - tok)
                    QuantizedDot.rowDot(w.type, wr, w.cols, acts, x, xStride, first + tok, c, buf)
                    for i in 0..<c { t.out[(tok + i) * t.outStride + o] = buf[i] }
                    tok += c
                }
            }
        }
    }
}
