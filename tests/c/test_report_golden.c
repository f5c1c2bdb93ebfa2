/* test_report_golden.c: every report format, rendered from fabricated
 * recordings and compared byte for byte with tests/data/golden/.
 *
 * Rewrite the goldens with GCM_UPDATE_GOLDEN=1 after an intended change, then
 * read the diff: the files are what a user sees.  Besides the bytes, each
 * case checks a property the golden could hide (alert lines agree with the
 * summary's alert count, stats-only has no event lines, and so on).
 */
#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* A short, realistic run: mostly quick young collections, a few older ones,
 * and one slow full collection over the default 50 ms threshold. */
static void add_typical_run(fixture *f)
{
    fixture_add(f, 12.0, 0, MS(0.156), 156, 0);
    fixture_add(f, 118.5, 0, MS(0.203), 203, 0);
    fixture_add(f, 240.25, 0, MS(0.089), 64, 0);
    fixture_add(f, 371.0, 1, MS(1.2), 1024, 0);
    fixture_add(f, 402.0, 0, MS(0.312), 298, 0);
    fixture_add(f, 530.0, 0, MS(0.241), 187, 0);
    fixture_add(f, 655.5, 2, MS(52.3), 15234, 3);
    fixture_add(f, 801.0, 0, MS(0.198), 141, 0);
    fixture_add(f, 930.0, 1, MS(0.95), 880, 0);
    fixture_add(f, 1044.0, 0, MS(0.175), 132, 0);
    fixture_add(f, 1500.0, 2, MS(8.7), 4410, 0);
    fixture_add(f, 2210.0, 0, MS(1.05), 512, 0);
}

/* Renders `f` into memory, checks it against the golden `name`, returns the text. */
static char *render_golden(fixture *f, const char *name)
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm_report_render(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    check_golden(name, m.buf, m.len);
    return m.buf;
}

static void test_text_default(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_typical_run(&f);
    fixture_finish(&f, 2500.0, "3.12.1", 0);
    out = render_golden(&f, "text_default.txt");
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM GC STOP | "), 12);
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM ALERT | "), f.snap.all.alerts);
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM ALERT | "), 1);
    GCM_CHECK(
        strstr(
            out,
            "GMEM ALERT | Gen 2 pause 52.3ms exceeded 50.0ms threshold\n"
            "GMEM GC STOP | Gen: 2 | Duration: 52.3ms | Collected: 15234 | Uncollectable: 3\n") !=
        NULL);
    GCM_CHECK(strstr(out, "=== GC MONITORING SUMMARY ===\nTotal GC collections: 12\n") != NULL);
    GCM_CHECK(strstr(out, "not listed") == NULL);
    GCM_CHECK(strstr(out, "Note:") == NULL);
    free(out);
    fixture_release(&f);
}

