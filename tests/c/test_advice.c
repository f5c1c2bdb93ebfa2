/* test_advice.c: the verdict and every recommendation rule, firing and silent, on crafted runs.
 *
 * Each case fabricates a recording that sits on one side of a rule's limit
 * (or of its evidence minimum), renders the verdict or the advice section,
 * and checks for that rule's line (by its severity and opening words) only
 * where it belongs.  The limits are the ones docs/recommendations.md
 * documents; the scenario tests (tests/python/test_advice_scenarios.py) run
 * the same rules on real programs.
 */
#include <cjson/cJSON.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* Renders the advice section of `f` as text; the caller frees the result. */
static char *advice_text(fixture *f)
{
    gcm_summary sum;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    GCM_CHECK_EQ_INT(gcm__render_advice_text(&f->in, &sum, &s), 0);
    if (m.buf == NULL) {
        m.buf = malloc(1);
        GCM_CHECK(m.buf != NULL);
        m.buf[0] = '\0';
    }
    return m.buf;
}

/* Renders the verdict section of `f` as text; the caller frees the result. */
static char *verdict_text(fixture *f)
{
    gcm_summary sum;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    GCM_CHECK_EQ_INT(gcm__render_verdict_text(&f->in, &sum, &s), 0);
    return m.buf;
}

static int verdict_of(fixture *f)
{
    gcm_summary sum;

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    GCM_CHECK_EQ_INT(gcm_verdict_fill(&f->in, &sum), 0);
    GCM_CHECK_EQ_INT(sum.verdict_known, 1);
    return sum.verdict;
}

static gcm__advice_flags flags_of(fixture *f)
{
    gcm_summary sum;
    gcm__verdict v;
    gcm__advice_flags flags;

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    gcm__verdict_compute(&f->in, &sum, &v);
    gcm__advice_derive(&f->in, &sum, &v, &flags);
    return flags;
}

/* `count` generation-`gen` collections of `ns` each freeing `freed`, `gap_ms` apart from `at_ms`. */
static double add_many(fixture *f, double at_ms, size_t count, uint32_t gen, uint64_t ns,
                       uint64_t freed, double gap_ms)
{
    size_t i;

    for (i = 0; i < count; i++) {
        fixture_add(f, at_ms, gen, ns, freed, 0);
        at_ms += gap_ms;
    }
    return at_ms;
}

/* A quiet background: 20 quick generation 0 collections a second apart. */
static double quiet(fixture *f)
{
    return add_many(f, 100.0, 20, 0, MS(0.1), 10, 1000.0);
}

static void expect(fixture *f, const char *prefix, size_t n)
{
    char *out = advice_text(f);
    if (count_prefixed(out, prefix) != n) {
        fprintf(stderr, "expected %zu line(s) starting '%s' in:\n%s\n", n, prefix, out);
        exit(1);
    }
    /* No heading without advice, and a heading with it. */
    GCM_CHECK((out[0] == '\0') == (count_prefixed(out, "=== GC THRESHOLD") == 0));
    free(out);
    fixture_release(f);
}

static void test_quiet_run_is_fine_without_advice(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_FINE);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "GC verdict: FINE (") != NULL);
    /* The fixture's block records causes: every collection was automatic. */
    GCM_CHECK(strstr(out, "explicit gc.collect() vs automatic: 0 explicit, ") != NULL);
    free(out);
    expect(&f, "", 0);

    /* No collection at all in a long run is fine too. */
    fixture_init(&f, 64, MS(50));
    fixture_finish(&f, 5000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_FINE);
    fixture_release(&f);
}

