import Foundation

/// Expert selection for one token, as llama.cpp's MoE graph does it: scores from the
/// router logits (softmax or sigmoid), optional selection bias (`exp_probs_b`, used to
/// choose but not to weight), optional group-limited routing (keep the `groupsUsed` groups
/// whose two best biased scores sum highest), top-k, then weights from the unbiased
/// scores, optionally normalised to sum 1 and scaled.
enum Router {
    /// - Parameters:
    ///   - logits: `expertCount` router outputs.
    ///   - scratch: `2 * expertCount` floats.
    ///   - experts/weights: `expertsUsed` outputs, best first.
    static func route(_ logits: UnsafePointer<Float>, bias: UnsafePointer<Float>?, _ c: MoEConfig,
                      scratch: UnsafeMutablePointer<Float>,
                      experts: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>) {
        let n = c.expertCount
        let probs = scratch, select = scratch + n
        switch c.gating {
        case .softmax:
            var m = -Float.infinity
            for e in 0..<n { m = max(m, logits[e]) }
            var sum: Double = 0
            for e in 0..<n {
                let v = expf(logits[e] - m)
                probs[e] = v
                sum += Double(v)
            }
            let inv = Float(1 / sum)
            for e in 0..<n { probs[e] *= inv }
        case .sigmoid:
            for e in 0..<n { probs[e] = 1 / (1 + expf(-logits[e])) }
        }
        for e in 0..<n { select[e] = probs[e] + (bias?[e] ?? 0) }

        if c.groupLimited {
            // Score each group by its two best members, keep the best `groupsUsed` groups
            // (stack scratch: no allocation per token).
            let per = n / c.groupCount
            withUnsafeTemporaryAllocation(of: Float.self, capacity: c.groupCount) { groupScores in
                for g in 0..<c.groupCount {
                    var a = -Float.infinity, b = -Float.infinity
                    for e in g * per..<(g + 1) * per {
                        let v = select[e]
                        if v > a { b = a; a = v } else if v > b { b = v }
                    }
                    groupScores[g] = a + b
                }
                for _ in 0..<c.groupsUsed {
                    var best = -1
                    for g in 0..<c.groupCount where groupScores[g] != .infinity && (best < 0 || groupScores[g] > groupScores[best]) {
                        best = g
                    }
                    groupScores[best] = .infinity  // kept
                }
                for g in 0..<c.groupCount where groupScores[g] != .infinity {
                    for e in g * per..<(g + 1) * per { select[e] = -Float.infinity }
                }
            }
        }

        // Top-k by selection score (k is small: a partial selection sort).
        for slot in 0..<c.expertsUsed {
            var best = -1
            for e in 0..<n where select[e] != -.greatestFiniteMagnitude && (best < 0 || select[e] > select[best]) {
                best = e
            }
            experts[slot] = Int32(best)
            weights[slot] = probs[best]
            select[best] = -.greatestFiniteMagnitude
        }
        if c.normalizeWeights {
            var sum: Float = 0
            for slot in 0..<c.expertsUsed { sum += weights[slot] }
            sum = max(sum, 6.103515625e-5)
            for slot in 0..<c.expertsUsed { weights[slot] /= sum }
        }
        if c.weightsScale != 0 && c.weightsScale != 1 {
            for slot in 0..<c.expertsUsed { weights[slot] *= c.weightsScale }
        }
    }
}
