/* test_ring.c: the recording block's life on one thread: init, recording,
 * wrap-around and the overwrite count, the copy of the retained window, the
 * aggregates, alerts, bursts, the error counters and the process state. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

static gcm_block_params default_params(uint64_t capacity)
{
    gcm_block_params p;
    memset(&p, 0, sizeof p);
    p.capacity = capacity;
    p.pid = 4242;
    p.ppid = 7;
    p.process_start_ticks = 99;
    p.alert_threshold_ns = 50000000u;
    p.bucket_count = 5;
    p.bucket_bounds_ns[0] = 1000000u;
    p.bucket_bounds_ns[1] = 5000000u;
    p.bucket_bounds_ns[2] = 20000000u;
    p.bucket_bounds_ns[3] = 50000000u;
    p.bucket_bounds_ns[4] = 100000000u;
    return p;
}

static gcm_block *new_block(const gcm_block_params *p)
{
    size_t size = gcm_block_size(p->capacity);
    gcm_block *b;
    GCM_CHECK(size > 0);
    b = malloc(size);
    GCM_CHECK(b != NULL);
    /* Garbage first, so the test proves init clears everything it must. */
    memset(b, 0xA5, size);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, p), 0);
    return b;
}

/* Record number i, a pure function of i, so a copy can be checked field by
 * field against the number it claims to be. */
static gcm_event event_for(uint64_t i)
{
    gcm_event ev;
    ev.start_ns = 1000000000u + i * 100000000u; /* 100 ms apart: no bursts */
    ev.duration_ns = 1000u + (i * 7919u) % 3000000u;
    ev.collected = i * 3u;
    ev.uncollectable = i % 5u;
    ev.candidates = i ^ 0x5555u;
    ev.generation = (uint32_t)(i % 3u);
    ev.flags = (uint32_t)(i & 3u);
    return ev;
}

static void check_event(const gcm_event *got, uint64_t i)
{
    gcm_event want = event_for(i);
    GCM_CHECK_EVENT_EQ(got, &want);
}

static gcm_snapshot snap; /* about 80 KB: static, as block.h advises */

static void test_init_rejects_bad_params(void)
{
    gcm_block_params p = default_params(64);
    size_t size = gcm_block_size(64);
    gcm_block *b = malloc(size);
    GCM_CHECK(b != NULL);

    GCM_CHECK_EQ_INT(gcm_block_init(NULL, size, &p), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, NULL), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size - 1, &p), GCM_ENOMEM);
    p.capacity = 100;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    p.capacity = 8;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    p = default_params(64);
    p.bucket_count = 0;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    p.bucket_count = GCM_MAX_BUCKETS + 1;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    p = default_params(64);
    p.bucket_bounds_ns[2] = p.bucket_bounds_ns[1];
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    p = default_params(64);
    p.bucket_bounds_ns[0] = 0;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), GCM_EINVAL);
    free(b);
}

static void test_init_fills_header(void)
{
    gcm_block_params p = default_params(64);
    gcm_block *b = new_block(&p);
    uint32_t g;

    GCM_CHECK(memcmp(b->header.magic, GCM_BLOCK_MAGIC, 8) == 0);
    GCM_CHECK_EQ_U64(b->header.layout_version, GCM_LAYOUT_VERSION);
    GCM_CHECK_EQ_U64(b->header.byte_order, GCM_BYTE_ORDER_MARK);
    GCM_CHECK_EQ_U64(b->header.header_size, sizeof(gcm_header));
    GCM_CHECK_EQ_U64(b->header.slot_size, sizeof(gcm_event_slot));
    GCM_CHECK_EQ_U64(b->header.capacity, 64);
    GCM_CHECK_EQ_U64(b->header.block_size, gcm_block_size(64));
    GCM_CHECK_EQ_INT(b->header.pid, 4242);
    GCM_CHECK_EQ_INT(b->header.ppid, 7);
    GCM_CHECK_EQ_U64(b->header.process_start_ticks, 99);
    GCM_CHECK(b->header.init_realtime_ns > 0);
    GCM_CHECK(b->header.init_monotonic_ns > 0);
    GCM_CHECK_EQ_U64(b->header.bucket_count, 5);
    GCM_CHECK_EQ_U64(b->header.bucket_bounds_ns[4], 100000000u);
    GCM_CHECK_EQ_U64(b->header.bucket_bounds_ns[5], 0);
    GCM_CHECK_EQ_U64(atomic_load(&b->header.state), GCM_STATE_RUNNING);
    GCM_CHECK_EQ_U64(b->header.meta[0], 0);
    GCM_CHECK_EQ_U64(atomic_load(&b->agg.seq), 0);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        GCM_CHECK_EQ_U64(atomic_load(&b->agg.gen[g].min_ns), UINT64_MAX);
        GCM_CHECK_EQ_U64(atomic_load(&b->agg.gen[g].hist[GCM_HIST_BUCKETS - 1]), 0);
    }
    GCM_CHECK_EQ_U64(atomic_load(&b->ring[63].duration_ns), 0);
    GCM_CHECK_EQ_INT(gcm_block_check(b, gcm_block_size(64)), 0);

    /* An empty block snapshots as all zeros, min included. */
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.events_total, 0);
    GCM_CHECK_EQ_U64(snap.all.count, 0);
    GCM_CHECK_EQ_U64(snap.all.min_ns, 0);
    GCM_CHECK_EQ_U64(snap.gen[1].min_ns, 0);
    GCM_CHECK_EQ_INT(snap.torn, 0);
    GCM_CHECK_EQ_INT(snap.pid, 4242);
    GCM_CHECK_EQ_U64(snap.capacity, 64);
    free(b);
}

