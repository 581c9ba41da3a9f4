/// Weights of a llama-family model bound to the memory-mapped GGUF file, plus the scratch
/// buffers of one forward pass. Blocks have standard (grouped-query) or latent (MLA)
/// attention and a dense or mixture-of-experts FFN.
/// Not thread-safe: one forward pass at a time (the scheduler thread), parallelised
/// internally on the worker pool.
final class LlamaModel: @unchecked Sendable {
    /// Grouped-query attention, with the optional extras of Qwen (q/k/v biases, per-head
    /// q/k RMS norms).
    struct StandardAttention {
        let q, k, v, o: WeightMatrix
        let qBias, kBias, vBias: UnsafeMutablePointer<Float>?
        let qNorm, kNorm: UnsafeMutablePointer<Float>?
    }

    /// DeepSeek's multi-head latent attention.
    struct LatentAttention {
        /// Query down-projection and its norm (q-LoRA), nil for V2-Lite.
        let qA: WeightMatrix?
        let qANorm: UnsafeMutablePointer<Float>?
        /// Queries: `attn_q_b` after the LoRA, or `attn_q`.
        let q: WeightMatrix
        /// Latent + rotary key (`attn_kv_a_mqa`) and the latent's norm.
        let kvA: WeightMatrix
        let kvANorm: UnsafeMutablePointer<Float>
        /// Absorbed layout: per head, latent ← nope query (`attn_k_b`) and value ← latent (`attn_v_b`).
        let kB: [WeightMatrix]
        let vB: [WeightMatrix]
        /// Older layout: latent → per head (nope key, value) (`attn_kv_b`).
        let kvB: WeightMatrix?
        let o: WeightMatrix
    }

    enum Attention {
        case standard(StandardAttention)
        case latent(LatentAttention)
    }

    struct DenseFFN {
        let gate, up, down: WeightMatrix
    }

    /// Routed experts: per-expert matrices are slices of the `ffn_*_exps` tensors.
    struct ExpertFFN {
        let router: WeightMatrix
        let selectionBias: UnsafeMutablePointer<Float>?
        let gate, up, down: [WeightMatrix]
        let shared: DenseFFN?
        /// Qwen2-MoE's shared-expert gate (a row of `embeddingLength`).
        let sharedGate: UnsafeMutablePointer<Float>?
    }

    enum FeedForward {
        case dense(DenseFFN)
        case experts(ExpertFFN)
    }

    struct Layer {
        let attnNorm: UnsafeMutablePointer<Float>
        let ffnNorm: UnsafeMutablePointer<Float>
        let attention: Attention
        let ffn: FeedForward
    }

    /// One token of a batch: which sequence, at which position, and whether its logits are needed.
    struct Row {
        let cache: KVCache
        let position: Int
        let token: Int32
        let wantsLogits: Bool
    }

    let config: LlamaConfig
    let gguf: GGUFFile
    let pool: WorkerPool
    let tokenEmbedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: UnsafeMutablePointer<Float>
    let layers: [Layer]
    /// DeepSeek-V3 multi-token-prediction modules (`nextn_predict_layers`), drafting for
    /// speculative decoding; empty for most models.
    var nextn: [NextNModule]
    let maxBatch: Int
    let scratch: Scratch
    /// Pool or calling thread alone for decode steps (see ThreadModeTuner); forward-pass only.
    var threadTuner = ThreadModeTuner()
    /// Vectors copied out of the mapping (norms, biases), freed with the model.
    var owned: [UnsafeMutablePointer<Float>] = []

    init(gguf: GGUFFile, config: LlamaConfig, pool: WorkerPool, maxBatch: Int) throws {
        self.gguf = gguf
        self.config = config
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        let c = config
        let e = c.embeddingLength
        // Tied embeddings are also the output head (repacked for it); untied ones are only looked up.
        let tied = gguf.tensors["output.weight"] == nil
        tokenEmbedding = try WeightMatrix(gguf.requireTensor("token_embd.weight"), expectRows: c.vocabSize, expectCols: e,
                                          repack: tied)
        if let out = gguf.tensors["output.weight"] {
            output = try WeightMatrix(out, expectRows: c.vocabSize, expectCols: e)
        } else {
            output = tokenEmbedding  // tied embeddings
        }
        var owned: [UnsafeMutablePointer<Float>] = []
        outputNorm = try Self.loadVector(gguf, "output_norm.weight", e)
        owned.append(outputNorm)
        var layers: [Layer] = []
        for i in 0..<c.layerCount {
            layers.append(try Self.loadLayer(gguf, config: c, block: i, owned: &owned))
        }
        // Multi-token-prediction blocks follow the main ones (not part of `forward`).
        var nextn: [NextNModule] = []
        for i in 0..<c.nextnLayers {
            nextn.append(try NextNModule(gguf, config: c, block: c.layerCount + i, maxBatch: self.maxBatch, owned: &owned))
        }
        self.nextn = nextn
        self.layers = layers
        self.owned = owned
        scratch = Scratch(config: config, maxBatch: self.maxBatch, workers: pool.threadCount)
    }

