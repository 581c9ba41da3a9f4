import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The forward pass over a batch of rows that may belong to different sequences
/// (continuous batching): every matmul covers all rows, so the weights are read once per
/// step however many streams are active; attention is per row against its own KV cache.
extension LlamaModel {
    /// Runs `rows` (at most `maxBatch`) and writes logits, one `vocabSize` row per row that
    /// wants them, in order, into `logits`. Returns the number of logit rows written.
    @discardableResult
    func forward(_ rows: [Row], logits: UnsafeMutablePointer<Float>) -> Int {
        precondition(!rows.isEmpty && rows.count <= maxBatch)
        let c = config, s = scratch
        let n = rows.count
        // Decode steps (few rows, memory-bound) may run on this thread alone when that is
        // faster (a busy machine); prompt chunks always use the pool.
        let tuned = pool.threadCount > 1 && n <= Self.fusedFFNMaxRows && threadTuner.enabled
        var started: UInt64 = 0, waited: UInt64 = 0
        if tuned {
            pool.runsSolo = threadTuner.beginStep(rows: n)
            started = DispatchTime.now().uptimeNanoseconds
            waited = pool.longWaitNanoseconds
        }
        defer {
            if tuned {
                threadTuner.endStep(nanoseconds: DispatchTime.now().uptimeNanoseconds &- started,
                                    poolWaitNanoseconds: pool.longWaitNanoseconds &- waited)
                pool.runsSolo = false
            }
        }
        let e = c.embeddingLength

        for (i, row) in rows.enumerated() {
            tokenEmbedding.dequantizeRow(Int(row.token), into: s.x + i * e)
            c.rope.table(position: row.position, ropeDims: c.ropeDims, base: c.ropeBase, into: s.ropeTables + i * c.ropeDims)
        }

        for (li, layer) in layers.enumerated() { runBlock(layer, rows, cacheLayer: li) }
        return finishRows(rows, norm: outputNorm, head: output, logits: logits)
    }

    /// One transformer block over the rows' residual streams in `scratch.x`: attention, on
    /// layer `cacheLayer` of each row's cache, then the feed-forward, each added back.
    func runBlock(_ layer: Layer, _ rows: [Row], cacheLayer: Int) {
        let c = config, s = scratch, n = rows.count, e = c.embeddingLength
        for i in 0..<n { VectorOps.rmsNorm(s.x + i * e, layer.attnNorm, e, c.rmsEpsilon, s.xb + i * e) }
        switch layer.attention {
        case .standard(let a): standardAttention(rows, layer: cacheLayer, a)
        case .latent(let a): latentAttention(rows, layer: cacheLayer, a)
        }
        VectorOps.add(s.x, s.xb2, n * e)

        for i in 0..<n { VectorOps.rmsNorm(s.x + i * e, layer.ffnNorm, e, c.rmsEpsilon, s.xb + i * e) }
        switch layer.ffn {
        case .dense(let f): denseFFN(f, n: n, out: s.xb2)
        case .experts(let f): expertFFN(f, n: n)
        }
        VectorOps.add(s.x, s.xb2, n * e)
    }

    /// After the blocks: counts the rows' positions as cached, then `norm` and `head` for the
    /// rows that want logits only, one `vocabSize` row each into `logits`; returns how many.
    func finishRows(_ rows: [Row], norm: UnsafeMutablePointer<Float>, head: WeightMatrix,
                    logits: UnsafeMutablePointer<Float>) -> Int {
        let c = config, s = scratch, e = c.embeddingLength
        for row in rows where row.position + 1 > row.cache.length {
            row.cache.length = row.position + 1
        }
        var m = 0
        for (i, row) in rows.enumerated() where row.wantsLogits {
            VectorOps.rmsNorm(s.x + i * e, norm, e, c.rmsEpsilon, s.xb + m * e)
            m += 1
        }
        guard m > 0 else { return 0 }
        matmul([.init(weights: head, out: logits, outStride: c.vocabSize)], x: s.xb, xStride: e, n: m)
        return m
    }

    /// Matrices that all read the same `n` input rows of `x` (width = their column count),
    /// quantising the rows first when any of them is quantized.
    func matmul(_ targets: [MatMul.Target], x: UnsafePointer<Float>, xStride: Int, n: Int) {
        let width = targets[0].weights.cols
        var acts = scratch.actsEmbd
        if targets.contains(where: { $0.weights.type.isQuantized }) {
            acts = scratch.activations(width: width)
            acts.quantize(x, count: n, stride: xStride)
        }
        MatMul.run(pool: pool, targets: targets, x: x, xStride: xStride, acts: acts, n: n)
    }

