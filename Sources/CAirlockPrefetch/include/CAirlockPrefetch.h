#ifndef C_AIRLOCK_PREFETCH_H
#define C_AIRLOCK_PREFETCH_H
// Swift cannot import clang's _mm_prefetch (a macro) and drops _mm_pause, so the engine's
// kernels and worker pool reach these instructions through inline functions.
static inline __attribute__((always_inline)) void airlock_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}

/// A prefetch toward the core's L2 (prefetcht1) without displacing what L1 holds for the
/// current computation: for weights that a later matmul will read.
static inline __attribute__((always_inline)) void airlock_prefetch_l2(const void *p) {
    __builtin_prefetch(p, 0, 2);
}

/// A spin-wait hint (x86 `pause`): lets the sibling hyper-thread run and saves power.
static inline __attribute__((always_inline)) void airlock_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
/// The CPU the calling thread is running on (sched_getcpu), or -1 when unknown. The worker
/// pool compares its threads' CPUs: spinning for work from a thread queued on the same CPU
/// is pointless.
int airlock_current_cpu(void);

/// Restricts the calling thread (and threads it creates later) to CPU `cpu`; 0 on success.
/// For tests that need two threads to share one CPU.
int airlock_pin_current_thread(int cpu);
#endif
