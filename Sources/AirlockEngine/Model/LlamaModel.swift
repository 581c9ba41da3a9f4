/// Weights of a dense llama model (RMSNorm, RoPE, grouped-query attention, SwiGLU) bound
/// to the memory-mapped GGUF file, plus the scratch buffers of one forward pass.
/// Not thread-safe: one forward pass at a time (the scheduler thread), parallelised
/// internally on the worker pool.
final class LlamaModel: @unchecked Sendable {
    struct Layer {
        let attnNorm: UnsafeMutablePointer<Float>
        let ffnNorm: UnsafeMutablePointer<Float>
        let q, k, v, o, gate, up, down: WeightMatrix
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
    let maxBatch: Int
    let scratch: Scratch

    init(gguf: GGUFFile, config: LlamaConfig, pool: WorkerPool, maxBatch: Int) throws {
        self.gguf = gguf
        self.config = config
        self.pool = pool
        self.maxBatch = max(1, maxBatch)
        let e = config.embeddingLength, kv = config.kvDim, ff = config.feedForwardLength
        tokenEmbedding = try WeightMatrix(gguf.requireTensor("token_embd.weight"), expectRows: config.vocabSize, expectCols: e)
        if let out = gguf.tensors["output.weight"] {
            output = try WeightMatrix(out, expectRows: config.vocabSize, expectCols: e)
        } else {
            output = tokenEmbedding  // tied embeddings
        }
        outputNorm = try Self.loadVector(gguf, "output_norm.weight", e)
        var layers: [Layer] = []
        for i in 0..<config.layerCount {
            let p = "blk.\(i)."
            layers.append(Layer(
                attnNorm: try Self.loadVector(gguf, p + "attn_norm.weight", e),
                ffnNorm: try Self.loadVector(gguf, p + "ffn_norm.weight", e),
                q: try WeightMatrix(gguf.requireTensor(p + "attn_q.weight"), expectRows: e, expectCols: e),
                k: try WeightMatrix(gguf.requireTensor(p + "attn_k.weight"), expectRows: kv, expectCols: e),
                v: try WeightMatrix(gguf.requireTensor(p + "attn_v.weight"), expectRows: kv, expectCols: e),
                o: try WeightMatrix(gguf.requireTensor(p + "attn_output.weight"), expectRows: e, expectCols: e),
                gate: try WeightMatrix(gguf.requireTensor(p + "ffn_gate.weight"), expectRows: ff, expectCols: e),
                up: try WeightMatrix(gguf.requireTensor(p + "ffn_up.weight"), expectRows: ff, expectCols: e),
                down: try WeightMatrix(gguf.requireTensor(p + "ffn_down.weight"), expectRows: e, expectCols: ff)))
        }
        self.layers = layers
        scratch = Scratch(config: config, maxBatch: self.maxBatch, workers: pool.threadCount)
    }

    deinit {
        outputNorm.deallocate()
        for l in layers {
            l.attnNorm.deallocate()
            l.ffnNorm.deallocate()
        }
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

    func makeCache(capacity: Int) throws -> KVCache {
        try KVCache(layers: config.layerCount, kvDim: config.kvDim, capacity: capacity)
    }

    /// Scratch buffers sized for `maxBatch` rows, allocated once.
    final class Scratch {
        let x, xb, xb2, q, k, v, attn, gate, up, ropeTables, scores: UnsafeMutablePointer<Float>
        let kvHalf: UnsafeMutablePointer<UInt16>
        let actsEmbd: QuantizedActivations
        let actsFF: QuantizedActivations
        let scoresPerWorker: Int

        init(config c: LlamaConfig, maxBatch b: Int, workers: Int) {
            x = .allocate(capacity: b * c.embeddingLength)
            xb = .allocate(capacity: b * c.embeddingLength)
            xb2 = .allocate(capacity: b * c.embeddingLength)
            q = .allocate(capacity: b * c.embeddingLength)
            k = .allocate(capacity: b * c.kvDim)
            v = .allocate(capacity: b * c.kvDim)
            attn = .allocate(capacity: b * c.embeddingLength)
            gate = .allocate(capacity: b * c.feedForwardLength)
            up = .allocate(capacity: b * c.feedForwardLength)
            ropeTables = .allocate(capacity: b * c.ropeDims)
            scoresPerWorker = c.contextLength
            scores = .allocate(capacity: workers * c.contextLength)
            kvHalf = .allocate(capacity: c.kvDim)
            actsEmbd = QuantizedActivations(rows: b, rowLength: c.embeddingLength)
            actsFF = QuantizedActivations(rows: b, rowLength: c.feedForwardLength)
        }

        deinit {
            for p in [x, xb, xb2, q, k, v, attn, gate, up, ropeTables, scores] { p.deallocate() }
            kvHalf.deallocate()
        }
    }
}
