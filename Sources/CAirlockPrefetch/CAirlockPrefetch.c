// Inline helpers: see include/CAirlockPrefetch.h. sched_getcpu and sched_setaffinity need
// _GNU_SOURCE, which a module header cannot set, hence these out-of-line functions.
#define _GNU_SOURCE
#include <sched.h>
#include "CAirlockPrefetch.h"

int airlock_current_cpu(void) {
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

int airlock_pin_current_thread(int cpu) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set);
#else
    (void)cpu;
    return -1;
#endif
}
