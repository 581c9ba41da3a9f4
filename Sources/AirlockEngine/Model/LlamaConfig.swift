/// Hyper-parameters of a llama-family model, read from GGUF metadata and checked for
/// consistency before any tensor is touched. Besides dense llama this covers the
/// mixture-of-experts layouts (`deepseek`, `deepseek2` with MLA, `qwen2moe`, `qwen3moe`,
/// Mixtral-style `llama` with `ffn_*_exps`).
public struct LlamaConfig: Sendable, Equatable {
    public let architecture: String
    /// Blocks of the main forward pass (`block_count` minus the multi-token-prediction blocks).
    public let layerCount: Int
    /// DeepSeek-V3 multi-token-prediction (`nextn`) blocks stored after the main blocks
    /// (`nextn_predict_layers`); they only draft tokens for speculative decoding.
    public let nextnLayers: Int
    public let embeddingLength: Int
    /// Width of the dense FFN (the leading dense blocks of an MoE model).
    public let feedForwardLength: Int
    public let headCount: Int
    public let headCountKV: Int
    /// Key/query head size (standard attention).
    public let headDim: Int
    /// Value head size (standard attention).
    public let valueHeadDim: Int
    public let ropeDims: Int
    public let ropeBase: Float
    public let rmsEpsilon: Float
    public let contextLength: Int
    public let vocabSize: Int
    public let rope: RopeScaling
    /// Routed experts, when the model has them.
    public let moe: MoEConfig?
    /// Multi-head latent attention (deepseek2), else standard grouped-query attention.
    public let mla: MLAConfig?
    /// Attention logit scale (1/√head size, times YaRN's correction for deepseek2).
    public let attentionScale: Float

    /// Width of one token's keys in one layer's cache (standard: all KV heads).
    public var kvDim: Int { cacheKeyWidth }

    /// fp16 values cached per token per layer for keys.
    public var cacheKeyWidth: Int {
        if let m = mla { return m.absorbed ? m.kvLoraRank + m.ropeDims : headCount * m.keyHeadDim }
        return headCountKV * headDim
    }

    /// fp16 values cached per token per layer for values (0 with absorbed MLA: the values
    /// are the latent part of the cached keys).
    public var cacheValueWidth: Int {
        if let m = mla { return m.absorbed ? 0 : headCount * m.valueHeadDim }
        return headCountKV * valueHeadDim
    }

    /// Cache bytes per token over all layers.
    public var cacheBytesPerToken: Int { layerCount * (cacheKeyWidth + cacheValueWidth) * 2 }

    static let supportedArchitectures: Set<String> = ["llama", "deepseek", "deepseek2", "qwen2moe", "qwen3moe"]

