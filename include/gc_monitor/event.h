/* gc_monitor/event.h: one garbage collection, as the recorder saw it.
 *
 * A gcm_event is a plain value: the recorder fills one on the stack and hands
 * it to gcm_block_record(); readers get copies from gcm_block_copy_events().
 * All times are nanoseconds of CLOCK_MONOTONIC, so they compare across the
 * processes of one machine and never jump with the wall clock.
 */
#ifndef GC_MONITOR_EVENT_H
#define GC_MONITOR_EVENT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* CPython has three generations; anything else in an info dict is unusable. */
#define GCM_GENERATIONS 3

/* Set in gcm_event.flags when the duration came from CPython's own info dict
 * (3.15+) rather than from our two clock readings. */
#define GCM_EVENT_NATIVE_DURATION 0x1u
/* Set when the info dict carried `candidates` (3.15+). */
#define GCM_EVENT_HAS_CANDIDATES 0x2u

typedef struct gcm_event {
    uint64_t start_ns;      /* CLOCK_MONOTONIC at the "start" callback */
    uint64_t duration_ns;   /* pause length */
    uint64_t collected;     /* objects freed, from the info dict */
    uint64_t uncollectable; /* objects found uncollectable */
    uint64_t candidates;    /* 3.15's candidate count, 0 when absent */
    uint32_t generation;    /* 0, 1 or 2 */
    uint32_t flags;         /* GCM_EVENT_* bits */
} gcm_event;

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_EVENT_H */
