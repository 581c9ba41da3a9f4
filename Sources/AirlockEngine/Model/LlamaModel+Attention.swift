#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Attention blocks: standard grouped-query attention and DeepSeek's latent attention.
/// Both write the block's output projection into `scratch.xb2` from the normed input in
/// `scratch.xb`. Queries and cached keys meet in fp16, as in the reference.
extension LlamaModel {
    /// Where one causal attention reads its queries, keys and values and writes its outputs.
    struct AttentionPlan {
        var q: UnsafeMutablePointer<Float>
        var qRowStride: Int
        var qHeadStride: Int
        /// Elements of each query·key dot product.
        var dotLength: Int
        /// Offset of KV head j's key in a cached key row (0 for MLA: one shared key).
        var keyHeadStride: Int
        /// Query heads per KV head.
        var group: Int
        /// Read values from the key cache (absorbed MLA: the latent is the value).
        var valuesFromKeys: Bool
        var valueHeadStride: Int
        var valueLength: Int
        var out: UnsafeMutablePointer<Float>
        var outRowStride: Int
        var outHeadStride: Int
        var scale: Float
    }

    func standardAttention(_ rows: [Row], layer li: Int, _ a: StandardAttention) {
        let c = config, s = scratch
        let n = rows.count, e = c.embeddingLength
        let hd = c.headDim, qDim = c.headCount * hd, kvDim = c.headCountKV * hd
        matmul([.init(weights: a.q, out: s.q, outStride: qDim),
                .init(weights: a.k, out: s.k, outStride: kvDim),
                .init(weights: a.v, out: s.v, outStride: kvDim)], x: s.xb, xStride: e, n: n)
        for (i, row) in rows.enumerated() {
            let q = s.q + i * qDim, k = s.k + i * kvDim, v = s.v + i * kvDim
            if let b = a.qBias { VectorOps.add(q, b, qDim) }
            if let b = a.kBias { VectorOps.add(k, b, kvDim) }
            if let b = a.vBias { VectorOps.add(v, b, kvDim) }
            if let w = a.qNorm { for h in 0..<c.headCount { VectorOps.rmsNorm(q + h * hd, w, hd, c.rmsEpsilon, q + h * hd) } }
            if let w = a.kNorm { for h in 0..<c.headCountKV { VectorOps.rmsNorm(k + h * hd, w, hd, c.rmsEpsilon, k + h * hd) } }
            let table = s.ropeTables + i * c.ropeDims
            c.rope.apply(q, heads: c.headCount, stride: hd, ropeDims: c.ropeDims, cosSin: table)
            c.rope.apply(k, heads: c.headCountKV, stride: hd, ropeDims: c.ropeDims, cosSin: table)
            // The cache is fp16 and q meets it in fp16, as in the reference.
            VectorOps.floatToHalf(k, row.cache.key(layer: li, position: row.position), kvDim)
            VectorOps.floatToHalf(v, row.cache.value(layer: li, position: row.position), kvDim)
            for j in 0..<qDim { q[j] = HalfFloat.roundToF16(q[j]) }
        }
        let vDim = c.headCount * c.valueHeadDim
        if n <= Self.fusedFFNMaxRows { planPrefetch(layer: li, o: a.o) }
        attend(rows, layer: li, AttentionPlan(
            q: s.q, qRowStride: qDim, qHeadStride: hd, dotLength: hd, keyHeadStride: hd,
            group: c.headCount / c.headCountKV, valuesFromKeys: false, valueHeadStride: c.valueHeadDim,
            valueLength: c.valueHeadDim, out: s.attn, outRowStride: vDim, outHeadStride: c.valueHeadDim,
            scale: c.attentionScale))
        matmul([.init(weights: a.o, out: s.xb2, outStride: e)], x: s.attn, xStride: vDim, n: n)
    }