    /// Block `i`'s norms, attention and FFN (main blocks and the MTP blocks after them).
    static func loadLayer(_ gguf: GGUFFile, config c: LlamaConfig, block i: Int,
                          owned: inout [UnsafeMutablePointer<Float>]) throws -> Layer {
        let e = c.embeddingLength
        var fresh: [UnsafeMutablePointer<Float>] = []
        defer { owned += fresh }
        func vector(_ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float> {
            let p = try Self.loadVector(gguf, name, n)
            fresh.append(p)
            return p
        }
        func optionalVector(_ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float>? {
            gguf.tensors[name] == nil ? nil : try vector(name, n)
        }
        func matrix(_ name: String, _ rows: Int, _ cols: Int) throws -> WeightMatrix {
            try WeightMatrix(gguf.requireTensor(name), expectRows: rows, expectCols: cols)
        }
        let p = "blk.\(i)."
        let attention: Attention
        if let m = c.mla {
            let h = c.headCount
            var qA: WeightMatrix? = nil, qANorm: UnsafeMutablePointer<Float>? = nil
            let q: WeightMatrix
            if m.qLoraRank > 0 {
                qA = try matrix(p + "attn_q_a.weight", m.qLoraRank, e)
                qANorm = try vector(p + "attn_q_a_norm.weight", m.qLoraRank)
                q = try matrix(p + "attn_q_b.weight", h * m.keyHeadDim, m.qLoraRank)
            } else {
                q = try matrix(p + "attn_q.weight", h * m.keyHeadDim, e)
            }
            var kB: [WeightMatrix] = [], vB: [WeightMatrix] = []
            var kvB: WeightMatrix? = nil
            if m.absorbed {
                kB = try Self.slices(gguf.requireTensor(p + "attn_k_b.weight"), count: h, rows: m.kvLoraRank, cols: m.nopeDims)
                vB = try Self.slices(gguf.requireTensor(p + "attn_v_b.weight"), count: h, rows: m.valueHeadDim, cols: m.kvLoraRank)
            } else {
                kvB = try matrix(p + "attn_kv_b.weight", h * (m.nopeDims + m.valueHeadDim), m.kvLoraRank)
            }
            attention = .latent(LatentAttention(
                qA: qA, qANorm: qANorm, q: q,
                kvA: try matrix(p + "attn_kv_a_mqa.weight", m.kvLoraRank + m.ropeDims, e),
                kvANorm: try vector(p + "attn_kv_a_norm.weight", m.kvLoraRank),
                kB: kB, vB: vB, kvB: kvB,
                o: try matrix(p + "attn_output.weight", e, h * m.valueHeadDim)))
        } else {
            let qDim = c.headCount * c.headDim, kvDim = c.headCountKV * c.headDim
            attention = .standard(StandardAttention(
                q: try matrix(p + "attn_q.weight", qDim, e),
                k: try matrix(p + "attn_k.weight", kvDim, e),
                v: try matrix(p + "attn_v.weight", kvDim, e),
                o: try matrix(p + "attn_output.weight", e, qDim),
                qBias: try optionalVector(p + "attn_q.bias", qDim),
                kBias: try optionalVector(p + "attn_k.bias", kvDim),
                vBias: try optionalVector(p + "attn_v.bias", kvDim),
                qNorm: try optionalVector(p + "attn_q_norm.weight", c.headDim),
                kNorm: try optionalVector(p + "attn_k_norm.weight", c.headDim)))
        }
        let ffn: FeedForward
        if let moe = c.moe, moe.isMoE(layer: i) {
            let n = moe.expertCount, ff = moe.expertFeedForwardLength
            var shared: DenseFFN? = nil
            if moe.sharedCount > 0 {
                let sf = moe.sharedFeedForwardLength
                shared = DenseFFN(gate: try matrix(p + "ffn_gate_shexp.weight", sf, e),
                                  up: try matrix(p + "ffn_up_shexp.weight", sf, e),
                                  down: try matrix(p + "ffn_down_shexp.weight", e, sf))
            }
            ffn = .experts(ExpertFFN(
                router: try matrix(p + "ffn_gate_inp.weight", n, e),
                selectionBias: try optionalVector(p + "exp_probs_b.bias", n),
                gate: try Self.slices(gguf.requireTensor(p + "ffn_gate_exps.weight"), count: n, rows: ff, cols: e),
                up: try Self.slices(gguf.requireTensor(p + "ffn_up_exps.weight"), count: n, rows: ff, cols: e),
                down: try Self.slices(gguf.requireTensor(p + "ffn_down_exps.weight"), count: n, rows: e, cols: ff),
                shared: shared,
                sharedGate: moe.sharedExpertGate ? try vector(p + "ffn_gate_inp_shexp.weight", e) : nil))
        } else {
            let ff = c.feedForwardLength
            ffn = .dense(DenseFFN(gate: try matrix(p + "ffn_gate.weight", ff, e),
                                  up: try matrix(p + "ffn_up.weight", ff, e),
                                  down: try matrix(p + "ffn_down.weight", e, ff)))
        }
        return Layer(attnNorm: try vector(p + "attn_norm.weight", e),
                            ffnNorm: try vector(p + "ffn_norm.weight", e),
                            attention: attention, ffn: ffn)
    }

    deinit {
        for p in owned { p.deallocate() }
    }

    /// Norm weights are small; they are copied out as Float whatever their stored type.
    static func loadVector(_ gguf: GGUFFile, _ name: String, _ n: Int) throws -> UnsafeMutablePointer<Float> {
        let t = try gguf.requireTensor(name)
        guard t.elementCount == n else {
            throw EngineError.invalidFile("tensor '\(name)' has \(t.elementCount) elements, expected \(n)")
        }
        let p = UnsafeMutablePointer<Float>.allocate(capacity: n)
        Dequantize.row(t.type, t.data, n, into: p)
        return p
    }

    /// The `count` matrices of a 3-D tensor (experts, or heads), each `rows` × `cols`.
    static func slices(_ t: GGUFTensor, count: Int, rows: Int, cols: Int) throws -> [WeightMatrix] {
        guard t.dims.count == 3, t.dims[0] == cols, t.dims[1] == rows, t.dims[2] == count else {
            throw EngineError.invalidFile("tensor '\(t.name)' has shape \(t.dims), expected [\(cols), \(rows), \(count)]")
        }
        if t.type != .f32 && t.type != .f16 && t.type != .bf16 && cols % 32 != 0 {
            throw EngineError.unsupported("tensor '\(t.name)' row length is not a multiple of 32")
        }
        let one = WeightMatrix(type: t.type, data: t.data, rows: rows, cols: cols)
        return (0..<count).map { WeightMatrix(type: t.type, data: t.data + $0 * rows * one.rowBytes, rows: rows, cols: cols) }
    }

    func makeCache(capacity: Int) throws -> KVCache {
        try KVCache(layers: config.layerCount, keyWidth: config.cacheKeyWidth, valueWidth: config.cacheValueWidth,
                    capacity: capacity)
    }
}

extension LlamaModel {
    /// Bytes of weights one token reads: every matrix of the dense path, the router, the
    /// shared experts and `expertsUsed` routed experts of each MoE block, one embedding row
    /// and the output head.
    var weightBytesPerToken: Int {
        func bytes(_ w: WeightMatrix) -> Int { w.rows * w.rowBytes }
        var total = bytes(output) + tokenEmbedding.rowBytes
        for layer in layers {
            switch layer.attention {
            case .standard(let a): total += [a.q, a.k, a.v, a.o].map(bytes).reduce(0, +)
            case .latent(let a):
                total += [a.q, a.kvA, a.o].map(bytes).reduce(0, +) + (a.qA.map(bytes) ?? 0) + (a.kvB.map(bytes) ?? 0)
                total += (a.kB + a.vB).map(bytes).reduce(0, +)
            }
            switch layer.ffn {
            case .dense(let f): total += bytes(f.gate) + bytes(f.up) + bytes(f.down)
            case .experts(let f):
                let perExpert = bytes(f.gate[0]) + bytes(f.up[0]) + bytes(f.down[0])
                total += bytes(f.router) + perExpert * config.moe!.expertsUsed
                if let s = f.shared { total += bytes(s.gate) + bytes(s.up) + bytes(s.down) }
            }
        }
        return total
    }
}
