/* test_summary_json.c: the JSON summary object of a fabricated block: its
 * keys in order, values derived from the recorded pauses, rounding to the
 * microsecond, the overflow bucket and the clamp below 2^53. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

#define MS UINT64_C(1000000)

static gcm_snapshot snap;

static const char *const figure_keys[] = {"count",   "total_ms",  "mean_ms",      "min_ms",
                                          "max_ms",  "p50_ms",    "p90_ms",       "p99_ms",
                                          "p999_ms", "collected", "uncollectable"};
#define NFIGURES (sizeof figure_keys / sizeof figure_keys[0])

static const char *const top_keys[] = {"type",        "schema_version", "pid",
                                       "count",       "total_ms",       "mean_ms",
                                       "min_ms",      "max_ms",         "p50_ms",
                                       "p90_ms",      "p99_ms",         "p999_ms",
                                       "collected",   "uncollectable",  "gen0",
                                       "gen1",        "gen2",           "share",
                                       "wall_ms",     "alerts",         "alert_threshold_ms",
                                       "bursts",      "buckets",        "events",
                                       "overwritten", "dropped_stops",  "unusable_info",
                                       "causes"};

static double num(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(item)) {
        fprintf(stderr, "missing number '%s'\n", key);
        exit(1);
    }
    return item->valuedouble;
}

/* The JSON rounding rule, restated: ns to whole us (half up), then ms. */
static double ms3(uint64_t ns)
{
    return (double)((ns + 500u) / 1000u) / 1000.0;
}

static void check_keys(const cJSON *obj, const char *const *keys, size_t n)
{
    const cJSON *child = obj->child;
    size_t i;
    for (i = 0; i < n; i++) {
        GCM_CHECK(child != NULL);
        GCM_CHECK_STREQ(child->string, keys[i]);
        child = child->next;
    }
    GCM_CHECK(child == NULL);
}

static void record(gcm_block *b, uint64_t start, uint64_t duration, uint32_t gen,
                   uint64_t collected, uint64_t uncollectable)
{
    gcm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.start_ns = start;
    ev.duration_ns = duration;
    ev.generation = gen;
    ev.collected = collected;
    ev.uncollectable = uncollectable;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
}

