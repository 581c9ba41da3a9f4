import Foundation
import Testing
@testable import AirlockEngine

@Suite("MoE routing")
struct RouterTests {
    func route(_ logits: [Float], bias: [Float]? = nil, _ c: MoEConfig) -> ([Int32], [Float]) {
        var experts = [Int32](repeating: -1, count: c.expertsUsed)
        var weights = [Float](repeating: 0, count: c.expertsUsed)
        var scratch = [Float](repeating: 0, count: 2 * c.expertCount)
        bias.withOptionalPointer { b in
            Router.route(logits, bias: b, c, scratch: &scratch, experts: &experts, weights: &weights)
        }
        return (experts, weights)
    }

    func config(_ gating: MoEConfig.Gating, used: Int = 2, norm: Bool = false, scale: Float = 1,
                groups: Int = 1, groupsUsed: Int = 1) -> MoEConfig {
        MoEConfig(expertCount: 8, expertsUsed: used, sharedCount: 0, expertFeedForwardLength: 32,
                  sharedFeedForwardLength: 0, leadingDenseBlocks: 0, gating: gating, normalizeWeights: norm,
                  weightsScale: scale, groupCount: groups, groupsUsed: groupsUsed)
    }

    let logits: [Float] = [0.1, 2.0, -1.0, 1.5, 0.0, 1.9, -0.5, 0.3]

    @Test func softmaxTopKWeightsAreTheSoftmaxProbabilities() {
        let (e, w) = route(logits, config(.softmax))
        #expect(e == [1, 5])
        let z = logits.map { expf($0) }.reduce(0, +)
        #expect(abs(w[0] - expf(2.0) / z) < 1e-6 && abs(w[1] - expf(1.9) / z) < 1e-6)
    }

    @Test func biasChoosesButDoesNotWeight() {
        // Expert 6 is pushed to the top by its bias; its weight stays sigmoid(-0.5).
        var bias = [Float](repeating: 0, count: 8)
        bias[6] = 5
        let (e, w) = route(logits, bias: bias, config(.sigmoid))
        #expect(e == [6, 1])
        #expect(abs(w[0] - 1 / (1 + expf(0.5))) < 1e-6)
    }

    @Test func normalisedAndScaledWeightsSumToTheScale() {
        let (_, w) = route(logits, config(.sigmoid, used: 3, norm: true, scale: 2.5))
        #expect(abs(w.reduce(0, +) - 2.5) < 1e-5)
    }

    @Test func groupLimitedRoutingOnlyPicksFromTheBestGroups() {
        // Groups of two: {0,1} {2,3} {4,5} {6,7}; scores by top-2 sums: 2.1, 0.5, 1.9, -0.2 (sigmoid-mapped
        // but in the same order). With one group allowed, experts 3 and 5 (the 3rd/2nd best overall)
        // are out; the top two come from group {0,1}.
        let (e, _) = route(logits, config(.sigmoid, used: 2, groups: 4, groupsUsed: 1))
        #expect(e == [1, 0])
        let (e2, _) = route(logits, config(.sigmoid, used: 3, groups: 4, groupsUsed: 2))
        #expect(Set(e2).isSubset(of: [0, 1, 4, 5]) && e2.first == 1)
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
