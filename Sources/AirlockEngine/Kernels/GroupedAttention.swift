#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel
#endif
import CAirlockPrefetch

/// Attention of up to three query heads that share one KV head (grouped-query attention):
/// each fp16 key and value is loaded and converted once for all of them instead of once per
/// head. Every head's numbers are exactly those of the one-head code in `attend` (the same
/// FMA chain per score and per output element, in the same order), so outputs are
/// bit-identical however heads are grouped. (Portable builds: one head at a time.)
enum GroupedAttention {
    static let maxHeads = 3
    /// Cache lines of upcoming weights (`WeightPrefetch`) requested per step of the score loop
    /// (two positions) and of the weighted sum (one position): about what the memory delivers
    /// to one core in the time of that step, so the prefetches ride along with the arithmetic.
    /// (SmolLM2, 2 threads, paired per-phase medians against 2/1: o and gate/up 5–10% faster,
    /// attention ~8% slower, step ~5% faster; 4/3 slowed attention more than it gained.)
    static let prefetchLinesPerScoreStep = 3
    static let prefetchLinesPerSumStep = 2

    /// `scores + h * stride` gets (q_h · k_t) · scale for t < count, h < m; returns each head's
    /// maximum. Keys at `keys + t * keyStride` (fp16), `n` a multiple of 8.
    @inline(__always)
    static func scores(_ m: Int, q: UnsafePointer<Float>, qHeadStride: Int, keys: UnsafePointer<UInt16>, keyStride: Int,
                       count: Int, n: Int, scale: Float, into scores: UnsafeMutablePointer<Float>, stride: Int,
                       prefetch: WeightPrefetch? = nil, worker: Int = 0) -> SIMD4<Float> {
        #if AIRLOCK_X86_AVX2
        let q1 = q + (m > 1 ? qHeadStride : 0), q2 = q + (m > 2 ? 2 * qHeadStride : 0)
        var maxes = SIMD4<Float>(repeating: -.infinity)
        @inline(__always) func key(_ t: Int, _ i: Int) -> __m256 {
            _mm256_cvtph_ps(_mm_loadu_si128(UnsafeRawPointer(keys + t &* keyStride + i).assumingMemoryBound(to: __m128i.self)))
        }
        @inline(__always) func put(_ h: Int, _ t: Int, _ acc: __m256) {
            let sc = QuantizedDot.hsum(acc) * scale
            scores[h &* stride &+ t] = sc
            maxes[h] = max(maxes[h], sc)
        }
        var t = 0
        while t + 2 <= count {
            // The cache is evicted by each step's weight stream: ask for later keys early.
            VectorOps.prefetch(UnsafeRawPointer(keys + (t + 8) &* keyStride), bytes: n * 2)
            VectorOps.prefetch(UnsafeRawPointer(keys + (t + 9) &* keyStride), bytes: n * 2)
            prefetch?.step(worker, lines: prefetchLinesPerScoreStep)
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps()
            var b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps()
            var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps()
            var i = 0
            while i < n {
                let k0 = key(t, i), k1 = key(t + 1, i)
                let qa = _mm256_loadu_ps(q + i)
                a0 = _mm256_fmadd_ps(qa, k0, a0); a1 = _mm256_fmadd_ps(qa, k1, a1)
                if m > 1 {
                    let qb = _mm256_loadu_ps(q1 + i)
                    b0 = _mm256_fmadd_ps(qb, k0, b0); b1 = _mm256_fmadd_ps(qb, k1, b1)
                }
                if m > 2 {
                    let qc = _mm256_loadu_ps(q2 + i)
                    c0 = _mm256_fmadd_ps(qc, k0, c0); c1 = _mm256_fmadd_ps(qc, k1, c1)
                }
                i &+= 8
            }
            put(0, t, a0); put(0, t + 1, a1)
            if m > 1 { put(1, t, b0); put(1, t + 1, b1) }
            if m > 2 { put(2, t, c0); put(2, t + 1, c1) }
            t &+= 2
        }
        if t < count {
            var a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps(), c0 = _mm256_setzero_ps()
            var i = 0
            while i < n {
                let k0 = key(t, i)
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), k0, a0)
                if m > 1 { b0 = _mm256_fmadd_ps(_mm256_loadu_ps(q1 + i), k0, b0) }
                if m > 2 { c0 = _mm256_fmadd_ps(_mm256_loadu_ps(q2 + i), k0, c0) }
                i &+= 8
            }
            put(0, t, a0)
            if m > 1 { put(1, t, b0) }
            if m > 2 { put(2, t, c0) }
        }
        return maxes
        #else
        var maxes = SIMD4<Float>(repeating: -.infinity)
        for h in 0..<m {
            for t in 0..<count {
                let sc = VectorOps.dotHalf(q + h * qHeadStride, keys + t * keyStride, n) * scale
                scores[h * stride + t] = sc
                maxes[h] = max(maxes[h], sc)
            }
        }
        return maxes
        #endif
    }

    /// out_h[0..<64] = Σ_t roundToF16(w_h[t] · inv[h]) · v_t for h < m (`VectorOps.weightedSumHalf64`
    /// per head), weights at `weights + h * stride`, outputs at `out + h * outStride`. Two passes
    /// of 32 columns keep the accumulators of three heads in registers.
    @inline(__always)
    static func weightedSum64(_ m: Int, weights: UnsafePointer<Float>, stride: Int, inv: SIMD4<Float>, count: Int,
                              values: UnsafePointer<UInt16>, valueStride: Int, out: UnsafeMutablePointer<Float>, outStride: Int,
                              prefetch: WeightPrefetch? = nil, worker: Int = 0) {
        #if AIRLOCK_X86_AVX2
        for half in 0..<2 {
            let col = half * 32
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps()
            var b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps(), b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps()
            var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
            var t = 0
            while t < count {
                let raw = UnsafeRawPointer(values + t &* valueStride + col)
                airlock_prefetch(raw + 8 &* valueStride &* 2)
                prefetch?.step(worker, lines: prefetchLinesPerSumStep)
                @inline(__always) func h(_ k: Int) -> __m256 {
                    _mm256_cvtph_ps(_mm_loadu_si128((raw + k &* 16).assumingMemoryBound(to: __m128i.self)))
                }
                let v0 = h(0), v1 = h(1), v2 = h(2), v3 = h(3)
                let wa = _mm256_set1_ps(HalfFloat.roundToF16(weights[t] * inv[0]))
                a0 = _mm256_fmadd_ps(v0, wa, a0); a1 = _mm256_fmadd_ps(v1, wa, a1)
                a2 = _mm256_fmadd_ps(v2, wa, a2); a3 = _mm256_fmadd_ps(v3, wa, a3)
                if m > 1 {
                    let wb = _mm256_set1_ps(HalfFloat.roundToF16(weights[stride &+ t] * inv[1]))
                    b0 = _mm256_fmadd_ps(v0, wb, b0); b1 = _mm256_fmadd_ps(v1, wb, b1)
                    b2 = _mm256_fmadd_ps(v2, wb, b2); b3 = _mm256_fmadd_ps(v3, wb, b3)
                }
                if m > 2 {
                    let wc = _mm256_set1_ps(HalfFloat.roundToF16(weights[2 &* stride &+ t] * inv[2]))
                    c0 = _mm256_fmadd_ps(v0, wc, c0); c1 = _mm256_fmadd_ps(v1, wc, c1)
                    c2 = _mm256_fmadd_ps(v2, wc, c2); c3 = _mm256_fmadd_ps(v3, wc, c3)
                }
                t &+= 1
            }
            let o = out + col
            _mm256_storeu_ps(o, a0); _mm256_storeu_ps(o + 8, a1); _mm256_storeu_ps(o + 16, a2); _mm256_storeu_ps(o + 24, a3)
            if m > 1 {
                let ob = o + outStride
                _mm256_storeu_ps(ob, b0); _mm256_storeu_ps(ob + 8, b1); _mm256_storeu_ps(ob + 16, b2); _mm256_storeu_ps(ob + 24, b3)
            }
            if m > 2 {
                let oc = o + 2 * outStride
                _mm256_storeu_ps(oc, c0); _mm256_storeu_ps(oc + 8, c1); _mm256_storeu_ps(oc + 16, c2); _mm256_storeu_ps(oc + 24, c3)
            }
        }
        #else
        for h in 0..<m {
            VectorOps.weightedSumHalf64(weights + h * stride, inv[h], count, values, stride: valueStride, out + h * outStride)
        }
        #endif
    }
}