/* The 3-line script: 4 collections in 2.6 ms, 44% of it GC. */
static void test_short_run_is_not_enough_data(void)
{
    gcm__advice_flags fl;
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.1, 4, 0, MS(0.29), 500, 0.6);
    fixture_finish(&f, 2.6, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 700;
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_NOT_ENOUGH_DATA);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "GC verdict: NOT ENOUGH DATA (4 collections in 2.6ms") != NULL);
    GCM_CHECK(strstr(out, "too short a run for a rate") != NULL);
    free(out);
    fl = flags_of(&f);
    GCM_CHECK(!fl.young && !fl.freeze && !fl.wasted[2] && !fl.over_budget[0]);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "NOTE: 4 collections in 2.6ms of wall time is under the evidence"
                          " minimum") != NULL);
    GCM_CHECK(strstr(out, "set_threshold") == NULL);
    free(out);
    fixture_release(&f);

    /* Long enough, but nine collections: still not enough. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 100.0, 9, 0, MS(0.1), 10, 100.0);
    fixture_finish(&f, 5000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_NOT_ENOUGH_DATA);
    fixture_release(&f);
}

static void test_verdict_levels(void)
{
    fixture f;
    char *out;

    /* 3% GC share: NOTICEABLE, by the share. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 100.0, 300, 0, MS(0.1), 10, 30.0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_NOTICEABLE);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "NOTICEABLE (GC took 3.00% of wall time, at least 2%)") != NULL);
    free(out);
    fixture_release(&f);

    /* 12% GC share: HURTING LATENCY. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 100.0, 120, 0, MS(1), 10, 8.0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_HURTING);
    fixture_release(&f);

    /* One pause over the budget among a hundred: NOTICEABLE; two: p99 reaches it. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 100.0, 199, 0, MS(0.01), 10, 50.0);
    fixture_add(&f, 9990.0, 2, MS(60), 0, 0);
    fixture_finish(&f, 20000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_NOTICEABLE);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "(1 pause reached the 50.0ms budget, the longest 60.0ms)") != NULL);
    GCM_CHECK(strstr(out, "1 of 200 at or over the 50.0ms budget (the alert threshold)") != NULL);
    free(out);
    /* A looser --slo-ms makes it FINE; a tighter one HURTING. */
    f.config.slo_ms = 100.0;
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_FINE);
    f.config.slo_ms = 0.005;
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_HURTING);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "budget (--slo-ms), from the histogram") != NULL);
    free(out);
    fixture_release(&f);

    /* 0.8% share over 40 s, but 300 ms of it in one second: the worst window decides. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 100.0, 30, 0, MS(10), 10, 20.0);
    add_many(&f, 5000.0, 20, 0, MS(0.1), 10, 1000.0);
    fixture_finish(&f, 40000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(verdict_of(&f), GCM_VERDICT_HURTING);
    out = verdict_text(&f);
    GCM_CHECK(strstr(out, "worst one-second window: 30.0% GC (300.0ms from T+0.1s)") != NULL);
    free(out);
    fixture_release(&f);
}

/* A long-lived heap built in the first second, then long full collections
 * that free nothing: gc.freeze(), unless the program already froze. */
static void add_server(fixture *f)
{
    double at = add_many(f, 10.0, 5, 2, MS(5), 0, 100.0);
    size_t i;

    /* Serving: the same number of young collections before each full one. */
    for (i = 0; i < 8; i++) {
        at = add_many(f, at + 10.0, 25, 0, MS(0.05), 50, 10.0);
        at = add_many(f, at, 16, 1, MS(0.2), 50, 1.0);
        fixture_add(f, at + 100.0, 2, MS(40), 0, 0);
        at += 400.0;
    }
}

