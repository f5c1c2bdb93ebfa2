/* gc_monitor/block.h: the recording block, the one data structure of pygcprofiler.
 *
 * A block is a single fixed-size, pointer-free region of memory that holds a
 * header, exact aggregates and a ring of event records, in that order:
 *
 *     [ gcm_header | gcm_aggregates | gcm_event_slot ring[capacity] ]
 *
 * followed, when header.stacks_size is not 0 (--stacks), by the trigger
 * table of stacks.h in the same memory (gcm_block_stacks).
 *
 * Ownership: the caller provides the memory (malloc, an anonymous mapping, or a
 * shared file mapping that other processes read) and keeps it alive; the core
 * never allocates, frees or resizes it.  Because the block holds no pointers,
 * the same bytes are valid in every process that maps them.
 *
 * Threading: a block has exactly one writer at a time (the GC callback of one
 * process; CPython never runs two collections at once) and any number of
 * concurrent readers, in this or another process.  The writer publishes each
 * record and its aggregate updates under the sequence counter `agg.seq`: odd
 * while an update is in progress, and seq/2 equals the number of records
 * written.  Every shared field is a C11 atomic stored and loaded with relaxed
 * ordering; the counter's release/acquire pairs order them.  Readers copy a
 * consistent snapshot or retry a bounded number of times; a counter left odd by
 * a writer that died is reported (GCM_EBUSY), never waited on.
 *
 * The record path (gcm_block_record and the two counters below it) allocates
 * nothing, takes no lock, makes no system call, and uses no floating point or
 * division.
 *
 * Layout stability: GCM_LAYOUT_VERSION names this exact layout; tests pin the
 * size and offset of every field, so any change to them is deliberate and bumps
 * the version.
 */
#ifndef GC_MONITOR_BLOCK_H
#define GC_MONITOR_BLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GCM_BLOCK_MAGIC "GCMBLOCK" /* 8 bytes, no terminator stored */
#define GCM_LAYOUT_VERSION 4u      /* the layout this build writes */
#define GCM_LAYOUT_VERSION_MIN 1u  /* the oldest layout it still reads */
/* Version 1 had no cause aggregates: its ring started at this offset. */
#define GCM_LAYOUT_V1_RING_OFFSET 68000u
/* Version 2 had no request aggregates: its ring started at this offset. */
#define GCM_LAYOUT_V2_RING_OFFSET 68160u
#define GCM_BYTE_ORDER_MARK 0x01020304u /* reads back differently on the other endianness */

#define GCM_DEFAULT_CAPACITY 65536u /* default ring size, in events */
#define GCM_MIN_CAPACITY 16u
#define GCM_MAX_CAPACITY (1u << 26) /* 64 Mi events, 3 GiB: a typo guard */

#define GCM_MAX_BUCKETS 32         /* user duration buckets, plus one overflow bucket */
#define GCM_BURST_GAP_NS 50000000u /* a start this soon after the previous stop is a burst */
#define GCM_META_SIZE 8192         /* free-form "key=value\n" text for the capture file */

/* The log-linear histogram: values below 2^(SUB_BITS+1) ns have a bucket each;
 * above that, every power of two is split into 2^SUB_BITS equal buckets, so a
 * bucket is at most 1/64 of its lower bound wide and its midpoint is within
 * 0.79% of any value in it.  The top bucket collects everything from
 * 2^GCM_HIST_MAX_MSB ns (about 2.4 hours) up. */
#define GCM_HIST_SUB_BITS 6
#define GCM_HIST_MAX_MSB 43
#define GCM_HIST_BUCKETS                                                                           \
    ((2u << GCM_HIST_SUB_BITS) +                                                                   \
     (GCM_HIST_MAX_MSB - GCM_HIST_SUB_BITS - 1) * (1u << GCM_HIST_SUB_BITS) + 1u)

/* Process states kept in the header for readers of a capture file. */
enum {
    GCM_STATE_RUNNING = 0, /* the writer has not said it is done */
    GCM_STATE_EXITED = 1,  /* the writer exited cleanly; exit_status is valid */
    GCM_STATE_GONE = 2,    /* a reader found the writer dead without a clean exit */
    GCM_STATE_KILLED = 3, /* the writer was killed by the signal in exit_status, after its report */
    GCM_STATE_DETACHED = 4 /* the writer stopped recording and runs on (`pygcprofiler detach`) */
};

