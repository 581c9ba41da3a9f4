import Foundation
import Testing
@testable import AirlockEngine

@Suite("MLA cache size")
struct LatentCacheTests {
    static func config(_ name: String) throws -> LlamaConfig {
        let path = try MoEParityTests.fixture(name).path
        let gguf = try GGUFFile(path: path)
        return try LlamaConfig(gguf: gguf, vocabSize: try BPETokenizer(gguf: gguf).vocabularySize)
    }

    @Test func absorbedLatentAttentionCachesOnlyTheLatentAndTheRotaryKey() throws {
        let lite = try Self.config("ds2-lite")
        let m = try #require(lite.mla)
        #expect(m.absorbed)
        // kv_lora_rank 32 + rope 8 fp16 values per token per layer, no separate values.
        #expect(lite.cacheKeyWidth == 40 && lite.cacheValueWidth == 0)
        #expect(lite.cacheBytesPerToken == lite.layerCount * 40 * 2)
        // The attn_kv_b layout caches per-head keys (nope + rope) and values.
        let kvb = try Self.config("ds2-kvb")
        #expect(kvb.mla?.absorbed == false)
        #expect(kvb.cacheKeyWidth == 4 * 24 && kvb.cacheValueWidth == 4 * 16)
    }

    @Test func moeHyperParametersAreRead() throws {
        let v3 = try Self.config("ds2-v3")
        let moe = try #require(v3.moe)
        #expect(moe.expertCount == 8 && moe.expertsUsed == 2 && moe.sharedCount == 1)
        #expect(moe.gating == .sigmoid && moe.normalizeWeights && moe.weightsScale == 2.5)
        #expect(moe.groupCount == 4 && moe.groupsUsed == 2 && moe.leadingDenseBlocks == 1)
        #expect(v3.mla?.qLoraRank == 48)
        #expect(v3.rope.extFactor == 1 && v3.rope.freqScale == 0.25)
    }
}

@Suite("MoE top-k override")
struct ExpertsUsedOverrideTests {
    @Test func weightBytesPerTokenCountOnlyTheChosenExperts() throws {
        let path = try MoEParityTests.fixture("ds2-lite").path
        let one = try SequenceEvaluator(modelPath: path, threads: 1, capacity: 8, expertsUsed: 1)
        let two = try SequenceEvaluator(modelPath: path, threads: 1, capacity: 8, expertsUsed: 2)
        // ds2-lite: 2 MoE blocks, experts of 3 × 64×32 fp16 matrices.
        #expect(two.weightBytesPerToken - one.weightBytesPerToken == 2 * 3 * 64 * 32 * 2)
        #expect(one.config.moe?.expertsUsed == 1)
    }

    @Test func moreExpertsThanTheModelHasIsATypedError() throws {
        let path = try MoEParityTests.fixture("ds2-lite").path
        #expect(throws: EngineError.self) { _ = try SequenceEvaluator(modelPath: path, threads: 1, capacity: 8, expertsUsed: 9) }
    }
}
