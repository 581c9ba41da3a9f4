import Foundation
import Testing
@testable import AirlockEngine

/// Single-token (decode) matmuls go through the row-run kernels; their results must be the
/// very numbers the one-row and four-token kernels give, or greedy output would depend on
/// how many streams happened to share a step.
@Suite("Decode kernels")
struct DecodeKernelTests {
    /// Random weight rows of `type` and `tokens` random activation rows, quantized.
    static func randomInputs(_ type: GGMLType, _ n: Int, rows: Int, tokens: Int, seed: UInt64) -> ([UInt8], [Float], QuantizedActivations) {
        var rng = SplitMix64(seed: seed)
        let w = (0..<rows).flatMap { _ in KernelTests.randomRow(type, n, &rng) }
        let x = (0..<(n * tokens)).map { _ in Float(rng.nextDouble() * 2 - 1) }
        let acts = QuantizedActivations(rows: tokens, rowLength: n)
        x.withUnsafeBufferPointer { acts.quantize($0.baseAddress!, count: tokens, stride: n) }
        return (w, x, acts)
    }

    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0], [96, 160, 576, 1536])
    func singleTokenMatMulEqualsRowDots(_ type: GGMLType, _ n: Int) {
        // Odd row count (a lone last row), and enough bytes to go through the pool.
        let rows = 301, tokens = 4
        let (w, x, acts) = Self.randomInputs(type, n, rows: rows, tokens: tokens, seed: UInt64(type.rawValue) * 31 + UInt64(n))
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

    /// Both kernel paths (AVX2 Swift, AVX-512 VNNI C) on the same inputs: every row equals the
    /// one-row reference bit for bit, for odd block counts (a lone last block), odd row counts
    /// (a lone last row), row runs starting mid-matrix, and activations at a scale stride > 1
    /// (the activation buffer has room for several tokens).
    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0], [32, 96, 160, 576, 1536])
    func bothKernelPathsEqualTheReference(_ type: GGMLType, _ n: Int) {
        let rows = 37, tokens = 3
        let (w, x, acts) = Self.randomInputs(type, n, rows: rows, tokens: tokens, seed: UInt64(type.rawValue) * 131 + UInt64(n))
        // Portable builds have no row-run kernels: the first test covers them.
        guard EngineBuildInfo.kernels != "portable" else { return }
        var paths: [KernelPath] = [.avx2]
        if KernelPath.cpuSupportsVNNI { paths.append(.avx512vnni) }
        w.withUnsafeBytes { wb in
            let matrix = WeightMatrix(type: type, data: wb.baseAddress!, rows: rows, cols: n)
            x.withUnsafeBufferPointer { xb in
                for token in 0..<tokens {
                    var reference = [Float](repeating: 0, count: rows)
                    for r in 0..<rows {
                        QuantizedDot.rowDot(type, matrix.row(r), n, acts, xb.baseAddress!, n, token, 1, &reference[r])
                    }
                    for path in paths {
                        // Runs of every length from a few starting rows, as the pool's chunks cut them.
                        for (first, count) in [(0, rows), (1, rows - 1), (5, 1), (6, 2), (3, 11)] {
                            var out = [Float](repeating: .nan, count: count)
                            let handled = out.withUnsafeMutableBufferPointer { ob in
                                QuantizedDot.decodeRows(type, matrix.row(first), rowBytes: matrix.rowBytes, count: count, n,
                                                        acts, token, ob.baseAddress!, path: path)
                            }
                            #expect(handled)
                            for i in 0..<count where out[i].bitPattern != reference[first + i].bitPattern {
                                Issue.record("\(path) \(type) n=\(n) token \(token) row \(first + i): \(out[i]) != \(reference[first + i])")
                            }
                        }
                    }
                }
            }
        }
    }

    /// The VNNI path is taken on CPUs that have it unless AIRLOCK_ENGINE_KERNELS=avx2 asks
    /// for the AVX2 kernels; without VNNI it is never chosen (it would not run).
    @Test func kernelPathSelection() {
        #expect(KernelPath.resolve(requested: "avx2", cpuSupportsVNNI: true) == .avx2)
        #expect(KernelPath.resolve(requested: "AVX2", cpuSupportsVNNI: true) == .avx2)
        #expect(KernelPath.resolve(requested: nil, cpuSupportsVNNI: true) == .avx512vnni)
        #expect(KernelPath.resolve(requested: "avx512vnni", cpuSupportsVNNI: false) == .avx2)
        #expect(KernelPath.resolve(requested: nil, cpuSupportsVNNI: false) == .avx2)
        let env = ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_KERNELS"]
        #expect(KernelPath.active == KernelPath.resolve(requested: env, cpuSupportsVNNI: KernelPath.cpuSupportsVNNI))
        if EngineBuildInfo.kernels != "portable" {
            #expect(EngineBuildInfo.kernels == KernelPath.active.rawValue)
        }
    }

    /// The engine's activation buffers have room for a whole prompt chunk (256 rows) but a
    /// decode step quantizes one row: its scales are then laid out for the rows present
    /// (stride = row count, contiguous for one row), and every kernel must read them there.
    /// Results equal those from a buffer of exactly the rows' size, bit for bit, for the
    /// decode (1 row), one-row (3 rows) and four-token (5 rows) kernels.
    @Test(arguments: [GGMLType.q4_1, .q8_0, .q4_0], [1, 3, 5])
    func roomyActivationBuffersGiveTheSameResults(_ type: GGMLType, _ tokens: Int) {
        let n = 576, rows = 67
        let (w, x, exact) = Self.randomInputs(type, n, rows: rows, tokens: tokens, seed: UInt64(type.rawValue) * 7 + UInt64(tokens))
        let roomy = QuantizedActivations(rows: 256, rowLength: n)
        // Filled for 256 rows first, as a prompt chunk leaves it, then re-quantized for `tokens`.
        let filler = [Float](repeating: 0.25, count: n * 256)
        filler.withUnsafeBufferPointer { roomy.quantize($0.baseAddress!, count: 256, stride: n) }
        x.withUnsafeBufferPointer { roomy.quantize($0.baseAddress!, count: tokens, stride: n) }
        #expect(roomy.scaleStride == tokens)
        let pool = WorkerPool(threadCount: 2)
        func run(_ acts: QuantizedActivations) -> [Float] {
            var out = [Float](repeating: .nan, count: rows * tokens)
            w.withUnsafeBytes { wb in
                let matrix = WeightMatrix(type: type, data: wb.baseAddress!, rows: rows, cols: n)
                x.withUnsafeBufferPointer { xb in
                    out.withUnsafeMutableBufferPointer { ob in
                        MatMul.run(pool: pool, targets: [.init(weights: matrix, out: ob.baseAddress!, outStride: rows)],
                                   x: xb.baseAddress!, xStride: n, acts: acts, n: tokens)
                    }
                }
            }
            return out
        }
        let a = run(exact), b = run(roomy)
        #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(type), \(tokens) rows")
    }
}