static void test_freeze_needs_its_evidence(void)
{
    gcm__advice_flags fl;
    fixture f;
    char *out;

    fixture_init(&f, 1024, MS(50));
    add_server(&f);
    fixture_finish(&f, 9000.0, "3.12.1", 0);
    fl = flags_of(&f);
    GCM_CHECK(fl.heap_early && !fl.heap_growing && fl.freeze && !fl.wasted[2]);
    out = advice_text(&f);
    GCM_CHECK_EQ_U64(count_prefixed(out, "HIGH: Generation 2: 13 full collections, p99 40.0ms,"
                                         " freeing 0.0 objects each"),
                     1);
    GCM_CHECK(strstr(out, "    gc.freeze()    # move every survivor to the permanent generation") !=
              NULL);
    GCM_CHECK(strstr(out, "    Check: rerun: the generation 2 p99 should fall") != NULL);
    free(out);
    fixture_release(&f);

    /* The program already froze objects: a note, never the advice again. */
    fixture_init(&f, 1024, MS(50));
    add_server(&f);
    fixture_finish(&f, 9000.0, "3.12.1", 0);
    f.in.have_freeze_count = 1;
    f.in.freeze_count = 123456;
    fl = flags_of(&f);
    GCM_CHECK(fl.frozen && !fl.freeze);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "gc.freeze() after start-up") == NULL);
    GCM_CHECK(strstr(out, "NOTE: The program froze 123456 objects") != NULL);
    free(out);
    fixture_release(&f);

    /* Full collections that free plenty are not rescanning a dead heap. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 5.0, 20, 1, MS(0.1), 50, 0.1);
    add_many(&f, 10.0, 5, 2, MS(40), 5000, 100.0);
    add_many(&f, 1000.0, 8, 2, MS(40), 5000, 500.0);
    add_many(&f, 5500.0, 10, 0, MS(0.05), 50, 20.0);
    fixture_finish(&f, 9000.0, "3.12.1", 0);
    fl = flags_of(&f);
    GCM_CHECK(!fl.freeze && !fl.wasted[2]);
    fixture_release(&f);
}

/* The networkx run: the heap grows to the end, full collections free nothing. */
static void test_growing_heap_is_wasted_not_frozen(void)
{
    gcm__advice_flags fl;
    fixture f;
    double at = 100.0, pause = 2.0, young = 10.0;
    size_t i;
    char *out;

    /* Everything survives: each full collection comes after a quarter more
     * young collections than the one before, and takes a quarter longer. */
    fixture_init(&f, 4096, MS(50));
    for (i = 0; i < 19; i++, pause *= 1.25, young *= 1.25, at += 600.0) {
        add_many(&f, at, (size_t)young, 0, MS(0.05), 0, 0.5);
        add_many(&f, at + 250.0, 10, 1, MS(0.1), 0, 1.0);
        fixture_add(&f, at + 300.0, 2, MS(pause), 0, 0);
    }
    fixture_finish(&f, at, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 700;
    f.in.gc_threshold[1] = 10;
    f.in.gc_threshold[2] = 10;
    f.in.have_peak_rss = 1;
    f.in.peak_rss_bytes = 250000000u;
    fl = flags_of(&f);
    GCM_CHECK(fl.heap_growing && !fl.freeze && fl.wasted[2]);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "MEDIUM: Generation 2: 19 full collections took ") != NULL);
    GCM_CHECK(strstr(out, "and freed 0 objects (0.0 each, 0.0 per ms of pause): they are"
                          " overhead. The heap kept"
                          " growing") != NULL);
    GCM_CHECK(strstr(out, "gc.disable() around the phases that build long-lived data") != NULL);
    GCM_CHECK(strstr(out, "gc.set_threshold(700, 10, 40)") != NULL);
    GCM_CHECK(strstr(out, "(peak RSS was 250.0 MB)") != NULL);
    GCM_CHECK(strstr(out, "gc.freeze() after") == NULL);
    free(out);
    fixture_release(&f);
}

