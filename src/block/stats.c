/* src/block/stats.c: histogram geometry, percentiles and the summary of a snapshot.
 *
 * Everything here is a pure function of a caller-owned snapshot; none of it
 * runs on the recording path, so clarity wins over speed.
 */
#include <stdint.h>
#include <string.h>

#include "gc_monitor/errors.h"
#include "gc_monitor/stats.h"
#include "block/block_internal.h"

/* Quantiles are taken in billionths, so the rank is exact integer arithmetic
 * and q = 0.9 with n = 10 gives rank 9, never 10 from a rounding error. */
#define Q_SCALE 1000000000u

uint32_t gcm_hist_index(uint64_t ns)
{
    return gcm__hist_index(ns);
}

void gcm_hist_bounds(uint32_t index, uint64_t *lo, uint64_t *hi)
{
    uint32_t k;
    unsigned msb;
    uint64_t width;

    if (index < GCM__HIST_LINEAR) {
        *lo = index;
        *hi = index;
        return;
    }
    if (index >= GCM_HIST_BUCKETS - 1u) {
        *lo = (uint64_t)1 << GCM_HIST_MAX_MSB;
        *hi = UINT64_MAX;
        return;
    }
    k = index - GCM__HIST_LINEAR;
    msb = GCM_HIST_SUB_BITS + 1u + (k >> GCM_HIST_SUB_BITS);
    width = (uint64_t)1 << (msb - GCM_HIST_SUB_BITS);
    *lo = ((uint64_t)1 << msb) + (uint64_t)(k & ((1u << GCM_HIST_SUB_BITS) - 1u)) * width;
    *hi = *lo + width - 1u;
}

/* The nearest rank ceil(q * n), clamped to [1, n], computed without overflow
 * for any n: with n = a * Q_SCALE + r, q*n = qs*a + qs*r / Q_SCALE, where
 * qs*a <= n and qs*r < 10^18 both fit in 64 bits. */
static uint64_t nearest_rank(uint64_t n, double q)
{
    uint64_t qs;
    uint64_t a;
    uint64_t r;
    uint64_t rank;

    if (!(q > 0.0))
        return 1;
    if (q >= 1.0)
        return n;
    qs = (uint64_t)(q * (double)Q_SCALE + 0.5);
    a = n / Q_SCALE;
    r = n % Q_SCALE;
    rank = qs * a + (qs * r + (Q_SCALE - 1u)) / Q_SCALE;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return rank;
}

void gcm_gen_snapshot_add(gcm_gen_snapshot *sum, const gcm_gen_snapshot *g)
{
    uint32_t i;

    /* A generation without pauses has no min or max to offer: its min of 0
     * means "none", not a pause of zero length. */
    if (g->count > 0) {
        if (sum->count == 0 || g->min_ns < sum->min_ns)
            sum->min_ns = g->min_ns;
        if (g->max_ns > sum->max_ns)
            sum->max_ns = g->max_ns;
    }
    sum->count += g->count;
    sum->total_ns += g->total_ns;
    sum->collected += g->collected;
    sum->uncollectable += g->uncollectable;
    sum->candidates += g->candidates;
    sum->alerts += g->alerts;
    for (i = 0; i < GCM_MAX_BUCKETS + 1; i++)
        sum->buckets[i] += g->buckets[i];
    for (i = 0; i < GCM_HIST_BUCKETS; i++)
        sum->hist[i] += g->hist[i];
}

