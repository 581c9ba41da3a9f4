/// Hyper-parameters of a dense llama-family model, read from GGUF metadata and checked
/// for consistency before any tensor is touched.
public struct LlamaConfig: Sendable, Equatable {
    public let architecture: String
    public let layerCount: Int
    public let embeddingLength: Int
    public let feedForwardLength: Int
    public let headCount: Int
    public let headCountKV: Int
    public let headDim: Int
    public let ropeDims: Int
    public let ropeBase: Float
    public let rmsEpsilon: Float
    public let contextLength: Int
    public let vocabSize: Int

    public var kvDim: Int { headCountKV * headDim }

    public init(gguf: GGUFFile, vocabSize: Int) throws {
        guard let arch = gguf.string("general.architecture") else {
            throw EngineError.invalidFile("missing general.architecture")
        }
        guard arch == "llama" else {
            throw EngineError.unsupported("architecture '\(arch)' is not supported (dense llama only)")
        }
        architecture = arch
        func key(_ k: String) -> String { "\(arch).\(k)" }
        layerCount = try gguf.requireInt(key("block_count"))
        embeddingLength = try gguf.requireInt(key("embedding_length"))
        feedForwardLength = try gguf.requireInt(key("feed_forward_length"))
        headCount = try gguf.requireInt(key("attention.head_count"))
        headCountKV = gguf.int(key("attention.head_count_kv")) ?? headCount
        contextLength = try gguf.requireInt(key("context_length"))
        rmsEpsilon = Float(gguf.double(key("attention.layer_norm_rms_epsilon")) ?? 1e-5)
        ropeBase = Float(gguf.double(key("rope.freq_base")) ?? 10_000)
        self.vocabSize = vocabSize

        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw EngineError.invalidFile("implausible model hyper-parameter: \(what)") }
        }
        try check((1...1024).contains(layerCount), "block_count")
        try check((32...65_536).contains(embeddingLength) && embeddingLength % 32 == 0, "embedding_length")
        try check((32...262_144).contains(feedForwardLength) && feedForwardLength % 32 == 0, "feed_forward_length")
        try check((1...1024).contains(headCount) && embeddingLength % headCount == 0, "head_count")
        try check(headCountKV >= 1 && headCount % headCountKV == 0, "head_count_kv")
        try check((1...(1 << 22)).contains(contextLength), "context_length")
        try check(rmsEpsilon > 0 && rmsEpsilon < 1, "layer_norm_rms_epsilon")
        try check(ropeBase > 1, "rope.freq_base")
        headDim = gguf.int(key("attention.key_length")) ?? embeddingLength / headCount
        try check(headDim * headCount == embeddingLength && headDim % 8 == 0, "attention head size")
        ropeDims = gguf.int(key("rope.dimension_count")) ?? headDim
        try check(ropeDims > 0 && ropeDims <= headDim && ropeDims % 2 == 0, "rope.dimension_count")
        try check((1...(1 << 20)).contains(vocabSize), "vocabulary size")
    }
}