    func latentAttention(_ rows: [Row], layer li: Int, _ a: LatentAttention) {
        let c = config, s = scratch, m = c.mla!
        let n = rows.count, e = c.embeddingLength, h = c.headCount
        let kq = m.keyHeadDim, lat = m.kvLoraRank, rd = m.ropeDims
        let qDim = h * kq, kvA = lat + rd

        // Queries (through the q-LoRA when present) and the compressed key/value.
        if let qA = a.qA {
            matmul([.init(weights: qA, out: s.qa, outStride: m.qLoraRank),
                    .init(weights: a.kvA, out: s.k, outStride: kvA)], x: s.xb, xStride: e, n: n)
            for i in 0..<n { VectorOps.rmsNorm(s.qa + i * m.qLoraRank, a.qANorm!, m.qLoraRank, c.rmsEpsilon, s.qa + i * m.qLoraRank) }
            matmul([.init(weights: a.q, out: s.q, outStride: qDim)], x: s.qa, xStride: m.qLoraRank, n: n)
        } else {
            matmul([.init(weights: a.q, out: s.q, outStride: qDim),
                    .init(weights: a.kvA, out: s.k, outStride: kvA)], x: s.xb, xStride: e, n: n)
        }
        for i in 0..<n {
            let table = s.ropeTables + i * c.ropeDims
            c.rope.apply(s.q + i * qDim + m.nopeDims, heads: h, stride: kq, ropeDims: rd, cosSin: table)
            c.rope.apply(s.k + i * kvA + lat, heads: 1, stride: kvA, ropeDims: rd, cosSin: table)
            VectorOps.rmsNorm(s.k + i * kvA, a.kvANorm, lat, c.rmsEpsilon, s.k + i * kvA)
        }

        if m.absorbed {
            // Fold attn_k_b into the queries: per head, latent-space query = k_b · q_nope.
            // q_nope is copied head-major so each head's rows are contiguous.
            for hh in 0..<h {
                for i in 0..<n {
                    (s.headInput + (hh * n + i) * m.nopeDims).update(from: s.q + i * qDim + hh * kq, count: m.nopeDims)
                }
            }
            let kbActs = perHeadActivations(a.kB[0], s.headInput, width: m.nopeDims, rows: n * h)
            let qaw = lat + rd
            MatMul.run(pool: pool, targets: (0..<h).map { hh in
                .init(weights: a.kB[hh], out: s.qAbsorbed + hh * qaw, outStride: h * qaw,
                      input: .init(x: s.headInput, xStride: m.nopeDims, acts: kbActs, firstRow: hh * n, n: n))
            }, x: s.headInput, xStride: m.nopeDims, acts: kbActs, n: 0)
            for (i, row) in rows.enumerated() {
                let qa = s.qAbsorbed + i * h * qaw
                for hh in 0..<h {
                    (qa + hh * qaw + lat).update(from: s.q + i * qDim + hh * kq + m.nopeDims, count: rd)
                }
                for j in 0..<h * qaw { qa[j] = HalfFloat.roundToF16(qa[j]) }
                VectorOps.floatToHalf(s.k + i * kvA, row.cache.key(layer: li, position: row.position), kvA)
            }
            // Latent outputs head-major ([head][row][lat]) for the per-head value projection.
            attend(rows, layer: li, AttentionPlan(
                q: s.qAbsorbed, qRowStride: h * qaw, qHeadStride: qaw, dotLength: qaw, keyHeadStride: 0,
                group: h, valuesFromKeys: true, valueHeadStride: 0, valueLength: lat,
                out: s.latent, outRowStride: lat, outHeadStride: n * lat, scale: c.attentionScale))
            let vbActs = perHeadActivations(a.vB[0], s.latent, width: lat, rows: n * h)
            let vd = m.valueHeadDim
            MatMul.run(pool: pool, targets: (0..<h).map { hh in
                .init(weights: a.vB[hh], out: s.attn + hh * vd, outStride: h * vd,
                      input: .init(x: s.latent, xStride: lat, acts: vbActs, firstRow: hh * n, n: n))
            }, x: s.latent, xStride: lat, acts: vbActs, n: 0)
        } else {
            // Decompress per-head keys and values from the latent (attn_kv_b).
            let kvb = a.kvB!, per = m.nopeDims + m.valueHeadDim
            matmul([.init(weights: kvb, out: s.v, outStride: h * per)], x: s.k, xStride: kvA, n: n)
            let kWidth = h * kq, vWidth = h * m.valueHeadDim
            for (i, row) in rows.enumerated() {
                let key = row.cache.key(layer: li, position: row.position)
                let value = row.cache.value(layer: li, position: row.position)
                let src = s.v + i * h * per, kpe = s.k + i * kvA + lat
                for hh in 0..<h {
                    VectorOps.floatToHalf(src + hh * per, key + hh * kq, m.nopeDims)
                    VectorOps.floatToHalf(kpe, key + hh * kq + m.nopeDims, rd)
                    VectorOps.floatToHalf(src + hh * per + m.nopeDims, value + hh * m.valueHeadDim, m.valueHeadDim)
                }
                let q = s.q + i * qDim
                for j in 0..<kWidth { q[j] = HalfFloat.roundToF16(q[j]) }
            }
            attend(rows, layer: li, AttentionPlan(
                q: s.q, qRowStride: qDim, qHeadStride: kq, dotLength: kq, keyHeadStride: kq,
                group: 1, valuesFromKeys: false, valueHeadStride: m.valueHeadDim, valueLength: m.valueHeadDim,
                out: s.attn, outRowStride: vWidth, outHeadStride: m.valueHeadDim, scale: c.attentionScale))
        }
        matmul([.init(weights: a.o, out: s.xb2, outStride: e)], x: s.attn, xStride: h * m.valueHeadDim, n: n)
    }

