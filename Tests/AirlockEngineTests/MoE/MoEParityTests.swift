import Foundation
import Testing
@testable import AirlockEngine

/// Parity with llama.cpp on tiny random mixture-of-experts models of every supported
/// layout (built and recorded by scripts/engine/moe/make_tiny_models.py; the GGUF files and
/// llama.cpp's logits are committed fixtures, so neither llama.cpp nor the network is needed).
///
/// The models use fp16 weights, which both engines multiply with fp16-rounded activations
/// and fp32 sums, so only the summation order differs: every logit must agree within a
/// tight relative tolerance, and our own greedy decoding must produce llama.cpp's tokens.
@Suite("MoE parity with llama.cpp")
struct MoEParityTests {
    struct Reference {
        let prompt: [Int32]
        let promptLogits: [[Float]]
        let greedy: [Int32]
        let greedyLogits: [[Float]]
    }

    static let models = ["ds2-lite", "ds2-v3", "ds2-kvb", "ds2-groups", "deepseek", "deepseek-e16", "mixtral", "qwen2moe", "qwen3moe"]

    /// |ours − llama.cpp| ≤ tolerance · max(1, |llama.cpp's largest logit in the row|).
    static let tolerance: Float = 2e-3

    static func fixture(_ name: String) throws -> (path: String, ref: Reference) {
        guard let model = Bundle.module.url(forResource: name, withExtension: "gguf", subdirectory: "Fixtures/moe"),
              let json = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures/moe") else {
            throw EngineError(.invalidRequest, "fixture \(name) missing")
        }
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as! [String: Any]
        func rows(_ k: String) -> [[Float]] { (o[k] as! [[Double]]).map { $0.map(Float.init) } }
        return (model.path, Reference(prompt: (o["prompt"] as! [Int]).map(Int32.init), promptLogits: rows("promptLogits"),
                                      greedy: (o["greedy"] as! [Int]).map(Int32.init), greedyLogits: rows("greedyLogits")))
    }

    static func worstError(_ ours: [Float], _ theirs: [Float]) -> Float {
        let scale = max(1, theirs.map(abs).max() ?? 1)
        return zip(ours, theirs).map { abs($0 - $1) }.max()! / scale
    }

    static func argmax(_ l: [Float]) -> Int32 { Int32(l.indices.max { l[$0] < l[$1] }!) }

    @Test(arguments: models)
    func logitsAndGreedyMatchLlamaCpp(_ name: String) throws {
        let (path, ref) = try Self.fixture(name)
        let evaluator = try SequenceEvaluator(modelPath: path, threads: 2, capacity: 64, maxBatch: 16)
        // The whole prompt in one batch, logits at every position.
        let rows = try evaluator.appendAll(ref.prompt)
        #expect(rows.count == ref.promptLogits.count)
        var worst: Float = 0
        for (p, (ours, theirs)) in zip(rows, ref.promptLogits).enumerated() {
            let err = Self.worstError(ours, theirs)
            worst = max(worst, err)
            #expect(err <= Self.tolerance, "\(name) prompt position \(p): relative logit error \(err)")
        }
        // Greedy decoding, one token at a time, as llama.cpp did.
        var logits = rows.last!
        var produced: [Int32] = []
        for (step, expected) in ref.greedyLogits.enumerated() {
            let token = Self.argmax(logits)
            produced.append(token)
            logits = try evaluator.append([token])
            let err = Self.worstError(logits, expected)
            worst = max(worst, err)
            #expect(err <= Self.tolerance, "\(name) greedy step \(step): relative logit error \(err)")
        }
        #expect(produced == ref.greedy, "\(name): greedy continuation differs from llama.cpp's")
        print("ℹ️  \(name): worst relative logit error \(worst) over \(rows.count + produced.count) positions")
    }
}
