import Foundation

/// Picks the next token from logits: repetition penalty, then top-k, top-p and min-p on
/// the unscaled distribution, then temperature and a seeded draw (llama.cpp's order).
/// Temperature ≤ 0 is argmax. Candidate buffers are kept between calls.
struct Sampler {
    let options: GenerationOptions
    private var rng: SplitMix64
    private var recent: [Int32] = []
    private var candidates: [(id: Int32, logit: Float)] = []
    private var probs: [Float] = []

    init(options: GenerationOptions) {
        self.options = options
        rng = SplitMix64(seed: options.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// Records tokens for the repetition window (prompt and generated).
    mutating func observe(_ tokens: some Sequence<Int32>) {
        guard options.repetitionPenalty != 1, options.repetitionWindow > 0 else { return }
        recent.append(contentsOf: tokens)
        if recent.count > options.repetitionWindow { recent.removeFirst(recent.count - options.repetitionWindow) }
    }

    /// The greedy choice: the first token with the largest logit, and that logit.
    static func argmax(_ logits: UnsafePointer<Float>, vocab: Int) -> (token: Int32, logit: Float) {
        var best = 0
        var maxLogit = -Float.infinity
        for i in 0..<vocab where logits[i] > maxLogit {
            maxLogit = logits[i]
            best = i
        }
        return (Int32(best), maxLogit)
    }

    mutating func sample(_ logits: UnsafeMutablePointer<Float>, vocab: Int) -> Int32 {
        if options.repetitionPenalty != 1 {
            var seen = Set<Int32>()
            for t in recent where t >= 0 && Int(t) < vocab && seen.insert(t).inserted {
                let l = logits[Int(t)]
                logits[Int(t)] = l > 0 ? l / options.repetitionPenalty : l * options.repetitionPenalty
            }
        }
        let (best, maxLogit) = Self.argmax(logits, vocab: vocab)
        if options.temperature <= 0 || !maxLogit.isFinite { return best }

        // Tokens e^30 times less likely than the best cannot survive any filter; skip sorting them.
        let floor = maxLogit - 30 * max(1, options.temperature)
        candidates.removeAll(keepingCapacity: true)
        for i in 0..<vocab where logits[i] >= floor { candidates.append((Int32(i), logits[i])) }
        if options.topK > 0 && candidates.count > options.topK {
            // Linear-time selection of the k best, then sort only those.
            Self.selectTop(&candidates, options.topK)
            candidates.removeLast(candidates.count - options.topK)
        }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }

        if options.topP < 1 {
            softmax(scale: 1)
            var cum: Float = 0
            var keep = candidates.count
            for (i, p) in probs.enumerated() {
                cum += p
                if cum >= options.topP { keep = i + 1; break }
            }
            candidates.removeLast(candidates.count - keep)
        }
        if options.minP > 0 {
            let threshold = candidates[0].logit + logf(options.minP)
            var keep = 1
            while keep < candidates.count && candidates[keep].logit >= threshold { keep += 1 }
            candidates.removeLast(candidates.count - keep)
        }
        softmax(scale: 1 / options.temperature)
        let r = Float(rng.nextDouble())
        var cum: Float = 0
        for (i, p) in probs.enumerated() {
            cum += p
            if r < cum { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    /// Quickselect: afterwards the first `k` elements are the k largest logits (any order).
    static func selectTop(_ a: inout [(id: Int32, logit: Float)], _ k: Int) {
        var lo = 0, hi = a.count - 1
        var seed: UInt64 = 0x9E37_79B9
        while lo < hi {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1
            let pivot = a[lo + Int(seed >> 33) % (hi - lo + 1)].logit
            var i = lo, j = hi
            while i <= j {
                while a[i].logit > pivot { i += 1 }
                while a[j].logit < pivot { j -= 1 }
                if i <= j {
                    a.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            if k - 1 <= j { hi = j } else if k - 1 >= i { lo = i } else { return }
        }
    }

    private mutating func softmax(scale: Float) {
        probs.removeAll(keepingCapacity: true)
        let m = candidates[0].logit
        var sum: Float = 0
        for c in candidates {
            let e = expf((c.logit - m) * scale)
            probs.append(e)
            sum += e
        }
        for i in probs.indices { probs[i] /= sum }
    }
}

/// Small, fast, seedable generator (Steele et al.'s SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
