/* test_timeline.c: the --interval table ("GC activity over time") and its
 * JSON objects, compared with goldens, plus the properties a golden could
 * hide: the rows add up to the retained events, empty runs share one row,
 * and sub-second intervals keep distinct labels.
 */
#include <cjson/cJSON.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* Collections at 0.1 s to 1.3 s, then an idle stretch, then two at 21 s. */
static void add_spread_run(fixture *f)
{
    fixture_add(f, 100.0, 0, MS(0.2), 100, 0);
    fixture_add(f, 200.0, 0, MS(0.3), 100, 0);
    fixture_add(f, 600.0, 1, MS(1.5), 300, 0);
    fixture_add(f, 1300.0, 2, MS(12.25), 900, 0);
    fixture_add(f, 21000.0, 0, MS(0.4), 100, 0);
    fixture_add(f, 21400.0, 2, MS(1250), 50000, 2);
}

static char *render_timeline(fixture *f, int json)
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    if (json)
        GCM_CHECK_EQ_INT(gcm__render_timeline_jsonl(&f->in, &s), 0);
    else
        GCM_CHECK_EQ_INT(gcm__render_timeline_text(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

static void test_text_table(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_spread_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.interval_s = 5.0;
    out = render_timeline(&f, 0);
    check_golden("timeline_5s.txt", out, strlen(out));
    /* Three rows: 0-5 s, the idle 5-20 s as one row, 20-25 s. */
    GCM_CHECK_EQ_U64(count_prefixed(out, "  T+"), 3);
    GCM_CHECK(strstr(out, "  T+5s to T+20s ") != NULL);
    GCM_CHECK(strstr(out, "1.25s") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_sub_second_labels(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_spread_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.interval_s = 0.25;
    out = render_timeline(&f, 0);
    check_golden("timeline_250ms.txt", out, strlen(out));
    GCM_CHECK(strstr(out, "  T+0s to T+0.25s ") != NULL);
    GCM_CHECK(strstr(out, "  T+0.5s to T+0.75s ") != NULL);
    GCM_CHECK(strstr(out, "  T+1.25s to T+1.5s ") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_json_objects(void)
{
    fixture f;
    char *out, *line, *save = NULL;
    uint64_t collections = 0;
    double gc_ms = 0.0;

    fixture_init(&f, 64, MS(50));
    add_spread_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.interval_s = 5.0;
    f.config.json = 1;
    out = render_timeline(&f, 1);
    check_golden("timeline.jsonl", out, strlen(out));
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        cJSON *obj = cJSON_Parse(line);
        GCM_CHECK(obj != NULL);
        GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "type")->valuestring, "timeline");
        collections += (uint64_t)cJSON_GetObjectItemCaseSensitive(obj, "collections")->valuedouble;
        gc_ms += cJSON_GetObjectItemCaseSensitive(obj, "gc_ms")->valuedouble;
        cJSON_Delete(obj);
    }
    /* Only non-empty intervals have objects, and they hold every event. */
    GCM_CHECK_EQ_U64(collections, f.event_count);
    GCM_CHECK(gc_ms > 1264.64 && gc_ms < 1264.66);
    free(out);
    fixture_release(&f);
}

static void test_overwritten_window(void)
{
    fixture f;
    char *out;
    size_t i;

    /* 40 collections in a ring of 16: the table covers the 16 it still holds. */
    fixture_init(&f, 16, MS(50));
    for (i = 0; i < 40; i++)
        fixture_add(&f, 500.0 * (double)i, 0, MS(0.1), 1, 0);
    fixture_finish(&f, 21000.0, "3.12.1", 0);
    out = render_timeline(&f, 0);
    GCM_CHECK(strstr(out, "; the latest 16 collections, still in the ring):\n") != NULL);
    /* Events 24..39 start at 12 s to 19.5 s: intervals 10-15 s and 15-20 s. */
    GCM_CHECK(strstr(out, "  T+10s to T+15s           6 ") != NULL);
    GCM_CHECK(strstr(out, "  T+15s to T+20s          10 ") != NULL);
    GCM_CHECK(strstr(out, "T+0s") == NULL);
    free(out);
    fixture_release(&f);
}

static void test_no_events_no_table(void)
{
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    fixture_init(&f, 16, MS(50));
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(gcm__render_timeline_text(&f.in, &s), 0);
    GCM_CHECK_EQ_INT(gcm__render_timeline_jsonl(&f.in, &s), 0);
    GCM_CHECK(m.buf == NULL);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_text_table);
    GCM_RUN(test_sub_second_labels);
    GCM_RUN(test_json_objects);
    GCM_RUN(test_overwritten_window);
    GCM_RUN(test_no_events_no_table);
    return 0;
}
