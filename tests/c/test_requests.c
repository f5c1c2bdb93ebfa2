/* test_requests.c: the request aggregates of a web middleware, from the
 * block to the reports: the running totals a request reads, the requests
 * added from several threads at once (exact counts), the summary's
 * percentiles, the text lines and the JSON object, nothing at all when no
 * middleware ran, and a version 2 block (rebuilt here byte for byte: the
 * ring 19,528 bytes sooner) read with no requests. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_report_fixture.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)
#define THREADS 4
#define PER_THREAD 10000

static void test_clock_follows_the_records(void)
{
    fixture f;
    uint64_t ns0, full0, ns1, full1;

    fixture_init(&f, 16, 50 * MS);
    gcm_block_gc_clock(f.block, &ns0, &full0);
    GCM_CHECK_EQ_U64(ns0, 0);
    GCM_CHECK_EQ_U64(full0, 0);
    fixture_add(&f, 10, 0, 100 * US, 0, 0);
    fixture_add(&f, 20, 2, 7 * MS, 0, 0);
    fixture_add(&f, 30, 1, 1 * MS, 0, 0);
    gcm_block_gc_clock(f.block, &ns1, &full1);
    GCM_CHECK_EQ_U64(ns1, 8100 * US);
    GCM_CHECK_EQ_U64(full1, 1);
    fixture_release(&f);
}

static void *add_many(void *arg)
{
    gcm_block *b = arg;

    for (int i = 0; i < PER_THREAD; i++)
        gcm_block_add_request(b, i % 10 == 0 ? 2 * MS : 0, i % 100 == 0);
    return NULL;
}

static void test_many_writers_are_exact(void)
{
    fixture f;
    pthread_t t[THREADS];
    int i;

    fixture_init(&f, 16, 50 * MS);
    for (i = 0; i < THREADS; i++)
        GCM_CHECK_EQ_INT(pthread_create(&t[i], NULL, add_many, f.block), 0);
    for (i = 0; i < THREADS; i++)
        GCM_CHECK_EQ_INT(pthread_join(t[i], NULL), 0);
    fixture_finish(&f, 1000, "3.12.0", 0);
    GCM_CHECK_EQ_U64(f.snap.requests.count, THREADS * PER_THREAD);
    GCM_CHECK_EQ_U64(f.snap.requests.collected, THREADS * PER_THREAD / 10);
    GCM_CHECK_EQ_U64(f.snap.requests_full, THREADS * PER_THREAD / 100);
    GCM_CHECK_EQ_U64(f.snap.requests.total_ns, (uint64_t)THREADS * PER_THREAD / 10 * 2 * MS);
    GCM_CHECK_EQ_U64(f.snap.requests.max_ns, 2 * MS);
    GCM_CHECK_EQ_U64(f.snap.requests.min_ns, 0);
    fixture_release(&f);
}

/* 98 requests without GC time, one of 3 ms and one of 40 ms (a full collection). */
static void add_mix(fixture *f)
{
    for (int i = 0; i < 98; i++)
        gcm_block_add_request(f->block, 0, 0);
    gcm_block_add_request(f->block, 3 * MS, 0);
    gcm_block_add_request(f->block, 40 * MS, 1);
}

