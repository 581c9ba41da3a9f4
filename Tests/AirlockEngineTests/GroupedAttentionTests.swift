import Foundation
import Testing
@testable import AirlockEngine

/// `attendGrouped` runs the query heads of one KV head together; its scores and weighted
/// sums must be the one-head kernels' numbers bit for bit, or output would depend on how
/// heads happened to be grouped (which follows the batch size and thread count).
@Suite("Grouped attention")
struct GroupedAttentionTests {
    @Test(arguments: [1, 2, 3], [1, 2, 7, 64, 131])
    func groupedKernelsEqualOneHeadKernels(_ m: Int, _ count: Int) {
        var rng = SplitMix64(seed: UInt64(m * 1000 + count))
        let n = 64, keyStride = 3 * n, heads = 3
        // Queries hold fp16 values, as `standardAttention` rounds them.
        let q = (0..<(heads * n)).map { _ in HalfFloat.roundToF16(Float(rng.nextDouble() * 2 - 1)) }
        var keys = [UInt16](repeating: 0, count: count * keyStride + 8 * keyStride + n)
        var values = keys
        for i in 0..<(count * keyStride) {
            keys[i] = HalfFloat.floatToF16(Float(rng.nextDouble() * 2 - 1))
            values[i] = HalfFloat.floatToF16(Float(rng.nextDouble() * 2 - 1))
        }
        let scale: Float = 0.125
        let stride = count + 3
        var scores = [Float](repeating: .nan, count: heads * stride)
        var out = [Float](repeating: .nan, count: heads * 64)
        let weights = (0..<(heads * stride)).map { _ in Float(rng.nextDouble()) }
        let inv = SIMD4<Float>(0.7, 0.3, 0.11, 0)
        q.withUnsafeBufferPointer { qb in
            keys.withUnsafeBufferPointer { kb in
                values.withUnsafeBufferPointer { vb in
                    let maxes = scores.withUnsafeMutableBufferPointer { sb in
                        GroupedAttention.scores(m, q: qb.baseAddress!, qHeadStride: n, keys: kb.baseAddress! + n,
                                                keyStride: keyStride, count: count, n: n, scale: scale,
                                                into: sb.baseAddress!, stride: stride)
                    }
                    weights.withUnsafeBufferPointer { wb in
                        out.withUnsafeMutableBufferPointer { ob in
                            GroupedAttention.weightedSum64(m, weights: wb.baseAddress!, stride: stride, inv: inv, count: count,
                                                           values: vb.baseAddress! + n, valueStride: keyStride,
                                                           out: ob.baseAddress!, outStride: 64)
                        }
                    }
                    var reference = [Float](repeating: 0, count: 64)
                    for h in 0..<m {
                        var best = -Float.infinity
                        for t in 0..<count {
                            let r = VectorOps.dotHalf(qb.baseAddress! + h * n, kb.baseAddress! + n + t * keyStride, n) * scale
                            best = max(best, r)
                            #expect(scores[h * stride + t].bitPattern == r.bitPattern, "head \(h) position \(t)")
                        }
                        #expect(maxes[h] == best)
                        weights.withUnsafeBufferPointer { wb in
                            reference.withUnsafeMutableBufferPointer { rb in
                                VectorOps.weightedSumHalf64(wb.baseAddress! + h * stride, inv[h], count, vb.baseAddress! + n,
                                                            stride: keyStride, rb.baseAddress!)
                            }
                        }
                        for j in 0..<64 where out[h * 64 + j].bitPattern != reference[j].bitPattern {
                            Issue.record("head \(h) output \(j): \(out[h * 64 + j]) != \(reference[j])")
                        }
                    }
                }
            }
        }
    }
}
