// AVX-512 VNNI decode kernels; see include/CAirlockKernels.h for the contract.
//
// Layout trick that keeps results bit-identical to the AVX2 kernels: those keep, per row,
// one 8-lane float accumulator for even blocks and one for odd blocks (Q4_1), or one for all
// blocks (Q8_0/Q4_0), and add each block's eight 32-bit partial sums into it lane by lane.
// Here one 16-lane register holds two such 8-lane accumulators (two blocks of one row, or
// one block of two rows), lanes permuted but each lane fed exactly the operations its AVX2
// counterpart gets; the horizontal sums at the end add in the AVX2 kernels' order.
#include "CAirlockKernels.h"
#include <string.h>

void airlock_q4_1_repack4(const void *src, long rowBytes, long groups, void *dst) {
    const long nb = rowBytes / 20;
    for (long g = 0; g < groups; g++) {
        const uint8_t *rows = (const uint8_t *)src + g * 4 * rowBytes;
        uint8_t *nib = (uint8_t *)dst + g * 4 * rowBytes, *dm = nib + nb * 64;
        for (long k = 0; k < nb; k++) {
            for (int r = 0; r < 4; r++) {
                const uint8_t *blk = rows + r * rowBytes + k * 20;
                memcpy(nib + k * 64 + r * 16, blk + 4, 16);
                memcpy(dm + k * 16 + r * 4, blk, 4);
            }
        }
    }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define AIRLOCK_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

int airlock_cpu_supports_avx512vnni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned osxsave = 1u << 27, fma = 1u << 12, f16c = 1u << 29;
    if ((c & osxsave) == 0 || (c & fma) == 0 || (c & f16c) == 0) return 0;
    // XCR0: SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state saved by the OS.
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6) != 0xE6) return 0;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    const unsigned f = 1u << 16, bw = 1u << 30, vl = 1u << 31, vnni = 1u << 11;
    return (b & f) && (b & bw) && (b & vl) && (c & vnni) ? 1 : 0;
}

static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t load16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

AIRLOCK_VNNI static inline void prefetch_range(const uint8_t *p, long bytes) {
    for (long off = 0; off < bytes; off += 64) _mm_prefetch((const char *)(p + off), _MM_HINT_T0);
}

/// The AVX2 kernels' hsum: ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).
AIRLOCK_VNNI static inline float hsum8(__m128 lo, __m128 hi) {
    __m128 s = _mm_add_ps(lo, hi);
    __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// MARK: Q4_1

/// Lanes of one row's accumulator: [even block lanes 0-3, odd 0-3, even 4-7, odd 4-7], the
/// order in which a pair of blocks' nibbles land after unpacking (`q4_1_nibbles`). Result:
/// hsum(even + odd) + (m-sum of even blocks + m-sum of odd blocks), as in q4_1Rows.
AIRLOCK_VNNI static inline float q4_1_finish(__m512 acc, float m_even, float m_odd) {
    __m256 lo = _mm512_castps512_ps256(acc);
    __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1));
    __m128 s_lo = _mm_add_ps(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));  // even+odd, lanes 0-3
    __m128 s_hi = _mm_add_ps(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));  // even+odd, lanes 4-7
    return hsum8(s_lo, s_hi) + (m_even + m_odd);
}

/// Blocks b and b+1 of a row (40 bytes: d, m and 16 nibble bytes each), loading only those
/// bytes (the last pair of a run; the others load 64 bytes, which is faster).
AIRLOCK_VNNI static inline __m512i q4_1_load_pair(const uint8_t *blk) {
    return _mm512_maskz_loadu_epi8((__mmask64)0xFFFFFFFFFFull, blk);
}

/// A loaded pair's nibbles as [low nibbles b, low nibbles b+1, high nibbles b, high nibbles b+1]:
/// the nibble bytes are dwords 1-4 and 6-9 of the pair.
AIRLOCK_VNNI static inline __m512i q4_1_nibbles(__m512i pair, __m512i idx, __m512i shifts, __m512i mask) {
    return _mm512_and_si512(_mm512_srlv_epi16(_mm512_permutexvar_epi32(idx, pair), shifts), mask);
}

