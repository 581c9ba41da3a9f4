#ifndef C_AIRLOCK_KERNELS_H
#define C_AIRLOCK_KERNELS_H
// AVX-512 VNNI versions of the engine's single-token (decode) matvec kernels. Swift cannot
// emit vpdpbusd or 512-bit operations from its SIMD types, so they are written in C; each
// function is compiled for AVX-512 on its own (target attribute), the rest of the build
// stays AVX2, and the engine calls them only when airlock_cpu_supports_avx512vnni() says so.
//
// Every result is bit-identical to the AVX2 Swift kernels (QuantizedDot+Rows.swift): the
// same 32-bit integer partial sums per lane (vpdpbusd adds the same four byte products that
// vpmaddubsw + vpmaddwd add, none of which can saturate for these operands), then the same
// float operations in the same order per output.
#include <stdint.h>

/// 1 when the CPU and the OS (saved ZMM/opmask state) support AVX-512 F/BW/VL, VNNI, F16C and FMA.
int airlock_cpu_supports_avx512vnni(void);

/// Q4_1 weights × one row of Q8 activations: out[i] = W[i] · a for `count` rows of `rowBytes`
/// bytes starting at `w`; `n` inputs per row (a multiple of 32, at most 32768). `a` holds the
/// row's int8 activations, `ad`/`as` its block scales and block sums at stride `ss` floats.
void airlock_q4_1_rows_vnni(const void *w, long rowBytes, long count, long n,
                            const int8_t *a, const float *ad, const float *as, long ss, float *out);

/// Q8_0 (nibbles = 0) or Q4_0 (nibbles = 1) weights × one row of Q8 activations.
void airlock_signed_rows_vnni(const void *w, long rowBytes, long count, long n,
                              const int8_t *a, const float *ad, long ss, float *out, int nibbles);

/// Rearranges `groups` groups of four consecutive Q4_1 rows (`rowBytes` bytes each, a
/// multiple of the 20-byte block) for `airlock_q4_1_rows4_vnni`: per group, each block's 16
/// nibble bytes of the four rows side by side (64 bytes per block), then each block's four
/// (d, m) pairs (16 bytes per block). A group keeps its size (4 · rowBytes) and offset.
void airlock_q4_1_repack4(const void *src, long rowBytes, long groups, void *dst);

/// `airlock_q4_1_rows_vnni` over repacked rows: `count` (a multiple of 4) rows starting at a
/// group boundary of the repacked matrix. Same results, bit for bit: every accumulator lane
/// gets the same integer partial sums and float operations in the same order, four rows at
/// a time with one nibble load and no byte shuffles.
void airlock_q4_1_rows4_vnni(const void *packed, long rowBytes, long count, long n,
                             const int8_t *a, const float *ad, const float *as, long ss, float *out);
#endif
