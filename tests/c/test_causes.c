/* test_causes.c: the causes of collections, from the record to the reports,
 * and layout version 1 blocks (no causes) read by this build: the cause
 * aggregates are exact and add up to the generations' counts, the text
 * table and the JSON object show them, and a version 1 block (rebuilt here
 * byte for byte from a version 2 one: the same header and generations, the
 * ring 160 bytes sooner) gives the same figures with causes "not recorded". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "test_report_fixture.h"

#define US UINT64_C(1000)
#define MS UINT64_C(1000000)

static void add(fixture *f, double offset_ms, uint32_t gen, uint64_t ns, uint32_t cause)
{
    gcm_event ev;

    memset(&ev, 0, sizeof ev);
    ev.start_ns = (uint64_t)FIX_INIT_MONOTONIC_NS + (uint64_t)(offset_ms * 1e6 + 0.5);
    ev.duration_ns = ns;
    ev.generation = gen;
    ev.flags = cause << GCM_EVENT_CAUSE_SHIFT;
    GCM_CHECK_EQ_INT(gcm_block_record(f->block, &ev), 0);
}

/* Five automatic, three explicit (two of them full), one shutdown. */
static void record_mix(fixture *f)
{
    add(f, 10, 0, 100 * US, GCM_CAUSE_AUTOMATIC);
    add(f, 20, 0, 200 * US, GCM_CAUSE_AUTOMATIC);
    add(f, 30, 1, 1 * MS, GCM_CAUSE_AUTOMATIC);
    add(f, 40, 0, 300 * US, GCM_CAUSE_AUTOMATIC);
    add(f, 50, 2, 4 * MS, GCM_CAUSE_AUTOMATIC);
    add(f, 60, 2, 10 * MS, GCM_CAUSE_EXPLICIT);
    add(f, 70, 2, 30 * MS, GCM_CAUSE_EXPLICIT);
    add(f, 80, 0, 50 * US, GCM_CAUSE_EXPLICIT);
    add(f, 90, 2, 6 * MS, GCM_CAUSE_SHUTDOWN);
}

static void test_aggregates_and_summary(void)
{
    fixture f;
    gcm_summary sum;
    uint64_t count = 0;
    uint32_t c, g;

    fixture_init(&f, 16, 50 * MS);
    record_mix(&f);
    fixture_finish(&f, 1000, "3.12.0", 0);
    GCM_CHECK_EQ_INT(f.snap.causes_known, 1);
    GCM_CHECK_EQ_U64(f.snap.layout_version, GCM_LAYOUT_VERSION);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].count, 5);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].total_ns, 5600 * US);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].max_ns, 4 * MS);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].gen_count[0], 3);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].gen_count[1], 1);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_AUTOMATIC].gen_count[2], 1);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_EXPLICIT].count, 3);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_EXPLICIT].total_ns, 40 * MS + 50 * US);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_EXPLICIT].max_ns, 30 * MS);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_EXPLICIT].gen_count[2], 2);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_SHUTDOWN].count, 1);
    GCM_CHECK_EQ_U64(f.snap.cause[GCM_CAUSE_SHUTDOWN].max_ns, 6 * MS);

    /* The causes split the same collections the generations do. */
    GCM_CHECK_EQ_INT(gcm_summarize(&f.snap, &sum), 0);
    for (c = 0; c < GCM_CAUSES; c++) {
        uint64_t by_gen = 0;
        count += sum.cause[c].count;
        for (g = 0; g < GCM_GENERATIONS; g++)
            by_gen += sum.cause[c].gen_count[g];
        GCM_CHECK_EQ_U64(by_gen, sum.cause[c].count);
    }
    GCM_CHECK_EQ_U64(count, sum.all.count);
    GCM_CHECK(sum.cause[GCM_CAUSE_EXPLICIT].mean_ns == (double)(40 * MS + 50 * US) / 3.0);
    GCM_CHECK(sum.cause[GCM_CAUSE_SHUTDOWN].share_pct > 11.6 &&
              sum.cause[GCM_CAUSE_SHUTDOWN].share_pct < 11.7); /* 6 of 51.65 ms */
    GCM_CHECK_STREQ(gcm_cause_name(GCM_CAUSE_AUTOMATIC), "automatic");
    GCM_CHECK_STREQ(gcm_cause_name(GCM_CAUSE_EXPLICIT), "explicit");
    GCM_CHECK_STREQ(gcm_cause_name(GCM_CAUSE_SHUTDOWN), "shutdown");
    GCM_CHECK(gcm_cause_name(3) == NULL);

    /* The ring keeps each record's cause in its flags. */
    GCM_CHECK_EQ_U64(f.event_count, 9);
    GCM_CHECK_EQ_U64(GCM_EVENT_CAUSE(f.events[0].flags), GCM_CAUSE_AUTOMATIC);
    GCM_CHECK_EQ_U64(GCM_EVENT_CAUSE(f.events[6].flags), GCM_CAUSE_EXPLICIT);
    GCM_CHECK_EQ_U64(GCM_EVENT_CAUSE(f.events[8].flags), GCM_CAUSE_SHUTDOWN);
    fixture_release(&f);
}

