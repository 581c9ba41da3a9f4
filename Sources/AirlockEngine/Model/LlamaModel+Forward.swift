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
        let e = c.embeddingLength, kvDim = c.kvDim, ff = c.feedForwardLength

        for (i, row) in rows.enumerated() {
            tokenEmbedding.dequantizeRow(Int(row.token), into: s.x + i * e)
            VectorOps.ropeTable(position: row.position, ropeDims: c.ropeDims, base: c.ropeBase,
                                into: s.ropeTables + i * c.ropeDims)
        }

        for (li, layer) in layers.enumerated() {
            // Attention block.
            for i in 0..<n { VectorOps.rmsNorm(s.x + i * e, layer.attnNorm, e, c.rmsEpsilon, s.xb + i * e) }
            s.actsEmbd.quantize(s.xb, count: n, stride: e)
            MatMul.run(pool: pool, targets: [
                .init(weights: layer.q, out: s.q, outStride: e),
                .init(weights: layer.k, out: s.k, outStride: kvDim),
                .init(weights: layer.v, out: s.v, outStride: kvDim),
            ], x: s.xb, xStride: e, acts: s.actsEmbd, n: n)
            for (i, row) in rows.enumerated() {
                let table = s.ropeTables + i * c.ropeDims
                VectorOps.rope(s.q + i * e, heads: c.headCount, headDim: c.headDim, ropeDims: c.ropeDims, cosSin: table)
                VectorOps.rope(s.k + i * kvDim, heads: c.headCountKV, headDim: c.headDim, ropeDims: c.ropeDims, cosSin: table)
                // The cache is fp16 and q meets it in fp16, as in the reference.
                VectorOps.floatToHalf(s.k + i * kvDim, row.cache.key(layer: li, position: row.position), kvDim)
                VectorOps.floatToHalf(s.v + i * kvDim, row.cache.value(layer: li, position: row.position), kvDim)
                let q = s.q + i * e
                for j in 0..<e { q[j] = HalfFloat.roundToF16(q[j]) }
            }
            attention(rows, layer: li)
            s.actsEmbd.quantize(s.attn, count: n, stride: e)
            MatMul.run(pool: pool, targets: [.init(weights: layer.o, out: s.xb2, outStride: e)],
                       x: s.attn, xStride: e, acts: s.actsEmbd, n: n)
            VectorOps.add(s.x, s.xb2, n * e)

            // Feed-forward block.
            for i in 0..<n { VectorOps.rmsNorm(s.x + i * e, layer.ffnNorm, e, c.rmsEpsilon, s.xb + i * e) }
            s.actsEmbd.quantize(s.xb, count: n, stride: e)
            MatMul.run(pool: pool, targets: [
                .init(weights: layer.gate, out: s.gate, outStride: ff),
                .init(weights: layer.up, out: s.up, outStride: ff),
            ], x: s.xb, xStride: e, acts: s.actsEmbd, n: n)
            // SwiGLU and quantisation of the 1536-wide activations, spread over the pool.
            let blocksPerRow = ff / 32
            s.actsFF.prepare(rows: n)
            pool.parallelFor(count: n * blocksPerRow, chunk: 8) { range, _ in
                for job in range {
                    let r = job / blocksPerRow, b = job % blocksPerRow
                    let g = s.gate + r * ff + b * 32
                    VectorOps.swiGLU(g, s.up + r * ff + b * 32, 32)
                    s.actsFF.quantizeBlock(s.gate + r * ff, row: r, block: b)
                }
            }
            MatMul.run(pool: pool, targets: [.init(weights: layer.down, out: s.xb2, outStride: e)],
                       x: s.gate, xStride: ff, acts: s.actsFF, n: n)
            VectorOps.add(s.x, s.xb2, n * e)
        }

        for row in rows where row.position + 1 > row.cache.length {
            row.cache.length = row.position + 1
        }

        // Output head only for rows that sample.
        var m = 0
        for (i, row) in rows.enumerated() where row.wantsLogits {
            VectorOps.rmsNorm(s.x + i * e, outputNorm, e, c.rmsEpsilon, s.xb + m * e)
            m += 1
        }
        guard m > 0 else { return 0 }
        s.actsEmbd.quantize(s.xb, count: m, stride: e)
        MatMul.run(pool: pool, targets: [.init(weights: output, out: logits, outStride: c.vocabSize)],
                   x: s.xb, xStride: e, acts: s.actsEmbd, n: m)
        return m
    }

    /// Causal attention of every (row, head) pair against the row's own cache, in parallel.
    private func attention(_ rows: [Row], layer: Int) {
        let c = config, s = scratch
        let hd = c.headDim, e = c.embeddingLength
        let group = c.headCount / c.headCountKV
        let scale = 1 / Float(hd).squareRoot()
        rows.withUnsafeBufferPointer { rbuf in
            pool.parallelFor(count: rbuf.count * c.headCount, chunk: 1) { range, worker in
                let scores = s.scores + worker * s.scoresPerWorker
                for pair in range {
                    let i = pair / c.headCount, h = pair % c.headCount
                    let row = rbuf[i]
                    let kvOffset = (h / group) * hd
                    let q = s.q + i * e + h * hd
                    let out = s.attn + i * e + h * hd
                    let count = row.position + 1
                    var maxScore = -Float.infinity
                    for p in 0..<count {
                        let sc = VectorOps.dotHalf(q, row.cache.key(layer: layer, position: p) + kvOffset, hd) * scale
                        scores[p] = sc
                        maxScore = max(maxScore, sc)
                    }
                    var sum: Double = 0
                    for p in 0..<count {
                        let ex = expf(scores[p] - maxScore)
                        scores[p] = ex
                        sum += Double(ex)
                    }
                    let inv = Float(1 / sum)
                    out.update(repeating: 0, count: hd)
                    for p in 0..<count {
                        let w = HalfFloat.roundToF16(scores[p] * inv)
                        VectorOps.axpyHalf(w, row.cache.value(layer: layer, position: p) + kvOffset, out, hd)
                    }
                }
            }
        }
    }
}