static void test_wrap_around(void)
{
    const uint64_t cap = 64;
    const uint64_t n = 3 * cap + 5;
    gcm_block_params p = default_params(cap);
    gcm_block *b = new_block(&p);
    gcm_event out[64];
    gcm_event small[10];
    size_t count = 0;
    uint64_t first = 0;
    uint64_t i;

    /* Before the ring fills, everything is retained from record 0. */
    for (i = 0; i < cap - 1; i++) {
        gcm_event ev = event_for(i);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, out, 64, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, cap - 1);
    GCM_CHECK_EQ_U64(first, 0);
    for (i = 0; i < count; i++)
        check_event(&out[i], i);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.overwritten, 0);

    for (i = cap - 1; i < n; i++) {
        gcm_event ev = event_for(i);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.events_total, n);
    GCM_CHECK_EQ_U64(snap.overwritten, n - cap);
    GCM_CHECK_EQ_U64(snap.all.count, n);

    /* After the wrap, the newest `cap` records, oldest first. */
    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, out, 64, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, cap);
    GCM_CHECK_EQ_U64(first, n - cap);
    for (i = 0; i < count; i++)
        check_event(&out[i], first + i);

    /* A smaller buffer keeps the newest records. */
    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, small, 10, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, 10);
    GCM_CHECK_EQ_U64(first, n - 10);
    for (i = 0; i < count; i++)
        check_event(&small[i], first + i);

    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, NULL, 0, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, 0);
    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, NULL, 0, NULL, &first), GCM_EINVAL);
    free(b);
}

/* Draining from a cursor: in order, in pieces, with what the ring lost
 * counted, and a cursor of another block refused. */
static void test_copy_from(void)
{
    const uint64_t cap = 16;
    gcm_block_params p = default_params(cap);
    gcm_block *b = new_block(&p);
    gcm_event out[8];
    size_t count = 0;
    uint64_t first = 0;
    uint64_t cursor = 0;
    uint64_t i;

    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, 0, out, 8, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, 0);
    GCM_CHECK_EQ_U64(first, 0);
    for (i = 0; i < 11; i++) {
        gcm_event ev = event_for(i);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    /* Oldest first, eight at a time, nothing lost. */
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, cursor, out, 8, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, 8);
    GCM_CHECK_EQ_U64(first, 0);
    for (i = 0; i < count; i++)
        check_event(&out[i], i);
    cursor = first + count;
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, cursor, out, 8, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, 3);
    GCM_CHECK_EQ_U64(first, 8);
    for (i = 0; i < count; i++)
        check_event(&out[i], first + i);
    cursor = first + count;

    /* Forty more: the ring keeps the newest sixteen, and the reader learns
     * that 40 - 16 of the records after its cursor were lost. */
    for (i = 11; i < 51; i++) {
        gcm_event ev = event_for(i);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, cursor, out, 8, &count, &first), 0);
    GCM_CHECK_EQ_U64(first - cursor, 24);
    GCM_CHECK_EQ_U64(first, 51 - cap);
    GCM_CHECK_EQ_U64(count, 8);
    for (i = 0; i < count; i++)
        check_event(&out[i], first + i);
    cursor = first + count;
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, cursor, out, 8, &count, &first), 0);
    GCM_CHECK_EQ_U64(first, cursor);
    GCM_CHECK_EQ_U64(first + count, 51);

    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, 52, out, 8, &count, &first), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, 0, out, 0, &count, &first), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, 0, NULL, 8, &count, &first), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_block_copy_events_from(b, 0, out, 8, NULL, &first), GCM_EINVAL);
    free(b);
}