/* The exit_status of a GCM_STATE_EXITED writer that ended by os._exit after its
 * finalizers ran (a multiprocessing fork worker): a clean end whose status is unknown. */
#define GCM_EXIT_STATUS_UNKNOWN (-1)

typedef struct gcm_header {
    char magic[8];                /* GCM_BLOCK_MAGIC */
    uint32_t layout_version;      /* GCM_LAYOUT_VERSION of the writer */
    uint32_t byte_order;          /* GCM_BYTE_ORDER_MARK in the writer's byte order */
    uint32_t header_size;         /* sizeof(gcm_header) */
    uint32_t slot_size;           /* sizeof(gcm_event_slot) */
    uint64_t capacity;            /* ring slots; a power of two */
    uint64_t block_size;          /* gcm_block_size(capacity) */
    int64_t pid;                  /* writer's pid */
    int64_t ppid;                 /* writer's parent pid, 0 if unknown */
    uint64_t process_start_ticks; /* field 22 of /proc/<pid>/stat, 0 if unknown */
    int64_t init_realtime_ns;     /* CLOCK_REALTIME at init ... */
    int64_t init_monotonic_ns;    /* ... and CLOCK_MONOTONIC read right after it */
    uint64_t
        alert_threshold_ns; /* pauses of at least this long count as alerts; see gcm_is_alert */
    uint32_t bucket_count;  /* user duration buckets in use, 1..GCM_MAX_BUCKETS */
    uint32_t stacks_size;   /* layout version 4 on: bytes of the --stacks table (stacks.h)
                               right after the ring, at block_size; 0 without one */
    uint64_t bucket_bounds_ns[GCM_MAX_BUCKETS]; /* strictly increasing upper bounds */
    _Atomic uint32_t state;                     /* GCM_STATE_* */
    _Atomic int32_t exit_status;     /* GCM_STATE_EXITED: the status, or GCM_EXIT_STATUS_UNKNOWN;
                                   GCM_STATE_KILLED: the signal number */
    _Atomic int64_t end_realtime_ns; /* CLOCK_REALTIME when state left RUNNING */
    /* NUL-terminated "key=value\n" lines, set before recording; the exit
     * report appends its freeze count (gcm_capture_meta_append). */
    char meta[GCM_META_SIZE];
} gcm_header;

/* Exact aggregates of one generation.  Counts are 64-bit: at a million
 * collections a second they last 584,000 years. */
typedef struct gcm_gen_stats {
    _Atomic uint64_t count;
    _Atomic uint64_t total_ns;
    _Atomic uint64_t min_ns; /* UINT64_MAX while count == 0 */
    _Atomic uint64_t max_ns;
    _Atomic uint64_t collected;
    _Atomic uint64_t uncollectable;
    _Atomic uint64_t candidates;
    _Atomic uint64_t alerts; /* pauses over header.alert_threshold_ns */
    _Atomic uint64_t buckets[GCM_MAX_BUCKETS +
                             1]; /* [i] counts (bound[i-1], bound[i]]; [bucket_count] the rest */
    _Atomic uint64_t hist[GCM_HIST_BUCKETS];
} gcm_gen_stats;

/* Exact aggregates of the collections of one cause.  Their count is the sum
 * of gen_count: not stored, so the recorder does one addition less. */
typedef struct gcm_cause_stats {
    _Atomic uint64_t total_ns;
    _Atomic uint64_t max_ns;
    _Atomic uint64_t gen_count[GCM_GENERATIONS]; /* collections of each generation */
} gcm_cause_stats;

/* Exact aggregates of the requests a web middleware (gc_monitor.asgi,
 * gc_monitor.wsgi) saw: per request, the GC pause time that was recorded
 * while it was in flight.  Unlike everything else in the block these have
 * many writers (every thread that finishes a request), so they are updated
 * with atomic read-modify-writes and are not under the sequence counter:
 * a reader may see a request in the histogram but not yet in `gc_ns`.
 * The number of requests is the histogram's sum, so it never disagrees with
 * the percentiles. */
typedef struct gcm_request_stats {
    _Atomic uint64_t gc_ns;       /* the requests' GC time, summed */
    _Atomic uint64_t max_ns;      /* the longest GC time of one request */
    _Atomic uint64_t full;        /* requests during which a generation 2 collection ran */
    _Atomic uint64_t reserved[5]; /* zero */
    _Atomic uint64_t hist[GCM_HIST_BUCKETS]; /* requests by GC time; [0] holds those with none */
} gcm_request_stats;

