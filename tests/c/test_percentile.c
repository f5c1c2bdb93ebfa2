/* test_percentile.c: the histogram's geometry, and percentiles from a real
 * block against an exact sort of the same data, within 1% relative error for
 * every size from n = 1 and for pauses from 100 ns to one hour. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

static gcm_snapshot snap;

/* splitmix64: a fixed seed gives the same data on every run and machine. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_hist_geometry(void)
{
    uint32_t i;
    uint64_t lo, hi, prev_hi = 0;

    /* The buckets tile [0, 2^64) without gaps or overlaps, each index maps
     * its own bounds back to itself, and no bucket is wider than 1/64 of its
     * lower bound above the exact range. */
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        gcm_hist_bounds(i, &lo, &hi);
        GCM_CHECK(lo <= hi);
        if (i > 0)
            GCM_CHECK_EQ_U64(lo, prev_hi + 1);
        GCM_CHECK_EQ_U64(gcm_hist_index(lo), i);
        GCM_CHECK_EQ_U64(gcm_hist_index(hi), i);
        if (i < 128)
            GCM_CHECK_EQ_U64(lo, hi);
        else if (i < GCM_HIST_BUCKETS - 1)
            GCM_CHECK((hi - lo + 1) * 64 <= lo);
        prev_hi = hi;
    }
    GCM_CHECK_EQ_U64(prev_hi, UINT64_MAX);
    GCM_CHECK_EQ_U64(gcm_hist_index(0), 0);
    GCM_CHECK_EQ_U64(gcm_hist_index(127), 127);
    GCM_CHECK_EQ_U64(gcm_hist_index(128), 128);
    GCM_CHECK_EQ_U64(gcm_hist_index(129), 128);
    GCM_CHECK_EQ_U64(gcm_hist_index(130), 129);
    GCM_CHECK_EQ_U64(gcm_hist_index(256), 192);
    GCM_CHECK_EQ_U64(gcm_hist_index(((uint64_t)1 << 43) - 1), GCM_HIST_BUCKETS - 2);
    GCM_CHECK_EQ_U64(gcm_hist_index((uint64_t)1 << 43), GCM_HIST_BUCKETS - 1);
    GCM_CHECK_EQ_U64(gcm_hist_index(UINT64_MAX), GCM_HIST_BUCKETS - 1);
}

/* Records `n` durations into a fresh block, spread over the generations, and
 * compares every percentile of `all` with the exact nearest rank. */
static void check_against_sort(uint64_t *values, size_t n, const char *label)
{
    static const uint32_t q_permille[] = {500, 900, 950, 990, 999, 1000};
    gcm_block_params p;
    size_t size;
    gcm_block *b;
    size_t i, k;

    memset(&p, 0, sizeof p);
    p.capacity = 16;
    p.bucket_count = 1;
    p.bucket_bounds_ns[0] = 1000000u;
    size = gcm_block_size(p.capacity);
    b = malloc(size);
    GCM_CHECK(b != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), 0);
    for (i = 0; i < n; i++) {
        gcm_event ev;
        memset(&ev, 0, sizeof ev);
        ev.start_ns = (uint64_t)i * 1000000000u;
        ev.duration_ns = values[i];
        ev.generation = (uint32_t)(i % 3);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.count, n);
    qsort(values, n, sizeof values[0], cmp_u64);
    for (k = 0; k < sizeof q_permille / sizeof q_permille[0]; k++) {
        /* Nearest rank, in integers: ceil(q * n) with q = permille / 1000. */
        uint64_t rank = ((uint64_t)q_permille[k] * n + 999u) / 1000u;
        uint64_t exact, got;
        double err;
        if (rank < 1)
            rank = 1;
        exact = values[rank - 1];
        got = gcm_percentile_ns(&snap.all, (double)q_permille[k] / 1000.0);
        err = exact > 0 ? fabs((double)got - (double)exact) / (double)exact : (double)got;
        if (!(err <= 0.01)) {
            fprintf(stderr, "%s n=%zu q=%u/1000: got %" PRIu64 ", exact %" PRIu64 " (%.4f%%)\n",
                    label, n, q_permille[k], got, exact, 100.0 * err);
        }
        GCM_CHECK(err <= 0.01);
    }
    /* q = 1 is the maximum exactly; the smallest q is the minimum. */
    GCM_CHECK_EQ_U64(gcm_percentile_ns(&snap.all, 1.0), values[n - 1]);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(&snap.all, 1e-12), values[0]);
    free(b);
}

