#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel

/// AVX2 versions of the hot kernels. Unsigned 4-bit weights multiply signed int8
/// activations with `vpmaddubsw` (32 products per instruction), pairs are widened with
/// `vpmaddwd`, and each block's integer sum is scaled into a float accumulator with one FMA.
/// The four-row variants decode a weight block once and use it for four tokens (prefill and
/// batched decode), which is what makes several streams share each weight read.
extension QuantizedDot {
    @inline(__always)
    static func hsum(_ v: __m256) -> Float {
        // __m256 imports as SIMD8<Float>.
        let s = v.lowHalf + v.highHalf
        return (s.lowHalf + s.highHalf).sum()
    }

    @inline(__always)
    static func load256(_ p: UnsafeRawPointer) -> __m256i {
        _mm256_loadu_si256(p.assumingMemoryBound(to: __m256i.self))
    }

    @inline(__always)
    static func load128(_ p: UnsafeRawPointer) -> __m128i {
        _mm_loadu_si128(p.assumingMemoryBound(to: __m128i.self))
    }

    /// 16 bytes of nibbles → 32 unsigned bytes, low nibbles first (elements 0–15, then 16–31).
    @inline(__always)
    static func unpackNibbles(_ p: UnsafeRawPointer) -> __m256i {
        let v = load128(p)
        let both = _mm256_set_m128i(_mm_srli_epi16(v, 4), v)
        return _mm256_and_si256(both, _mm256_set1_epi8(0x0F))
    }

    // MARK: Q4_1

    static func q4_1AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        var i = 0
        if count >= 4 {
            q4_1x4(w, n, acts, r, out)
            i = 4
        }
        while i < count {
            out[i] = q4_1x1(w, n, acts, r + i)
            i += 1
        }
    }

    @inline(__always)
    static func q4_1x1(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = UnsafeRawPointer(acts.qsRow(r)), ad = acts.dRow(r), asum = acts.sRow(r)
        let ones = _mm256_set1_epi16(1)
        var acc = _mm256_setzero_ps()
        var summ: Float = 0
        for b in 0..<n / 32 {
            let blk = w + b * 20
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let m = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
            let q = unpackNibbles(blk + 4)
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a + b * 32)), ones)
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * ad[b]), acc)
            summ += m * asum[b]
        }
        return hsum(acc) + summ
    }

    @inline(__always)
    static func q4_1x4(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                       _ r: Int, _ out: UnsafeMutablePointer<Float>) {
        let a0 = UnsafeRawPointer(acts.qsRow(r)), a1 = UnsafeRawPointer(acts.qsRow(r + 1))
        let a2 = UnsafeRawPointer(acts.qsRow(r + 2)), a3 = UnsafeRawPointer(acts.qsRow(r + 3))
        let d0 = acts.dRow(r), d1 = acts.dRow(r + 1), d2 = acts.dRow(r + 2), d3 = acts.dRow(r + 3)
        let s0 = acts.sRow(r), s1 = acts.sRow(r + 1), s2 = acts.sRow(r + 2), s3 = acts.sRow(r + 3)
        let ones = _mm256_set1_epi16(1)
        var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
        var m0: Float = 0, m1: Float = 0, m2: Float = 0, m3: Float = 0
        for b in 0..<n / 32 {
            let blk = w + b * 20
            let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
            let m = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 2))
            let q = unpackNibbles(blk + 4)
            let off = b * 32
            let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a0 + off)), ones)
            let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a1 + off)), ones)
            let p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a2 + off)), ones)
            let p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(a3 + off)), ones)
            c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d * d0[b]), c0)
            c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d * d1[b]), c1)
            c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), _mm256_set1_ps(d * d2[b]), c2)
            c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), _mm256_set1_ps(d * d3[b]), c3)
            m0 += m * s0[b]; m1 += m * s1[b]; m2 += m * s2[b]; m3 += m * s3[b]
        }
        out[0] = hsum(c0) + m0
        out[1] = hsum(c1) + m1
        out[2] = hsum(c2) + m2
        out[3] = hsum(c3) + m3
    }

    // MARK: Q8_0 and Q4_0 (signed weights: |w| · sign(a, w) keeps vpmaddubsw's operands legal)

    static func q8_0AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        signedKernel(w, n, acts, r, count, out, blockBytes: 34, headerBytes: 2) { p in
            load256(p)
        }
    }

    static func q4_0AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        signedKernel(w, n, acts, r, count, out, blockBytes: 18, headerBytes: 2) { p in
            _mm256_sub_epi8(unpackNibbles(p), _mm256_set1_epi8(8))
        }
    }

    @inline(__always)
    static func signedKernel(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                             _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>,
                             blockBytes: Int, headerBytes: Int,
                             _ load: (UnsafeRawPointer) -> __m256i) {
        let ones = _mm256_set1_epi16(1)
        var i = 0
        while i + 4 <= count {
            let a0 = UnsafeRawPointer(acts.qsRow(r + i)), a1 = UnsafeRawPointer(acts.qsRow(r + i + 1))
            let a2 = UnsafeRawPointer(acts.qsRow(r + i + 2)), a3 = UnsafeRawPointer(acts.qsRow(r + i + 3))
            let d0 = acts.dRow(r + i), d1 = acts.dRow(r + i + 1), d2 = acts.dRow(r + i + 2), d3 = acts.dRow(r + i + 3)
            var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
            for b in 0..<n / 32 {
                let blk = w + b * blockBytes
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let qx = load(blk + headerBytes)
                let ax = _mm256_sign_epi8(qx, qx)
                let off = b * 32
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(load256(a0 + off), qx)), ones)
                let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(load256(a1 + off), qx)), ones)
                let p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(load256(a2 + off), qx)), ones)
                let p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(load256(a3 + off), qx)), ones)
                c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d * d0[b]), c0)
                c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d * d1[b]), c1)
                c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), _mm256_set1_ps(d * d2[b]), c2)
                c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), _mm256_set1_ps(d * d3[b]), c3)
            }
            out[i] = hsum(c0); out[i + 1] = hsum(c1); out[i + 2] = hsum(c2); out[i + 3] = hsum(c3)
            i += 4
        }
        while i < count {
            let a = UnsafeRawPointer(acts.qsRow(r + i)), ad = acts.dRow(r + i)
            var acc = _mm256_setzero_ps()
            for b in 0..<n / 32 {
                let blk = w + b * blockBytes
                let d = HalfFloat.f16ToFloat(HalfFloat.load16(blk, 0))
                let qx = load(blk + headerBytes)
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx),
                                                                _mm256_sign_epi8(load256(a + b * 32), qx)), ones)
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * ad[b]), acc)
            }
            out[i] = hsum(acc)
            i += 1
        }
    }
}
#endif