typedef struct gcm_aggregates {
    _Atomic uint64_t seq;           /* odd while the writer updates; seq/2 = records written */
    _Atomic uint64_t dropped_stops; /* "stop" callbacks without a "start", dropped */
    _Atomic uint64_t unusable_info; /* info dicts (or generations) that could not be used */
    _Atomic uint64_t bursts; /* collections starting < GCM_BURST_GAP_NS after the previous stop */
    _Atomic uint64_t
        last_stop_ns;        /* CLOCK_MONOTONIC at the end of the latest record, 0 before any */
    _Atomic uint64_t unseen; /* collections gc.get_stats() counted that the callback never
                                       saw (it was taken out of gc.callbacks); set at report time */
    _Atomic uint64_t event_flags; /* every GCM_EVENT_* flag any record carried (0 in captures
                                     of writers before it was kept) */
    _Atomic uint64_t missed;      /* collections an outside reader counted but whose pauses it never
                                saw (they left the interpreter's ring between two polls): in
                                each generation's count and total_ns, in no histogram, bucket,
                                minimum, maximum or alert; 0 for an in-process recorder */
    gcm_gen_stats gen[GCM_GENERATIONS];
    /* Layout version 2 on: the same collections again, by cause (GCM_CAUSE_*,
     * indexed by the two cause bits of the record's flags). */
    gcm_cause_stats cause[GCM_CAUSE_SLOTS];
    /* Layout version 3 on: the requests of a web middleware, all zero when
     * none ran. */
    gcm_request_stats requests;
} gcm_aggregates;

/* A ring slot: a gcm_event whose fields are atomics, so readers in other
 * threads or processes may copy it while the writer works. */
typedef struct gcm_event_slot {
    _Atomic uint64_t start_ns;
    _Atomic uint64_t duration_ns;
    _Atomic uint64_t collected;
    _Atomic uint64_t uncollectable;
    _Atomic uint64_t candidates;
    _Atomic uint32_t generation;
    _Atomic uint32_t flags;
} gcm_event_slot;

typedef struct gcm_block {
    gcm_header header;
    gcm_aggregates agg;
    /* header.capacity slots; record i lives in ring[i % capacity].  A version 1
     * block's ring starts at GCM_LAYOUT_V1_RING_OFFSET instead: readers of
     * either find it through gcm_block_ring_offset. */
    gcm_event_slot ring[];
} gcm_block;

/* What gcm_block_init needs to know; everything else it reads from the clocks. */
typedef struct gcm_block_params {
    uint64_t capacity; /* a power of two in [GCM_MIN_CAPACITY, GCM_MAX_CAPACITY] */
    int64_t pid;
    int64_t ppid;                 /* 0 if unknown */
    uint64_t process_start_ticks; /* 0 if unknown */
    uint64_t alert_threshold_ns;
    uint32_t bucket_count;                      /* 1..GCM_MAX_BUCKETS */
    uint64_t bucket_bounds_ns[GCM_MAX_BUCKETS]; /* strictly increasing, > 0 */
    uint32_t stacks_size; /* bytes to keep after the ring for the --stacks table, 0 for none */
} gcm_block_params;

/* A reader's consistent copy of the header fields and aggregates (not the ring).
 * About 100 KB: give it static or heap storage rather than a thread's stack. */
typedef struct gcm_gen_snapshot {
    uint64_t count;
    uint64_t total_ns;
    uint64_t min_ns; /* 0 when count == 0 */
    uint64_t max_ns;
    uint64_t collected;
    uint64_t uncollectable;
    uint64_t candidates;
    uint64_t alerts;
    uint64_t buckets[GCM_MAX_BUCKETS + 1];
    uint64_t hist[GCM_HIST_BUCKETS];
} gcm_gen_snapshot;

/* A reader's copy of one cause's aggregates. */
typedef struct gcm_cause_snapshot {
    uint64_t count; /* the sum of gen_count */
    uint64_t total_ns;
    uint64_t max_ns;
    uint64_t gen_count[GCM_GENERATIONS];
} gcm_cause_snapshot;

