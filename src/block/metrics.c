/* src/block/metrics.c: the pause histogram's fixed bounds for metrics
 * systems, on the edges of the block's own histogram (gc_monitor/metrics.h). */
#include "gc_monitor/metrics.h"

#include "gc_monitor/stats.h"

/* The round values the bounds stand for, in nanoseconds. */
static const uint64_t targets_ns[GCM_METRIC_BUCKETS] = {
    10000u,     25000u,      50000u,      100000u,     250000u,      500000u,    1000000u,
    2500000u,   5000000u,    10000000u,   25000000u,   50000000u,    100000000u, 250000000u,
    500000000u, 1000000000u, 2500000000u, 5000000000u, 10000000000u,
};

uint64_t gcm_metric_bound_ns(uint32_t i)
{
    uint64_t lo = 0;
    uint64_t hi = 0;

    if (i >= GCM_METRIC_BUCKETS)
        return 0;
    gcm_hist_bounds(gcm_hist_index(targets_ns[i]), &lo, &hi);
    return hi;
}

uint64_t gcm_metric_buckets(const gcm_gen_snapshot *g, uint64_t cumulative[GCM_METRIC_BUCKETS])
{
    uint64_t sum = 0;
    uint32_t next = 0;

    for (uint32_t b = 0; b < GCM_METRIC_BUCKETS; b++) {
        uint32_t last = gcm_hist_index(targets_ns[b]);
        for (; next <= last; next++)
            sum += g->hist[next];
        cumulative[b] = sum;
    }
    for (; next < GCM_HIST_BUCKETS; next++)
        sum += g->hist[next];
    return sum;
}