static void test_fabricated_block(void)
{
    static const uint64_t bounds[5] = {1 * MS, 5 * MS, 20 * MS, 50 * MS, 100 * MS};
    gcm_block_params p;
    size_t size = gcm_block_size(16);
    gcm_block *b = malloc(size);
    cJSON *json;
    const cJSON *gen, *buckets, *bucket;
    const uint64_t t = 1000000000000u;
    uint32_t g;
    int i;

    GCM_CHECK(b != NULL);
    memset(&p, 0, sizeof p);
    p.capacity = 16;
    p.pid = 31337;
    p.alert_threshold_ns = 50 * MS;
    p.bucket_count = 5;
    memcpy(p.bucket_bounds_ns, bounds, sizeof bounds);
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), 0);

    record(b, t, 1 * MS, 0, 10, 0);
    record(b, t + 1000 * MS, 2 * MS, 0, 20, 1);
    record(b, t + 2000 * MS, 1234567u, 0, 30, 0);
    record(b, t + 2010 * MS, 10000500u, 1, 400, 2); /* 8.8 ms after a stop: a burst */
    record(b, t + 5000 * MS, 60 * MS, 2, 5000, 0);  /* an alert, overflow-free bucket 4 */
    record(b, t + 9000 * MS, 150 * MS, 2, 1, 0);    /* an alert, overflow bucket */
    gcm_block_count_dropped_stop(b);
    gcm_block_count_unusable_info(b);
    gcm_block_count_unusable_info(b);
    gcm_block_set_state(b, GCM_STATE_EXITED, 0, b->header.init_realtime_ns + 8000 * (int64_t)MS);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    json = gcm_summary_json(&snap);
    GCM_CHECK(json != NULL);

    check_keys(json, top_keys, sizeof top_keys / sizeof top_keys[0]);
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(json, "type")->valuestring, "summary");
    GCM_CHECK(num(json, "schema_version") == GCM_JSON_SCHEMA_VERSION);
    GCM_CHECK(num(json, "pid") == 31337);

    /* Overall figures, from the six pauses above. */
    GCM_CHECK(num(json, "count") == 6);
    GCM_CHECK(num(json, "total_ms") ==
              ms3(1 * MS + 2 * MS + 1234567u + 10000500u + 60 * MS + 150 * MS));
    GCM_CHECK(
        num(json, "mean_ms") ==
        floor((double)(1 * MS + 2 * MS + 1234567u + 10000500u + 60 * MS + 150 * MS) / 6.0 / 1000.0 +
              0.5) /
            1000.0);
    GCM_CHECK(num(json, "min_ms") == 1.0);
    GCM_CHECK(num(json, "max_ms") == 150.0);
    GCM_CHECK(num(json, "p50_ms") == ms3(gcm_percentile_ns(&snap.all, 0.5)));
    GCM_CHECK(fabs(num(json, "p50_ms") - 2.0) <= 0.02); /* rank 3 of 6 */
    GCM_CHECK(num(json, "p90_ms") == 150.0);            /* rank 6: the max */
    GCM_CHECK(num(json, "p99_ms") == 150.0);
    GCM_CHECK(num(json, "p999_ms") == 150.0);
    GCM_CHECK(num(json, "collected") == 10 + 20 + 30 + 400 + 5000 + 1);
    GCM_CHECK(num(json, "uncollectable") == 3);

    /* Generations carry the same eleven keys. */
    for (g = 0; g < GCM_GENERATIONS; g++) {
        static const char *const names[] = {"gen0", "gen1", "gen2"};
        gen = cJSON_GetObjectItemCaseSensitive(json, names[g]);
        GCM_CHECK(cJSON_IsObject(gen));
        check_keys(gen, figure_keys, NFIGURES);
    }
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen0");
    GCM_CHECK(num(gen, "count") == 3);
    GCM_CHECK(num(gen, "min_ms") == 1.0);
    GCM_CHECK(num(gen, "max_ms") == 2.0);
    GCM_CHECK(num(gen, "total_ms") == ms3(3 * MS + 1234567u));
    /* Rank 2 of 3 is 1.234567 ms, estimated from the histogram. */
    GCM_CHECK(num(gen, "p50_ms") == ms3(gcm_percentile_ns(&snap.gen[0], 0.5)));
    GCM_CHECK(fabs(num(gen, "p50_ms") - 1.234567) <= 0.01 * 1.234567);
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen1");
    GCM_CHECK(num(gen, "count") == 1);
    /* One pause: its percentiles are exact; 10000.5 us rounds half up. */
    GCM_CHECK(num(gen, "p50_ms") == 10.001);
    GCM_CHECK(num(gen, "min_ms") == 10.001);
    GCM_CHECK(num(gen, "total_ms") == 10.001);
    GCM_CHECK(num(gen, "uncollectable") == 2);
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen2");
    GCM_CHECK(num(gen, "mean_ms") == 105.0);

    /* GC share is a percentage of the wall time up to the recorded end. */
    GCM_CHECK(num(json, "wall_ms") == 8000.0);
    GCM_CHECK(fabs(num(json, "share") - 100.0 * 224.235067 / 8000.0) <= 0.0005);
    GCM_CHECK(num(json, "alerts") == 2);
    GCM_CHECK(num(json, "alert_threshold_ms") == 50.0);
    GCM_CHECK(num(json, "bursts") == 1);
    GCM_CHECK(num(json, "events") == 6);
    GCM_CHECK(num(json, "overwritten") == 0);
    GCM_CHECK(num(json, "dropped_stops") == 1);
    GCM_CHECK(num(json, "unusable_info") == 2);

    /* Buckets: five bounds in ms, then the overflow with a null bound. */
    buckets = cJSON_GetObjectItemCaseSensitive(json, "buckets");
    GCM_CHECK(cJSON_IsArray(buckets));
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(buckets), 6);
    {
        static const double le[5] = {1, 5, 20, 50, 100};
        static const double counts[6] = {1, 2, 1, 0, 1, 1};
        for (i = 0; i < 6; i++) {
            static const char *const keys[] = {"le_ms", "count"};
            bucket = cJSON_GetArrayItem(buckets, i);
            check_keys(bucket, keys, 2);
            if (i < 5)
                GCM_CHECK(num(bucket, "le_ms") == le[i]);
            else
                GCM_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(bucket, "le_ms")));
            GCM_CHECK(num(bucket, "count") == counts[i]);
        }
    }
    cJSON_Delete(json);
    free(b);
}

static void test_printed_text(void)
{
    gcm_snapshot *s = calloc(1, sizeof *s);
    cJSON *json;
    char *text;

    GCM_CHECK(s != NULL);
    s->bucket_count = 1;
    s->bucket_bounds_ns[0] = 500000u;
    s->alert_threshold_ns = 0;
    json = gcm_summary_json(s);
    GCM_CHECK(json != NULL);
    text = cJSON_PrintUnformatted(json);
    GCM_CHECK(text != NULL);
    /* An empty run: zeros everywhere, a sub-millisecond bound kept exact. */
    GCM_CHECK(strstr(text, "\"type\":\"summary\",\"schema_version\":1,\"pid\":0,\"count\":0,") ==
              text + 1);
    GCM_CHECK(
        strstr(text, "\"buckets\":[{\"le_ms\":0.5,\"count\":0},{\"le_ms\":null,\"count\":0}]") !=
        NULL);
    GCM_CHECK(strstr(text, "\"alert_threshold_ms\":0,") != NULL);
    GCM_CHECK(strstr(text, "\"min_ms\":0,") != NULL);
    cJSON_free(text);
    cJSON_Delete(json);
    free(s);
}