/* Young collections of reference cycles: a bounded step of threshold 0. */
static void test_young_step_is_bounded(void)
{
    gcm__advice_flags fl;
    fixture f;
    char *out;

    /* 2,000 collections of 0.4 ms freeing 800 cycles each in 10 s: 8% young share. */
    fixture_init(&f, 4096, MS(50));
    add_many(&f, 10.0, 2000, 0, MS(0.4), 800, 5.0);
    fixture_finish(&f, 10000.0, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 700;
    f.in.gc_threshold[1] = 10;
    f.in.gc_threshold[2] = 10;
    fl = flags_of(&f);
    GCM_CHECK(fl.young && fl.young_cycles);
    GCM_CHECK_EQ_U64(fl.step, GCM__STEP_MAX);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "MEDIUM: Young collections (generations 0 and 1): 2000 took 800.0ms"
                          " (8.0% of wall time) and freed 800.0 objects each: reference"
                          " cycles") != NULL);
    /* 700 x 4, never the old rule's 700 x ceil(rate / 400). */
    GCM_CHECK(strstr(out, "break the cycles (weakref, or clear back-references when done); or"
                          " gc.set_threshold(2800, 10, 10)") != NULL);
    GCM_CHECK(strstr(out, "    Check: rerun: generation 0 should run about 4 times less often"
                          " (2000 -> about 500)") != NULL);
    free(out);
    fixture_release(&f);

    /* 3% young share: a step of 3; thresholds unknown (a capture): relative code, and
     * 3.13's default of 2000 is not assumed into a literal. */
    fixture_init(&f, 4096, MS(50));
    add_many(&f, 10.0, 300, 0, MS(1), 2, 30.0);
    fixture_finish(&f, 10000.0, "3.13.1", 0);
    fl = flags_of(&f);
    GCM_CHECK(fl.young && !fl.young_cycles);
    GCM_CHECK_EQ_U64(fl.step, 3);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "gc.set_threshold(gc.get_threshold()[0] * 3, *gc.get_threshold()[1:])") !=
              NULL);
    GCM_CHECK(strstr(out, "break the cycles") == NULL);
    free(out);
    fixture_release(&f);

    /* Under the young minimum of collections: no step, whatever the share. */
    fixture_init(&f, 4096, MS(50));
    add_many(&f, 10.0, 99, 0, MS(5), 800, 50.0);
    fixture_finish(&f, 10000.0, "3.12.1", 0);
    fl = flags_of(&f);
    GCM_CHECK(!fl.young);
    fixture_release(&f);
}