static void test_reports(void)
{
    fixture f;
    memsink m;
    gcm_sink sink = memsink_sink(&m);
    cJSON *json;
    const cJSON *causes, *explicit_obj;

    fixture_init(&f, 16, 50 * MS);
    record_mix(&f);
    fixture_finish(&f, 1000, "3.12.0", 0);
    f.config.stats_only = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &sink), 0);
    GCM_CHECK(strstr(m.buf, "GC causes:\n") != NULL);
    GCM_CHECK(strstr(m.buf, "  automatic             5     5.6ms     1.1ms     4.0ms   10.8%\n") !=
              NULL);
    GCM_CHECK(strstr(m.buf, "  explicit              3    40.1ms    13.4ms    30.0ms   77.5%\n") !=
              NULL);
    GCM_CHECK(strstr(m.buf, "  shutdown              1     6.0ms     6.0ms     6.0ms   11.6%\n") !=
              NULL);
    GCM_CHECK(strstr(m.buf, "Explicit gc.collect() calls ran 3 of the 9 collections and 77.5% of "
                            "the pause time\n") != NULL);
    free(m.buf);

    json = gcm_summary_json(&f.snap);
    GCM_CHECK(json != NULL);
    causes = cJSON_GetObjectItemCaseSensitive(json, "causes");
    GCM_CHECK(cJSON_IsObject(causes));
    explicit_obj = cJSON_GetObjectItemCaseSensitive(causes, "explicit");
    GCM_CHECK(cJSON_IsObject(explicit_obj));
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(explicit_obj, "count")->valuedouble == 3);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(explicit_obj, "total_ms")->valuedouble == 40.05);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(explicit_obj, "max_ms")->valuedouble == 30.0);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(explicit_obj, "gen2")->valuedouble == 2);
    GCM_CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(causes, "automatic")));
    GCM_CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(causes, "shutdown")));
    cJSON_Delete(json);
    fixture_release(&f);
}

/* Rebuilds `b` (layout 2) as the version 1 block a wave-1 writer would have
 * left: the ring moves down over the cause aggregates, and the header says
 * version 1 and the shorter size. */
static void make_v1(gcm_block *b)
{
    unsigned char *p = (unsigned char *)b;
    uint64_t cap = b->header.capacity;

    memmove(p + GCM_LAYOUT_V1_RING_OFFSET, p + offsetof(gcm_block, ring),
            (size_t)cap * sizeof(gcm_event_slot));
    b->header.layout_version = 1;
    b->header.block_size = GCM_LAYOUT_V1_RING_OFFSET + cap * sizeof(gcm_event_slot);
}

static void test_version_1_block(void)
{
    fixture f, v1;
    memsink m;
    gcm_sink sink = memsink_sink(&m);
    cJSON *json;
    size_t v1_size;
    uint32_t version;
    size_t i;

    fixture_init(&f, 16, 50 * MS);
    record_mix(&f);
    fixture_finish(&f, 1000, "3.12.0", 0);

    fixture_init(&v1, 16, 50 * MS);
    record_mix(&v1);
    make_v1(v1.block);
    v1_size = GCM_LAYOUT_V1_RING_OFFSET + 16 * sizeof(gcm_event_slot);
    GCM_CHECK_EQ_INT(gcm_block_check(v1.block, v1_size), 0);
    GCM_CHECK_EQ_U64(gcm_block_ring_offset(v1.block), GCM_LAYOUT_V1_RING_OFFSET);
    /* A version 1 header with a version 2 size contradicts itself. */
    v1.block->header.block_size = gcm_block_size(16);
    GCM_CHECK_EQ_INT(gcm_block_check(v1.block, gcm_block_size(16)), GCM_ECORRUPT);
    v1.block->header.block_size = v1_size;
    /* Neither an older nor a newer version than this build knows. */
    for (version = 0; version < 6; version += 5) {
        v1.block->header.layout_version = version;
        GCM_CHECK_EQ_INT(gcm_block_check(v1.block, v1_size), GCM_EVERSION);
    }
    v1.block->header.layout_version = 1;

    fixture_finish(&v1, 1000, "3.12.0", 0);
    GCM_CHECK_EQ_INT(v1.snap.causes_known, 0);
    GCM_CHECK_EQ_U64(v1.snap.layout_version, 1);
    for (i = 0; i < GCM_CAUSES; i++)
        GCM_CHECK_EQ_U64(v1.snap.cause[i].count, 0);
    /* Everything else reads as it did. */
    GCM_CHECK_EQ_U64(v1.snap.all.count, f.snap.all.count);
    GCM_CHECK_EQ_U64(v1.snap.all.total_ns, f.snap.all.total_ns);
    GCM_CHECK_EQ_U64(v1.event_count, f.event_count);
    for (i = 0; i < f.event_count; i++)
        GCM_CHECK_EVENT_EQ(&v1.events[i], &f.events[i]);

    v1.config.stats_only = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&v1.in, &sink), 0);
    GCM_CHECK(strstr(m.buf, "GC causes: not recorded (an older capture format, or a capture read "
                            "from outside the process)\n") != NULL);
    GCM_CHECK(strstr(m.buf, "\n  automatic ") == NULL);
    GCM_CHECK(strstr(m.buf, "explicit gc.collect() vs automatic: unknown") != NULL);
    free(m.buf);
    json = gcm_summary_json(&v1.snap);
    GCM_CHECK(json != NULL);
    GCM_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(json, "causes")));
    cJSON_Delete(json);
    fixture_release(&v1);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_aggregates_and_summary);
    GCM_RUN(test_reports);
    GCM_RUN(test_version_1_block);
    return 0;
}
