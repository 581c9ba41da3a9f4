import Foundation
import Testing
@testable import AirlockEngine

/// Decode steps run on the whole pool or, when that is faster (a busy machine), on the
/// calling thread alone (`ThreadModeTuner`).
@Suite("Decode thread modes")
struct ThreadModeTests {
    /// Feeds `steps` step times (`solo` / `pool` nanoseconds by mode) and returns how many
    /// steps ran alone.
    /// `poolWait`: the pool's long waits per pooled step (a busy machine).
    static func drive(_ t: inout ThreadModeTuner, steps: Int, rows: Int = 1, solo: UInt64, pool: UInt64,
                      poolWait: UInt64 = 0) -> Int {
        var alone = 0
        for _ in 0..<steps {
            let s = t.beginStep(rows: rows)
            if s { alone += 1 }
            t.endStep(nanoseconds: s ? solo : pool, poolWaitNanoseconds: s ? 0 : poolWait)
        }
        return alone
    }

    @Test func aQuietPoolIsNeverProbed() {
        var t = ThreadModeTuner(enabled: true)
        // No long waits for helpers: not a single step alone, even if one would be faster.
        #expect(Self.drive(&t, steps: 2_000, solo: 900_000, pool: 1_000_000) == 0)
        #expect(!t.prefersSolo)
        // Contention on the pool, but the pool still 1.26x faster: it stays, and the probes
        // (twice as far apart each time) cost few steps.
        var busy = ThreadModeTuner(enabled: true)
        let alone = Self.drive(&busy, steps: 2_000, solo: 1_260_000, pool: 1_000_000, poolWait: 100_000)
        #expect(!busy.prefersSolo && busy.switches == 0)
        #expect(alone <= 40, "\(alone) of 2000 steps ran alone")
    }

    @Test func movesToOneThreadWhenThatIsFasterAndBackWhenThePoolRecovers() {
        var t = ThreadModeTuner(enabled: true)
        let busy = Self.drive(&t, steps: 200, solo: 10_000_000, pool: 15_000_000, poolWait: 3_000_000)
        #expect(t.prefersSolo)
        #expect(busy >= 150, "only \(busy) of 200 steps ran alone on a busy machine")
        _ = Self.drive(&t, steps: 1_000, solo: 10_000_000, pool: 6_000_000)
        #expect(!t.prefersSolo)
    }

    @Test func noisyButEqualModesDoNotFlap() {
        var t = ThreadModeTuner(enabled: true)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            _ = t.beginStep(rows: 1)
            // Both modes 5 ms ± 2%, within the switching margin; the pool contended.
            t.endStep(nanoseconds: 4_900_000 + rng.next() % 200_000, poolWaitNanoseconds: 500_000)
        }
        #expect(t.switches == 0)
    }

    @Test func aNewBatchSizeStartsOverOnThePoolAndDisabledNeverGoesAlone() {
        var t = ThreadModeTuner(enabled: true)
        _ = Self.drive(&t, steps: 200, solo: 1_000_000, pool: 3_000_000, poolWait: 1_000_000)
        #expect(t.prefersSolo)
        #expect(t.beginStep(rows: 4) == false)
        #expect(!t.prefersSolo)

        var off = ThreadModeTuner(enabled: false)
        #expect(Self.drive(&off, steps: 500, solo: 1_000_000, pool: 9_000_000) == 0)
    }

    /// The calling thread alone must compute exactly what the pool computes: the same model,
    /// prompt and continuation, decoded token by token in each mode, bit for bit.
    @Test(.enabled(if: ModelFixture.available))
    func aloneAndPooledDecodeStepsGiveIdenticalLogits() throws {
        let evaluator = try SequenceEvaluator(modelPath: ModelFixture.modelPath, threads: 2, capacity: 64)
        let prompt = evaluator.tokenizer.encode("The quick brown fox")
        let continuation: [Int32] = [18, 253, 7661, 28, 411, 260, 17106, 30, 378, 1029, 28, 3]
        func run(_ tuner: ThreadModeTuner) throws -> ([[Float]], ThreadModeTuner) {
            evaluator.reset()
            evaluator.model.threadTuner = tuner
            var out = [try evaluator.append(prompt)]
            for token in continuation { out.append(try evaluator.append([token])) }
            return (out, evaluator.model.threadTuner)
        }
        let (pooled, _) = try run(ThreadModeTuner(pinnedSolo: false))
        let (alone, soloTuner) = try run(ThreadModeTuner(pinnedSolo: true))
        #expect(soloTuner.soloSteps == 1 + continuation.count)
        #expect(pooled.count == alone.count)
        for (i, (p, a)) in zip(pooled, alone).enumerated() {
            let differing = zip(p, a).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(p.count == a.count && differing == 0, "step \(i): \(differing) logits differ")
        }
    }
}