static void test_aggregates(void)
{
    const uint64_t n = 1000;
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    uint64_t count[3] = {0, 0, 0}, total[3] = {0, 0, 0}, collected[3] = {0, 0, 0};
    uint64_t uncollectable[3] = {0, 0, 0}, candidates[3] = {0, 0, 0};
    uint64_t mn[3] = {UINT64_MAX, UINT64_MAX, UINT64_MAX}, mx[3] = {0, 0, 0};
    uint64_t i;
    uint32_t g;

    for (i = 0; i < n; i++) {
        gcm_event ev = event_for(i);
        g = ev.generation;
        count[g]++;
        total[g] += ev.duration_ns;
        collected[g] += ev.collected;
        uncollectable[g] += ev.uncollectable;
        candidates[g] += ev.candidates;
        if (ev.duration_ns < mn[g])
            mn[g] = ev.duration_ns;
        if (ev.duration_ns > mx[g])
            mx[g] = ev.duration_ns;
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    for (g = 0; g < 3; g++) {
        uint64_t hist_sum = 0, bucket_sum = 0;
        uint32_t k;
        GCM_CHECK_EQ_U64(snap.gen[g].count, count[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].total_ns, total[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].min_ns, mn[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].max_ns, mx[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].collected, collected[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].uncollectable, uncollectable[g]);
        GCM_CHECK_EQ_U64(snap.gen[g].candidates, candidates[g]);
        for (k = 0; k < GCM_HIST_BUCKETS; k++)
            hist_sum += snap.gen[g].hist[k];
        for (k = 0; k <= GCM_MAX_BUCKETS; k++)
            bucket_sum += snap.gen[g].buckets[k];
        GCM_CHECK_EQ_U64(hist_sum, count[g]);
        GCM_CHECK_EQ_U64(bucket_sum, count[g]);
    }
    GCM_CHECK_EQ_U64(snap.all.count, n);
    GCM_CHECK_EQ_U64(snap.all.total_ns, total[0] + total[1] + total[2]);
    GCM_CHECK_EQ_U64(snap.all.collected, collected[0] + collected[1] + collected[2]);
    GCM_CHECK_EQ_U64(snap.all.min_ns, mn[0] < mn[1] ? (mn[0] < mn[2] ? mn[0] : mn[2])
                                                    : (mn[1] < mn[2] ? mn[1] : mn[2]));
    GCM_CHECK_EQ_U64(snap.all.max_ns, mx[0] > mx[1] ? (mx[0] > mx[2] ? mx[0] : mx[2])
                                                    : (mx[1] > mx[2] ? mx[1] : mx[2]));
    GCM_CHECK_EQ_U64(snap.bursts, 0);
    GCM_CHECK_EQ_U64(snap.last_stop_ns, event_for(n - 1).start_ns + event_for(n - 1).duration_ns);
    free(b);
}

static void test_min_only_from_used_generations(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    gcm_event ev = event_for(0);

    ev.generation = 2;
    ev.duration_ns = 777;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.min_ns, 777);
    GCM_CHECK_EQ_U64(snap.gen[0].min_ns, 0);
    GCM_CHECK_EQ_U64(snap.gen[2].min_ns, 777);
    free(b);
}

static void record_duration(gcm_block *b, uint64_t start, uint64_t duration)
{
    gcm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.start_ns = start;
    ev.duration_ns = duration;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
}

