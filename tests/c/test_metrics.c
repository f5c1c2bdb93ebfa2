/* test_metrics.c: the metrics' histogram bounds (gc_monitor/metrics.h) sit
 * on the block histogram's edges near their round values, and their
 * cumulative counts are exact against a direct count of known pauses. */
#include <stdint.h>
#include <string.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

static gcm_gen_snapshot gen;

static const uint64_t round_ns[GCM_METRIC_BUCKETS] = {
    10000u,     25000u,      50000u,      100000u,     250000u,      500000u,    1000000u,
    2500000u,   5000000u,    10000000u,   25000000u,   50000000u,    100000000u, 250000000u,
    500000000u, 1000000000u, 2500000000u, 5000000000u, 10000000000u,
};

static void test_bounds_on_edges(void)
{
    for (uint32_t i = 0; i < GCM_METRIC_BUCKETS; i++) {
        uint64_t b = gcm_metric_bound_ns(i);
        /* At or above the round value, by less than one bucket (1/64). */
        GCM_CHECK(b >= round_ns[i]);
        GCM_CHECK(b - round_ns[i] < round_ns[i] / 64 + 1);
        /* The last nanosecond of its bucket: the next one starts a new bucket. */
        GCM_CHECK(gcm_hist_index(b) == gcm_hist_index(round_ns[i]));
        GCM_CHECK(gcm_hist_index(b + 1) == gcm_hist_index(b) + 1);
        if (i > 0)
            GCM_CHECK(b > gcm_metric_bound_ns(i - 1));
    }
    GCM_CHECK_EQ_U64(gcm_metric_bound_ns(GCM_METRIC_BUCKETS), 0);
}

static void test_counts_exact(void)
{
    uint64_t pauses[3 * GCM_METRIC_BUCKETS + 2];
    size_t n = 0;
    uint64_t cumulative[GCM_METRIC_BUCKETS];

    memset(&gen, 0, sizeof gen);
    pauses[n++] = 1;
    pauses[n++] = 20000000000u; /* over the last bound: only in +Inf */
    for (uint32_t i = 0; i < GCM_METRIC_BUCKETS; i++) {
        uint64_t b = gcm_metric_bound_ns(i);
        pauses[n++] = b;
        pauses[n++] = b + 1;
        pauses[n++] = b - 1;
    }
    for (size_t k = 0; k < n; k++)
        gen.hist[gcm_hist_index(pauses[k])]++;
    GCM_CHECK_EQ_U64(gcm_metric_buckets(&gen, cumulative), n);
    for (uint32_t i = 0; i < GCM_METRIC_BUCKETS; i++) {
        uint64_t want = 0;
        for (size_t k = 0; k < n; k++)
            want += pauses[k] <= gcm_metric_bound_ns(i);
        GCM_CHECK_EQ_U64(cumulative[i], want);
    }
}

int main(void)
{
    GCM_RUN(test_bounds_on_edges);
    GCM_RUN(test_counts_exact);
    return 0;
}
