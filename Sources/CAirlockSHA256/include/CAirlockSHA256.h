#ifndef CAIRLOCK_SHA256_H
#define CAIRLOCK_SHA256_H

#include <stddef.h>
#include <stdint.h>

/// SHA-256 (FIPS 180-4) compression over whole 64-byte blocks, with the x86 SHA extensions
/// when the CPU has them. `state` is the eight working words, H0 first.
void airlock_sha256_blocks(uint32_t state[8], const uint8_t *blocks, size_t count);

/// The digest of a message whose first `prefix_blocks` blocks are already in `state` and whose
/// remaining bytes are `a`, `b` and `c` concatenated (any may be empty). Used for HMAC with
/// the key's padded block absorbed ahead of time. `state` is not changed.
void airlock_sha256_finish(const uint32_t state[8], uint64_t prefix_blocks,
                           const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                           const uint8_t *c, size_t c_len, uint8_t digest[32]);

/// Whether `airlock_sha256_blocks` uses the CPU's SHA instructions (for tests and benchmarks).
int airlock_sha256_accelerated(void);

/// The portable compression, whatever the CPU (tests compare both paths).
void airlock_sha256_blocks_portable(uint32_t state[8], const uint8_t *blocks, size_t count);

#endif