static void test_text_stats_only(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_typical_run(&f);
    fixture_finish(&f, 2500.0, "3.12.1", 0);
    f.config.stats_only = 1;
    out = render_golden(&f, "text_stats_only.txt");
    /* The verdict heads the report, then the figures it rests on. */
    GCM_CHECK(strncmp(out, "=== GC VERDICT ===\nGC verdict: HURTING LATENCY (", 48) == 0);
    GCM_CHECK(strstr(out, "\n=== GC MONITORING SUMMARY ===\n") != NULL);
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM"), 0);
    /* Without alert lines, the summary still says how many pauses alerted. */
    GCM_CHECK(strstr(out, "\nPauses at or over the 50.0ms alert threshold: 1\n") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_jsonl(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_typical_run(&f);
    fixture_finish(&f, 2500.0, "3.12.1", 0);
    f.config.json = 1;
    out = render_golden(&f, "report.jsonl");
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"event\","), 12);
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"alert\","), 1);
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"summary\","), 1);
    /* The verdict object is the first line, before the events. */
    GCM_CHECK(count_prefixed(out, "{\"type\":\"verdict\",\"verdict\":\"HURTING LATENCY\",") == 1);
    GCM_CHECK(strncmp(out, "{\"type\":\"verdict\",", 18) == 0);
    /* The first event started 12 ms after init: 17:00:00.012 UTC. */
    GCM_CHECK(strstr(out, "{\"type\":\"event\",\"ts\":1764349200.012000,\"pid\":4242,"
                          "\"generation\":0,\"duration_ms\":0.156,\"collected\":156,"
                          "\"uncollectable\":0,\"cause\":\"automatic\"}\n") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_jsonl_stats_only(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_typical_run(&f);
    fixture_finish(&f, 2500.0, "3.12.1", 0);
    f.config.json = 1;
    f.config.stats_only = 1;
    out = render_golden(&f, "report_stats_only.jsonl");
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"summary\","), 1);
    /* The verdict object is the first line, before the events. */
    GCM_CHECK(count_prefixed(out, "{\"type\":\"verdict\",\"verdict\":\"HURTING LATENCY\",") == 1);
    GCM_CHECK(strncmp(out, "{\"type\":\"verdict\",", 18) == 0);
    /* No event or alert objects; the summary-level ones stay. */
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"event\","), 0);
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"alert\","), 0);
    /* The verdict and the summary, and the section objects. */
    GCM_CHECK_EQ_U64(count_prefixed(out, "{"), 2 + count_prefixed(out, "{\"type\":\"timeline\",") +
                                                   count_prefixed(out, "{\"type\":\"advice\","));
    free(out);
    fixture_release(&f);
}