static const size_t sizes[] = {1, 2, 3, 10, 1000, 100000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void test_log_uniform(void)
{
    /* 100 ns to one hour, uniform in log: every histogram decade is hit. */
    const double lo = log(100.0), hi = log(3.6e12);
    uint64_t *v = malloc(100000 * sizeof *v);
    size_t s, i;

    GCM_CHECK(v != NULL);
    rng_state = 12345;
    for (s = 0; s < NSIZES; s++) {
        for (i = 0; i < sizes[s]; i++)
            v[i] = (uint64_t)exp(lo + rng_unit() * (hi - lo));
        check_against_sort(v, sizes[s], "log-uniform");
    }
    free(v);
}

static void test_clustered(void)
{
    /* Real GC: most pauses within a few percent of 20 us, some near 3 ms,
     * a rare 400 ms one; many samples share one histogram bucket. */
    uint64_t *v = malloc(100000 * sizeof *v);
    size_t s, i;

    GCM_CHECK(v != NULL);
    rng_state = 777;
    for (s = 0; s < NSIZES; s++) {
        for (i = 0; i < sizes[s]; i++) {
            uint64_t r = rng_next() % 1000u;
            if (r < 900)
                v[i] = 19500u + rng_next() % 1000u;
            else if (r < 998)
                v[i] = 3000000u + rng_next() % 90000u;
            else
                v[i] = 400000000u + rng_next() % 1000000u;
        }
        check_against_sort(v, sizes[s], "clustered");
    }
    free(v);
}

static void test_edges(void)
{
    /* Values on and next to bucket bounds, all equal values, and the tiny
     * exact range. */
    uint64_t v[1000];
    size_t i;

    for (i = 0; i < 1000; i++)
        v[i] = (uint64_t)1 << (7 + i % 30);
    check_against_sort(v, 1000, "powers of two");
    for (i = 0; i < 1000; i++)
        v[i] = ((uint64_t)1 << (8 + i % 30)) - 1;
    check_against_sort(v, 1000, "below powers of two");
    for (i = 0; i < 1000; i++)
        v[i] = 4999999u;
    check_against_sort(v, 1000, "all equal");
    for (i = 0; i < 1000; i++)
        v[i] = 100u + i % 28u;
    check_against_sort(v, 1000, "exact range");
}

static void test_empty_and_degenerate_q(void)
{
    gcm_gen_snapshot *g = calloc(1, sizeof *g);
    GCM_CHECK(g != NULL);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, 0.5), 0);
    g->count = 2;
    g->min_ns = 1000;
    g->max_ns = 2000;
    g->hist[gcm_hist_index(1000)] = 1;
    g->hist[gcm_hist_index(2000)] = 1;
    /* Out-of-range q is clamped rather than trusted. */
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, 0.0), 1000);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, -1.0), 1000);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, 2.0), 2000);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, NAN), 1000);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, 0.5), 1000);
    GCM_CHECK_EQ_U64(gcm_percentile_ns(g, 0.51), 2000);
    free(g);
}

/* Summing generations (or processes) must give the percentiles of all their
 * pauses together, and a side without pauses must not lend its min of 0. */
static void test_gen_snapshot_add(void)
{
    gcm_gen_snapshot *sum = calloc(1, sizeof *sum);
    gcm_gen_snapshot *a = calloc(1, sizeof *a);
    gcm_gen_snapshot *none = calloc(1, sizeof *none);

    GCM_CHECK(sum != NULL && a != NULL && none != NULL);
    a->count = 3;
    a->total_ns = 7000;
    a->min_ns = 1000;
    a->max_ns = 4000;
    a->collected = 5;
    a->uncollectable = 1;
    a->candidates = 9;
    a->alerts = 2;
    a->buckets[1] = 3;
    a->hist[gcm_hist_index(1000)] = 1;
    a->hist[gcm_hist_index(2000)] = 1;
    a->hist[gcm_hist_index(4000)] = 1;
    gcm_gen_snapshot_add(sum, none);
    GCM_CHECK_EQ_U64(sum->count, 0);
    GCM_CHECK_EQ_U64(sum->min_ns, 0);
    gcm_gen_snapshot_add(sum, a);
    gcm_gen_snapshot_add(sum, none);
    GCM_CHECK_EQ_U64(sum->min_ns, 1000);
    a->min_ns = 500;
    a->max_ns = 3000;
    a->hist[gcm_hist_index(4000)] = 0;
    a->hist[gcm_hist_index(500)] = 1;
    gcm_gen_snapshot_add(sum, a);
    GCM_CHECK_EQ_U64(sum->count, 6);
    GCM_CHECK_EQ_U64(sum->total_ns, 14000);
    GCM_CHECK_EQ_U64(sum->min_ns, 500);
    GCM_CHECK_EQ_U64(sum->max_ns, 4000);
    GCM_CHECK_EQ_U64(sum->collected, 10);
    GCM_CHECK_EQ_U64(sum->uncollectable, 2);
    GCM_CHECK_EQ_U64(sum->candidates, 18);
    GCM_CHECK_EQ_U64(sum->alerts, 4);
    GCM_CHECK_EQ_U64(sum->buckets[1], 6);
    GCM_CHECK_EQ_U64(sum->hist[gcm_hist_index(1000)], 2);
    /* Pauses 500, 1000, 1000, 2000, 2000, 4000: the median is 1000 (rank 3). */
    GCM_CHECK_EQ_U64(gcm_hist_index(gcm_percentile_ns(sum, 0.5)), gcm_hist_index(1000));
    GCM_CHECK_EQ_U64(gcm_percentile_ns(sum, 1.0), 4000);
    free(sum);
    free(a);
    free(none);
}

int main(void)
{
    GCM_RUN(test_hist_geometry);
    GCM_RUN(test_log_uniform);
    GCM_RUN(test_clustered);
    GCM_RUN(test_edges);
    GCM_RUN(test_empty_and_degenerate_q);
    GCM_RUN(test_gen_snapshot_add);
    return 0;
}
