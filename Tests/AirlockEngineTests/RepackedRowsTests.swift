import Foundation
import Testing
@testable import AirlockEngine

/// Q4_1 matrices get a copy repacked in groups of four rows for the decode kernel (VNNI path).
/// Its results must be the plain kernels' to the bit, for any run of rows the pool cuts
/// (starting or ending inside a group, the rows past the last whole group).
@Suite("Repacked Q4_1 rows")
struct RepackedRowsTests {
    @Test(arguments: [32, 96, 160, 576, 1536])
    func repackedRunsEqualTheReference(_ n: Int) throws {
        guard KernelPath.cpuSupportsVNNI else { return }
        let rows = 37, tokens = 3
        let (w, x, acts) = DecodeKernelTests.randomInputs(.q4_1, n, rows: rows, tokens: tokens, seed: 977 + UInt64(n))
        try w.withUnsafeBytes { wb in
            let plain = WeightMatrix(type: .q4_1, data: wb.baseAddress!, rows: rows, cols: n)
            let packed = try #require(RepackedRows(plain))
            // Whole groups only: the last row stays in the plain layout.
            #expect(packed.rows == 36)
            x.withUnsafeBufferPointer { xb in
                for token in 0..<tokens {
                    var reference = [Float](repeating: 0, count: rows)
                    for r in 0..<rows {
                        QuantizedDot.rowDot(.q4_1, plain.row(r), n, acts, xb.baseAddress!, n, token, 1, &reference[r])
                    }
                    for range in [0..<37, 1..<37, 5..<6, 6..<8, 3..<14, 4..<36, 36..<37, 8..<12, 0..<4, 33..<37] {
                        var out = [Float](repeating: .nan, count: range.count)
                        out.withUnsafeMutableBufferPointer { ob in
                            QuantizedDot.decodeRows(plain, repacked: packed.base, rows: packed.rows, range, acts, token, ob.baseAddress!)
                        }
                        for (i, r) in range.enumerated() where out[i].bitPattern != reference[r].bitPattern {
                            Issue.record("n=\(n) token \(token) rows \(range) row \(r): \(out[i]) != \(reference[r])")
                        }
                    }
                }
            }
        }
    }

    /// Model weights load with the copy when the VNNI path is active (so the golden model
    /// tests run through it), a decode matmul over the pool uses it and gives the one-row
    /// kernel's numbers, and other types get no copy.
    @Test func decodeMatMulUsesTheRepackedCopy() {
        let n = 576, rows = 301
        let (w, x, acts) = DecodeKernelTests.randomInputs(.q4_1, n, rows: rows, tokens: 1, seed: 4242)
        let pool = WorkerPool(threadCount: 2)
        w.withUnsafeBytes { wb in
            let matrix = WeightMatrix(repacking: WeightMatrix(type: .q4_1, data: wb.baseAddress!, rows: rows, cols: n))
            #expect((matrix.repacked != nil) == RepackedRows.enabled)
            #expect(RepackedRows.enabled == (KernelPath.active == .avx512vnni
                && ProcessInfo.processInfo.environment["AIRLOCK_ENGINE_REPACK"]?.lowercased() != "off"))
            #expect(WeightMatrix(repacking: WeightMatrix(type: .q8_0, data: wb.baseAddress!, rows: 4, cols: 32)).repacked == nil)
            var out = [Float](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xb in
                out.withUnsafeMutableBufferPointer { ob in
                    MatMul.run(pool: pool, targets: [.init(weights: matrix, out: ob.baseAddress!, outStride: rows)],
                               x: xb.baseAddress!, xStride: n, acts: acts, n: 1)
                }
                for r in 0..<rows {
                    var single: Float = 0
                    QuantizedDot.rowDot(.q4_1, matrix.row(r), n, acts, xb.baseAddress!, n, 0, 1, &single)
                    #expect(out[r].bitPattern == single.bitPattern, "row \(r)")
                }
            }
        }
    }
}