static void test_alerts(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b;

    /* At or above the threshold alerts, below does not. */
    p.alert_threshold_ns = 5000000u;
    b = new_block(&p);
    record_duration(b, 1000000000u, 4999999u);
    record_duration(b, 2000000000u, 5000000u);
    record_duration(b, 3000000000u, 5000001u);
    record_duration(b, 4000000000u, 1u);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.alerts, 2);
    GCM_CHECK_EQ_U64(snap.gen[0].alerts, 2);
    free(b);

    /* A threshold of 0 alerts on every pause, even one of 0 ns. */
    p.alert_threshold_ns = 0;
    b = new_block(&p);
    record_duration(b, 1000000000u, 0);
    record_duration(b, 2000000000u, 1);
    record_duration(b, 3000000000u, 123456789u);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.all.alerts, 3);
    free(b);
    GCM_CHECK(gcm_is_alert(0, 0));
    GCM_CHECK(!gcm_is_alert(9, 10));
}

static void test_bursts(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    const uint64_t t0 = 10000000000u;

    /* The first collection has no predecessor: never a burst. */
    record_duration(b, t0, 1000000u);                     /* stops at t0+1ms */
    record_duration(b, t0 + 1000000u + 49999999u, 1000u); /* gap 49.999999 ms: burst */
    record_duration(b, t0 + 1000000u + 49999999u + 1000u + 50000000u,
                    1000u); /* gap exactly 50 ms: not */
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.bursts, 1);
    /* A start before the previous stop (overlap) is a burst. */
    record_duration(b, t0, 10u);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.bursts, 2);
    free(b);
}

static void test_counters_and_bad_generation(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    gcm_event ev = event_for(1);

    ev.generation = 3;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), GCM_EINVAL);
    ev.generation = UINT32_MAX;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), GCM_EINVAL);
    gcm_block_count_unusable_info(b);
    gcm_block_count_dropped_stop(b);
    gcm_block_count_dropped_stop(b);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.unusable_info, 3);
    GCM_CHECK_EQ_U64(snap.dropped_stops, 2);
    GCM_CHECK_EQ_U64(snap.events_total, 0);
    GCM_CHECK_EQ_U64(snap.all.count, 0);
    free(b);
}

static void test_dead_writer(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    gcm_event out[16];
    size_t count = 0;
    uint64_t first = 0;
    uint64_t i;

    for (i = 0; i < 20; i++) {
        gcm_event ev = event_for(i);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    /* A writer that died inside record 20 leaves seq odd and slot 20 % 16
     * (record 4's) half written. */
    atomic_store(&b->agg.seq, 41);
    atomic_store(&b->ring[20 % 16].duration_ns, 123);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), GCM_EBUSY);
    GCM_CHECK_EQ_INT(snap.torn, 1);
    GCM_CHECK_EQ_U64(snap.events_total, 20);
    GCM_CHECK_EQ_U64(snap.all.count, 20);
    GCM_CHECK_EQ_INT(snap.pid, 4242);

    /* The copy leaves out both the record in progress and the one whose slot
     * it was overwriting. */
    GCM_CHECK_EQ_INT(gcm_block_copy_events(b, out, 16, &count, &first), 0);
    GCM_CHECK_EQ_U64(first, 5);
    GCM_CHECK_EQ_U64(count, 15);
    for (i = 0; i < count; i++)
        check_event(&out[i], first + i);
    free(b);
}

static void test_state_and_wall_time(void)
{
    gcm_block_params p = default_params(16);
    gcm_block *b = new_block(&p);
    gcm_summary sum;

    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.state, GCM_STATE_RUNNING);
    GCM_CHECK(snap.taken_monotonic_ns >= (uint64_t)snap.init_monotonic_ns);
    GCM_CHECK_EQ_INT(gcm_summarize(&snap, &sum), 0);
    GCM_CHECK_EQ_U64(sum.wall_ns, snap.taken_monotonic_ns - (uint64_t)snap.init_monotonic_ns);

    gcm_block_set_state(b, GCM_STATE_EXITED, 3, b->header.init_realtime_ns + 2500000000);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.state, GCM_STATE_EXITED);
    GCM_CHECK_EQ_INT(snap.exit_status, 3);
    GCM_CHECK_EQ_INT(snap.end_realtime_ns, b->header.init_realtime_ns + 2500000000);
    record_duration(b, 1000u, 25000000u);
    record_duration(b, 100000000000u, 25000000u);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_INT(gcm_summarize(&snap, &sum), 0);
    GCM_CHECK_EQ_U64(sum.wall_ns, 2500000000u);
    GCM_CHECK_EQ_U64(sum.gc_ns, 50000000u);
    GCM_CHECK(sum.share_pct > 1.999999 && sum.share_pct < 2.000001);
    GCM_CHECK(sum.all.mean_ns == 25000000.0);
    free(b);
}