typedef struct gcm_snapshot {
    int64_t pid;
    int64_t ppid;
    uint64_t process_start_ticks;
    uint64_t capacity;
    int64_t init_realtime_ns;
    int64_t init_monotonic_ns;
    uint64_t alert_threshold_ns;
    uint32_t bucket_count;
    uint32_t state; /* GCM_STATE_* */
    int32_t exit_status;
    int32_t torn; /* 1 when the writer held the counter odd: figures may be mid-update */
    int64_t end_realtime_ns;
    uint64_t bucket_bounds_ns[GCM_MAX_BUCKETS];
    uint64_t taken_monotonic_ns; /* the reader's CLOCK_MONOTONIC when the copy was made */
    uint64_t events_total;       /* records ever written (seq / 2) */
    uint64_t overwritten; /* events_total - capacity when positive: records lost from the ring */
    uint64_t dropped_stops;
    uint64_t unusable_info;
    uint64_t bursts;
    uint64_t last_stop_ns;
    uint64_t unseen; /* collections the callback never saw (gcm_aggregates.unseen) */
    uint64_t
        event_flags; /* every GCM_EVENT_* flag any record carried (gcm_aggregates.event_flags) */
    uint64_t missed; /* collections counted without their pauses (gcm_aggregates.missed) */
    gcm_gen_snapshot gen[GCM_GENERATIONS];
    gcm_gen_snapshot all;    /* the generations summed, histogram and buckets included */
    uint32_t layout_version; /* of the block the copy came from */
    int32_t causes_known;    /* 1 when the block records causes (layout version 2 on), else 0 */
    gcm_cause_snapshot cause[GCM_CAUSES]; /* all zero when !causes_known */
    /* The requests of a web middleware (layout version 3 on; all zero
     * before, and when none ran): count is the requests, total_ns, max_ns
     * and hist their GC time, min_ns the smallest (from the histogram's
     * first bucket), collected those with any GC time; other fields zero. */
    gcm_gen_snapshot requests;
    uint64_t requests_full; /* requests during which a generation 2 collection ran */
} gcm_snapshot;

/* Returns 1 when a pause of `duration_ns` counts as an alert against
 * `threshold_ns`: when it reaches the threshold (>=), so a threshold of 0
 * alerts on every pause.  Recorder and renderers share this one rule. */
static inline int gcm_is_alert(uint64_t duration_ns, uint64_t threshold_ns)
{
    return duration_ns >= threshold_ns;
}

/* Returns the bytes a block of `capacity` slots needs, or 0 if capacity is not a
 * power of two within [GCM_MIN_CAPACITY, GCM_MAX_CAPACITY]. */
size_t gcm_block_size(uint64_t capacity);

/* Returns the byte offset of the ring in a block that gcm_block_check
 * accepted: it depends on the block's layout version, since version 2 added
 * the cause aggregates in front of it. */
size_t gcm_block_ring_offset(const gcm_block *b);

/* Rounds `n` up to a valid capacity (power of two, clamped to the limits). */
uint64_t gcm_block_capacity_for(uint64_t n);

/* Returns the bytes the memory of a block made with `params` needs: the
 * block and, after it, params->stacks_size bytes for the --stacks table; 0
 * for a bad capacity. */
size_t gcm_block_alloc_size(const gcm_block_params *params);

/* Returns the --stacks table region of a checked block mapped or allocated
 * as `size` bytes, and its size in *region_size: NULL when the block has none
 * (layout version 4 on) or when `size` ends before the region does.  The
 * region is the writer's (stacks.h formats it) or, for a reader, untrusted
 * bytes to copy and check (gcm_stacks_check). */
void *gcm_block_stacks(const gcm_block *b, size_t size, size_t *region_size);

/* Formats a fresh block into `mem` (`size` bytes, at least
 * gcm_block_alloc_size(params)), zeroing the block (the stacks region is
 * left to stacks.h) and taking the realtime/monotonic clock pair.  Returns
 * 0, GCM_EINVAL for bad params, or GCM_ENOMEM if `size` is too small. */
int gcm_block_init(gcm_block *b, size_t size, const gcm_block_params *params);

/* Checks that `mem` (`size` bytes, e.g. a mapped file) holds a block this build
 * can read: magic, byte order, version (GCM_LAYOUT_VERSION_MIN to
 * GCM_LAYOUT_VERSION; a newer one is GCM_EVERSION), sizes.  Never reads beyond `size`.
 * Returns 0 or GCM_EBADMAGIC, GCM_EBYTEORDER, GCM_EVERSION, GCM_ETRUNCATED,
 * GCM_ECORRUPT, or GCM_EINVAL when `mem` is NULL or not 8-byte aligned. */