AIRLOCK_VNNI void airlock_q4_1_rows_vnni(const void *wv, long rowBytes, long count, long n,
                                         const int8_t *a, const float *ad, const float *as, long ss, float *out) {
    const uint8_t *w = (const uint8_t *)wv;
    const long nb = n / 32, pairs = nb / 2;
    const int tail = (int)(nb & 1);
    // Per pair of blocks, shared by every row: activations in the nibbles' lane order, and
    // [ad_b, ad_b, ad_b1, ad_b1] / [s_b, s_b, s_b1, s_b1] twice (lanes of the d/m vector).
    __m512i y[pairs + 1];
    __m256 adp[pairs + 1], asp[pairs + 1];
    for (long p = 0; p < pairs; p++) {
        __m512i v = _mm512_loadu_si512((const void *)(a + p * 64));
        y[p] = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
        float d0 = ad[(2 * p) * ss], d1 = ad[(2 * p + 1) * ss];
        float s0 = as[(2 * p) * ss], s1 = as[(2 * p + 1) * ss];
        adp[p] = _mm256_setr_ps(d0, d0, d1, d1, d0, d0, d1, d1);
        asp[p] = _mm256_setr_ps(s0, s0, s1, s1, s0, s0, s1, s1);
    }
    if (tail) {
        // The lone last block goes through the pair code with a zero second block.
        __m512i v = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(a + pairs * 64)));
        v = _mm512_inserti64x4(v, _mm256_setzero_si256(), 1);
        y[pairs] = _mm512_shuffle_i64x2(v, v, _MM_SHUFFLE(3, 1, 2, 0));
        float d0 = ad[(2 * pairs) * ss], s0 = as[(2 * pairs) * ss];
        adp[pairs] = _mm256_setr_ps(d0, d0, 0, 0, d0, d0, 0, 0);
        asp[pairs] = _mm256_setr_ps(s0, s0, 0, 0, s0, s0, 0, 0);
    }
    const __m512i mask = _mm512_set1_epi8(0x0F);
    const __m512i nibbleIdx = _mm512_setr_epi32(1, 2, 3, 4, 6, 7, 8, 9, 1, 2, 3, 4, 6, 7, 8, 9);
    const __m512i shifts = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
    // [dmA_b, dmA_b1, dmB_b, dmB_b1] out of the two rows' pairs (dwords 0 and 5 of each).
    const __m512i dmIdx = _mm512_setr_epi32(0, 5, 16, 21, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    // Scale lanes for rows A and B out of [dA_b, mA_b, dA_b1, mA_b1, dB_b, mB_b, dB_b1, mB_b1]·ad.
    const __m512i idxA = _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 2);
    const __m512i idxB = _mm512_setr_epi32(4, 4, 4, 4, 6, 6, 6, 6, 4, 4, 4, 4, 6, 6, 6, 6);
    for (long i = 0; i < count; i += 2) {
        // A lone last row is computed as the pair (A, A); only A is stored.
        const int two = i + 1 < count;
        // The pair loads read 64 bytes for 40; the run's last rows must not read past it.
        const int last = i + 2 >= count;
        const uint8_t *wa = w + i * rowBytes, *wb = two ? wa + rowBytes : wa;
        prefetch_range(wa, two ? 2 * rowBytes : rowBytes);
        __m512 accA = _mm512_setzero_ps(), accB = _mm512_setzero_ps();
        __m256 macc = _mm256_setzero_ps();  // m·s: lanes 1/3 row A even/odd, 5/7 row B
        for (long p = 0; p < pairs; p++) {
            __m512i za, zb;
            if (p + 1 < pairs || !last) {
                za = _mm512_loadu_si512(wa + p * 40);
                zb = _mm512_loadu_si512(wb + p * 40);
            } else {
                za = q4_1_load_pair(wa + p * 40);
                zb = q4_1_load_pair(wb + p * 40);
            }
            __m256 dm = _mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi32(za, dmIdx, zb)));
            __m512 sc = _mm512_castps256_ps512(_mm256_mul_ps(dm, adp[p]));
            macc = _mm256_fmadd_ps(dm, asp[p], macc);
            __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q4_1_nibbles(za, nibbleIdx, shifts, mask), y[p]);
            __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q4_1_nibbles(zb, nibbleIdx, shifts, mask), y[p]);
            accA = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pa), _mm512_permutexvar_ps(idxA, sc), accA);
            accB = _mm512_fmadd_ps(_mm512_cvtepi32_ps(pb), _mm512_permutexvar_ps(idxB, sc), accB);
        }
        if (tail) {
            // 20 bytes only: the second block's lanes are zero (and masked out below).
            __m512i za = _mm512_maskz_loadu_epi8((__mmask64)0xFFFFFull, wa + pairs * 40);
            __m512i zb = _mm512_maskz_loadu_epi8((__mmask64)0xFFFFFull, wb + pairs * 40);
            __m256 dm = _mm256_cvtph_ps(_mm512_castsi512_si128(_mm512_permutex2var_epi32(za, dmIdx, zb)));
            __m512 sc = _mm512_castps256_ps512(_mm256_mul_ps(dm, adp[pairs]));
            // Only the even lanes take part, as the AVX2 kernels add a lone block to the even set.
            macc = _mm256_mask3_fmadd_ps(dm, asp[pairs], macc, 0x33);
            __m512i pa = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q4_1_nibbles(za, nibbleIdx, shifts, mask), y[pairs]);
            __m512i pb = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q4_1_nibbles(zb, nibbleIdx, shifts, mask), y[pairs]);
            accA = _mm512_mask3_fmadd_ps(_mm512_cvtepi32_ps(pa), _mm512_permutexvar_ps(idxA, sc), accA, 0x0F0F);
            accB = _mm512_mask3_fmadd_ps(_mm512_cvtepi32_ps(pb), _mm512_permutexvar_ps(idxB, sc), accB, 0x0F0F);
        }
        float m[8];
        _mm256_storeu_ps(m, macc);
        out[i] = q4_1_finish(accA, m[1], m[3]);
        if (two) out[i + 1] = q4_1_finish(accB, m[5], m[7]);
    }
}

