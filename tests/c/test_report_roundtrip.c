/* test_report_roundtrip.c: what the renderers print reads back as what was recorded.
 *
 * Thousands of pseudo-random collections (with the extremes mixed in) are
 * rendered as text and as JSON Lines; every STOP, ALERT and JSON line is then
 * parsed back, the JSON with cJSON, and compared with the event it came from:
 * generation, counts, the duration within half of its last printed digit,
 * and the timestamp to the microsecond.  This checks the hand-written
 * formatter against an independent reader instead of against itself.
 */
#include <math.h>

#include <cjson/cJSON.h>

#include "test_report_fixture.h"

#define COUNT 4000u

static uint64_t rng_state = 0x2545F4914F6CDD1Du;

static uint64_t next_random(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Durations spread over every unit the text uses, and their boundaries. */
static uint64_t random_duration(uint64_t i)
{
    static const uint64_t edges[] = {0,         1,         499,        500,
                                     999499,    999500,    999999,     1000000,
                                     999949999, 999950000, 1000000000, 3600000000000u};
    uint64_t r = next_random();

    if (i < sizeof edges / sizeof edges[0])
        return edges[i];
    switch (r % 4u) {
    case 0:
        return (r >> 8) % 1000000u;
    case 1:
        return (r >> 8) % 1000000000u;
    case 2:
        return (r >> 8) % 100000000000u;
    default:
        return (r >> 8) % 100000u;
    }
}

static void fill(fixture *f)
{
    uint64_t i;

    fixture_init(f, 4096, 5000000u);
    for (i = 0; i < COUNT; i++) {
        uint64_t r = next_random();
        uint64_t collected = (i == 20) ? UINT64_MAX : (r >> 16) % 100000u;
        fixture_add(f, 0.37 * (double)i, (uint32_t)(r % 3u), random_duration(i), collected,
                    (r % 7u == 0) ? (r >> 40) % 5u : 0);
    }
    fixture_finish(f, 5000.0, "3.12.1", 0);
    GCM_CHECK_EQ_U64(f->event_count, COUNT);
}

/* Parses "12.345ms" or "1.23s" into ns, and the size of its last digit in ns. */
static void parse_duration(const char *s, double *ns, double *unit)
{
    char *end;
    const char *dot = strchr(s, '.');
    double v = strtod(s, &end);
    int decimals;

    GCM_CHECK(dot != NULL && end > dot);
    decimals = (int)(end - dot - 1);
    if (strncmp(end, "ms", 2) == 0) {
        *ns = v * 1e6;
        *unit = 1e6 / pow(10, decimals);
    } else {
        GCM_CHECK(*end == 's');
        *ns = v * 1e9;
        *unit = 1e9 / pow(10, decimals);
    }
}

static void check_duration(const char *text, uint64_t want_ns)
{
    double ns, unit;

    parse_duration(text, &ns, &unit);
    /* Half of the last digit, plus the rounding of strtod and the scaling. */
    if (fabs(ns - (double)want_ns) > unit / 2 + 1e-9 * (double)want_ns) {
        fprintf(stderr, "'%s' does not show %" PRIu64 " ns\n", text, want_ns);
        exit(1);
    }
}

static void test_text_reads_back(void)
{
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);
    char *line, *save = NULL;
    size_t i = 0;
    uint64_t alerts = 0;

    fill(&f);
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    for (line = strtok_r(m.buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        unsigned gen;
        char dur[64], thr[64];
        unsigned long long collected, uncollectable;

        if (sscanf(line, "GMEM ALERT | Gen %u pause %63s exceeded %63s threshold", &gen, dur,
                   thr) == 3) {
            GCM_CHECK(i < COUNT);
            GCM_CHECK_EQ_U64(gen, f.events[i].generation);
            GCM_CHECK(gcm_is_alert(f.events[i].duration_ns, f.snap.alert_threshold_ns));
            check_duration(dur, f.events[i].duration_ns);
            GCM_CHECK_STREQ(thr, "5.0ms");
            alerts++;
        } else if (sscanf(line,
                          "GMEM GC STOP | Gen: %u | Duration: %63s | Collected: %llu | "
                          "Uncollectable: %llu",
                          &gen, dur, &collected, &uncollectable) == 4) {
            GCM_CHECK(i < COUNT);
            GCM_CHECK_EQ_U64(gen, f.events[i].generation);
            check_duration(dur, f.events[i].duration_ns);
            GCM_CHECK_EQ_U64(collected, f.events[i].collected);
            GCM_CHECK_EQ_U64(uncollectable, f.events[i].uncollectable);
            /* An alert line, when due, came right before this one. */
            i++;
        }
    }
    GCM_CHECK_EQ_U64(i, COUNT);
    GCM_CHECK_EQ_U64(alerts, f.snap.all.alerts);
    free(m.buf);
    fixture_release(&f);
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    GCM_CHECK(cJSON_IsNumber(item));
    return item->valuedouble;
}

static void test_json_reads_back(void)
{
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);
    char *line, *save = NULL;
    size_t i = 0, lines = 0;
    uint64_t alerts = 0, others = 0;
    int summary_seen = 0;

    fill(&f);
    f.config.json = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    for (line = strtok_r(m.buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        cJSON *obj = cJSON_Parse(line);
        const cJSON *type;

        lines++;
        if (obj == NULL) {
            fprintf(stderr, "line %zu is not JSON: %s\n", lines, line);
            exit(1);
        }
        GCM_CHECK(!summary_seen); /* the summary is the last line */
        type = cJSON_GetObjectItemCaseSensitive(obj, "type");
        GCM_CHECK(cJSON_IsString(type));
        if (strcmp(type->valuestring, "summary") == 0) {
            summary_seen = 1;
            GCM_CHECK_EQ_U64((uint64_t)number(obj, "count"), COUNT);
        } else if (strcmp(type->valuestring, "timeline") == 0 ||
                   strcmp(type->valuestring, "advice") == 0 ||
                   strcmp(type->valuestring, "verdict") == 0) {
            /* The section objects before the summary; test_timeline.c and
             * test_advice.c check their contents. */
            others++;
        } else {
            const gcm_event *ev = &f.events[i];
            int64_t ts_ns =
                FIX_INIT_REALTIME_NS + (int64_t)(ev->start_ns - (uint64_t)FIX_INIT_MONOTONIC_NS);
            /* Doubles near 1.7e9 s resolve about 0.24 us, so compare to the microsecond. */
            GCM_CHECK(fabs(number(obj, "ts") - (double)ts_ns / 1e9) < 1.5e-6);
            GCM_CHECK_EQ_U64((uint64_t)number(obj, "pid"), FIX_PID);
            GCM_CHECK_EQ_U64((uint64_t)number(obj, "generation"), ev->generation);
            GCM_CHECK(fabs(number(obj, "duration_ms") * 1e6 - (double)ev->duration_ns) <=
                      500.0 + 1e-12 * (double)ev->duration_ns);
            if (strcmp(type->valuestring, "alert") == 0) {
                GCM_CHECK(gcm_is_alert(ev->duration_ns, f.snap.alert_threshold_ns));
                GCM_CHECK(number(obj, "threshold_ms") == 5.0);
                alerts++;
            } else {
                GCM_CHECK_STREQ(type->valuestring, "event");
                GCM_CHECK(number(obj, "collected") == (double)(ev->collected > 9007199254740991u
                                                                   ? 9007199254740991u
                                                                   : ev->collected));
                GCM_CHECK(number(obj, "uncollectable") == (double)ev->uncollectable);
                i++;
            }
        }
        cJSON_Delete(obj);
    }
    GCM_CHECK(summary_seen);
    GCM_CHECK(others > 0);
    GCM_CHECK_EQ_U64(i, COUNT);
    GCM_CHECK_EQ_U64(alerts, f.snap.all.alerts);
    free(m.buf);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_text_reads_back);
    GCM_RUN(test_json_reads_back);
    return 0;
}