uint64_t gcm_percentile_ns(const gcm_gen_snapshot *g, double q)
{
    uint64_t n = 0;
    uint64_t rank;
    uint64_t cum = 0;
    uint64_t lo;
    uint64_t hi;
    uint64_t mid;
    uint32_t i;

    /* The ranks are over the pauses that were seen, which the histogram
     * holds: an outside reader's count also holds collections it missed
     * (gcm_block_record_after_missed), whose pauses are in no bucket. */
    for (i = 0; i < GCM_HIST_BUCKETS; i++)
        n += g->hist[i];
    if (n > g->count)
        n = g->count;
    if (n == 0)
        return 0;
    rank = nearest_rank(n, q);
    /* The extremes are known exactly; no need to estimate them. */
    if (rank == n)
        return g->max_ns;
    if (rank == 1)
        return g->min_ns;
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        cum += g->hist[i];
        if (cum >= rank)
            break;
    }
    /* A torn snapshot may hold fewer histogram entries than its count. */
    if (i == GCM_HIST_BUCKETS)
        return g->max_ns;
    /* The midpoint of a bucket is within half its width, at most 1/128 of
     * its lower bound, of any value in it: the 1% promise with margin. */
    gcm_hist_bounds(i, &lo, &hi);
    mid = lo + (hi - lo) / 2u;
    if (mid < g->min_ns)
        mid = g->min_ns;
    if (mid > g->max_ns)
        mid = g->max_ns;
    return mid;
}

static void summarize_gen(const gcm_gen_snapshot *g, gcm_gen_summary *out)
{
    out->count = g->count;
    out->total_ns = g->total_ns;
    out->mean_ns = g->count > 0 ? (double)g->total_ns / (double)g->count : 0.0;
    out->min_ns = g->count > 0 ? g->min_ns : 0;
    out->max_ns = g->max_ns;
    out->p50_ns = gcm_percentile_ns(g, 0.5);
    out->p90_ns = gcm_percentile_ns(g, 0.9);
    out->p95_ns = gcm_percentile_ns(g, 0.95);
    out->p99_ns = gcm_percentile_ns(g, 0.99);
    out->p999_ns = gcm_percentile_ns(g, 0.999);
    out->collected = g->collected;
    out->uncollectable = g->uncollectable;
    out->candidates = g->candidates;
    out->alerts = g->alerts;
}

/* One cause's row; its share is of `all_ns`, the pause time of every cause. */
static void fill_cause(const gcm_cause_snapshot *s, uint64_t all_ns, gcm_cause_summary *d)
{
    uint32_t g;

    d->count = s->count;
    d->total_ns = s->total_ns;
    d->max_ns = s->max_ns;
    d->mean_ns = s->count > 0 ? (double)s->total_ns / (double)s->count : 0.0;
    d->share_pct = all_ns > 0 ? 100.0 * (double)s->total_ns / (double)all_ns : 0.0;
    for (g = 0; g < GCM_GENERATIONS; g++)
        d->gen_count[g] = s->gen_count[g];
}

/* The cause table of a summary; the causes split the same collections as
 * the generations, so the shares are of all.total_ns. */
static void summarize_causes(const gcm_snapshot *snap, gcm_summary *out)
{
    uint32_t c;

    memset(out->cause, 0, sizeof out->cause);
    out->causes_known = snap->causes_known != 0;
    if (!out->causes_known)
        return;
    for (c = 0; c < GCM_CAUSES; c++)
        fill_cause(&snap->cause[c], snap->all.total_ns, &out->cause[c]);
}

/* The request figures of a summary, from the snapshot's request histogram. */
static void summarize_requests(const gcm_snapshot *snap, gcm_request_summary *out)
{
    const gcm_gen_snapshot *q = &snap->requests;

    out->count = q->count;
    out->with_gc = q->collected;
    out->full = snap->requests_full;
    out->total_ns = q->total_ns;
    out->p50_ns = gcm_percentile_ns(q, 0.5);
    out->p99_ns = gcm_percentile_ns(q, 0.99);
    out->max_ns = q->max_ns;
}