// MARK: Q8_0 and Q4_0

/// One block of rows A (lanes 0-7) and B (lanes 8-15) as unsigned bytes: Q8_0 values + 128,
/// or Q4_0 nibbles (values + 8), in ggml's order. `signed_rows` takes the offset back out.
AIRLOCK_VNNI static inline __m512i offset_pair(const uint8_t *ba, const uint8_t *bb, int nibbles,
                                               __m512i mask, __m512i flip) {
    if (nibbles) {
        __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(ba + 2))),
                                            _mm_loadu_si128((const __m128i *)(bb + 2)), 1);
        __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
        // [A low, B low, A high, B high] → [A low, A high, B low, B high]
        z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
        return _mm512_and_si512(z, mask);
    }
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(ba + 2))),
                                   _mm256_loadu_si256((const __m256i *)(bb + 2)), 1);
    return _mm512_xor_si512(z, flip);
}

AIRLOCK_VNNI void airlock_signed_rows_vnni(const void *wv, long rowBytes, long count, long n,
                                           const int8_t *a, const float *ad, long ss, float *out, int nibbles) {
    const uint8_t *w = (const uint8_t *)wv;
    const long nb = n / 32, blockBytes = nibbles ? 18 : 34;
    // vpdpbusd multiplies unsigned by signed bytes, so the weights go in with an offset
    // (+128 for Q8_0, +8 for Q4_0) and each lane starts from −offset·(its four activations'
    // sum): exactly Σ q·y per lane, the sums vpmaddubsw + vpmaddwd give the AVX2 kernel.
    // Per block: its activations in both halves, that start value, and its scale.
    __m512i y[nb], start[nb];
    __m128 adb[nb];
    const __m512i offset = _mm512_set1_epi8(nibbles ? 8 : (char)0x80);
    for (long b = 0; b < nb; b++) {
        y[b] = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(a + b * 32)));
        start[b] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), offset, y[b]));
        adb[b] = _mm_set1_ps(ad[b * ss]);
    }
    const __m512i mask = _mm512_set1_epi8(0x0F), flip = _mm512_set1_epi8((char)0x80);
    const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    for (long i = 0; i < count; i += 2) {
        const int two = i + 1 < count;
        const uint8_t *wa = w + i * rowBytes, *wb = two ? wa + rowBytes : wa;
        prefetch_range(wa, two ? 2 * rowBytes : rowBytes);
        __m512 acc = _mm512_setzero_ps();
        for (long b = 0; b < nb; b++) {
            const uint8_t *ba = wa + b * blockBytes, *bb = wb + b * blockBytes;
            __m512i prod = _mm512_dpbusd_epi32(start[b], offset_pair(ba, bb, nibbles, mask, flip), y[b]);
            // [dA, dB] (the low half of the 32 bits loaded at ba is dA).
            __m128i dh = _mm_insert_epi16(_mm_cvtsi32_si128((int)load32(ba)), load16(bb), 1);
            __m512 sc = _mm512_permutexvar_ps(halves, _mm512_castps128_ps512(_mm_mul_ps(_mm_cvtph_ps(dh), adb[b])));
            acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(prod), sc, acc);
        }
        __m256 lo = _mm512_castps512_ps256(acc);
        __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc), 1));
        out[i] = hsum8(_mm256_castps256_ps128(lo), _mm256_extractf128_ps(lo, 1));
        if (two) out[i + 1] = hsum8(_mm256_castps256_ps128(hi), _mm256_extractf128_ps(hi, 1));
    }
}

