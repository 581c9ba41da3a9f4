#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel

/// AVX2 versions of the hot kernels. Unsigned 4-bit weights multiply signed int8
/// activations with `vpmaddubsw` (32 products per instruction), pairs are widened with
/// `vpmaddwd`, and each block's integer sum is scaled into a float accumulator with one FMA.
/// The four-row variants decode a weight block once and use it for four tokens (prefill and
/// batched decode), which is what makes several streams share each weight read.
///
/// The loop bodies use only intrinsics and pointer arithmetic (no helper calls, `while`
/// instead of range iteration) so that unoptimised debug builds stay usable for tests.
extension QuantizedDot {
    @inline(__always)
    static func hsum(_ v: __m256) -> Float {
        // __m256 imports as SIMD8<Float>.
        let s = v.lowHalf + v.highHalf
        return (s.lowHalf + s.highHalf).sum()
    }

    // MARK: Q4_1

    static func q4_1AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 4 <= count {
            q4_1x4(w, n, acts, r + i, out + i)
            i += 4
        }
        while i < count {
            out[i] = q4_1x1(w, n, acts, r + i)
            i += 1
        }
    }

    static func q4_1x1(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations, _ r: Int) -> Float {
        let a = UnsafeRawPointer(acts.qsRow(r)), ad = acts.dRow(r), asum = acts.sRow(r), ss = acts.scaleStride
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        var acc = _mm256_setzero_ps()
        var summ = _mm_setzero_ps()
        let nb = n / 32
        var b = 0
        while b < nb {
            let blk = w + b &* 20
            // d and m are adjacent fp16 values: convert both at once.
            let dm = _mm_cvtph_ps(_mm_loadu_si32(blk))
            let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 4)))
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask)
            let y = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones)
            let scale = _mm_mul_ss(dm, _mm_load_ss(ad + b &* ss))
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcastss_ps(scale), acc)
            // m · s: second lane of dm times the activation block sum.
            summ = _mm_fmadd_ss(_mm_movehdup_ps(dm), _mm_load_ss(asum + b &* ss), summ)
            b &+= 1
        }
        return hsum(acc) + _mm_cvtss_f32(summ)
    }

    static func q4_1x4(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                       _ r: Int, _ out: UnsafeMutablePointer<Float>) {
        let a0 = UnsafeRawPointer(acts.qsRow(r)), stride = acts.rowLength
        let d0 = acts.dRow(r), s0 = acts.sRow(r), ss = acts.scaleStride
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
        var m4 = _mm_setzero_ps()
        let nb = n / 32
        var b = 0
        while b < nb {
            let blk = w + b &* 20
            let dm = _mm_cvtph_ps(_mm_loadu_si32(blk))
            let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 4)))
            let q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask)
            let ab = a0 + b &* 32
            let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab)))), ones)
            let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + stride)))), ones)
            let p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 2 &* stride)))), ones)
            let p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 3 &* stride)))), ones)
            // Scales of the four activation rows for this block, times the weight scale.
            // The four rows' scales for this block are adjacent (block-major layout).
            let sc = _mm_mul_ps(_mm_loadu_ps(d0 + b &* ss), _mm_broadcastss_ps(dm))
            c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcastss_ps(sc), c0)
            c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcastss_ps(_mm_movehdup_ps(sc)), c1)
            c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), _mm256_broadcastss_ps(_mm_movehl_ps(sc, sc)), c2)
            c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), _mm256_broadcastss_ps(_mm_permutevar_ps(sc, _mm_set1_epi32(3))), c3)
            m4 = _mm_fmadd_ps(_mm_broadcastss_ps(_mm_movehdup_ps(dm)), _mm_loadu_ps(s0 + b &* ss), m4)
            b &+= 1
        }
        out[0] = hsum(c0) + m4[0]
        out[1] = hsum(c1) + m4[1]
        out[2] = hsum(c2) + m4[2]
        out[3] = hsum(c3) + m4[3]
    }

    // MARK: Q8_0 and Q4_0 (signed weights: |w| · sign(a, w) keeps vpmaddubsw's operands legal)

    static func q8_0AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        signedKernel(w, n, acts, r, count, out, nibbles: false)
    }

    static func q4_0AVX2(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                         _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        signedKernel(w, n, acts, r, count, out, nibbles: true)
    }

    @inline(__always)
    static func signedKernel(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                             _ r: Int, _ count: Int, _ out: UnsafeMutablePointer<Float>, nibbles: Bool) {
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        let eight = _mm256_set1_epi8(8)
        let blockBytes = nibbles ? 18 : 34
        let stride = acts.rowLength, ss = acts.scaleStride
        let nb = n / 32
        var i = 0
        while i + 4 <= count {
            let a0 = UnsafeRawPointer(acts.qsRow(r + i)), d0 = acts.dRow(r + i)
            var c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps(), c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps()
            var b = 0
            while b < nb {
                let blk = w + b &* blockBytes
                let d = _mm_cvtph_ps(_mm_loadu_si16(blk))
                let qx: __m256i
                if nibbles {
                    let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 2)))
                    qx = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask), eight)
                } else {
                    qx = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(blk + 2)))
                }
                let ax = _mm256_sign_epi8(qx, qx)
                let ab = a0 + b &* 32
                let y0 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab)))
                let y1 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + stride)))
                let y2 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 2 &* stride)))
                let y3 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 3 &* stride)))
                let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y0, qx)), ones)
                let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y1, qx)), ones)
                let p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y2, qx)), ones)
                let p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, _mm256_sign_epi8(y3, qx)), ones)
                let sc = _mm_mul_ps(_mm_loadu_ps(d0 + b &* ss), _mm_broadcastss_ps(d))
                c0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcastss_ps(sc), c0)
                c1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcastss_ps(_mm_movehdup_ps(sc)), c1)
                c2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), _mm256_broadcastss_ps(_mm_movehl_ps(sc, sc)), c2)
                c3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), _mm256_broadcastss_ps(_mm_permutevar_ps(sc, _mm_set1_epi32(3))), c3)
                b &+= 1
            }
            out[i] = hsum(c0); out[i + 1] = hsum(c1); out[i + 2] = hsum(c2); out[i + 3] = hsum(c3)
            i += 4
        }
        while i < count {
            let a = UnsafeRawPointer(acts.qsRow(r + i)), ad = acts.dRow(r + i)
            var acc = _mm256_setzero_ps()
            var b = 0
            while b < nb {
                let blk = w + b &* blockBytes
                let d = _mm_cvtph_ps(_mm_loadu_si16(blk))
                let qx: __m256i
                if nibbles {
                    let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 2)))
                    qx = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask), eight)
                } else {
                    qx = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(blk + 2)))
                }
                let y = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
                let p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(y, qx)), ones)
                let sc = _mm_mul_ss(d, _mm_load_ss(ad + b &* ss))
                acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcastss_ps(sc), acc)
                b &+= 1
            }
            out[i] = hsum(acc)
            i += 1
        }
    }
}
#endif
