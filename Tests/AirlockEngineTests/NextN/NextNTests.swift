import Foundation
import Testing
@testable import AirlockEngine

/// DeepSeek-V3 multi-token prediction on a tiny random `deepseek2` model with one `nextn`
/// block (Fixtures/moe/ds2-nextn.gguf, built by scripts/engine/moe/make_nextn_model.py).
/// The reference draft logits come from that script's numpy implementation, whose main
/// model matches llama.cpp on the same weights.
@Suite("Multi-token prediction (nextn)")
struct NextNTests {
    struct Case {
        let tokens: [Int32]
        let lastMain: [Float]
        let draft: [[Float]]
    }

    static func fixture() throws -> (path: String, cases: [Case]) {
        guard let model = Bundle.module.url(forResource: "ds2-nextn", withExtension: "gguf", subdirectory: "Fixtures/moe"),
              let json = Bundle.module.url(forResource: "ds2-nextn", withExtension: "json", subdirectory: "Fixtures/moe") else {
            throw EngineError(.invalidRequest, "fixture ds2-nextn missing")
        }
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        let cases = (o["cases"] as! [[String: Any]]).map { c in
            Case(tokens: (c["tokens"] as! [Int]).map(Int32.init),
                 lastMain: (c["lastMainLogits"] as! [Double]).map(Float.init),
                 draft: (c["draftLogits"] as! [[Double]]).map { $0.map(Float.init) })
        }
        return (model.path, cases)
    }

    /// Same measure as the llama.cpp parity tests: |ours − ref| / max(1, |ref| max).
    static func error(_ ours: [Float], _ ref: [Float]) -> Float {
        let scale = max(1, ref.map(abs).max() ?? 1)
        return zip(ours, ref).map { abs($0 - $1) }.max()! / scale
    }

    /// Measured worst: 1.7e-3 (fp16 queries and cache through three blocks, as llama.cpp).
    static let tolerance: Float = 3e-3

    func checkDraftLogits(_ decoder: SpeculativeDecoder, _ cases: [Case]) throws {
        var worst: Float = 0
        for c in cases {
            let (draft, lastMain) = try decoder.draftLogits(for: c.tokens)
            #expect(draft.count == c.tokens.count - 1)
            #expect(Self.error(lastMain, c.lastMain) <= Self.tolerance, "main logits")
            for (t, (ours, ref)) in zip(draft, c.draft).enumerated() {
                let err = Self.error(ours, ref)
                worst = max(worst, err)
                #expect(err <= Self.tolerance, "draft logits at position \(t): relative error \(err)")
                #expect(MoEParityTests.argmax(ours) == MoEParityTests.argmax(ref), "draft token at position \(t)")
            }
        }
        print("ℹ️  ds2-nextn: worst relative draft-logit error \(worst)")
    }

    @Test func loadsTheNextNBlockOutsideTheMainModel() throws {
        let (path, _) = try Self.fixture()
        let d = try SpeculativeDecoder(modelPath: path, threads: 2, capacity: 64, maxBatch: 8)
        #expect(d.config.layerCount == 2)
        #expect(d.config.nextnLayers == 1)
        #expect(d.canSpeculate)
        #expect(d.draftWeightBytesPerToken > 0)
    }

    @Test func draftLogitsMatchTheNumpyReference() throws {
        let (path, cases) = try Self.fixture()
        // maxBatch 8: the prompts run in several chunks, the MTP rows follow each chunk.
        let decoder = try SpeculativeDecoder(modelPath: path, threads: 2, capacity: 64, maxBatch: 8)
        try checkDraftLogits(decoder, cases)
    }