// MARK: Q4_1, rows repacked in fours

/// One block of four rows: both nibble halves through vpdpbusd against the block's
/// activations, scaled by d·ad per row, into the block parity's accumulators; m·s likewise.
#define Q41_BLOCK4(k, accLo, accHi, macc) do {                                                            \
        __m512i z = _mm512_loadu_si512((const void *)(nib + (k) * 64));                                  \
        __m512i lo = _mm512_and_si512(z, mask), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), mask);    \
        __m256 dmv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(dm + (k) * 16)));                \
        __m512 sc = _mm512_permutexvar_ps(scaleIdx, _mm512_castps256_ps512(_mm256_mul_ps(dmv, _mm256_set1_ps(ad[(k) * ss])))); \
        macc = _mm256_fmadd_ps(dmv, _mm256_set1_ps(as[(k) * ss]), macc);                                 \
        accLo = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, ylo[k])), sc, accLo); \
        accHi = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, yhi[k])), sc, accHi); \
    } while (0)

/// How far ahead of its reads the four-row kernel requests weights (bytes).
#define Q41_PREFETCH_AHEAD 4096

AIRLOCK_VNNI void airlock_q4_1_rows4_vnni(const void *packed, long rowBytes, long count, long n,
                                          const int8_t *a, const float *ad, const float *as, long ss, float *out) {
    const long nb = n / 32;
    // Each block's 16 low-nibble activations (values 0-15) and 16 high ones, in all four
    // 128-bit lanes (one lane per row).
    __m512i ylo[nb], yhi[nb];
    for (long k = 0; k < nb; k++) {
        ylo[k] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(a + k * 32)));
        yhi[k] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(a + k * 32 + 16)));
    }
    const __m512i mask = _mm512_set1_epi8(0x0F);
    // Row r's d·ad (lane 2r of [d0 m0 d1 m1 d2 m2 d3 m3]·ad) for its four lanes.
    const __m512i scaleIdx = _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6);
    const long groupBytes = 4 * rowBytes;
    for (long i = 0; i + 4 <= count; i += 4) {
        const uint8_t *nib = (const uint8_t *)packed + (i / 4) * groupBytes, *dm = nib + nb * 64;
        // A run's memory is read front to back: its first 4 KB are requested at once, then
        // each block pair asks for the bytes 4 KB ahead of what it consumes (160 per pair).
        // Requesting a whole group at its start (60 lines at 1536 columns) stalled on the
        // core's miss buffers, with nothing in flight for the next group while computing.
        if (i == 0) prefetch_range(nib, Q41_PREFETCH_AHEAD);
        const uint8_t *ahead = nib + Q41_PREFETCH_AHEAD;
        // Lanes (row r, j): accumulators of the AVX2 kernel's lane j (Lo) and 4 + j (Hi), even
        // and odd blocks apart; m·s in lanes 2r + 1 of the m accumulators.
        __m512 loE = _mm512_setzero_ps(), loO = _mm512_setzero_ps(), hiE = _mm512_setzero_ps(), hiO = _mm512_setzero_ps();
        __m256 mE = _mm256_setzero_ps(), mO = _mm256_setzero_ps();
        long k = 0;
        for (; k + 2 <= nb; k += 2) {
            _mm_prefetch((const char *)ahead, _MM_HINT_T0);
            _mm_prefetch((const char *)(ahead + 64), _MM_HINT_T0);
            _mm_prefetch((const char *)(ahead + 128), _MM_HINT_T0);
            ahead += 160;
            Q41_BLOCK4(k, loE, hiE, mE);
            Q41_BLOCK4(k + 1, loO, hiO, mO);
        }
        if (k < nb) Q41_BLOCK4(k, loE, hiE, mE);
        // Per row: v_j = even_j + odd_j, s_i = v_i + v_{i+4}, (s0 + s2) + (s1 + s3), + (mE + mO),
        // the AVX2 kernel's order.
        __m512 s = _mm512_add_ps(_mm512_add_ps(loE, loO), _mm512_add_ps(hiE, hiO));
        __m512 t = _mm512_add_ps(s, _mm512_permute_ps(s, _MM_SHUFFLE(3, 2, 3, 2)));
        __m512 u = _mm512_add_ps(t, _mm512_permute_ps(t, _MM_SHUFFLE(1, 1, 1, 1)));
        __m128 sums = _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), u));
        __m256 m = _mm256_add_ps(mE, mO);
        __m128 ms = _mm_castsi128_ps(_mm256_castsi256_si128(_mm256_permutevar8x32_epi32(_mm256_castps_si256(m), _mm256_setr_epi32(1, 3, 5, 7, 0, 0, 0, 0))));
        _mm_storeu_ps(out + i, _mm_add_ps(sums, ms));
    }
}

#else
int airlock_cpu_supports_avx512vnni(void) { return 0; }
void airlock_q4_1_rows_vnni(const void *w, long rowBytes, long count, long n,
                            const int8_t *a, const float *ad, const float *as, long ss, float *out) {
    (void)w; (void)rowBytes; (void)count; (void)n; (void)a; (void)ad; (void)as; (void)ss; (void)out;
}
void airlock_signed_rows_vnni(const void *w, long rowBytes, long count, long n,
                              const int8_t *a, const float *ad, long ss, float *out, int nibbles) {
    (void)w; (void)rowBytes; (void)count; (void)n; (void)a; (void)ad; (void)ss; (void)out; (void)nibbles;
}
void airlock_q4_1_rows4_vnni(const void *packed, long rowBytes, long count, long n,
                             const int8_t *a, const float *ad, const float *as, long ss, float *out) {
    (void)packed; (void)rowBytes; (void)count; (void)n; (void)a; (void)ad; (void)as; (void)ss; (void)out;
}
#endif