/* An outside reader's missed collections: in the count and the total of
 * their generation and in agg.missed, in no histogram bucket, extreme,
 * alert or record, and the percentiles rank over the pauses seen. */
static void test_missed_collections(void)
{
    gcm_block_params p = default_params(64);
    gcm_block *b = new_block(&p);
    gcm_summary sum;
    gcm_event ev;
    uint64_t seen = 0;

    memset(&ev, 0, sizeof ev);
    ev.generation = 1;
    ev.start_ns = 1000000000u;
    ev.duration_ns = 2000u;
    ev.collected = 10u;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    ev.start_ns += 100000000u;
    ev.duration_ns = 3000u;
    /* 5 unseen pauses of 60 ms in all: longer than any seen, and over the
     * alert threshold together, but no single one is known. */
    GCM_CHECK_EQ_INT(gcm_block_record_after_missed(b, &ev, 5u, 60000000u), 0);
    ev.generation = 7;
    GCM_CHECK_EQ_INT(gcm_block_record_after_missed(b, &ev, 2u, 1000u), GCM_EINVAL);

    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.events_total, 2u);
    GCM_CHECK_EQ_U64(snap.missed, 5u);
    GCM_CHECK_EQ_U64(snap.unusable_info, 1u);
    GCM_CHECK_EQ_U64(snap.gen[1].count, 7u);
    GCM_CHECK_EQ_U64(snap.gen[1].total_ns, 60005000u);
    GCM_CHECK_EQ_U64(snap.gen[1].min_ns, 2000u);
    GCM_CHECK_EQ_U64(snap.gen[1].max_ns, 3000u);
    GCM_CHECK_EQ_U64(snap.gen[1].alerts, 0u);
    GCM_CHECK_EQ_U64(snap.gen[1].collected, 20u);
    for (uint32_t i = 0; i < GCM_HIST_BUCKETS; i++)
        seen += snap.gen[1].hist[i];
    GCM_CHECK_EQ_U64(seen, 2u);
    GCM_CHECK_EQ_U64(snap.gen[1].buckets[0], 2u);
    GCM_CHECK_EQ_INT(gcm_summarize(&snap, &sum), 0);
    GCM_CHECK_EQ_U64(sum.missed, 5u);
    GCM_CHECK_EQ_U64(sum.all.count, 7u);
    GCM_CHECK_EQ_U64(sum.gc_ns, 60005000u);
    /* Of the two pauses seen, the median is the first and p99 the max. */
    GCM_CHECK_EQ_U64(sum.gen[1].p50_ns, 2000u);
    GCM_CHECK_EQ_U64(sum.gen[1].p99_ns, 3000u);
    GCM_CHECK(sum.gen[1].mean_ns > 8500000.0 && sum.gen[1].mean_ns < 8600000.0);
    free(b);
}

static void test_strerror(void)
{
    int code;
    for (code = GCM_ERANGE; code <= GCM_OK; code++) {
        const char *text = gcm_strerror(code);
        GCM_CHECK(text != NULL && text[0] != '\0');
        GCM_CHECK(strcmp(text, "unknown error") != 0);
    }
    GCM_CHECK_STREQ(gcm_strerror(GCM_EBUSY), "writer stopped in the middle of a record");
    GCM_CHECK_STREQ(gcm_strerror(-1000), "unknown error");
    GCM_CHECK_STREQ(gcm_strerror(5), "unknown error");
}

int main(void)
{
    GCM_RUN(test_init_rejects_bad_params);
    GCM_RUN(test_init_fills_header);
    GCM_RUN(test_wrap_around);
    GCM_RUN(test_copy_from);
    GCM_RUN(test_aggregates);
    GCM_RUN(test_min_only_from_used_generations);
    GCM_RUN(test_alerts);
    GCM_RUN(test_bursts);
    GCM_RUN(test_counters_and_bad_generation);
    GCM_RUN(test_dead_writer);
    GCM_RUN(test_state_and_wall_time);
    GCM_RUN(test_missed_collections);
    GCM_RUN(test_strerror);
    return 0;
}
