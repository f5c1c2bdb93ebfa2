/* gc_monitor/clock.h: the two clocks the core uses, as inline readers.
 *
 * clock_gettime() for these clocks is served by the vDSO on Linux, so reading
 * it in the GC callback costs a few dozen instructions and no system call.
 * Both readers return 0 if the clock cannot be read, which never happens on a
 * supported system; callers treat 0 as "unknown" rather than as an error.
 */
#ifndef GC_MONITOR_CLOCK_H
#define GC_MONITOR_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Returns CLOCK_MONOTONIC in nanoseconds, or 0 if it cannot be read. */
static inline uint64_t gcm_clock_monotonic_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Returns CLOCK_REALTIME (Unix time) in nanoseconds, or 0 if it cannot be read. */
static inline int64_t gcm_clock_realtime_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

#endif /* GC_MONITOR_CLOCK_H */
