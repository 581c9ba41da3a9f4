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
    /// The 32 4-bit values of a block's 16 bytes as bytes: low nibbles in the lower half,
    /// high nibbles in the upper half (ggml's order for Q4_0/Q4_1).
    @inline(__always)
    static func unpackNibbles(_ v: __m128i, _ mask: __m256i) -> __m256i {
        _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), mask)
    }

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
        // Two independent accumulator sets: the FMA chains, not the ALUs, bound one block per step.
        var acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps()
        var summ0 = _mm_setzero_ps(), summ1 = _mm_setzero_ps()
        let nb = n / 32
        var b = 0
        while b + 2 <= nb {
            let blk0 = w + b &* 20, blk1 = blk0 + 20
            // d and m are adjacent fp16 values: convert both at once.
            let dm0 = _mm_cvtph_ps(_mm_loadu_si32(blk0))
            let dm1 = _mm_cvtph_ps(_mm_loadu_si32(blk1))
            let v0 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk0 + 4)))
            let v1 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk1 + 4)))
            let q0 = unpackNibbles(v0, mask)
            let q1 = unpackNibbles(v1, mask)
            let y0 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
            let y1 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + (b &* 32 &+ 32))))
            let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, y0), ones)
            let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, y1), ones)
            let sc0 = _mm_mul_ss(dm0, _mm_load_ss(ad + b &* ss))
            let sc1 = _mm_mul_ss(dm1, _mm_load_ss(ad + (b &+ 1) &* ss))
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcastss_ps(sc0), acc0)
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_broadcastss_ps(sc1), acc1)
            // m · s: second lane of dm times the activation block sum.
            summ0 = _mm_fmadd_ss(_mm_movehdup_ps(dm0), _mm_load_ss(asum + b &* ss), summ0)
            summ1 = _mm_fmadd_ss(_mm_movehdup_ps(dm1), _mm_load_ss(asum + (b &+ 1) &* ss), summ1)
            b &+= 2
        }
        if b < nb {
            let blk = w + b &* 20
            let dm = _mm_cvtph_ps(_mm_loadu_si32(blk))
            let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 4)))
            let q = unpackNibbles(v, mask)
            let y = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
            let p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), ones)
            let scale = _mm_mul_ss(dm, _mm_load_ss(ad + b &* ss))
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_broadcastss_ps(scale), acc0)
            summ0 = _mm_fmadd_ss(_mm_movehdup_ps(dm), _mm_load_ss(asum + b &* ss), summ0)
        }
        return hsum(_mm256_add_ps(acc0, acc1)) + _mm_cvtss_f32(_mm_add_ss(summ0, summ1))
    }

    /// Four token rows. Even and odd blocks accumulate separately exactly as in `q4_1x1`, so
    /// a row's result does not depend on which kernel (batch size) computed it.
    static func q4_1x4(_ w: UnsafeRawPointer, _ n: Int, _ acts: QuantizedActivations,
                       _ r: Int, _ out: UnsafeMutablePointer<Float>) {
        let a0 = UnsafeRawPointer(acts.qsRow(r)), stride = acts.rowLength
        let d0 = acts.dRow(r), s0 = acts.sRow(r), ss = acts.scaleStride
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        var e0 = _mm256_setzero_ps(), e1 = _mm256_setzero_ps(), e2 = _mm256_setzero_ps(), e3 = _mm256_setzero_ps()
        var o0 = _mm256_setzero_ps(), o1 = _mm256_setzero_ps(), o2 = _mm256_setzero_ps(), o3 = _mm256_setzero_ps()
        var me = _mm_setzero_ps(), mo = _mm_setzero_ps()
        let nb = n / 32
        var b = 0
        while b < nb {
            let blk = w + b &* 20
            let dm = _mm_cvtph_ps(_mm_loadu_si32(blk))
            let v = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blk + 4)))
            let q = unpackNibbles(v, mask)
            let ab = a0 + b &* 32
            let p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab)))), ones)
            let p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + stride)))), ones)
            let p2 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 2 &* stride)))), ones)
            let p3 = _mm256_madd_epi16(_mm256_maddubs_epi16(q, _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(ab + 3 &* stride)))), ones)
            // The four rows' scales for this block are adjacent (block-major layout).
            let sc = _mm_mul_ps(_mm_loadu_ps(d0 + b &* ss), _mm_broadcastss_ps(dm))
            let s1 = _mm256_broadcastss_ps(_mm_movehdup_ps(sc))
            let s2 = _mm256_broadcastss_ps(_mm_movehl_ps(sc, sc))
            let s3 = _mm256_broadcastss_ps(_mm_permutevar_ps(sc, _mm_set1_epi32(3)))
            let mterm = _mm_broadcastss_ps(_mm_movehdup_ps(dm))
            if b & 1 == 0 {
                e0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcastss_ps(sc), e0)
                e1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), s1, e1)
                e2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), s2, e2)
                e3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), s3, e3)
                me = _mm_fmadd_ps(mterm, _mm_loadu_ps(s0 + b &* ss), me)
            } else {
                o0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_broadcastss_ps(sc), o0)
                o1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), s1, o1)
                o2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p2), s2, o2)
                o3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p3), s3, o3)
                mo = _mm_fmadd_ps(mterm, _mm_loadu_ps(s0 + b &* ss), mo)
            }
            b &+= 1
        }
        let m = _mm_add_ps(me, mo)
        out[0] = hsum(_mm256_add_ps(e0, o0)) + m[0]
        out[1] = hsum(_mm256_add_ps(e1, o1)) + m[1]
        out[2] = hsum(_mm256_add_ps(e2, o2)) + m[2]
        out[3] = hsum(_mm256_add_ps(e3, o3)) + m[3]
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
                    qx = _mm256_sub_epi8(unpackNibbles(v, mask), eight)
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
                    qx = _mm256_sub_epi8(unpackNibbles(v, mask), eight)
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
