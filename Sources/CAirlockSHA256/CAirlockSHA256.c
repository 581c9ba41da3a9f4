// SHA-256 for the audit fingerprints (HMAC of each finding). swift-crypto computes the same
// digests, but its hash state is a heap object copied on write, so an HMAC with a prepared key
// cost two allocations and generic calls per finding: about 1.1 µs, most of it not hashing.
// Here the state is eight words on the stack. Written from FIPS 180-4 and Intel's description
// of the SHA extensions (SHA256RNDS2 works on the state as the pairs ABEF and CDGH).

#include "CAirlockSHA256.h"
#include <string.h>

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static inline uint32_t load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

void airlock_sha256_blocks_portable(uint32_t state[8], const uint8_t *blocks, size_t count) {
    for (; count > 0; count--, blocks += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; i++) w[i] = load_be32(blocks + 4 * i);
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
        uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            h = g; g = f; f = e; e = d + t1;
            d = c; c = b; b = a; a = t1 + t2;
        }
        state[0] += a; state[1] += b; state[2] += c; state[3] += d;
        state[4] += e; state[5] += f; state[6] += g; state[7] += h;
    }
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define AIRLOCK_SHA_NI 1

// Four rounds: the message words plus their constants, two rounds into each half of the state.
#define FOUR_ROUNDS(msg, k)                                             \
    do {                                                                \
        __m128i wk = _mm_add_epi32((msg), _mm_loadu_si128((const __m128i *)(k))); \
        cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                  \
        abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E)); \
    } while (0)

// The next four schedule words from the previous sixteen (w0 oldest): W[t-16] + σ0(W[t-15])
// (MSG1), plus W[t-7] (the middle words, realigned), plus σ1(W[t-2]) (MSG2).
#define NEXT_WORDS(w0, w1, w2, w3) \
    _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)), _mm_alignr_epi8((w3), (w2), 4)), (w3))

__attribute__((target("sha,sse4.1,ssse3")))
static void sha256_blocks_ni(uint32_t state[8], const uint8_t *blocks, size_t count) {
    const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    // H0..H3 = A B C D and H4..H7 = E F G H, rearranged into the pairs the instructions use
    // (lane comments list the lowest lane first).
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  // B A D C
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  // H G F E
    __m128i abef = _mm_alignr_epi8(abcd, efgh, 8);       // F E B A
    __m128i cdgh = _mm_blend_epi16(efgh, abcd, 0xF0);    // H G D C

    for (; count > 0; count--, blocks += 64) {
        const __m128i abef_in = abef, cdgh_in = cdgh;
        __m128i w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 0)), byteswap);
        __m128i w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 16)), byteswap);
        __m128i w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 32)), byteswap);
        __m128i w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(blocks + 48)), byteswap);
        FOUR_ROUNDS(w0, &K[0]);
        FOUR_ROUNDS(w1, &K[4]);
        FOUR_ROUNDS(w2, &K[8]);
        FOUR_ROUNDS(w3, &K[12]);
        for (int t = 16; t < 64; t += 16) {
            w0 = NEXT_WORDS(w0, w1, w2, w3); FOUR_ROUNDS(w0, &K[t]);
            w1 = NEXT_WORDS(w1, w2, w3, w0); FOUR_ROUNDS(w1, &K[t + 4]);
            w2 = NEXT_WORDS(w2, w3, w0, w1); FOUR_ROUNDS(w2, &K[t + 8]);
            w3 = NEXT_WORDS(w3, w0, w1, w2); FOUR_ROUNDS(w3, &K[t + 12]);
        }
        abef = _mm_add_epi32(abef, abef_in);
        cdgh = _mm_add_epi32(cdgh, cdgh_in);
    }

    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);        // A B E F
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);        // G H C D
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(feba, dchg, 0xF0));  // A B C D
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(dchg, feba, 8));     // E F G H
}
#endif

int airlock_sha256_accelerated(void) {
#ifdef AIRLOCK_SHA_NI
    static int answer = -1;  // asked once; a race only asks twice and gets the same answer
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("sha") && __builtin_cpu_supports("sse4.1") ? 1 : 0;
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

void airlock_sha256_blocks(uint32_t state[8], const uint8_t *blocks, size_t count) {
#ifdef AIRLOCK_SHA_NI
    if (airlock_sha256_accelerated()) {
        sha256_blocks_ni(state, blocks, count);
        return;
    }
#endif
    airlock_sha256_blocks_portable(state, blocks, count);
}

void airlock_sha256_finish(const uint32_t state_in[8], uint64_t prefix_blocks,
                           const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                           const uint8_t *c, size_t c_len, uint8_t digest[32]) {
    uint32_t state[8];
    memcpy(state, state_in, sizeof state);
    uint8_t block[64];
    size_t used = 0;
    const uint8_t *parts[3] = {a, b, c};
    const size_t lengths[3] = {a_len, b_len, c_len};
    for (int p = 0; p < 3; p++) {
        const uint8_t *data = parts[p];
        size_t len = lengths[p];
        if (len == 0) continue;
        if (used > 0) {  // top up the partial block first
            size_t take = 64 - used < len ? 64 - used : len;
            memcpy(block + used, data, take);
            used += take; data += take; len -= take;
            if (used < 64) continue;
            airlock_sha256_blocks(state, block, 1);
            used = 0;
        }
        if (len >= 64) {  // whole blocks straight from the input
            airlock_sha256_blocks(state, data, len / 64);
            data += len - len % 64;
            len %= 64;
        }
        memcpy(block, data, len);
        used = len;
    }
    uint64_t bits = (prefix_blocks * 64 + (uint64_t)a_len + b_len + c_len) * 8;
    block[used++] = 0x80;
    if (used > 56) {
        memset(block + used, 0, 64 - used);
        airlock_sha256_blocks(state, block, 1);
        used = 0;
    }
    memset(block + used, 0, 56 - used);
    for (int i = 0; i < 8; i++) block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    airlock_sha256_blocks(state, block, 1);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)state[i];
    }
}