/* More full collections than generation 1 ones: most were gc.collect() calls. */
static void test_explicit_full_collections(void)
{
    gcm__advice_flags fl;
    fixture f;
    char *out;

    fixture_init(&f, 1024, MS(50));
    add_many(&f, 10.0, 11, 1, MS(1), 0, 100.0);
    add_many(&f, 20.0, 300, 2, MS(3), 0, 4.0);
    fixture_finish(&f, 1300.0, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 700;
    /* As a capture of layout version 1 reads: no recorded causes, so the
     * count is all the advice has. */
    f.snap.causes_known = 0;
    memset(f.snap.cause, 0, sizeof f.snap.cause);
    fl = flags_of(&f);
    GCM_CHECK(fl.explicit_full);
    GCM_CHECK_EQ_U64(fl.explicit_min, 288);
    /* Freeing nothing, but the program's own choice: neither freeze nor overhead. */
    GCM_CHECK(!fl.freeze && !fl.wasted[2] && !fl.young);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "MEDIUM: At least 288 of 300 full collections were the program's own"
                          " gc.collect() calls (after the first, an automatic one needs a"
                          " generation 1 collection before it, and there were 11); full"
                          " collections took 900.0ms,") != NULL);
    GCM_CHECK(strstr(out, "set_threshold") == NULL);
    GCM_CHECK(strstr(out, "No rule found") == NULL);
    free(out);

    /* With recorded causes the figure is exact, and said once, as a note. */
    f.snap.causes_known = 1;
    f.snap.cause[GCM_CAUSE_AUTOMATIC].count = 11;
    f.snap.cause[GCM_CAUSE_AUTOMATIC].total_ns = 11 * MS(1);
    f.snap.cause[GCM_CAUSE_AUTOMATIC].max_ns = MS(1);
    f.snap.cause[GCM_CAUSE_AUTOMATIC].gen_count[1] = 11;
    f.snap.cause[GCM_CAUSE_EXPLICIT].count = 300;
    f.snap.cause[GCM_CAUSE_EXPLICIT].total_ns = 300 * MS(3);
    f.snap.cause[GCM_CAUSE_EXPLICIT].max_ns = MS(3);
    f.snap.cause[GCM_CAUSE_EXPLICIT].gen_count[2] = 300;
    fl = flags_of(&f);
    GCM_CHECK(fl.explicit_full);
    GCM_CHECK_EQ_U64(fl.explicit_min, 300);
    GCM_CHECK(!fl.freeze && !fl.wasted[2] && !fl.young);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "NOTE: 300 explicit gc.collect() calls took 900.0ms,") != NULL);
    GCM_CHECK(strstr(out, "At least") == NULL);
    GCM_CHECK(strstr(out, "set_threshold") == NULL);
    free(out);
    fixture_release(&f);

    /* As many generation 1 collections as full ones: no claim. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 10.0, 300, 1, MS(1), 0, 4.0);
    add_many(&f, 20.0, 300, 2, MS(3), 0, 4.0);
    fixture_finish(&f, 1300.0, "3.12.1", 0);
    fl = flags_of(&f);
    GCM_CHECK(!fl.explicit_full && fl.explicit_min == 0);
    fixture_release(&f);
}

static void test_pause_budget(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 1024, MS(50));
    add_many(&f, 100.0, 50, 0, MS(0.05), 10, 100.0);
    add_many(&f, 200.0, 19, 2, MS(865.7), 5000, 600.0);
    fixture_finish(&f, 13000.0, "3.12.1", 0);
    out = advice_text(&f);
    /* The ratio, not "at least 80% of": 865.7 / 50 = 17.3. */
    GCM_CHECK(strstr(out, "HIGH: Generation 2 p99 pause 865.7ms is 17.3 times the 50.0ms pause"
                          " budget (19 of 19 pauses at or over it).") != NULL);
    GCM_CHECK_EQ_U64(count_prefixed(out, "HIGH: Generation 0"), 0);
    free(out);
    fixture_release(&f);
}

static void test_uncollectable(void)
{
    fixture f;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 2, MS(1), 5, 3);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    expect(&f, "MEDIUM: 3 objects were uncollectable", 1);
}

static void test_generations_mislead(void)
{
    static const char *const versions[] = {"3.14.0", "3.14.4", "3.14.0rc1"};
    gcm__advice_flags fl;
    fixture f;
    size_t i;
    char *out;

    for (i = 0; i <= sizeof versions / sizeof versions[0]; i++) {
        int ft = i == sizeof versions / sizeof versions[0];
        fixture_init(&f, 1024, MS(50));
        add_server(&f);
        fixture_finish(&f, 9000.0, ft ? "3.13.0" : versions[i], ft);
        fl = flags_of(&f);
        GCM_CHECK(!fl.freeze && !fl.wasted[2] && !fl.young);
        out = advice_text(&f);
        GCM_CHECK_EQ_U64(count_prefixed(out, "NOTE: "), 1);
        GCM_CHECK(strstr(out, ft ? "NOTE: free-threaded CPython has a single generation"
                                 : "NOTE: CPython 3.14.0 to 3.14.4 collect incrementally") != NULL);
        GCM_CHECK(strstr(out, "Generation 2") == NULL);
        GCM_CHECK(strstr(out, "HIGH: The p99 pause 40.0ms") == NULL);
        free(out);
        fixture_release(&f);
    }
}

static void test_dump_garbage_note(void)
{
    fixture f;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    f.config.dump_garbage = 1;
    expect(&f,
           "NOTE: --dump-garbage was on: DEBUG_SAVEALL keeps every collected object alive,"
           " so the pauses above are not representative.",
           1);
}

/* Every advice line starts with its severity; the JSON objects agree, and the
 * verdict object carries its KPIs. */