int gcm_summarize(const gcm_snapshot *snap, gcm_summary *out)
{
    int status = GCM_EINVAL;
    uint32_t g;
    uint64_t wall = 0;

    if (snap == NULL || out == NULL)
        goto done;
    out->pid = snap->pid;
    summarize_gen(&snap->all, &out->all);
    for (g = 0; g < GCM_GENERATIONS; g++)
        summarize_gen(&snap->gen[g], &out->gen[g]);
    out->gc_ns = snap->all.total_ns;

    /* A finished process measures up to its recorded end.  That end is a
     * realtime reading; through the init clock pair, its monotonic equivalent
     * is init_monotonic + (end_realtime - init_realtime), so the wall time is
     * simply the realtime difference.  A live one measures up to the
     * snapshot's own monotonic reading.  The times may come from a damaged
     * capture file, so the difference is taken in unsigned arithmetic, only
     * when it is positive, where it cannot overflow. */
    if (snap->state != GCM_STATE_RUNNING && snap->end_realtime_ns != 0) {
        if (snap->end_realtime_ns > snap->init_realtime_ns)
            wall = (uint64_t)snap->end_realtime_ns - (uint64_t)snap->init_realtime_ns;
    } else if (snap->init_monotonic_ns >= 0 &&
               snap->taken_monotonic_ns > (uint64_t)snap->init_monotonic_ns) {
        wall = snap->taken_monotonic_ns - (uint64_t)snap->init_monotonic_ns;
    }
    out->wall_ns = wall;
    out->share_pct = out->wall_ns > 0 ? 100.0 * (double)out->gc_ns / (double)out->wall_ns : 0.0;

    out->events_total = snap->events_total;
    out->overwritten = snap->overwritten;
    out->dropped_stops = snap->dropped_stops;
    out->unusable_info = snap->unusable_info;
    out->bursts = snap->bursts;
    out->unseen = snap->unseen;
    out->event_flags = snap->event_flags;
    out->missed = snap->missed;
    out->torn = snap->torn;
    summarize_causes(snap, out);
    summarize_requests(snap, &out->requests);
    out->rate_per_s = wall > 0 ? (double)snap->all.count * 1e9 / (double)wall : 0.0;
    /* The verdict needs more than a snapshot: see gcm_verdict_fill. */
    out->verdict_known = 0;
    out->verdict = GCM_VERDICT_NOT_ENOUGH_DATA;
    out->slo_ns = 0;
    out->window_pct = 0.0;
    status = 0;
done:
    return status;
}

int gcm_efficiency_pct(const gcm_gen_summary *s, double *pct)
{
    if (s == NULL || pct == NULL || s->candidates == 0)
        return 0;
    *pct = 100.0 * (double)s->collected / (double)s->candidates;
    return 1;
}

const char *gcm_cause_name(uint32_t cause)
{
    switch (cause) {
    case GCM_CAUSE_AUTOMATIC:
        return "automatic";
    case GCM_CAUSE_EXPLICIT:
        return "explicit";
    case GCM_CAUSE_SHUTDOWN:
        return "shutdown";
    default:
        return NULL;
    }
}

void gcm_cause_totals_add(gcm_cause_totals *t, const gcm_snapshot *snap)
{
    uint32_t c;
    uint32_t g;

    if (t == NULL || snap == NULL)
        return;
    t->processes++;
    if (!snap->causes_known)
        return;
    t->known++;
    for (c = 0; c < GCM_CAUSES; c++) {
        gcm_cause_snapshot *d = &t->cause[c];
        const gcm_cause_snapshot *s = &snap->cause[c];

        d->count += s->count;
        d->total_ns += s->total_ns;
        if (s->max_ns > d->max_ns)
            d->max_ns = s->max_ns;
        for (g = 0; g < GCM_GENERATIONS; g++)
            d->gen_count[g] += s->gen_count[g];
    }
}

void gcm_cause_totals_summarize(const gcm_cause_totals *t, gcm_cause_summary *out)
{
    uint64_t all_ns = 0;
    uint32_t c;

    for (c = 0; c < GCM_CAUSES; c++)
        all_ns += t->cause[c].total_ns;
    for (c = 0; c < GCM_CAUSES; c++)
        fill_cause(&t->cause[c], all_ns, &out[c]);
}

static const char *const verdict_names[] = {"NOT ENOUGH DATA", "FINE", "NOTICEABLE",
                                            "HURTING LATENCY"};
static const char *const verdict_words[] = {"not-enough-data", "fine", "noticeable", "hurting"};

const char *gcm_verdict_name(int verdict)
{
    return verdict >= 0 && verdict <= GCM_VERDICT_HURTING ? verdict_names[verdict] : "?";
}

const char *gcm_verdict_word(int verdict)
{
    return verdict >= 0 && verdict <= GCM_VERDICT_HURTING ? verdict_words[verdict] : NULL;
}
