import Foundation
import Synchronization
import Testing
@testable import AirlockEngine

@Suite("Kernels")
struct KernelTests {
    /// Random but valid blocks of each type (scales kept small so sums stay in range).
    static func randomRow(_ type: GGMLType, _ n: Int, _ rng: inout SplitMix64) -> [UInt8] {
        func f16(_ v: Float) -> [UInt8] { withUnsafeBytes(of: Float16(v).bitPattern) { Array($0) } }
        func rand(_ k: Int) -> [UInt8] { (0..<k).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
        func unit() -> Float { Float(rng.nextDouble()) }
        var out: [UInt8] = []
        switch type {
        case .f32: for _ in 0..<n { out += withUnsafeBytes(of: unit() * 2 - 1) { Array($0) } }
        case .f16: for _ in 0..<n { out += f16(unit() * 2 - 1) }
        case .bf16: for _ in 0..<n { out += withUnsafeBytes(of: UInt16((unit() * 2 - 1).bitPattern >> 16)) { Array($0) } }
        case .q8_0: for _ in 0..<n / 32 { out += f16(0.01 + unit() * 0.02) + rand(32) }
        case .q4_0: for _ in 0..<n / 32 { out += f16(0.01 + unit() * 0.1) + rand(16) }
        case .q4_1: for _ in 0..<n / 32 { out += f16(0.01 + unit() * 0.1) + f16(unit() - 0.5) + rand(16) }
        case .q4_K: for _ in 0..<n / 256 { out += f16(0.001 + unit() * 0.01) + f16(unit() * 0.01) + rand(12) + rand(128) }
        case .q6_K: for _ in 0..<n / 256 { out += rand(128) + rand(64) + rand(16) + f16(0.001 + unit() * 0.01) }
        }
        return out
    }

    @Test(arguments: GGMLType.allCases)
    func fusedDotMatchesDequantizedReference(_ type: GGMLType) {
        let n = 512, tokens = 6
        var rng = SplitMix64(seed: UInt64(type.rawValue) + 7)
        let w = Self.randomRow(type, n, &rng)
        #expect(w.count == type.rowBytes(n))
        let x = (0..<(n * tokens)).map { _ in Float(rng.nextDouble() * 4 - 2) }
        let acts = QuantizedActivations(rows: tokens, rowLength: n)
        x.withUnsafeBufferPointer { acts.quantize($0.baseAddress!, count: tokens, stride: n) }
        var wf = [Float](repeating: 0, count: n)
        w.withUnsafeBytes { Dequantize.row(type, $0.baseAddress!, n, into: &wf) }
        var out = [Float](repeating: 0, count: tokens)
        w.withUnsafeBytes { wb in
            x.withUnsafeBufferPointer { xb in
                // Rows 0..<4 through the four-token path, 4..<6 through the single path.
                QuantizedDot.rowDot(type, wb.baseAddress!, n, acts, xb.baseAddress!, n, 0, 4, &out)
                out.withUnsafeMutableBufferPointer {
                    QuantizedDot.rowDot(type, wb.baseAddress!, n, acts, xb.baseAddress!, n, 4, 2, $0.baseAddress! + 4)
                }
            }
        }
        for t in 0..<tokens {
            var expected = 0.0, magnitude = 0.0
            for i in 0..<n {
                let a: Double
                if [.f32, .f16, .bf16].contains(type) {
                    a = Double(x[t * n + i])
                } else {
                    a = Double(acts.qsRow(t)[i]) * Double(acts.dRow(t)[(i / 32) * acts.scaleStride])
                }
                expected += Double(wf[i]) * a
                magnitude += abs(Double(wf[i]) * a)
            }
            let tol = (type == .q4_1 || type == .q4_K) ? 1e-3 : 1e-4  // fp16-rounded block sums
            #expect(abs(Double(out[t]) - expected) <= tol * magnitude + 1e-4, "\(type.name) token \(t): \(out[t]) vs \(expected)")
        }
    }

    @Test func activationQuantizationRoundTrips() {
        var rng = SplitMix64(seed: 3)
        let x = (0..<256).map { _ in Float(rng.nextDouble() * 20 - 10) }
        let acts = QuantizedActivations(rows: 1, rowLength: 256)
        x.withUnsafeBufferPointer { acts.quantize($0.baseAddress!, count: 1, stride: 256) }
        for b in 0..<8 {
            let d = acts.dRow(0)[b * acts.scaleStride]
            #expect(d == Float(Float16(d)), "scale is stored at fp16 precision")
            var sum = 0
            for j in 0..<32 {
                let q = acts.qsRow(0)[b * 32 + j]
                sum += Int(q)
                // The stored scale is fp16-rounded, the rounding used the exact one.
                #expect(abs(Float(q) * d - x[b * 32 + j]) <= d * 0.5 + abs(x[b * 32 + j]) * 1e-3 + 1e-4)
            }
            #expect(abs(acts.sRow(0)[b * acts.scaleStride] - Float(sum) * d) <= abs(Float(sum) * d) * 1e-3 + 1e-3)
        }
    }

    @Test func multithreadedMatMulEqualsSerialDots() {
        let rows = 37, n = 256, tokens = 7
        var rng = SplitMix64(seed: 11)
        let w = (0..<rows).flatMap { _ in Self.randomRow(.q4_1, n, &rng) }
        let w2 = (0..<5).flatMap { _ in Self.randomRow(.q8_0, n, &rng) }
        let x = (0..<(n * tokens)).map { _ in Float(rng.nextDouble() - 0.5) }
        let acts = QuantizedActivations(rows: tokens, rowLength: n)
        x.withUnsafeBufferPointer { acts.quantize($0.baseAddress!, count: tokens, stride: n) }
        var out = [Float](repeating: .nan, count: tokens * rows)
        var out2 = [Float](repeating: .nan, count: tokens * 5)
        let pool = WorkerPool(threadCount: 3)
        w.withUnsafeBytes { wb in
            w2.withUnsafeBytes { wb2 in
                x.withUnsafeBufferPointer { xb in
                    out.withUnsafeMutableBufferPointer { ob in
                        out2.withUnsafeMutableBufferPointer { ob2 in
                            MatMul.run(pool: pool, targets: [
                                .init(weights: WeightMatrix(type: .q4_1, data: wb.baseAddress!, rows: rows, cols: n), out: ob.baseAddress!, outStride: rows),
                                .init(weights: WeightMatrix(type: .q8_0, data: wb2.baseAddress!, rows: 5, cols: n), out: ob2.baseAddress!, outStride: 5),
                            ], x: xb.baseAddress!, xStride: n, acts: acts, n: tokens)
                        }
                    }
                    for r in 0..<rows {
                        for t in 0..<tokens {
                            var single: Float = 0
                            QuantizedDot.rowDot(.q4_1, wb.baseAddress! + r * 20 * n / 32, n, acts, xb.baseAddress!, n, t, 1, &single)
                            #expect(out[t * rows + r] == single, "batched and single-token paths must agree bit for bit")
                        }
                    }
                }
            }
        }
        #expect(!out2.contains { $0.isNaN })
    }

    @Test func workerPoolVisitsEveryIndexOnce() {
        let pool = WorkerPool(threadCount: 4)
        for count in [1, 7, 64, 1000] {
            let hits = Mutex([Int](repeating: 0, count: count))
            pool.parallelFor(count: count, chunk: 3) { range, worker in
                #expect(worker >= 0 && worker < 4)
                hits.withLock { h in for i in range { h[i] += 1 } }
            }
            hits.withLock { #expect($0.allSatisfy { $0 == 1 }) }
        }
        let total = Atomic<Int>(0)
        pool.runOnAll { _ in total.wrappingAdd(1, ordering: .relaxed) }
        #expect(total.load(ordering: .relaxed) == 4)
    }

    @Test func vectorOpsMatchDefinitions() {
        let x: [Float] = [1, -2, 3, -4, 5, -6, 7, -8]
        let w: [Float] = [1, 1, 1, 1, 2, 2, 2, 2]
        var y = [Float](repeating: 0, count: 8)
        VectorOps.rmsNorm(x, w, 8, 1e-5, &y)
        let rms = (x.map { $0 * $0 }.reduce(0, +) / 8 + 1e-5).squareRoot()
        for i in 0..<8 { #expect(abs(y[i] - x[i] / rms * w[i]) < 1e-5) }
        var table = [Float](repeating: 0, count: 4)
        VectorOps.ropeTable(position: 3, ropeDims: 4, base: 10_000, into: &table)
        #expect(abs(table[0] - cos(3)) < 1e-6 && abs(table[1] - sin(3)) < 1e-6)
        #expect(abs(table[2] - cos(3 * 0.01)) < 1e-6)
        var v: [Float] = [1, 0, 1, 0]
        VectorOps.rope(&v, heads: 1, headDim: 4, ropeDims: 4, cosSin: table)
        #expect(abs(v[0] - cos(3)) < 1e-6 && abs(v[1] - sin(3)) < 1e-6)
    }
}

@Suite("Worker pool lifecycle")
struct WorkerPoolLifecycleTests {
    @Test func releasedPoolsJoinTheirThreads() {
        func threadCount() -> Int {
            (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? 0
        }
        let before = threadCount()
        for _ in 0..<20 {
            let pool = WorkerPool(threadCount: 3)
            pool.parallelFor(count: 100, chunk: 10) { _, _ in }
        }
        // Other suites run concurrently, so allow slack; 20 leaked pools would add 40 threads.
        #expect(threadCount() < before + 20)
    }
}

@Suite("Half precision")
struct HalfFloatTests {
    @Test func everyHalfConvertsExactly() {
        for bits in UInt16.min...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let got = HalfFloat.f16ToFloat(bits)
            #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN), "0x\(String(bits, radix: 16))")
            if got.bitPattern != expected.bitPattern && !(got.isNaN && expected.isNaN) { break }
        }
    }
}