static void test_summary_and_reports(void)
{
    fixture f;
    gcm_summary sum;
    memsink m;
    gcm_sink sink = memsink_sink(&m);
    cJSON *json;
    cJSON *req;

    fixture_init(&f, 16, 50 * MS);
    fixture_add(&f, 10, 2, 40 * MS, 0, 0);
    add_mix(&f);
    fixture_finish(&f, 1000, "3.12.0", 0);
    GCM_CHECK_EQ_INT(gcm_summarize(&f.snap, &sum), 0);
    GCM_CHECK_EQ_U64(sum.requests.count, 100);
    GCM_CHECK_EQ_U64(sum.requests.with_gc, 2);
    GCM_CHECK_EQ_U64(sum.requests.full, 1);
    GCM_CHECK_EQ_U64(sum.requests.p50_ns, 0);
    /* The 99th of 100 is the 3 ms request, within the histogram's 1%. */
    GCM_CHECK(sum.requests.p99_ns >= 2970 * US && sum.requests.p99_ns <= 3030 * US);
    GCM_CHECK_EQ_U64(sum.requests.max_ns, 40 * MS);
    GCM_CHECK_EQ_U64(sum.requests.total_ns, 43 * MS);

    f.config.stats_only = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &sink), 0);
    GCM_CHECK(strstr(m.buf, "Requests (gc_monitor.asgi / gc_monitor.wsgi): 100, 2 with GC time "
                            "(2.0%), 1 overlapping a full collection\n") != NULL);
    GCM_CHECK(strstr(m.buf, "  GC time per request: p50 0.000ms, p99 3.0ms, max 40.0ms, "
                            "total 43.0ms\n") != NULL);
    free(m.buf);

    json = gcm_summary_json(&f.snap);
    GCM_CHECK(json != NULL);
    req = cJSON_GetObjectItemCaseSensitive(json, "requests");
    GCM_CHECK(cJSON_IsObject(req));
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "count")->valuedouble == 100);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "with_gc")->valuedouble == 2);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "full_collection")->valuedouble == 1);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "gc_p50_ms")->valuedouble == 0);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "gc_max_ms")->valuedouble == 40);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(req, "gc_total_ms")->valuedouble == 43);
    cJSON_Delete(json);
    fixture_release(&f);
}

static void test_nothing_without_a_middleware(void)
{
    fixture f;
    memsink m;
    gcm_sink sink = memsink_sink(&m);
    cJSON *json;

    fixture_init(&f, 16, 50 * MS);
    fixture_add(&f, 10, 0, 1 * MS, 0, 0);
    fixture_finish(&f, 1000, "3.12.0", 0);
    f.config.stats_only = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &sink), 0);
    GCM_CHECK(strstr(m.buf, "Requests") == NULL);
    free(m.buf);
    json = gcm_summary_json(&f.snap);
    GCM_CHECK(json != NULL);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(json, "requests") == NULL);
    cJSON_Delete(json);
    fixture_release(&f);
}

/* A version 2 block: the ring moves down over the request aggregates, and
 * the header says version 2 and the shorter size. */
static void test_version_2_block(void)
{
    fixture f;
    unsigned char *p;
    uint64_t cap;
    size_t v2_size;

    fixture_init(&f, 16, 50 * MS);
    fixture_add(&f, 10, 2, 4 * MS, 0, 0);
    add_mix(&f);
    p = (unsigned char *)f.block;
    cap = f.block->header.capacity;
    memmove(p + GCM_LAYOUT_V2_RING_OFFSET, p + offsetof(gcm_block, ring),
            (size_t)cap * sizeof(gcm_event_slot));
    f.block->header.layout_version = 2;
    v2_size = GCM_LAYOUT_V2_RING_OFFSET + cap * sizeof(gcm_event_slot);
    f.block->header.block_size = v2_size;
    GCM_CHECK_EQ_INT(gcm_block_check(f.block, v2_size), 0);
    GCM_CHECK_EQ_U64(gcm_block_ring_offset(f.block), GCM_LAYOUT_V2_RING_OFFSET);
    /* A version 2 block takes no request: those bytes are its ring. */
    gcm_block_add_request(f.block, 5 * MS, 1);
    fixture_finish(&f, 1000, "3.12.0", 0);
    GCM_CHECK_EQ_U64(f.snap.layout_version, 2);
    GCM_CHECK_EQ_INT(f.snap.causes_known, 1);
    GCM_CHECK_EQ_U64(f.snap.requests.count, 0);
    GCM_CHECK_EQ_U64(f.snap.requests_full, 0);
    GCM_CHECK_EQ_U64(f.event_count, 1);
    GCM_CHECK_EQ_U64(f.events[0].duration_ns, 4 * MS);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_clock_follows_the_records);
    GCM_RUN(test_many_writers_are_exact);
    GCM_RUN(test_summary_and_reports);
    GCM_RUN(test_nothing_without_a_middleware);
    GCM_RUN(test_version_2_block);
    return 0;
}
