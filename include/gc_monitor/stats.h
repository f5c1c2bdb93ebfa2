/* gc_monitor/stats.h: figures derived from a snapshot, for reports and the API.
 *
 * Everything here reads a gcm_snapshot (caller-owned) and writes into
 * caller-provided structs; nothing allocates, and all functions are pure, so
 * any thread may call them.  Percentiles are nearest-rank: the value of rank
 * ceil(q * n) among the n pauses, estimated from the log-linear histogram and
 * clamped to the exact [min, max], which keeps them within 1% of an exact sort
 * for every n >= 1 and for pauses from 100 ns to one hour.
 */
#ifndef GC_MONITOR_STATS_H
#define GC_MONITOR_STATS_H

#include <stdint.h>

#include "gc_monitor/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Returns the histogram bucket index of a duration of `ns` nanoseconds. */
uint32_t gcm_hist_index(uint64_t ns);

/* Sets [*lo, *hi] to the smallest and largest durations bucket `index` holds. */
void gcm_hist_bounds(uint32_t index, uint64_t *lo, uint64_t *hi);

/* Returns the nearest-rank `q` quantile (0 < q <= 1) of a generation's pauses
 * in ns, or 0 when it has none. */
uint64_t gcm_percentile_ns(const gcm_gen_snapshot *g, double q);

/* Adds `g` into `sum`: counts, totals, buckets (by index: same bounds only) and
 * histogram summed; min and max over the pauses of both (min 0 while count is 0). */
void gcm_gen_snapshot_add(gcm_gen_snapshot *sum, const gcm_gen_snapshot *g);

typedef struct gcm_gen_summary {
    uint64_t count;
    uint64_t total_ns;
    double mean_ns; /* 0 when count == 0 */
    uint64_t min_ns;
    uint64_t max_ns;
    uint64_t p50_ns;
    uint64_t p90_ns;
    uint64_t p95_ns;
    uint64_t p99_ns;
    uint64_t p999_ns;
    uint64_t collected;
    uint64_t uncollectable;
    uint64_t candidates; /* the objects the collections examined (CPython 3.15+), 0 before */
    uint64_t alerts;
} gcm_gen_summary;

/* The collections of one cause (GCM_CAUSE_*): the "GC causes" table of the
 * text and JSON reports, and the explicit-versus-automatic split that the
 * verdict and the advice read.  Exact over every collection, like the
 * per-generation figures: they come from the block's aggregates, not from
 * the ring. */
typedef struct gcm_cause_summary {
    uint64_t count;
    uint64_t total_ns;
    double mean_ns; /* 0 when count == 0 */
    uint64_t max_ns;
    double share_pct; /* 100 * total_ns / all.total_ns: of all pause time, 0 when none */
    uint64_t gen_count[GCM_GENERATIONS]; /* of count, how many of each generation */
} gcm_cause_summary;

/* The cause's word in reports and JSON keys: "automatic", "explicit",
 * "shutdown"; NULL for anything else. */
const char *gcm_cause_name(uint32_t cause);

/* The requests a web middleware saw (gc_monitor.asgi, gc_monitor.wsgi):
 * per request, the pause time recorded while it was in flight.  From the
 * block's request aggregates, exact but for the percentiles (within 1%,
 * from the histogram); all zero when no middleware ran. */
typedef struct gcm_request_summary {
    uint64_t count;    /* requests finished */
    uint64_t with_gc;  /* of them, those with any GC time */
    uint64_t full;     /* of them, those during which a generation 2 collection ran */
    uint64_t total_ns; /* their GC time, summed */
    uint64_t p50_ns;
    uint64_t p99_ns;
    uint64_t max_ns;
} gcm_request_summary;

typedef struct gcm_summary {
    int64_t pid;
    gcm_gen_summary all;
    gcm_gen_summary gen[GCM_GENERATIONS];
    uint64_t gc_ns;   /* all.total_ns */
    uint64_t wall_ns; /* from init to the snapshot (or to the recorded end) */
    double share_pct; /* 100 * gc_ns / wall_ns, 0 when wall_ns == 0 */
    uint64_t events_total;
    uint64_t overwritten;
    uint64_t dropped_stops;
    uint64_t unusable_info;
    uint64_t bursts;
    uint64_t unseen;      /* collections the callback never saw: not in any figure above */
    uint64_t event_flags; /* GCM_EVENT_* flags any record carried: what the interpreter gave */
    uint64_t missed;      /* collections an outside reader counted without their pauses: in the
                        counts and totals above, not in percentiles, extremes or alerts */
    int32_t torn;
    /* Why the collections ran.  causes_known is 0 for a capture written
     * before causes were recorded (layout version 1): cause[] is then all
     * zero and a report says "not recorded" rather than "none".  The three
     * counts add up to all.count. */
    int32_t causes_known;
    gcm_cause_summary cause[GCM_CAUSES];
    double rate_per_s;            /* collections per second of wall time, 0 when wall_ns == 0 */
    gcm_request_summary requests; /* count 0: no request middleware ran */
    /* The verdict and the figures only it has (docs/json.md, "verdict").  They
     * need the retained events and the pause budget, which a snapshot lacks:
     * gcm_summarize leaves verdict_known 0 and gcm_verdict_fill (report.h)
     * sets them. */
    int verdict_known;
    int verdict;       /* GCM_VERDICT_* */
    uint64_t slo_ns;   /* the pause budget the verdict used */
    double window_pct; /* GC share of the worst one-second window, percent */
} gcm_summary;

/* The causes of several processes together (a process tree's totals).
 * Zero it, then add each process's snapshot. */
typedef struct gcm_cause_totals {
    uint64_t processes; /* snapshots added */
    uint64_t known;     /* of them, those that recorded causes (layout version 2 on) */
    gcm_cause_snapshot cause[GCM_CAUSES];
} gcm_cause_totals;

/* Adds the causes of `snap` into `t`; a snapshot without causes only counts
 * as a process. */
void gcm_cause_totals_add(gcm_cause_totals *t, const gcm_snapshot *snap);

/* Fills `out` (GCM_CAUSES entries) from `t`, shares taken of the pause time
 * of the processes that recorded causes. */
void gcm_cause_totals_summarize(const gcm_cause_totals *t, gcm_cause_summary *out);

/* The verdict's levels, in the order --fail-on compares them. */
enum {
    GCM_VERDICT_NOT_ENOUGH_DATA = 0,
    GCM_VERDICT_FINE = 1,
    GCM_VERDICT_NOTICEABLE = 2,
    GCM_VERDICT_HURTING = 3
};

/* The verdict's name as reports print it ("HURTING LATENCY"), or "?". */
const char *gcm_verdict_name(int verdict);

/* The verdict's word as --fail-on rules spell it ("hurting"), or NULL. */
const char *gcm_verdict_word(int verdict);

/* Fills `out` from `snap`.  Returns 0. */
int gcm_summarize(const gcm_snapshot *snap, gcm_summary *out);

/* Collection efficiency: the share of the objects its collections examined
 * (CPython 3.15's `candidates`) that they freed (`collected`), in percent.
 * Returns 1 and sets *pct, or 0 when `s` examined no candidates, which is
 * every run before 3.15, where the figure does not exist. */
int gcm_efficiency_pct(const gcm_gen_summary *s, double *pct);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_STATS_H */
