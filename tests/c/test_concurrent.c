/* test_concurrent.c: a reader snapshotting and copying the ring while a
 * writer thread records, as a report or a capture-file reader does while the
 * program runs.  Record i is a pure function of i, so every copied event is
 * checked against the number it claims, and every clean snapshot against
 * exact totals over its first events_total records.  A small ring makes the
 * writer lap the reader many times, so torn slots and retries really happen;
 * the checks hold however the two threads are scheduled. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

#define CAPACITY 1024u
#define MAX_RECORDS (1u << 19)

static gcm_block *block;
static atomic_int stop_writer;
static atomic_int writer_done;
static uint64_t prefix_total[MAX_RECORDS + 1]; /* sum of durations of records < i */
static uint64_t prefix_max[MAX_RECORDS + 1];   /* max duration of records < i */
static gcm_snapshot snap;
static gcm_event copied[CAPACITY];

static gcm_event event_for(uint64_t i)
{
    gcm_event ev;
    /* 2 ms apart and shorter than 1 ms: every record after the first is a
     * burst, which the snapshot check relies on. */
    ev.start_ns = 1000000000u + i * 2000000u;
    ev.duration_ns = 100u + (i * 2654435761u) % 1000000u;
    ev.collected = i;
    ev.uncollectable = i & 7u;
    ev.candidates = ~i & 0xFFFFu;
    ev.generation = (uint32_t)(i % 3u);
    ev.flags = (uint32_t)((i >> 3) & 3u);
    return ev;
}

static void *writer_main(void *arg)
{
    struct timespec pause = {0, 20000};
    uint64_t i;

    (void)arg;
    for (i = 0; i < MAX_RECORDS && !atomic_load(&stop_writer); i++) {
        gcm_event ev = event_for(i);
        if (gcm_block_record(block, &ev) != 0)
            abort();
        /* Bursts of 32 collections, then a pause: the reader gets windows
         * for clean snapshots and is still lapped inside bursts. */
        if (i % 32u == 31u)
            nanosleep(&pause, NULL);
    }
    atomic_store(&writer_done, 1);
    return NULL;
}

static void check_event(const gcm_event *got, uint64_t i)
{
    gcm_event want = event_for(i);
    GCM_CHECK_EVENT_EQ(got, &want);
}

static void check_gen_sums(const gcm_gen_snapshot *g)
{
    uint64_t hist = 0, buckets = 0;
    uint32_t k;
    for (k = 0; k < GCM_HIST_BUCKETS; k++)
        hist += g->hist[k];
    for (k = 0; k <= GCM_MAX_BUCKETS; k++)
        buckets += g->buckets[k];
    GCM_CHECK_EQ_U64(hist, g->count);
    GCM_CHECK_EQ_U64(buckets, g->count);
}

/* Checks a clean snapshot against exact figures over its first E records. */
static void check_snapshot(uint64_t prev_events)
{
    uint64_t e = snap.events_total;
    uint32_t g;

    GCM_CHECK_EQ_INT(snap.torn, 0);
    GCM_CHECK(e >= prev_events);
    GCM_CHECK(e <= MAX_RECORDS);
    GCM_CHECK_EQ_U64(snap.all.count, e);
    GCM_CHECK_EQ_U64(snap.all.total_ns, prefix_total[e]);
    GCM_CHECK_EQ_U64(snap.all.max_ns, prefix_max[e]);
    GCM_CHECK_EQ_U64(snap.all.collected, e == 0 ? 0 : e * (e - 1) / 2);
    GCM_CHECK_EQ_U64(snap.bursts, e == 0 ? 0 : e - 1);
    GCM_CHECK_EQ_U64(snap.overwritten, e > CAPACITY ? e - CAPACITY : 0);
    if (e > 0) {
        gcm_event last = event_for(e - 1);
        GCM_CHECK_EQ_U64(snap.last_stop_ns, last.start_ns + last.duration_ns);
    }
    check_gen_sums(&snap.all);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        GCM_CHECK_EQ_U64(snap.gen[g].count, (e + 2 - g) / 3);
        check_gen_sums(&snap.gen[g]);
    }
}

/* Copies the window and checks every event against its record number. */
static size_t check_copy(void)
{
    size_t count = 0;
    uint64_t first = 0;
    uint64_t published;
    size_t j;

    GCM_CHECK_EQ_INT(gcm_block_copy_events(block, copied, CAPACITY, &count, &first), 0);
    published = atomic_load(&block->agg.seq) >> 1;
    GCM_CHECK(count <= CAPACITY);
    GCM_CHECK(first + count <= published);
    for (j = 0; j < count; j++)
        check_event(&copied[j], first + j);
    return count;
}

/* A drainer's cursor and what it was told the ring lost (record numbers
 * skipped): together with the records it copied they must add up to every
 * record written, none twice. */