    /// Quantizes `rows` contiguous rows of `width` when `w` needs int8 activations.
    private func perHeadActivations(_ w: WeightMatrix, _ x: UnsafePointer<Float>, width: Int, rows: Int) -> QuantizedActivations {
        guard w.type.isQuantized else { return scratch.actsEmbd }
        let acts = scratch.activations(width: width)
        acts.quantize(x, count: rows, stride: width)
        return acts
    }

    /// Causal attention of every (row, head) pair against the row's own cache, in parallel.
    func attend(_ rows: [Row], layer: Int, _ p: AttentionPlan) {
        #if AIRLOCK_X86_AVX2
        if p.group > 1 && p.valueLength == 64 && !p.valuesFromKeys && p.dotLength % 8 == 0 {
            attendGrouped(rows, layer: layer, p)
            return
        }
        #endif
        let s = scratch
        let heads = config.headCount
        rows.withUnsafeBufferPointer { rbuf in
            pool.parallelFor(count: rbuf.count * heads, chunk: 1) { range, worker in
                let scores = s.scores + worker * s.scoresPerWorker
                for pair in range {
                    let i = pair / heads, h = pair % heads
                    let row = rbuf[i]
                    let kvHead = h / p.group
                    let keyOffset = kvHead * p.keyHeadStride
                    let valueOffset = kvHead * p.valueHeadStride
                    let q = p.q + i * p.qRowStride + h * p.qHeadStride
                    let out = p.out + i * p.outRowStride + h * p.outHeadStride
                    let count = row.position + 1
                    var maxScore = -Float.infinity
                    var t = 0
                    while t + 4 <= count {
                        // The cache is evicted by each step's weight stream: ask for later keys early.
                        for j in 8..<12 { VectorOps.prefetch(row.cache.key(layer: layer, position: t + j) + keyOffset, bytes: p.dotLength * 2) }
                        let sc = VectorOps.dotHalf4(q, row.cache.key(layer: layer, position: t) + keyOffset,
                                                    row.cache.key(layer: layer, position: t + 1) + keyOffset,
                                                    row.cache.key(layer: layer, position: t + 2) + keyOffset,
                                                    row.cache.key(layer: layer, position: t + 3) + keyOffset, p.dotLength) * p.scale
                        for j in 0..<4 {
                            scores[t + j] = sc[j]
                            maxScore = max(maxScore, sc[j])
                        }
                        t += 4
                    }
                    while t < count {
                        let sc = VectorOps.dotHalf(q, row.cache.key(layer: layer, position: t) + keyOffset, p.dotLength) * p.scale
                        scores[t] = sc
                        maxScore = max(maxScore, sc)
                        t += 1
                    }
                    var sum: Double = 0
                    for t in 0..<count {
                        let ex = expf(scores[t] - maxScore)
                        scores[t] = ex
                        sum += Double(ex)
                    }
                    let inv = Float(1 / sum)
                    if p.valueLength == 64 && !p.valuesFromKeys {
                        // Standard heads: the 64 outputs stay in registers across positions.
                        VectorOps.weightedSumHalf64(scores, inv, count, row.cache.value(layer: layer, position: 0) + valueOffset,
                                                    stride: row.cache.valueWidth, out)
                        continue
                    }
                    out.update(repeating: 0, count: p.valueLength)
                    for t in 0..<count {
                        let w = HalfFloat.roundToF16(scores[t] * inv)
                        let v = p.valuesFromKeys ? row.cache.key(layer: layer, position: t) : row.cache.value(layer: layer, position: t) + valueOffset
                        VectorOps.axpyHalf(w, v, out, p.valueLength)
                    }
                }
            }
        }
    }

