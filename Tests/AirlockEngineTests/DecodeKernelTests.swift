import Testing
@testable import AirlockEngine

/// Single-token (decode) matmuls go through the row-run kernels; their results must be the
/// very numbers the one-row and four-token kernels give, or greedy output would depend on
/// how many streams happened to share a step.
@Suite("Decode kernels")
struct DecodeKernelTests {
    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0], [96, 576, 1536])
    func singleTokenMatMulEqualsRowDots(_ type: GGMLType, _ n: Int) {
        // Odd row count (a lone last row), and enough bytes to go through the pool.
        let rows = 301, tokens = 4
        var rng = SplitMix64(seed: UInt64(type.rawValue) * 31 + UInt64(n))
        let w = (0..<rows).flatMap { _ in KernelTests.randomRow(type, n, &rng) }
        let x = (0..<(n * tokens)).map { _ in Float(rng.nextDouble() * 2 - 1) }
        let acts = QuantizedActivations(rows: tokens, rowLength: n)
        x.withUnsafeBufferPointer { acts.quantize($0.baseAddress!, count: tokens, stride: n) }
        var one = [Float](repeating: .nan, count: rows)
        var batch = [Float](repeating: .nan, count: rows * tokens)
        let pool = WorkerPool(threadCount: 2)
        w.withUnsafeBytes { wb in
            let matrix = WeightMatrix(type: type, data: wb.baseAddress!, rows: rows, cols: n)
            x.withUnsafeBufferPointer { xb in
                one.withUnsafeMutableBufferPointer { ob in
                    MatMul.run(pool: pool, targets: [.init(weights: matrix, out: ob.baseAddress!, outStride: rows)],
                               x: xb.baseAddress!, xStride: n, acts: acts, n: 1)
                }
                batch.withUnsafeMutableBufferPointer { bb in
                    MatMul.run(pool: pool, targets: [.init(weights: matrix, out: bb.baseAddress!, outStride: rows)],
                               x: xb.baseAddress!, xStride: n, acts: acts, n: tokens)
                }
                for r in 0..<rows {
                    var single: Float = 0
                    QuantizedDot.rowDot(type, matrix.row(r), n, acts, xb.baseAddress!, n, 0, 1, &single)
                    #expect(one[r] == single, "row \(r): decode kernel and one-row kernel must agree bit for bit")
                    #expect(one[r] == batch[r], "row \(r): decode kernel and four-token kernel must agree bit for bit")
                }
            }
        }
    }
}
