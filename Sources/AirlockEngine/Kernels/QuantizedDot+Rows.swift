#if AIRLOCK_X86_AVX2
import _Builtin_intrinsics.intel
import CAirlockPrefetch

/// Single-token kernels over a run of consecutive weight rows (decode). One token's matvec
/// streams every weight once and does little arithmetic per byte, so it waits on memory:
/// the loads of each block sat on DRAM misses one cache line at a time. These kernels
/// compute two rows per pass (sharing the activation loads) and first request every cache
/// line of the pair, so all of them are in flight at once. Measured on the 2-core EPYC
/// (single thread, SmolLM2 decode): 12.2 → 10.7 ms of CPU per token; without the
/// prefetches the pair kernel was slower than one row at a time (15.3), and prefetching
/// further ahead (0.25–16 KB) was slower too (12.0–12.6).
///
/// Every row's arithmetic is exactly that of the one-row kernels (`q4_1x1`, the single-row
/// path of `signedKernel`): same operations, same accumulator split, same reduction order,
/// so results are bit-identical whichever path computed them.
///
/// On CPUs with AVX-512 VNNI, `decodeRows` (QuantizedDot+Decode.swift) runs the C versions
/// in `CAirlockKernels` instead, which give the same bits with about half the instructions.
extension QuantizedDot {
    @inline(__always)
    static func prefetchRange(_ p: UnsafeRawPointer, _ bytes: Int) {
        var off = 0
        while off < bytes {
            airlock_prefetch(p + off)
            off &+= 64
        }
    }