static uint64_t drain_cursor;
static uint64_t drain_lost;
static uint64_t drained;

/* Drains from the cursor into a quarter of the buffer, so that it takes
 * several calls to catch up, and checks every record against its number. */
static void drain_once(void)
{
    size_t count = 0;
    uint64_t first = 0;
    size_t j;

    GCM_CHECK_EQ_INT(
        gcm_block_copy_events_from(block, drain_cursor, copied, CAPACITY / 4u, &count, &first), 0);
    GCM_CHECK(first >= drain_cursor);
    GCM_CHECK(first + count <= (atomic_load(&block->agg.seq) >> 1));
    for (j = 0; j < count; j++)
        check_event(&copied[j], first + j);
    drain_lost += first - drain_cursor;
    drained += count;
    drain_cursor = first + count;
}

static uint64_t now_ns(void)
{
    return gcm_clock_monotonic_ns();
}

int main(void)
{
    gcm_block_params p;
    size_t size = gcm_block_size(CAPACITY);
    pthread_t writer;
    uint64_t i, start, prev_events = 0;
    uint64_t clean = 0, busy = 0, copies = 0, partial_copies = 0;
    uint64_t clean_while_writing = 0;
    size_t count;
    uint64_t first;

    for (i = 0; i < MAX_RECORDS; i++) {
        uint64_t d = event_for(i).duration_ns;
        prefix_total[i + 1] = prefix_total[i] + d;
        prefix_max[i + 1] = d > prefix_max[i] ? d : prefix_max[i];
    }
    memset(&p, 0, sizeof p);
    p.capacity = CAPACITY;
    p.alert_threshold_ns = 500000u;
    p.bucket_count = 3;
    p.bucket_bounds_ns[0] = 1000u;
    p.bucket_bounds_ns[1] = 10000u;
    p.bucket_bounds_ns[2] = 100000u;
    block = malloc(size);
    GCM_CHECK(block != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(block, size, &p), 0);

    GCM_CHECK_EQ_INT(pthread_create(&writer, NULL, writer_main, NULL), 0);
    /* Read for half a second, and until the writer has lapped the ring 16
     * times, unless it finished first.  Neither bound is asserted on. */
    start = now_ns();
    while (!atomic_load(&writer_done) && (now_ns() - start < 500000000u ||
                                          (atomic_load(&block->agg.seq) >> 1) < 16u * CAPACITY)) {
        int rc = gcm_block_snapshot(block, &snap);
        int writing = !atomic_load(&writer_done);

        if (rc == 0) {
            check_snapshot(prev_events);
            /* A clean snapshot that saw the writer move on, taken while it
             * was still writing: a snapshot that always said busy, or never
             * saw a new record, would not count here. */
            if (writing && snap.events_total > prev_events && snap.events_total > 0)
                clean_while_writing++;
            prev_events = snap.events_total;
            clean++;
        } else {
            GCM_CHECK_EQ_INT(rc, GCM_EBUSY);
            GCM_CHECK_EQ_INT(snap.torn, 1);
            busy++;
        }
        if (check_copy() < CAPACITY)
            partial_copies++;
        drain_once();
        copies++;
    }
    atomic_store(&stop_writer, 1);
    GCM_CHECK_EQ_INT(pthread_join(writer, NULL), 0);
    /* The writer pauses between bursts (writer_main), so clean snapshots of
     * a moving count are certain, not lucky. */
    GCM_CHECK(clean_while_writing >= 2);

    /* With the writer gone, the snapshot is clean and the copy complete. */
    GCM_CHECK_EQ_INT(gcm_block_snapshot(block, &snap), 0);
    check_snapshot(prev_events);
    GCM_CHECK(snap.events_total > CAPACITY);
    GCM_CHECK_EQ_INT(gcm_block_copy_events(block, copied, CAPACITY, &count, &first), 0);
    GCM_CHECK_EQ_U64(count, CAPACITY);
    GCM_CHECK_EQ_U64(first, snap.events_total - CAPACITY);
    for (i = 0; i < count; i++)
        check_event(&copied[i], first + i);
    /* The drainer catches up: every record was copied once or counted lost. */
    for (i = 0; i < 8u; i++)
        drain_once();
    GCM_CHECK_EQ_U64(drain_cursor, snap.events_total);
    GCM_CHECK_EQ_U64(drained + drain_lost, snap.events_total);

    printf("ok concurrent: %" PRIu64 " records, %" PRIu64 " clean (%" PRIu64
           " of them of a moving writer) and %" PRIu64 " busy snapshots, %" PRIu64
           " copies (%" PRIu64 " trimmed)\n",
           snap.events_total, clean, clean_while_writing, busy, copies, partial_copies);
    free(block);
    return 0;
}
