/* test_buckets.c: the user's duration buckets.  Bucket i counts pauses in
 * (bound[i-1], bound[i]] (inclusive upper bound); the overflow bucket
 * [bucket_count] counts the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

static gcm_snapshot snap;

static gcm_block *new_block(uint32_t count, const uint64_t *bounds)
{
    gcm_block_params p;
    size_t size = gcm_block_size(16);
    gcm_block *b = malloc(size);

    GCM_CHECK(b != NULL);
    memset(&p, 0, sizeof p);
    p.capacity = 16;
    p.alert_threshold_ns = UINT64_MAX;
    p.bucket_count = count;
    memcpy(p.bucket_bounds_ns, bounds, count * sizeof bounds[0]);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), 0);
    return b;
}

static void record(gcm_block *b, uint64_t duration, uint32_t generation)
{
    gcm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.duration_ns = duration;
    ev.generation = generation;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
}

static void test_default_bounds(void)
{
    static const uint64_t ms = 1000000u;
    const uint64_t bounds[5] = {1 * ms, 5 * ms, 20 * ms, 50 * ms, 100 * ms};
    gcm_block *b = new_block(5, bounds);
    uint32_t i;

    record(b, 0, 0);              /* bucket 0 */
    record(b, 1 * ms - 1, 0);     /* bucket 0 */
    record(b, 1 * ms, 0);         /* exactly on the bound: bucket 0 */
    record(b, 1 * ms + 1, 1);     /* just above: bucket 1 */
    record(b, 5 * ms, 1);         /* bucket 1 */
    record(b, 20 * ms, 2);        /* bucket 2 */
    record(b, 20 * ms + 1, 2);    /* bucket 3 */
    record(b, 100 * ms, 2);       /* bucket 4 */
    record(b, 100 * ms + 1, 0);   /* overflow */
    record(b, UINT64_MAX / 2, 0); /* overflow */
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.buckets[0], 3);
    GCM_CHECK_EQ_U64(snap.all.buckets[1], 2);
    GCM_CHECK_EQ_U64(snap.all.buckets[2], 1);
    GCM_CHECK_EQ_U64(snap.all.buckets[3], 1);
    GCM_CHECK_EQ_U64(snap.all.buckets[4], 1);
    GCM_CHECK_EQ_U64(snap.all.buckets[5], 2);
    for (i = 6; i <= GCM_MAX_BUCKETS; i++)
        GCM_CHECK_EQ_U64(snap.all.buckets[i], 0);
    /* Per generation too. */
    GCM_CHECK_EQ_U64(snap.gen[0].buckets[0], 3);
    GCM_CHECK_EQ_U64(snap.gen[0].buckets[5], 2);
    GCM_CHECK_EQ_U64(snap.gen[1].buckets[1], 2);
    GCM_CHECK_EQ_U64(snap.gen[2].buckets[2], 1);
    GCM_CHECK_EQ_U64(snap.gen[2].buckets[3], 1);
    GCM_CHECK_EQ_U64(snap.gen[2].buckets[4], 1);
    GCM_CHECK_EQ_U64(snap.bucket_count, 5);
    GCM_CHECK_EQ_U64(snap.bucket_bounds_ns[3], 50 * ms);
    free(b);
}

static void test_one_bucket(void)
{
    const uint64_t bounds[1] = {500};
    gcm_block *b = new_block(1, bounds);

    record(b, 1, 0);
    record(b, 500, 0);
    record(b, 501, 0);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.buckets[0], 2);
    GCM_CHECK_EQ_U64(snap.all.buckets[1], 1);
    GCM_CHECK_EQ_U64(snap.all.buckets[2], 0);
    free(b);
}

static void test_thirty_two_buckets(void)
{
    uint64_t bounds[GCM_MAX_BUCKETS];
    gcm_block *b;
    uint32_t i;

    for (i = 0; i < GCM_MAX_BUCKETS; i++)
        bounds[i] = (uint64_t)(i + 1) * 1000u;
    b = new_block(GCM_MAX_BUCKETS, bounds);
    /* One pause on every bound and one just above it: bound i + 1 lands in
     * bucket i + 1, and the one above the last bound in the overflow. */
    for (i = 0; i < GCM_MAX_BUCKETS; i++) {
        record(b, bounds[i], i % 3);
        record(b, bounds[i] + 1, i % 3);
    }
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.buckets[0], 1);
    for (i = 1; i < GCM_MAX_BUCKETS; i++)
        GCM_CHECK_EQ_U64(snap.all.buckets[i], 2);
    GCM_CHECK_EQ_U64(snap.all.buckets[GCM_MAX_BUCKETS], 1);
    free(b);
}

int main(void)
{
    GCM_RUN(test_default_bounds);
    GCM_RUN(test_one_bucket);
    GCM_RUN(test_thirty_two_buckets);
    return 0;
}