int gcm_block_check(const void *mem, size_t size);

/* Hot path: writes `ev` into the ring and the aggregates under the sequence
 * counter.  Returns 0, or GCM_EINVAL (and counts it as unusable info) when
 * ev->generation is not 0..2.  The single writer only. */
int gcm_block_record(gcm_block *b, const gcm_event *ev);

/* Records `ev` as gcm_block_record does, after adding `missed` earlier
 * collections of the same generation whose pauses were never seen and whose
 * durations sum to `missed_ns` to its count and total (not to its histogram,
 * buckets, minimum, maximum or alerts) and to agg.missed, all under the one
 * update of the sequence counter, so a reader never sees one without the
 * other.  An outside reader's path (src/cli/remote.c), never the callback's.
 * Returns what gcm_block_record returns. */
int gcm_block_record_after_missed(gcm_block *b, const gcm_event *ev, uint64_t missed,
                                  uint64_t missed_ns);

/* Hot path: counts a "stop" callback that had no matching "start". */
void gcm_block_count_dropped_stop(gcm_block *b);

/* Hot path: counts an info dict the recorder could not read. */
void gcm_block_count_unusable_info(gcm_block *b);

/* Records how many collections the interpreter counted that the callback
 * never saw (the program took it out of gc.callbacks).  The writer, at report
 * time; a later call replaces the figure. */
void gcm_block_set_unseen(gcm_block *b, uint64_t unseen);

/* Records how the writer's process ended (GCM_STATE_EXITED with its status,
 * GCM_STATE_KILLED with the signal number, or GCM_STATE_GONE set by a reader).
 * Async-signal-safe: only atomic stores. */
void gcm_block_set_state(gcm_block *b, uint32_t state, int32_t exit_status,
                         int64_t end_realtime_ns);

/* The running totals a request middleware reads when a request starts and
 * ends: the pause time of every collection recorded so far, and the number
 * of generation 2 collections.  Relaxed loads, no retry and no lock: each
 * word only grows, so the difference of two readings is the pause time
 * recorded in between (a collection being recorded at the reading counts
 * in the next one).  Any thread; `b` must be a block this process writes. */
void gcm_block_gc_clock(const gcm_block *b, uint64_t *gc_ns, uint64_t *full_collections);

/* Adds one finished request whose GC time was `gc_ns`, `full` nonzero when
 * a generation 2 collection ran during it, to the request aggregates.  Any
 * number of threads at once: atomic read-modify-writes, no lock, no
 * allocation.  Does nothing to a block older than layout version 3. */
void gcm_block_add_request(gcm_block *b, uint64_t gc_ns, int full);

/* Copies the header fields and aggregates into `out` consistently, retrying
 * while the writer is mid-update.  Returns 0, or GCM_EBUSY if the counter stayed
 * odd through every retry (a dead or stalled writer): `out` is then filled
 * anyway, with out->torn = 1. */
int gcm_block_snapshot(const gcm_block *b, gcm_snapshot *out);

/* Copies the retained window of records, oldest first, into `out` (room for
 * `out_capacity` events; the newest ones are kept if it is smaller than the
 * window).  Records the writer overwrote during the copy are left out.  Sets
 * *count and *first_index (the record number of out[0]; records are numbered
 * from 0 in write order).  Never waits or retries.  Returns 0, or GCM_EINVAL
 * for a NULL argument. */
int gcm_block_copy_events(const gcm_block *b, gcm_event *out, size_t out_capacity, size_t *count,
                          uint64_t *first_index);

/* Copies the records numbered `from` on, oldest first, into `out` (room for
 * `out_capacity` events, at least 1; the oldest ones are kept if it is
 * smaller than what there is), so that a reader can drain the ring in order
 * by calling again from *first_index + *count.  Records no longer in the
 * ring, or overwritten during the copy, are left out: *first_index - `from`
 * of them were lost.  Sets *count and *first_index (the record number of
 * out[0], or where the next copy starts when *count is 0).  Never waits or
 * retries.  Returns 0, or GCM_EINVAL for a NULL argument, no room, or a
 * `from` beyond the records written (a cursor of another block). */
int gcm_block_copy_events_from(const gcm_block *b, uint64_t from, gcm_event *out,
                               size_t out_capacity, size_t *count, uint64_t *first_index);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_BLOCK_H */
