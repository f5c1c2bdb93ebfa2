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

/* Why a collection ran.  The cause is stored in two bits of gcm_event.flags
 * (layout version 2 on), so a record stays 48 bytes; records of version 1
 * captures carry 0 there, and a reader must not take that for "automatic"
 * without checking the capture's version (gcm_snapshot.causes_known). */
enum {
    GCM_CAUSE_AUTOMATIC = 0, /* the allocation threshold of generation 0 was crossed */
    GCM_CAUSE_EXPLICIT = 1,  /* a call of gc.collect() (through the monitor's wrapper) */
    GCM_CAUSE_SHUTDOWN = 2   /* the program's main code was over: interpreter finalisation */
};
#define GCM_CAUSES 3
/* The block keeps four cause slots, so that the two bits index them without a
 * bounds check; the fourth is never written by this version. */
#define GCM_CAUSE_SLOTS 4
#define GCM_EVENT_CAUSE_SHIFT 2u
#define GCM_EVENT_CAUSE_MASK (0x3u << GCM_EVENT_CAUSE_SHIFT)
/* The cause bits of `flags`, 0..3. */
#define GCM_EVENT_CAUSE(flags) (((flags)&GCM_EVENT_CAUSE_MASK) >> GCM_EVENT_CAUSE_SHIFT)

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
