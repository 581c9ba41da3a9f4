/// One DeepSeek-V3 multi-token-prediction module (GGUF block `blk.{n}` after the main
/// blocks, tensors `blk.{n}.nextn.*` as llama.cpp names them). From the main model's final
/// hidden state at position t (before the output norm) and the embedding of token t+1 it
/// predicts token t+2:
///
///     h' = eh_proj([enorm(emb(x[t+1])); hnorm(h[t])])     (embedding first, as in the
///                                                          reference implementations)
///     logits = head(shared_head_norm(block(h')))
///
/// `block` is an ordinary transformer block (attention with its own cache rows + FFN).
/// `embed_tokens` and `shared_head_head` are optional: DeepSeek-V3 shares the main model's.
struct NextNModule {
    let block: LlamaModel.Layer
    /// GGUF block index (for messages).
    let blockIndex: Int
    let embedNorm: UnsafeMutablePointer<Float>
    let hiddenNorm: UnsafeMutablePointer<Float>
    let headNorm: UnsafeMutablePointer<Float>
    /// `embeddingLength` rows × `2 · embeddingLength` columns.
    let ehProj: WeightMatrix
    let embedding: WeightMatrix?
    let head: WeightMatrix?
    /// The [emb; hidden] input rows, `maxBatch` × 2e.
    let concat: UnsafeMutablePointer<Float>
    /// The file the weights are mapped from (the model's, or a companion file), kept open.
    let source: GGUFFile

    init(_ gguf: GGUFFile, config c: LlamaConfig, block n: Int, maxBatch: Int,
         owned: inout [UnsafeMutablePointer<Float>]) throws {
        let e = c.embeddingLength
        let p = "blk.\(n).nextn."
        guard gguf.tensors[p + "eh_proj.weight"] != nil else {
            throw EngineError.invalidFile("multi-token-prediction block \(n) has no tensor '\(p)eh_proj.weight'")
        }
        block = try LlamaModel.loadLayer(gguf, config: c, block: n, owned: &owned)
        blockIndex = n
        var fresh: [UnsafeMutablePointer<Float>] = []
        defer { owned += fresh }
        func vector(_ name: String) throws -> UnsafeMutablePointer<Float> {
            let v = try LlamaModel.loadVector(gguf, p + name, e)
            fresh.append(v)
            return v
        }
        embedNorm = try vector("enorm.weight")
        hiddenNorm = try vector("hnorm.weight")
        headNorm = try vector("shared_head_norm.weight")
        ehProj = try WeightMatrix(gguf.requireTensor(p + "eh_proj.weight"), expectRows: e, expectCols: 2 * e)
        embedding = try gguf.tensors[p + "embed_tokens.weight"].map {
            try WeightMatrix($0, expectRows: c.vocabSize, expectCols: e)
        }
        head = try gguf.tensors[p + "shared_head_head.weight"].map {
            try WeightMatrix($0, expectRows: c.vocabSize, expectCols: e)
        }
        concat = .allocate(capacity: max(1, maxBatch) * 2 * e)
        fresh.append(concat)
        source = gguf
    }
}