static void test_large_values(void)
{
    gcm_snapshot *s = calloc(1, sizeof *s);
    cJSON *json;

    GCM_CHECK(s != NULL);
    s->bucket_count = 1;
    s->bucket_bounds_ns[0] = MS;
    s->gen[0].count = UINT64_MAX;
    s->all.count = UINT64_MAX;
    s->all.collected = ((uint64_t)1 << 53) + 1;
    s->events_total = ((uint64_t)1 << 53) - 1;
    s->all.total_ns = UINT64_MAX;
    s->all.buckets[1] = UINT64_MAX;
    json = gcm_summary_json(s);
    GCM_CHECK(json != NULL);
    /* Integers never reach 2^53, where doubles stop being exact. */
    GCM_CHECK(num(json, "count") == 9007199254740991.0);
    GCM_CHECK(num(json, "collected") == 9007199254740991.0);
    GCM_CHECK(num(json, "events") == 9007199254740991.0);
    GCM_CHECK(num(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json, "buckets"), 1),
                  "count") == 9007199254740991.0);
    GCM_CHECK(num(cJSON_GetObjectItemCaseSensitive(json, "gen0"), "count") == 9007199254740991.0);
    /* Durations are not integers and are not clamped: 2^64 ns in ms. */
    GCM_CHECK(num(json, "total_ms") == (double)(UINT64_MAX / 1000u) / 1000.0);
    cJSON_Delete(json);
    free(s);
}

/* A run as CPython 3.15 reports it: every collection with its candidates
 * and its own duration.  Each figure object gains "candidates" and
 * "efficiency" after "uncollectable", and the summary says whose the
 * durations are; a block without those flags has neither (above). */
static void test_candidates_and_native_durations(void)
{
    static const char *const keys_315[] = {
        "count",  "total_ms", "mean_ms",   "min_ms",        "max_ms",     "p50_ms",    "p90_ms",
        "p99_ms", "p999_ms",  "collected", "uncollectable", "candidates", "efficiency"};
    static const char *const names[] = {"gen0", "gen1", "gen2"};
    gcm_block_params p;
    size_t size = gcm_block_size(16);
    gcm_block *b = malloc(size);
    cJSON *json;
    const cJSON *gen;
    gcm_event ev;
    uint32_t g;

    GCM_CHECK(b != NULL);
    memset(&p, 0, sizeof p);
    p.capacity = 16;
    p.pid = 31337;
    p.alert_threshold_ns = 50 * MS;
    p.bucket_count = 1;
    p.bucket_bounds_ns[0] = MS;
    GCM_CHECK_EQ_INT(gcm_block_init(b, size, &p), 0);
    memset(&ev, 0, sizeof ev);
    ev.flags = GCM_EVENT_HAS_CANDIDATES | GCM_EVENT_NATIVE_DURATION;
    ev.duration_ns = MS;
    /* Generation 0: 30 of 120 and 0 of 0 (a collection with nothing to
     * examine); generation 1: none; generation 2: 1 of 3,000. */
    ev.start_ns = 1000 * MS;
    ev.collected = 30;
    ev.candidates = 120;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    ev.start_ns = 2000 * MS;
    ev.collected = 0;
    ev.candidates = 0;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    ev.start_ns = 3000 * MS;
    ev.generation = 2;
    ev.collected = 1;
    ev.candidates = 3000;
    GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, &snap), 0);
    GCM_CHECK_EQ_U64(snap.event_flags, GCM_EVENT_HAS_CANDIDATES | GCM_EVENT_NATIVE_DURATION);
    json = gcm_summary_json(&snap);
    GCM_CHECK(json != NULL);

    for (g = 0; g < GCM_GENERATIONS; g++)
        check_keys(cJSON_GetObjectItemCaseSensitive(json, names[g]), keys_315,
                   sizeof keys_315 / sizeof keys_315[0]);
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen0");
    GCM_CHECK(num(gen, "candidates") == 120);
    GCM_CHECK(num(gen, "efficiency") == 25.0);
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen1");
    GCM_CHECK(num(gen, "candidates") == 0);
    GCM_CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(gen, "efficiency")));
    gen = cJSON_GetObjectItemCaseSensitive(json, "gen2");
    GCM_CHECK(num(gen, "efficiency") == 0.033); /* 1 / 3000 = 0.0333...%, three decimals */
    GCM_CHECK(num(json, "candidates") == 3120);
    GCM_CHECK(num(json, "efficiency") == floor(100.0 * 31.0 / 3120.0 * 1000.0 + 0.5) / 1000.0);
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(json, "duration_source")->valuestring,
                    "interpreter");
    cJSON_Delete(json);

    /* Candidates alone (a dict that had no duration): no duration_source. */
    snap.event_flags = GCM_EVENT_HAS_CANDIDATES;
    json = gcm_summary_json(&snap);
    GCM_CHECK(json != NULL);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(json, "duration_source") == NULL);
    GCM_CHECK(num(json, "candidates") == 3120);
    cJSON_Delete(json);
    free(b);
}

int main(void)
{
    GCM_RUN(test_candidates_and_native_durations);
    GCM_RUN(test_fabricated_block);
    GCM_RUN(test_printed_text);
    GCM_RUN(test_large_values);
    return 0;
}