    #if AIRLOCK_X86_AVX2
    /// `attend` for standard grouped-query heads: the query heads of one KV head run together
    /// (`GroupedAttention`, up to three at a time) so each cached key and value is converted
    /// once for all of them. A decode step has few KV heads (SmolLM2: 3 of 3 queries each), so
    /// groups are halved when whole groups would not spread evenly over the pool. Same numbers
    /// as the one-head loop, bit for bit.
    func attendGrouped(_ rows: [Row], layer: Int, _ p: AttentionPlan) {
        let s = scratch
        let kvHeads = config.headCount / p.group
        let spread = pool.threadCount == 1 || pool.runsSolo || rows.count * kvHeads >= 4 * pool.threadCount
        let sub = min(GroupedAttention.maxHeads, spread ? p.group : (p.group + 1) / 2)
        let parts = (p.group + sub - 1) / sub
        rows.withUnsafeBufferPointer { rbuf in
            pool.parallelFor(count: rbuf.count * kvHeads * parts, chunk: 1) { range, worker in
                let scores = s.scores + worker * s.scoresPerWorker
                let stride = s.scoresPerWorker / GroupedAttention.maxHeads
                for unit in range {
                    let i = unit / (kvHeads * parts), kvHead = unit / parts % kvHeads, part = unit % parts
                    let h0 = kvHead * p.group + part * sub
                    let m = min(sub, p.group - part * sub)
                    let row = rbuf[i]
                    let count = row.position + 1
                    let maxes = GroupedAttention.scores(
                        m, q: p.q + i * p.qRowStride + h0 * p.qHeadStride, qHeadStride: p.qHeadStride,
                        keys: row.cache.key(layer: layer, position: 0) + kvHead * p.keyHeadStride, keyStride: row.cache.keyWidth,
                        count: count, n: p.dotLength, scale: p.scale, into: scores, stride: stride,
                        prefetch: s.prefetch, worker: worker)
                    var inv = SIMD4<Float>(repeating: 0)
                    for h in 0..<m {
                        let sc = scores + h * stride
                        var sum: Double = 0
                        for t in 0..<count {
                            let ex = expf(sc[t] - maxes[h])
                            sc[t] = ex
                            sum += Double(ex)
                        }
                        inv[h] = Float(1 / sum)
                    }
                    GroupedAttention.weightedSum64(
                        m, weights: scores, stride: stride, inv: inv, count: count,
                        values: row.cache.value(layer: layer, position: 0) + kvHead * p.valueHeadStride,
                        valueStride: row.cache.valueWidth,
                        out: p.out + i * p.outRowStride + h0 * p.outHeadStride, outStride: p.outHeadStride,
                        prefetch: s.prefetch, worker: worker)
                }
            }
        }
    }
    #endif
}
