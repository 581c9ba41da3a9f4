#ifndef C_AIRLOCK_PREFETCH_H
#define C_AIRLOCK_PREFETCH_H
// Swift has no prefetch intrinsic (clang's _mm_prefetch is a macro, which Swift cannot
// import), so the engine's kernels reach the instruction through this inline function.
static inline __attribute__((always_inline)) void airlock_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
#endif
