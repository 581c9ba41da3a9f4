/// The multi-token-prediction forward pass (DeepSeek-V3 §2.2): a batch of (position t,
/// main hidden state h[t], token x[t+1]) rows through one `NextNModule`, giving logits for
/// x[t+2]. The module's attention keeps its own cache (`makeNextNCache`), one row per
/// position, like a one-block model. Uses the model's scratch: call it between main
/// forward passes, after copying out any main hidden states still needed.
extension LlamaModel {
    struct DraftRow {
        /// The module's own cache (one layer).
        let cache: KVCache
        let position: Int
        /// x[t+1]: the token that follows the position whose hidden state is given.
        let token: Int32
        /// h[t]: the main model's last hidden state at `position`, before the output norm.
        let hidden: UnsafePointer<Float>
        /// Whether to compute this row's draft logits (prompt rows only fill the cache).
        let wantsLogits: Bool
    }

    /// A cache for the MTP module's attention, `capacity` positions.
    func makeNextNCache(capacity: Int) throws -> KVCache {
        try KVCache(layers: 1, keyWidth: config.cacheKeyWidth, valueWidth: config.cacheValueWidth, capacity: capacity)
    }

    /// Writes one `vocabSize` row of draft logits per row that wants them, in order, into
    /// `logits`; returns the number of rows written.
    @discardableResult
    func nextnForward(_ rows: [DraftRow], module index: Int = 0, logits: UnsafeMutablePointer<Float>) -> Int {
        precondition(!rows.isEmpty && rows.count <= maxBatch && index < nextn.count)
        let c = config, s = scratch, m = nextn[index]
        let n = rows.count, e = c.embeddingLength
        let embedding = m.embedding ?? tokenEmbedding
        for (i, row) in rows.enumerated() {
            let cat = m.concat + i * 2 * e
            embedding.dequantizeRow(Int(row.token), into: s.xb)
            VectorOps.rmsNorm(s.xb, m.embedNorm, e, c.rmsEpsilon, cat)
            VectorOps.rmsNorm(row.hidden, m.hiddenNorm, e, c.rmsEpsilon, cat + e)
            c.rope.table(position: row.position, ropeDims: c.ropeDims, base: c.ropeBase, into: s.ropeTables + i * c.ropeDims)
        }
        matmul([.init(weights: m.ehProj, out: s.x, outStride: e)], x: m.concat, xStride: 2 * e, n: n)

        // The block, as in `forward`, with layer 0 of the module's cache; the shared head
        // (or the module's own) only for the rows that want draft logits.
        let blockRows = rows.map { Row(cache: $0.cache, position: $0.position, token: $0.token, wantsLogits: $0.wantsLogits) }
        runBlock(m.block, blockRows, cacheLayer: 0)
        return finishRows(blockRows, norm: m.headNorm, head: m.head ?? output, logits: logits)
    }

    /// Bytes of weights one MTP draft reads (block, eh_proj, one embedding row, head).
    var nextnWeightBytesPerToken: Int {
        guard let m = nextn.first else { return 0 }
        func bytes(_ w: WeightMatrix) -> Int { w.rows * w.rowBytes }
        var total = bytes(m.head ?? output) + bytes(m.ehProj) + (m.embedding ?? tokenEmbedding).rowBytes
        switch m.block.attention {
        case .standard(let a): total += [a.q, a.k, a.v, a.o].map(bytes).reduce(0, +)
        case .latent(let a):
            total += [a.q, a.kvA, a.o].map(bytes).reduce(0, +) + (a.qA.map(bytes) ?? 0) + (a.kvB.map(bytes) ?? 0)
            total += (a.kB + a.vB).map(bytes).reduce(0, +)
        }
        switch m.block.ffn {
        case .dense(let f): total += bytes(f.gate) + bytes(f.up) + bytes(f.down)
        case .experts(let f):
            total += bytes(f.router) + (bytes(f.gate[0]) + bytes(f.up[0]) + bytes(f.down[0])) * config.moe!.expertsUsed
            if let sh = f.shared { total += bytes(sh.gate) + bytes(sh.up) + bytes(sh.down) }
        }
        return total
    }
}

extension LlamaModel {
    /// Loads the multi-token-prediction blocks of a companion GGUF (a model whose own file
    /// has none, e.g. one llama.cpp must keep loading): same architecture, its
    /// `block_count` = this model's blocks + `nextn_predict_layers`, tensors `blk.{n}.*`.
    func attachNextN(_ companion: GGUFFile) throws {
        let arch = config.architecture
        guard nextn.isEmpty else { throw EngineError(.invalidRequest, "the model already has multi-token-prediction blocks") }
        guard companion.string("general.architecture") == arch else {
            throw EngineError.invalidFile("the multi-token-prediction file is not a '\(arch)' file")
        }
        let count = companion.int("\(arch).nextn_predict_layers") ?? 0
        guard count >= 1, companion.int("\(arch).block_count") == config.layerCount + count,
              companion.int("\(arch).embedding_length") == config.embeddingLength else {
            throw EngineError.invalidFile("the multi-token-prediction file does not match the model (block_count, embedding_length, nextn_predict_layers)")
        }
        var modules: [NextNModule] = []
        for i in 0..<count {
            modules.append(try NextNModule(companion, config: config, block: config.layerCount + i, maxBatch: maxBatch, owned: &owned))
        }
        nextn = modules
    }
}