    /// gate/up → SwiGLU → down for `n` rows of `s.xb`, into `out`.
    func denseFFN(_ f: DenseFFN, n: Int, out: UnsafeMutablePointer<Float>) {
        let s = scratch, e = config.embeddingLength, ff = f.gate.rows
        if n <= Self.fusedFFNMaxRows && ff % 32 == 0 && ff == s.actsFF.rowLength
            && f.gate.type.isQuantized && f.up.type.isQuantized && f.down.type.isQuantized {
            fusedGateUp(f, n: n)
            MatMul.run(pool: pool, targets: [.init(weights: f.down, out: out, outStride: e)],
                       x: s.gate, xStride: ff, acts: s.actsFF, n: n)
            return
        }
        matmul([.init(weights: f.gate, out: s.gate, outStride: ff), .init(weights: f.up, out: s.up, outStride: ff)],
               x: s.xb, xStride: e, n: n)
        // SwiGLU and quantisation of the wide activations, spread over the pool.
        let quantized = f.down.type.isQuantized
        let acts = quantized ? (ff == s.actsFF.rowLength ? s.actsFF : s.activations(width: ff)) : s.actsEmbd
        swiGLU(gate: s.gate, up: s.up, rows: n, width: ff, acts: quantized ? acts : nil)
        MatMul.run(pool: pool, targets: [.init(weights: f.down, out: out, outStride: e)],
                   x: s.gate, xStride: ff, acts: acts, n: n)
    }

    /// Up to this many rows (decode steps), gate/up and SwiGLU run as one pool job.
    static let fusedFFNMaxRows = 8

    /// gate/up → SwiGLU → quantized down-projection input, for `n` rows of `s.xb`, in one
    /// pool job: each claim computes 32 gate and 32 up rows (one activation block) for every
    /// token, applies SwiGLU to them and quantizes that block into `s.actsFF`. A decode step
    /// saves a pool hand-off per layer and the serial SwiGLU; the numbers are the same as the
    /// unfused path's (same kernels per row, same per-block SwiGLU and quantization).
    func fusedGateUp(_ f: DenseFFN, n: Int) {
        let s = scratch, e = config.embeddingLength, ff = f.gate.rows
        let acts = scratch.activations(width: e)
        acts.quantize(s.xb, count: n, stride: e)
        let gate = MatMul.Target(weights: f.gate, out: s.gate, outStride: ff)
        let up = MatMul.Target(weights: f.up, out: s.up, outStride: ff)
        let ffActs = s.actsFF
        ffActs.prepare(rows: n)
        let x = UnsafePointer(s.xb)
        let blocks = ff / 32, chunk = fusedGateUpChunk(blocks)
        pool.parallelFor(count: blocks, chunk: chunk) { range, _ in
            let rows = (range.lowerBound * 32)..<(range.upperBound * 32)
            MatMul.rows(gate, rows, x, e, acts, n)
            MatMul.rows(up, rows, x, e, acts, n)
            for r in 0..<n {
                let g = s.gate + r * ff, u = s.up + r * ff
                for b in range {
                    VectorOps.swiGLU(g + b * 32, u + b * 32, 32)
                    ffActs.quantizeBlock(g, row: r, block: b)
                }
            }
        }
    }

    /// Blocks of 32 rows per claim in `fusedGateUp`: ~8 claims per worker (one block is 32
    /// rows of each matrix, 23 KB of Q4_1 at 576 columns).
    func fusedGateUpChunk(_ blocks: Int) -> Int { max(1, blocks / (pool.threadCount * 8)) }

    /// Queues the weights of the attention output projection `o` and of layer `li`'s fused
    /// gate/up that each worker will read, for the attention loops to prefetch (`WeightPrefetch`).
    /// In `fusedGateUp` an owner's first claim is half its share: gate then up rows of it.
    func planPrefetch(layer li: Int, o: WeightMatrix) {
        let p = scratch.prefetch
        p.clear()
        MatMul.planPrefetch(o, pool: pool, into: p)
        guard case .dense(let f) = layers[li].ffn, f.gate.rows % 32 == 0, f.gate.rows == scratch.actsFF.rowLength,
              f.gate.type.isQuantized, f.up.type.isQuantized, f.down.type.isQuantized else { return }
        let blocks = f.gate.rows / 32, chunk = fusedGateUpChunk(blocks)
        for w in 0..<p.workers {
            let share = pool.share(count: blocks, chunk: chunk, worker: w)
            guard !share.isEmpty else { continue }
            let chunks = (share.count + chunk - 1) / chunk
            let split = min(share.upperBound, share.lowerBound + max(1, chunks / 2) * chunk)
            for part in [share.lowerBound..<split, split..<share.upperBound] where !part.isEmpty {
                p.append(worker: w, f.gate.decodeRow(part.lowerBound * 32), bytes: part.count * 32 * f.gate.rowBytes)
                p.append(worker: w, f.up.decodeRow(part.lowerBound * 32), bytes: part.count * 32 * f.up.rowBytes)
            }
        }
    }

    /// gate ← silu(gate)·up over `rows` rows of `width`, optionally quantising each block.
    func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, rows: Int, width: Int,
                acts: QuantizedActivations?) {
        let blocks = (width + 31) / 32
        acts?.prepare(rows: rows)
        // At least ~512 values per claim: a decode step's small SwiGLUs stay on this thread.
        pool.parallelFor(count: rows * blocks, chunk: max(8, 16 / max(1, rows))) { range, _ in
            for job in range {
                let r = job / blocks, b = job % blocks
                let len = min(32, width - b * 32)
                VectorOps.swiGLU(gate + r * width + b * 32, up + r * width + b * 32, len)
                acts?.quantizeBlock(gate + r * width, row: r, block: b)
            }
        }
    }
}

extension GGMLType {
    /// Whether matmuls with this type consume int8-quantized activations.
    var isQuantized: Bool { self != .f32 && self != .f16 && self != .bf16 }
}