    /// `out[i] = W[first + i] · acts[r]` for `count` rows of Q4_1 starting at `w` (row `first`).
    static func q4_1Rows(_ w: UnsafeRawPointer, rowBytes: Int, count: Int, _ n: Int,
                         _ acts: QuantizedActivations, _ r: Int, _ out: UnsafeMutablePointer<Float>) {
        let a = UnsafeRawPointer(acts.qsRow(r)), ad = acts.dRow(r), asum = acts.sRow(r), ss = acts.scaleStride
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        let nb = n / 32
        var i = 0
        while i + 2 <= count {
            let wa = w + i &* rowBytes, wb = wa + rowBytes
            prefetchRange(wa, 2 &* rowBytes)
            var a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps()
            var b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps()
            // Both rows' m·s terms in one vector: lanes 2 and 3 hold rows a and b (lanes 0
            // and 1 accumulate unused d·s products), even and odd blocks apart as in q4_1x1.
            var m0 = _mm_setzero_ps(), m1 = _mm_setzero_ps()
            var b = 0
            while b + 2 <= nb {
                let y0 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
                let y1 = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + (b &* 32 &+ 32))))
                let blkA = wa + b &* 20, blkB = wb + b &* 20
                // [dA, dB, mA, mB] for blocks b and b+1.
                let dm0 = _mm_unpacklo_ps(_mm_cvtph_ps(_mm_loadu_si32(blkA)), _mm_cvtph_ps(_mm_loadu_si32(blkB)))
                let dm1 = _mm_unpacklo_ps(_mm_cvtph_ps(_mm_loadu_si32(blkA + 20)), _mm_cvtph_ps(_mm_loadu_si32(blkB + 20)))
                let sc0 = _mm_mul_ps(dm0, _mm_broadcastss_ps(_mm_load_ss(ad + b &* ss)))
                let sc1 = _mm_mul_ps(dm1, _mm_broadcastss_ps(_mm_load_ss(ad + (b &+ 1) &* ss)))
                m0 = _mm_fmadd_ps(dm0, _mm_broadcastss_ps(_mm_load_ss(asum + b &* ss)), m0)
                m1 = _mm_fmadd_ps(dm1, _mm_broadcastss_ps(_mm_load_ss(asum + (b &+ 1) &* ss)), m1)
                let vA0 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkA + 4)))
                let vA1 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkA + 24)))
                let vB0 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkB + 4)))
                let vB1 = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkB + 24)))
                let pA0 = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(vA0, mask), y0), ones)
                let pA1 = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(vA1, mask), y1), ones)
                let pB0 = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(vB0, mask), y0), ones)
                let pB1 = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(vB1, mask), y1), ones)
                a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pA0), _mm256_broadcastss_ps(sc0), a0)
                a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pA1), _mm256_broadcastss_ps(sc1), a1)
                b0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pB0), _mm256_broadcastss_ps(_mm_movehdup_ps(sc0)), b0)
                b1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pB1), _mm256_broadcastss_ps(_mm_movehdup_ps(sc1)), b1)
                b &+= 2
            }
            if b < nb {
                let y = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
                let blkA = wa + b &* 20, blkB = wb + b &* 20
                let dm = _mm_unpacklo_ps(_mm_cvtph_ps(_mm_loadu_si32(blkA)), _mm_cvtph_ps(_mm_loadu_si32(blkB)))
                let sc = _mm_mul_ps(dm, _mm_broadcastss_ps(_mm_load_ss(ad + b &* ss)))
                m0 = _mm_fmadd_ps(dm, _mm_broadcastss_ps(_mm_load_ss(asum + b &* ss)), m0)
                let va = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkA + 4)))
                let vb = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkB + 4)))
                let pa = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(va, mask), y), ones)
                let pb = _mm256_madd_epi16(_mm256_maddubs_epi16(unpackNibbles(vb, mask), y), ones)
                a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pa), _mm256_broadcastss_ps(sc), a0)
                b0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pb), _mm256_broadcastss_ps(_mm_movehdup_ps(sc)), b0)
            }
            let m = _mm_add_ps(m0, m1)
            out[i] = hsum(_mm256_add_ps(a0, a1)) + m[2]
            out[i &+ 1] = hsum(_mm256_add_ps(b0, b1)) + m[3]
            i &+= 2
        }
        if i < count {
            out[i] = q4_1x1(w + i &* rowBytes, n, acts, r)
        }
    }

    /// `out[i] = W[first + i] · acts[r]` for `count` rows of Q8_0 (the output head of tied
    /// embeddings) or Q4_0.
    static func signedRows(_ w: UnsafeRawPointer, rowBytes: Int, count: Int, _ n: Int,
                           _ acts: QuantizedActivations, _ r: Int, _ out: UnsafeMutablePointer<Float>,
                           nibbles: Bool) {
        let ones = _mm256_set1_epi16(1)
        let mask = _mm256_set1_epi8(0x0F)
        let eight = _mm256_set1_epi8(8)
        let blockBytes = nibbles ? 18 : 34
        let a = UnsafeRawPointer(acts.qsRow(r)), ad = acts.dRow(r), ss = acts.scaleStride
        let nb = n / 32
        var i = 0
        while i + 2 <= count {
            let wa = w + i &* rowBytes, wb = wa + rowBytes
            prefetchRange(wa, 2 &* rowBytes)
            var acca = _mm256_setzero_ps(), accb = _mm256_setzero_ps()
            var b = 0
            while b < nb {
                let y = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(a + b &* 32)))
                let adb = _mm_load_ss(ad + b &* ss)
                let blka = wa + b &* blockBytes, blkb = wb + b &* blockBytes
                let da = _mm_cvtph_ps(_mm_loadu_si16(blka)), db = _mm_cvtph_ps(_mm_loadu_si16(blkb))
                let qa: __m256i, qb: __m256i
                if nibbles {
                    let va = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blka + 2)))
                    let vb = _mm_loadu_si128(UnsafePointer<__m128i>(OpaquePointer(blkb + 2)))
                    qa = _mm256_sub_epi8(unpackNibbles(va, mask), eight)
                    qb = _mm256_sub_epi8(unpackNibbles(vb, mask), eight)
                } else {
                    qa = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(blka + 2)))
                    qb = _mm256_loadu_si256(UnsafePointer<__m256i>(OpaquePointer(blkb + 2)))
                }
                let pa = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qa, qa), _mm256_sign_epi8(y, qa)), ones)
                let pb = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(qb, qb), _mm256_sign_epi8(y, qb)), ones)
                acca = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pa), _mm256_broadcastss_ps(_mm_mul_ss(da, adb)), acca)
                accb = _mm256_fmadd_ps(_mm256_cvtepi32_ps(pb), _mm256_broadcastss_ps(_mm_mul_ss(db, adb)), accb)
                b &+= 1
            }
            out[i] = hsum(acca)
            out[i &+ 1] = hsum(accb)
            i &+= 2
        }
        if i < count {
            signedKernel(w + i &* rowBytes, n, acts, r, 1, out + i, nibbles: nibbles)
        }
    }
}
#endif