    /// The MTP block in a companion file next to a model without one (how a head for a
    /// model llama.cpp must keep loading is shipped): same draft logits.
    @Test func companionFileGivesTheSameDrafts() throws {
        let (path, cases) = try Self.fixture()
        let full = try GGUFFile(path: path)
        var main = try GGUFBuilder.copy(of: full)
        main.removeTensors { $0.hasPrefix("blk.2.") }
        main.remove(key: "deepseek2.nextn_predict_layers")
        main.set("deepseek2.block_count", .u32(2))
        var head = GGUFBuilder()
        head.add("general.architecture", .string("deepseek2"))
        head.add("deepseek2.block_count", .u32(3))
        head.add("deepseek2.embedding_length", .u32(64))
        head.add("deepseek2.nextn_predict_layers", .u32(1))
        head.tensors = try GGUFBuilder.copy(of: full).tensors.filter { $0.name.hasPrefix("blk.2.") }
        let mainPath = try main.write("main"), headPath = try head.write("head")
        defer { try? FileManager.default.removeItem(atPath: mainPath); try? FileManager.default.removeItem(atPath: headPath) }

        let plain = try SpeculativeDecoder(modelPath: mainPath, threads: 2, capacity: 64, maxBatch: 8)
        #expect(!plain.canSpeculate)
        #expect(throws: EngineError.self) { try plain.generate(prompt: cases[0].tokens, maxTokens: 4, speculative: true) }
        let decoder = try SpeculativeDecoder(modelPath: mainPath, threads: 2, capacity: 64, maxBatch: 8, draftPath: headPath)
        try checkDraftLogits(decoder, cases)

        // A companion for a different model is refused with a clear error.
        var wrong = head
        wrong.set("deepseek2.block_count", .u32(4))
        let wrongPath = try wrong.write("wrong")
        defer { try? FileManager.default.removeItem(atPath: wrongPath) }
        #expect(throws: EngineError.self) {
            _ = try SpeculativeDecoder(modelPath: mainPath, threads: 1, capacity: 16, maxBatch: 2, draftPath: wrongPath)
        }
    }

    /// Plain greedy decoding through the independent single-sequence evaluator.
    static func plainGreedy(_ path: String, _ prompt: [Int32], _ n: Int) throws -> [Int32] {
        let ev = try SequenceEvaluator(modelPath: path, threads: 2, capacity: 128, maxBatch: 8)
        var logits = try ev.append(prompt)
        var out: [Int32] = []
        while out.count < n {
            let t = MoEParityTests.argmax(logits)
            out.append(t)
            if out.count < n { logits = try ev.append([t]) }
        }
        return out
    }

    static let prompts: [[Int32]] = [
        [256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 32, 77],
        [256, 84],
        [256] + Array("Speculative decoding keeps the greedy output.".utf8).map { Int32($0) },
    ]

    @Test func speculativeDecodingIsPlainGreedyDecoding() throws {
        let (path, _) = try Self.fixture()
        let d = try SpeculativeDecoder(modelPath: path, threads: 2, capacity: 128, maxBatch: 8)
        for prompt in Self.prompts {
            let reference = try Self.plainGreedy(path, prompt, 40)
            let full = prompt + reference
            for n in [1, 2, 3, 4, 7, 40] {
                let want = Array(reference.prefix(n))
                let plain = try d.generate(prompt: prompt, maxTokens: n, speculative: false)
                #expect(plain.tokens == want, "plain, prompt \(prompt.count) tokens, \(n) tokens")
                #expect(plain.stats.mainSteps == n - 1)

                // The model's own drafts (random weights: mostly rejected).
                d.draftOverride = nil
                let own = try d.generate(prompt: prompt, maxTokens: n, speculative: true)
                #expect(own.tokens == want, "MTP drafts, prompt \(prompt.count) tokens, \(n) tokens")
                #expect(own.stats.mainSteps == own.stats.tokens - 1 - own.stats.accepted)

                // Every draft wrong: one token per main pass, each rejected row rolled back.
                d.draftOverride = { pos, _ in pos < full.count ? (full[pos] + 1) % 258 : 0 }
                let rejected = try d.generate(prompt: prompt, maxTokens: n, speculative: true)
                #expect(rejected.tokens == want, "all drafts rejected, \(n) tokens")
                #expect(rejected.stats.accepted == 0)
                #expect(rejected.stats.mainSteps == n - 1)
                #expect(d.cachedTokens == prompt.count + n - 1, "rejected rows left in the cache")

                // Every draft right: two tokens per main pass.
                d.draftOverride = { pos, _ in pos < full.count ? full[pos] : 0 }
                let accepted = try d.generate(prompt: prompt, maxTokens: n, speculative: true)
                #expect(accepted.tokens == want, "all drafts accepted, \(n) tokens")
                #expect(accepted.stats.accepted == accepted.stats.drafted)
                #expect(accepted.stats.mainSteps == n / 2, "\(n) tokens in \(accepted.stats.mainSteps) passes")
                if n > 2 {
                    #expect(accepted.stats.acceptanceRate == 1)
                    #expect(accepted.stats.tokensPerMainStep >= 1.5)
                    #expect(accepted.stats.decodeSeconds > 0)
                }
                d.draftOverride = nil
            }
        }
    }

    @Test func stopsLandingInsideAnAcceptedPair() throws {
        let (path, _) = try Self.fixture()
        let d = try SpeculativeDecoder(modelPath: path, threads: 2, capacity: 128, maxBatch: 8)
        let prompt = Self.prompts[0]
        let reference = try Self.plainGreedy(path, prompt, 24)
        let full = prompt + reference
        d.draftOverride = { pos, _ in pos < full.count ? full[pos] : 0 }  // every step yields a pair: tokens 1-2, 3-4, …
        for cut in 1..<12 {
            // A condition met after token `cut` (0-based): cut 3 is the first token of a pair.
            let byCount = try d.generate(prompt: prompt, maxTokens: 24, speculative: true) { $0.count == cut + 1 }
            #expect(byCount.tokens == Array(reference.prefix(cut + 1)), "stop after token \(cut)")
            // A two-token stop sequence ending at `cut`.
            do {
                let stop = Array(reference[(cut - 1)...cut])
                let first = (1..<reference.count).first { Array(reference[($0 - 1)...$0]) == stop }!
                let bySequence = try d.generate(prompt: prompt, maxTokens: 24, speculative: true) { $0.suffix(2).elementsEqual(stop) }
                #expect(bySequence.tokens == Array(reference.prefix(first + 1)), "stop sequence ending at \(cut)")
            }
            // A stop token (the first occurrence of reference[cut] ends the answer).
            let first = reference.firstIndex(of: reference[cut])!
            let byToken = try d.generate(prompt: prompt, maxTokens: 24, speculative: true, stopTokens: [reference[cut]])
            #expect(byToken.tokens == Array(reference.prefix(first + 1)), "stop token at \(cut)")
        }
    }

    @Test func brokenNextNBlocksAreClearErrors() throws {
        let (path, _) = try Self.fixture()
        let full = try GGUFBuilder.copy(of: GGUFFile(path: path))
        func expectInvalid(_ name: String, _ change: (inout GGUFBuilder) -> Void, mentions: String) throws {
            var b = full
            change(&b)
            let p = try b.write(name)
            defer { try? FileManager.default.removeItem(atPath: p) }
            do {
                _ = try SpeculativeDecoder(modelPath: p, threads: 1, capacity: 16, maxBatch: 2)
                Issue.record("\(name): loaded")
            } catch let e as EngineError {
                #expect(e.code == .invalidModelFile, "\(name): \(e)")
                #expect(e.message.contains(mentions), "\(name): \(e.message)")
            }
        }
        try expectInvalid("no-eh-proj", { b in b.removeTensors { $0 == "blk.2.nextn.eh_proj.weight" } }, mentions: "eh_proj")
        try expectInvalid("no-hnorm", { b in b.removeTensors { $0 == "blk.2.nextn.hnorm.weight" } }, mentions: "hnorm")
        try expectInvalid("no-attention", { b in b.removeTensors { $0 == "blk.2.attn_kv_a_mqa.weight" } }, mentions: "attn_kv_a_mqa")
        try expectInvalid("eh-proj-shape", { b in
            let i = b.tensors.firstIndex { $0.name == "blk.2.nextn.eh_proj.weight" }!
            b.tensors[i].dims = [64, 128]  // transposed: same bytes, wrong shape
        }, mentions: "eh_proj")
        try expectInvalid("enorm-length", { b in
            let i = b.tensors.firstIndex { $0.name == "blk.2.nextn.enorm.weight" }!
            b.tensors[i].dims = [32]
            b.tensors[i].data = Array(b.tensors[i].data.prefix(128))
        }, mentions: "enorm")
        try expectInvalid("all-blocks-nextn", { $0.set("deepseek2.nextn_predict_layers", .u32(3)) }, mentions: "nextn_predict_layers")
    }

    @Test func requestsTheDecoderCannotServeAreRefused() throws {
        let (path, cases) = try Self.fixture()
        let d = try SpeculativeDecoder(modelPath: path, threads: 1, capacity: 32, maxBatch: 4)
        #expect(throws: EngineError.self) { try d.generate(prompt: [], maxTokens: 4, speculative: true) }
        #expect(throws: EngineError.self) { try d.generate(prompt: [9999], maxTokens: 4, speculative: true) }
        #expect(throws: EngineError.self) { try d.generate(prompt: cases[0].tokens, maxTokens: 30, speculative: true) }
        #expect(try d.generate(prompt: cases[0].tokens, maxTokens: 0, speculative: true).tokens.isEmpty)
    }
}