static void test_threshold_zero(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, 0);
    add_typical_run(&f);
    fixture_finish(&f, 2500.0, "3.12.1", 0);
    out = render_golden(&f, "text_threshold_zero.txt");
    /* A zero threshold alerts on every pause, before each STOP line. */
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM ALERT | "), 12);
    GCM_CHECK_EQ_U64(f.snap.all.alerts, 12);
    GCM_CHECK(strstr(out, "GMEM ALERT | Gen 0 pause 0.156ms exceeded 0.000ms threshold\n"
                          "GMEM GC STOP | Gen: 0 | Duration: 0.156ms") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_overwritten(void)
{
    fixture f;
    char *out;
    int i;

    /* 40 collections into a ring of 16: 24 are gone from the ring, not from the totals. */
    fixture_init(&f, 16, MS(50));
    for (i = 0; i < 40; i++)
        fixture_add(&f, 25.0 * i, (uint32_t)(i % 10 == 9 ? 1 : 0), MS(0.1) + (uint64_t)i * 10000u,
                    (uint64_t)(100 + i), 0);
    gcm_block_count_dropped_stop(f.block);
    gcm_block_count_unusable_info(f.block);
    gcm_block_count_unusable_info(f.block);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    out = render_golden(&f, "text_overwritten.txt");
    GCM_CHECK(strncmp(out, "24 earlier collections not listed (ring of 16); totals include them\n",
                      68) == 0);
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM GC STOP | "), 16);
    GCM_CHECK(strstr(out, "Total GC collections: 40\n") != NULL);
    GCM_CHECK(strstr(out, "Overwritten records: 24 ") != NULL);
    GCM_CHECK(strstr(out, "Dropped stops: 1 ") != NULL);
    GCM_CHECK(strstr(out, "Unusable info: 2 ") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_free_threaded(void)
{
    fixture f;
    char *out;
    int i;

    fixture_init(&f, 64, MS(50));
    for (i = 0; i < 8; i++)
        fixture_add(&f, 100.0 * i, 0, MS(0.4) + (uint64_t)i * 37000u, (uint64_t)(900 + 13 * i), 0);
    fixture_add(&f, 850.0, 2, MS(3.1), 2400, 0);
    fixture_finish(&f, 1000.0, "3.13.0", 1);
    out = render_golden(&f, "text_free_threaded.txt");
    GCM_CHECK_EQ_U64(count_prefixed(out, "Note: free-threaded CPython"), 1);
    GCM_CHECK(strstr(out, "3.14.0 to 3.14.4") == NULL);
    free(out);
    fixture_release(&f);
}

static void test_python_314(void)
{
    fixture f;
    char *out;
    int i;

    fixture_init(&f, 64, MS(50));
    for (i = 0; i < 8; i++)
        fixture_add(&f, 100.0 * i, 1, MS(0.8) + (uint64_t)i * 51000u, (uint64_t)(700 + 11 * i), 0);
    fixture_add(&f, 850.0, 2, MS(6.4), 5200, 0);
    fixture_finish(&f, 1000.0, "3.14.2", 0);
    out = render_golden(&f, "text_py314.txt");
    GCM_CHECK_EQ_U64(count_prefixed(out, "Note: CPython 3.14.0 to 3.14.4"), 1);
    free(out);
    fixture_release(&f);
}

/* A run as CPython 3.15 reports it: each collection with its own duration
 * and the candidates it examined.  The summary says whose the pauses are and
 * adds the efficiency table ("-" for generation 1, which examined nothing);
 * the JSON summary adds the figures and "duration_source". */
static void test_python_315(void)
{
    static const uint32_t gens[] = {0, 0, 1, 0, 2, 0};
    static const uint64_t collected[] = {150, 90, 0, 210, 12, 0};
    static const uint64_t candidates[] = {600, 450, 0, 700, 4800, 0};
    gcm_event ev;
    fixture f;
    char *out;
    size_t i;

    fixture_init(&f, 64, MS(50));
    for (i = 0; i < sizeof gens / sizeof gens[0]; i++) {
        memset(&ev, 0, sizeof ev);
        ev.start_ns = (uint64_t)FIX_INIT_MONOTONIC_NS + (uint64_t)MS(150.0 * (double)i);
        ev.duration_ns = gens[i] == 2 ? MS(7.25) : MS(0.2) + i * 1000u;
        ev.generation = gens[i];
        ev.collected = collected[i];
        ev.candidates = candidates[i];
        ev.flags = GCM_EVENT_HAS_CANDIDATES | GCM_EVENT_NATIVE_DURATION;
        GCM_CHECK_EQ_INT(gcm_block_record(f.block, &ev), 0);
    }
    fixture_finish(&f, 1000.0, "3.15.2", 0);
    f.config.stats_only = 1;
    out = render_golden(&f, "text_py315.txt");
    GCM_CHECK(strstr(out, "  (pause times are CPython's own: the \"duration\" of its"
                          " gc.callbacks info)\n") != NULL);
    GCM_CHECK(strstr(out, "Collection efficiency (objects collected of the candidates"
                          " examined):\n"
                          "  gen 0       25.71%  (450 of 1750)\n"
                          "  gen 1            -  (0 of 0)\n"
                          "  gen 2        0.25%  (12 of 4800)\n"
                          "  all          7.05%  (462 of 6550)\n") != NULL);
    free(out);
    f.config.json = 1;
    out = render_golden(&f, "report_py315.jsonl");
    GCM_CHECK(strstr(out, "\"collected\":450,\"uncollectable\":0,\"candidates\":1750,"
                          "\"efficiency\":25.714}") != NULL);
    GCM_CHECK(strstr(out, "\"duration_source\":\"interpreter\"") != NULL);
    free(out);
    fixture_release(&f);
}

/* Which interpreter versions get the 3.14 note; rendered stats-only. */
static void test_python_314_range(void)
{
    static const struct {
        const char *version;
        int noted;
    } cases[] = {
        {"3.14.0", 1}, {"3.14.0rc2", 1}, {"3.14.4", 1}, {"3.14.5", 0}, {"3.14.10", 0},
        {"3.13.9", 0}, {"3.15.0a1", 0},  {"3.1", 0},    {"", 0},       {NULL, 0},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f;
        memsink m;
        gcm_sink s = memsink_sink(&m);

        fixture_init(&f, 16, MS(50));
        fixture_add(&f, 1.0, 1, MS(1), 10, 0);
        fixture_finish(&f, 10.0, cases[i].version, 0);
        f.config.stats_only = 1;
        GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
        if ((strstr(m.buf, "Note: CPython 3.14.0 to 3.14.4") != NULL) != cases[i].noted) {
            fprintf(stderr, "version '%s': note expected %d\n",
                    cases[i].version ? cases[i].version : "(null)", cases[i].noted);
            exit(1);
        }
        free(m.buf);
        fixture_release(&f);
    }
}

static void test_empty(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 16, MS(50));
    fixture_finish(&f, 1234.5, "3.12.1", 0);
    out = render_golden(&f, "text_empty.txt");
    GCM_CHECK(strstr(out, "Total GC collections: 0\n") != NULL);
    GCM_CHECK_EQ_U64(count_prefixed(out, "GMEM"), 0);
    free(out);
    f.config.json = 1;
    out = render_golden(&f, "report_empty.jsonl");
    GCM_CHECK_EQ_U64(count_prefixed(out, "{\"type\":\"summary\","), 1);
    /* A second without a collection is FINE, and says so. */
    GCM_CHECK(count_prefixed(out, "{\"type\":\"verdict\",\"verdict\":\"FINE\",") == 1);
    free(out);
    fixture_release(&f);
}

static void test_start_lines(void)
{
    gcm_config cfg;
    memsink m;
    gcm_sink s;

    gcm_config_init(&cfg);
    s = memsink_sink(&m);
    /* A multi-line -c program, quotes, a tab and a byte that is not UTF-8. */
    GCM_CHECK_EQ_INT(gcm__render_start(&cfg, "python -c 'import x\nx.run(\"a\\b\")'\t\xff.py",
                                       FIX_PID, FIX_INIT_REALTIME_NS + 1500, &s),
                     0);
    check_golden("start.txt", m.buf, m.len);
    GCM_CHECK_EQ_U64(count_prefixed(m.buf, "GMEM "), 2);
    free(m.buf);

    cfg.json = 1;
    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm__render_start(&cfg, "python -c 'import x\nx.run(\"a\\b\")'\t\xff.py",
                                       FIX_PID, FIX_INIT_REALTIME_NS + 1500, &s),
                     0);
    GCM_CHECK_EQ_U64(m.calls, 1);
    check_golden("start.jsonl", m.buf, m.len);
    free(m.buf);

    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm__render_start(&cfg, NULL, FIX_PID, FIX_INIT_REALTIME_NS, &s), 0);
    GCM_CHECK(strstr(m.buf, "\"command\":null}\n") != NULL);
    free(m.buf);
}

/* The public entry points refuse what they cannot render instead of crashing. */
static void test_invalid_input(void)
{
    gcm_report_input in;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    memset(&in, 0, sizeof in);
    GCM_CHECK_EQ_INT(gcm_report_render(&in, &s), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_report_render(NULL, &s), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_report_start_fd(NULL, "x", 1, 2), GCM_EINVAL);
    GCM_CHECK_EQ_U64(m.calls, 0);
}

int main(void)
{
    GCM_RUN(test_text_default);
    GCM_RUN(test_text_stats_only);
    GCM_RUN(test_jsonl);
    GCM_RUN(test_jsonl_stats_only);
    GCM_RUN(test_threshold_zero);
    GCM_RUN(test_overwritten);
    GCM_RUN(test_free_threaded);
    GCM_RUN(test_python_314);
    GCM_RUN(test_python_314_range);
    GCM_RUN(test_python_315);
    GCM_RUN(test_empty);
    GCM_RUN(test_start_lines);
    GCM_RUN(test_invalid_input);
    return 0;
}