    /// - Parameter expertsUsed: routed experts per token instead of the file's `expert_used_count`.
    public init(gguf: GGUFFile, vocabSize: Int, expertsUsed: Int? = nil) throws {
        guard let arch = gguf.string("general.architecture") else {
            throw EngineError.invalidFile("missing general.architecture")
        }
        guard Self.supportedArchitectures.contains(arch) else {
            throw EngineError.unsupported("architecture '\(arch)' is not supported (llama, deepseek, deepseek2, qwen2moe, qwen3moe)")
        }
        architecture = arch
        func key(_ k: String) -> String { "\(arch).\(k)" }
        func check(_ ok: Bool, _ what: String) throws {
            if !ok { throw EngineError.invalidFile("implausible model hyper-parameter: \(what)") }
        }
        let blocks = try gguf.requireInt(key("block_count"))
        nextnLayers = gguf.int(key("nextn_predict_layers")) ?? 0
        try check(nextnLayers >= 0 && nextnLayers < blocks, "nextn_predict_layers")
        layerCount = blocks - nextnLayers
        embeddingLength = try gguf.requireInt(key("embedding_length"))
        headCount = try gguf.requireInt(key("attention.head_count"))
        headCountKV = gguf.int(key("attention.head_count_kv")) ?? headCount
        contextLength = try gguf.requireInt(key("context_length"))
        rmsEpsilon = Float(gguf.double(key("attention.layer_norm_rms_epsilon")) ?? 1e-5)
        ropeBase = Float(gguf.double(key("rope.freq_base")) ?? 10_000)
        self.vocabSize = vocabSize

        try check((1...1024).contains(layerCount), "block_count")
        try check((32...65_536).contains(embeddingLength) && embeddingLength % 32 == 0, "embedding_length")
        try check((1...1024).contains(headCount), "head_count")
        try check(headCountKV >= 1 && headCount % headCountKV == 0, "head_count_kv")
        try check((1...(1 << 22)).contains(contextLength), "context_length")
        try check(rmsEpsilon > 0 && rmsEpsilon < 1, "layer_norm_rms_epsilon")
        try check(ropeBase > 1, "rope.freq_base")
        try check((1...(1 << 20)).contains(vocabSize), "vocabulary size")

        // Routed experts.
        let experts = gguf.int(key("expert_count")) ?? 0
        if experts > 0 {
            if let k = expertsUsed, !(1...experts).contains(k) {
                throw EngineError(.invalidRequest, "experts per token must be between 1 and \(experts)")
            }
            let used = expertsUsed ?? gguf.int(key("expert_used_count")) ?? 0
            try check(experts <= 4096 && (1...experts).contains(used), "expert_used_count")
            let dense = gguf.int(key("feed_forward_length")) ?? 0
            let expertFF = gguf.int(key("expert_feed_forward_length")) ?? dense
            let shared = arch == "qwen2moe" ? 1 : (gguf.int(key("expert_shared_count")) ?? 0)
            let sharedFF = arch == "qwen2moe"
                ? (gguf.int(key("expert_shared_feed_forward_length")) ?? dense)
                : expertFF * shared
            let gatingCode = gguf.int(key("expert_gating_func")) ?? 1
            guard gatingCode == 1 || gatingCode == 2 else {
                throw EngineError.unsupported("expert gating function \(gatingCode) is not supported (softmax, sigmoid)")
            }
            let groups = gguf.int(key("expert_group_count")) ?? 1
            let groupsUsed = gguf.int(key("expert_group_used_count")) ?? groups
            try check(groups >= 1 && experts % groups == 0 && (1...groups).contains(groupsUsed)
                      && (groups == 1 || experts / groups >= 2) && used <= experts / groups * groupsUsed, "expert_group_count")
            let normalize: Bool
            let scale: Float
            switch arch {
            case "deepseek2":
                normalize = gguf.bool(key("expert_weights_norm")) ?? false
                scale = Float(gguf.double(key("expert_weights_scale")) ?? 1)
            case "deepseek":
                normalize = false
                scale = Float(gguf.double(key("expert_weights_scale")) ?? 1)
            case "qwen2moe":
                normalize = false
                scale = Float(gguf.double(key("expert_weights_scale")) ?? 0)
            default:  // llama (Mixtral), qwen3moe
                normalize = true
                scale = Float(gguf.double(key("expert_weights_scale")) ?? 0)
            }
            let lead = (arch == "deepseek" || arch == "deepseek2") ? (gguf.int(key("leading_dense_block_count")) ?? 0) : 0
            // Any length: quantized expert tensors are checked for whole 32-value blocks when
            // loaded (`WeightMatrix`); F16/F32 down projections take experts of e.g. 16 neurons.
            try check(expertFF > 0 && expertFF <= 262_144, "expert_feed_forward_length")
            try check(shared == 0 || (sharedFF % 32 == 0 && sharedFF > 0), "expert_shared_count")
            try check((0...layerCount).contains(lead), "leading_dense_block_count")
            moe = MoEConfig(expertCount: experts, expertsUsed: used, sharedCount: shared, expertFeedForwardLength: expertFF,
                            sharedFeedForwardLength: shared > 0 ? sharedFF : 0, leadingDenseBlocks: lead,
                            gating: gatingCode == 2 ? .sigmoid : .softmax, normalizeWeights: normalize,
                            weightsScale: scale, groupCount: groups, groupsUsed: groupsUsed,
                            sharedExpertGate: arch == "qwen2moe")
            feedForwardLength = dense
            if lead > 0 { try check(dense % 32 == 0 && dense > 0, "feed_forward_length") }
        } else {
            if expertsUsed != nil { throw EngineError(.invalidRequest, "the model has no routed experts") }
            guard arch == "llama" else {
                throw EngineError.invalidFile("'\(arch)' model without expert_count")
            }
            moe = nil
            feedForwardLength = try gguf.requireInt(key("feed_forward_length"))
            try check((32...262_144).contains(feedForwardLength) && feedForwardLength % 32 == 0, "feed_forward_length")
        }

        let style: RopeScaling.Style = arch.hasPrefix("qwen") ? .neox : .interleaved
        if arch == "deepseek2" {
            let kvLora = try gguf.requireInt(key("attention.kv_lora_rank"))
            let qLora = gguf.int(key("attention.q_lora_rank")) ?? 0
            let rope = try gguf.requireInt(key("rope.dimension_count"))
            let absorbed = gguf.int(key("attention.key_length_mla")) != nil
            let kHead = absorbed ? try gguf.requireInt(key("attention.key_length_mla")) : try gguf.requireInt(key("attention.key_length"))
            let vHead = absorbed ? try gguf.requireInt(key("attention.value_length_mla")) : try gguf.requireInt(key("attention.value_length"))
            let m = MLAConfig(qLoraRank: qLora, kvLoraRank: kvLora, nopeDims: kHead - rope, ropeDims: rope,
                              valueHeadDim: vHead, absorbed: absorbed)
            try check(kvLora > 0 && kvLora % 8 == 0 && qLora >= 0, "attention.kv_lora_rank / q_lora_rank")
            try check(rope > 0 && rope % 8 == 0 && m.nopeDims > 0 && m.nopeDims % 8 == 0 && vHead % 8 == 0 && vHead > 0,
                      "MLA head sizes")
            mla = m
            headDim = m.keyHeadDim
            valueHeadDim = vHead
            ropeDims = rope
        } else {
            mla = nil
            headDim = gguf.int(key("attention.key_length")) ?? embeddingLength / headCount
            valueHeadDim = gguf.int(key("attention.value_length")) ?? headDim
            try check(headDim > 0 && headDim % 8 == 0 && valueHeadDim == headDim, "attention head size")
            ropeDims = gguf.int(key("rope.dimension_count")) ?? headDim
            try check(ropeDims > 0 && ropeDims <= headDim && ropeDims % 2 == 0, "rope.dimension_count")
        }
        rope = try RopeScaling(gguf: gguf, arch: arch, style: style, ropeDims: ropeDims, base: ropeBase,
                               deepseek2: arch == "deepseek2")
        attentionScale = rope.attentionScale / Float(headDim).squareRoot()
    }
}