static void test_every_line_and_json(void)
{
    fixture f;
    gcm_summary sum;
    memsink m;
    gcm_sink s;
    char *out, *line, *save = NULL;
    size_t advice_lines = 0, objects = 0;
    cJSON *obj;

    fixture_init(&f, 4096, MS(50));
    add_many(&f, 10.0, 2000, 0, MS(0.4), 800, 5.0);
    add_many(&f, 20.0, 19, 2, MS(70), 0, 520.0);
    fixture_add(&f, 9999.0, 1, MS(2), 10, 5);
    fixture_finish(&f, 10000.0, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 2000;
    f.in.gc_threshold[1] = 10;
    f.in.gc_threshold[2] = 0;
    out = advice_text(&f);
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "===", 3) == 0 || strncmp(line, "    ", 4) == 0)
            continue;
        GCM_CHECK(strncmp(line, "MEDIUM: ", 8) == 0 || strncmp(line, "HIGH: ", 6) == 0 ||
                  strncmp(line, "NOTE: ", 6) == 0);
        advice_lines++;
    }
    free(out);
    GCM_CHECK(advice_lines >= 3);

    GCM_CHECK_EQ_INT(gcm_summarize(&f.snap, &sum), 0);
    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm__render_advice_jsonl(&f.in, &sum, &s), 0);
    GCM_CHECK(strstr(m.buf, "gc.set_threshold(8000, 10, 0)\"") != NULL);
    save = NULL;
    for (line = strtok_r(m.buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        const cJSON *sev, *val, *lim;
        obj = cJSON_Parse(line);
        GCM_CHECK(obj != NULL);
        GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "type")->valuestring, "advice");
        sev = cJSON_GetObjectItemCaseSensitive(obj, "severity");
        GCM_CHECK(cJSON_IsString(sev));
        val = cJSON_GetObjectItemCaseSensitive(obj, "value");
        lim = cJSON_GetObjectItemCaseSensitive(obj, "limit");
        GCM_CHECK(cJSON_IsNumber(val) && cJSON_IsNumber(lim));
        if (strcmp(sev->valuestring, "NOTE") != 0)
            GCM_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "code")) ||
                      strcmp(cJSON_GetObjectItemCaseSensitive(obj, "rule")->valuestring,
                             "pause_budget") == 0);
        cJSON_Delete(obj);
        objects++;
    }
    GCM_CHECK_EQ_U64(objects, advice_lines);
    free(m.buf);

    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm__render_verdict_jsonl(&f.in, &sum, &s), 0);
    obj = cJSON_Parse(m.buf);
    GCM_CHECK(obj != NULL);
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "verdict")->valuestring,
                    "HURTING LATENCY");
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "level")->valuestring, "hurting");
    GCM_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, "enough_data")));
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(obj, "count")->valuedouble == 2020.0);
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(obj, "slo_ms")->valuedouble == 50.0);
    GCM_CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, "window")));
    /* The fixture records causes: none of its collections was explicit. */
    GCM_CHECK(cJSON_GetObjectItemCaseSensitive(obj, "explicit")->valuedouble == 0.0);
    GCM_CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(obj, "explicit_ms")));
    GCM_CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(obj, "limits")));
    cJSON_Delete(obj);
    free(m.buf);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_quiet_run_is_fine_without_advice);
    GCM_RUN(test_short_run_is_not_enough_data);
    GCM_RUN(test_verdict_levels);
    GCM_RUN(test_freeze_needs_its_evidence);
    GCM_RUN(test_growing_heap_is_wasted_not_frozen);
    GCM_RUN(test_young_step_is_bounded);
    GCM_RUN(test_explicit_full_collections);
    GCM_RUN(test_pause_budget);
    GCM_RUN(test_uncollectable);
    GCM_RUN(test_generations_mislead);
    GCM_RUN(test_dump_garbage_note);
    GCM_RUN(test_every_line_and_json);
    return 0;
}
