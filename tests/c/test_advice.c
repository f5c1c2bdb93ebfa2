/* test_advice.c: every recommendation rule, firing and silent, on crafted runs.
 *
 * Each case fabricates a recording that sits just over a rule's limit and
 * one that sits on or just under it, renders the advice section, and checks
 * for that rule's line (by its severity and opening words) and only where it
 * belongs.  The limits are the ones docs/recommendations.md documents.
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

static gcm__advice_flags flags_of(fixture *f)
{
    gcm_summary sum;
    gcm__advice_flags flags;

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    gcm__advice_derive(&f->in, &sum, &flags);
    return flags;
}

/* `count` generation-`gen` collections of `ns` each, `gap_ms` apart from `at_ms`. */
static double add_many(fixture *f, double at_ms, size_t count, uint32_t gen, uint64_t ns,
                       double gap_ms)
{
    size_t i;

    for (i = 0; i < count; i++) {
        fixture_add(f, at_ms, gen, ns, 10, 0);
        at_ms += gap_ms;
    }
    return at_ms;
}

/* A quiet background: 20 quick generation 0 collections a second apart. */
static double quiet(fixture *f)
{
    return add_many(f, 100.0, 20, 0, MS(0.1), 1000.0);
}

static size_t lines_with(const char *text, const char *prefix)
{
    return count_prefixed(text, prefix);
}

static void expect(fixture *f, const char *prefix, size_t n)
{
    char *out = advice_text(f);
    if (lines_with(out, prefix) != n) {
        fprintf(stderr, "expected %zu line(s) starting '%s' in:\n%s\n", n, prefix, out);
        exit(1);
    }
    /* No heading without advice, and a heading with it. */
    GCM_CHECK((out[0] == '\0') == (count_prefixed(out, "=== GC THRESHOLD") == 0));
    free(out);
    fixture_release(f);
}

static void test_quiet_run_has_no_section(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    out = advice_text(&f);
    GCM_CHECK_STREQ(out, "");
    free(out);
    fixture_release(&f);
}

static void test_gen2_mean(void)
{
    fixture f;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 2, MS(10) + 1, 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).gen2_mean);
    expect(&f, "HIGH: Generation 2 average pause 10.0ms is over 10ms", 1);

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 2, MS(10), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).gen2_mean);
    expect(&f, "HIGH: Generation 2 average", 0);
}

static void test_gen2_share(void)
{
    fixture f;

    /* 3 of 23 is 13.0%: fires, with the freeze snippet under it. */
    fixture_init(&f, 64, MS(50));
    quiet(&f);
    add_many(&f, 30000.0, 2, 2, MS(1), 1000.0);
    fixture_add(&f, 40000.0, 2, MS(1), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).gen2_share);
    expect(&f, "MEDIUM: Generation 2 is 13.0% of collections (3 of 23), over 10%.", 1);

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 40000.0, 2, MS(1), 10, 0);
    fixture_add(&f, 41000.0, 2, MS(1), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    /* 2 of 22 is 9.1%. */
    GCM_CHECK(!flags_of(&f).gen2_share);
    expect(&f, "MEDIUM: Generation 2 is", 0);

    /* Exactly 10% is not over 10%. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 100.0, 9, 0, MS(0.1), 1000.0);
    fixture_add(&f, 40000.0, 2, MS(1), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).gen2_share);
    expect(&f, "MEDIUM: Generation 2 is", 0);
}

static void test_gen2_share_snippet(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_many(&f, 100.0, 4, 0, MS(0.1), 1000.0);
    fixture_add(&f, 40000.0, 2, MS(1), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "Try: gc.freeze() after start-up:\n    import gc\n") != NULL);
    GCM_CHECK(strstr(out, "\n    gc.collect(2)") != NULL);
    GCM_CHECK(strstr(out, "\n    gc.freeze()") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_p95_near_threshold(void)
{
    fixture f;

    /* Every generation 1 pause is 40 ms: p95 is 40 ms, 80% of 50 ms. */
    fixture_init(&f, 64, MS(50));
    quiet(&f);
    add_many(&f, 30000.0, 5, 1, MS(40), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).p95_near[1]);
    GCM_CHECK(!flags_of(&f).p95_near[0]);
    expect(&f,
           "MEDIUM: Generation 1 p95 pause 40.0ms is at least 80% of the 50.0ms alert threshold.",
           1);

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    add_many(&f, 30000.0, 5, 1, MS(39.9), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).p95_near[1]);
    expect(&f, "MEDIUM: Generation 1 p95", 0);
}

static void test_pauses_over_threshold(void)
{
    fixture f;

    /* 2 of 5 generation 1 pauses reach the threshold: 40%. */
    fixture_init(&f, 64, MS(50));
    quiet(&f);
    add_many(&f, 30000.0, 3, 1, MS(1), 1000.0);
    add_many(&f, 40000.0, 2, 1, MS(50), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).over_share[1]);
    expect(
        &f,
        "HIGH: 40.0% of generation 1 pauses (2 of 5) reached the 50.0ms alert threshold, over 20%.",
        1);

    /* 1 of 5 is 20%: not over. */
    fixture_init(&f, 64, MS(50));
    quiet(&f);
    add_many(&f, 30000.0, 4, 1, MS(1), 1000.0);
    fixture_add(&f, 40000.0, 1, MS(50), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).over_share[1]);
    expect(&f, "HIGH: 20.0% of generation 1", 0);
}

static void test_max_pause(void)
{
    fixture f;

    /* A pause equal to the threshold reaches it, as the alert lines say. */
    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 0, MS(50), 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).max_pause);
    expect(&f, "HIGH: Maximum pause 50.0ms reached the 50.0ms alert threshold (1 pause).", 1);

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 0, MS(50) - 1, 10, 0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).max_pause);
    expect(&f, "HIGH: Maximum pause", 0);

    /* A zero threshold alerts on everything by request: no threshold advice. */
    fixture_init(&f, 64, 0);
    quiet(&f);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).max_pause);
    expect(&f, "HIGH: Maximum pause", 0);
}

static void test_gc_share(void)
{
    fixture f;

    /* 21 ms of GC in 1 s: 2.1%, a warning. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 3, 0, MS(7), 300.0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(flags_of(&f).gc_share, 1);
    expect(&f, "MEDIUM: GC took 2.10% of wall time (21.0ms of 1.00s), over 2%.", 1);

    /* 60 ms in 1 s: 6%, critical. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 3, 0, MS(20), 300.0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(flags_of(&f).gc_share, 2);
    expect(&f,
           "CRITICAL: GC took 6.00% of wall time (60.0ms of 1.00s), over 5%: major optimization "
           "needed.",
           1);

    /* Exactly 2% is not over 2%. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 2, 0, MS(10), 300.0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(flags_of(&f).gc_share, 0);
    expect(&f, "MEDIUM: GC took", 0);
}

static void test_uncollectable(void)
{
    fixture f;

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_add(&f, 30000.0, 2, MS(1), 10, 1);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(flags_of(&f).uncollectable);
    expect(&f, "MEDIUM: 1 object was uncollectable: a reference cycle that cannot be freed.", 1);

    fixture_init(&f, 64, MS(50));
    quiet(&f);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).uncollectable);
    expect(&f, "MEDIUM: 1 object was", 0);
}

static void test_gen0_rate(void)
{
    fixture f;
    char *out;

    /* 801 collections in 60 s, 74.9 ms apart (no bursts). */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 0.0, 801, 0, MS(0.05), 60000.0 / 801.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 700;
    f.in.gc_threshold[1] = 10;
    f.in.gc_threshold[2] = 10;
    GCM_CHECK(flags_of(&f).gen0_rate);
    /* ceil(801 / 400) = 3 times 700. */
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "MEDIUM: Generation 0 ran 801 times a minute, over 800. "
                          "Try: gc.set_threshold(2100, 10, 10)\n") != NULL);
    GCM_CHECK(strstr(out, "bursts") == NULL);
    free(out);
    /* Without the thresholds, the code computes from the live ones. */
    f.in.have_gc_state = 0;
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "Try: gc.set_threshold(gc.get_threshold()[0] * 3, "
                          "*gc.get_threshold()[1:])\n") != NULL);
    free(out);
    fixture_release(&f);

    /* A damaged capture (any rate, any threshold) saturates, never wraps. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 2, 0, 1, 0.000001);
    fixture_finish(&f, 0.00001, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = INT64_MAX;
    GCM_CHECK(flags_of(&f).gen0_rate);
    out = advice_text(&f);
    GCM_CHECK(strstr(out, "Try: gc.set_threshold(18446744073709551600, 0, 0)\n") != NULL);
    free(out);
    fixture_release(&f);

    /* 800 a minute is not over 800. */
    fixture_init(&f, 1024, MS(50));
    add_many(&f, 0.0, 800, 0, MS(0.05), 60000.0 / 800.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).gen0_rate);
    expect(&f, "MEDIUM: Generation 0 ran", 0);
}

static void test_bursts(void)
{
    fixture f;

    /* 11 collections, 4 of the 10 gaps under 50 ms: 40%. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 5, 0, MS(0.1), 10.0);
    add_many(&f, 1000.0, 6, 0, MS(0.1), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK_EQ_U64(f.snap.bursts, 4);
    GCM_CHECK(flags_of(&f).bursts);
    expect(&f, "MEDIUM: 40.0% of the gaps between collections (4 of 10) were under 50ms, over 30%",
           1);

    /* 3 of 10 is 30%: not over. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 0.0, 4, 0, MS(0.1), 10.0);
    add_many(&f, 1000.0, 7, 0, MS(0.1), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK_EQ_U64(f.snap.bursts, 3);
    GCM_CHECK(!flags_of(&f).bursts);
    expect(&f, "MEDIUM: 30.0% of the gaps", 0);
}

/* `count` collections of generation `gen` as CPython 3.15 reports them, each
 * freeing `collected` of the `candidates` it examined, a second apart. */
static void add_examined(fixture *f, double at_ms, size_t count, uint32_t gen, uint64_t collected,
                         uint64_t candidates)
{
    gcm_event ev;
    size_t i;

    for (i = 0; i < count; i++) {
        memset(&ev, 0, sizeof ev);
        ev.start_ns =
            (uint64_t)FIX_INIT_MONOTONIC_NS + (uint64_t)((at_ms + 1000.0 * (double)i) * 1e6);
        ev.duration_ns = MS(0.1);
        ev.generation = gen;
        ev.collected = collected;
        ev.candidates = candidates;
        ev.flags = GCM_EVENT_HAS_CANDIDATES | GCM_EVENT_NATIVE_DURATION;
        GCM_CHECK_EQ_INT(gcm_block_record(f->block, &ev), 0);
    }
}

static void test_low_efficiency(void)
{
    fixture f;

    /* Five full collections freeing 9 of 1,000 each: 0.90%, under 1%. */
    fixture_init(&f, 64, MS(50));
    add_examined(&f, 100.0, 5, 2, 9, 1000);
    fixture_finish(&f, 60000.0, "3.15.2", 0);
    GCM_CHECK(flags_of(&f).low_efficiency[2]);
    GCM_CHECK(!flags_of(&f).low_efficiency[0]);
    expect(&f,
           "MEDIUM: Generation 2 collections freed 0.90% of the objects they examined (45 of"
           " 5000), under 1%: nearly everything they walk survives. Try: gc.freeze()",
           1);

    /* Young collections: the threshold advice instead. */
    fixture_init(&f, 64, MS(50));
    add_examined(&f, 100.0, 6, 0, 0, 700);
    fixture_finish(&f, 60000.0, "3.15.2", 0);
    expect(&f,
           "MEDIUM: Generation 0 collections freed 0.00% of the objects they examined (0 of"
           " 4200), under 1%: nearly everything they walk survives. Try: a higher"
           " gc.set_threshold() first value",
           1);

    /* Exactly 1% is not under it. */
    fixture_init(&f, 64, MS(50));
    add_examined(&f, 100.0, 5, 2, 10, 1000);
    fixture_finish(&f, 60000.0, "3.15.2", 0);
    GCM_CHECK(!flags_of(&f).low_efficiency[2]);
    expect(&f, "MEDIUM: Generation 2 collections freed", 0);

    /* Four collections are too few to say how the program's usually go. */
    fixture_init(&f, 64, MS(50));
    add_examined(&f, 100.0, 4, 2, 0, 1000);
    fixture_finish(&f, 60000.0, "3.15.2", 0);
    expect(&f, "MEDIUM: Generation 2 collections freed", 0);

    /* Before 3.15 no candidates are counted: never fires, whatever was freed. */
    fixture_init(&f, 64, MS(50));
    add_many(&f, 100.0, 10, 2, MS(0.1), 1000.0);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    GCM_CHECK(!flags_of(&f).low_efficiency[2]);
    expect(&f, "MEDIUM: Generation 2 collections freed", 0);

    /* Nor where generations mean nothing (a free-threaded build). */
    fixture_init(&f, 64, MS(50));
    add_examined(&f, 100.0, 5, 0, 0, 1000);
    fixture_finish(&f, 60000.0, "3.15.2", 1);
    GCM_CHECK(!flags_of(&f).low_efficiency[0]);
    fixture_release(&f);
}

/* A run that fires every per-generation rule on a build where they apply. */
static void add_generation_heavy(fixture *f)
{
    add_many(f, 0.0, 900, 0, MS(45), 60000.0 / 900.0);
    add_many(f, 60000.0, 50, 2, MS(60), 10.0);
}

static void test_generations_mislead(void)
{
    static const char *const versions[] = {"3.14.0", "3.14.4", "3.14.0rc1"};
    gcm__advice_flags fl;
    fixture f;
    size_t i;
    char *out;

    /* Where generations mean something, the rules fire. */
    fixture_init(&f, 1024, MS(50));
    add_generation_heavy(&f);
    fixture_finish(&f, 60000.0, "3.14.5", 0);
    fl = flags_of(&f);
    GCM_CHECK(fl.gen2_mean && fl.p95_near[0] && fl.over_share[2] && fl.gen0_rate);
    GCM_CHECK(!fl.gen2_share);
    expect(&f, "NOTE:", 0);

    /* Free-threaded and 3.14.0 to 3.14.4: one NOTE instead of them, the others stay. */
    for (i = 0; i <= sizeof versions / sizeof versions[0]; i++) {
        int ft = i == sizeof versions / sizeof versions[0];
        fixture_init(&f, 1024, MS(50));
        add_generation_heavy(&f);
        fixture_finish(&f, 60000.0, ft ? "3.13.0" : versions[i], ft);
        fl = flags_of(&f);
        GCM_CHECK(!fl.gen2_mean && !fl.gen2_share && !fl.gen0_rate);
        GCM_CHECK(!fl.p95_near[0] && !fl.p95_near[2] && !fl.over_share[0] && !fl.over_share[2]);
        GCM_CHECK(fl.max_pause && fl.gc_share == 2);
        out = advice_text(&f);
        GCM_CHECK_EQ_U64(count_prefixed(out, "NOTE: "), 1);
        GCM_CHECK(strstr(out, ft ? "NOTE: free-threaded CPython has a single generation"
                                 : "NOTE: CPython 3.14.0 to 3.14.4 report incremental") != NULL);
        GCM_CHECK(strstr(out, "Generation 2") == NULL);
        GCM_CHECK(strstr(out, "Generation 0 ran") == NULL);
        GCM_CHECK_EQ_U64(count_prefixed(out, "HIGH: Maximum pause"), 1);
        GCM_CHECK_EQ_U64(count_prefixed(out, "CRITICAL: GC took"), 1);
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

/* Every advice line starts with its severity; the JSON objects agree. */
static void test_every_line_and_json(void)
{
    fixture f;
    gcm_summary sum;
    memsink m;
    gcm_sink s;
    char *out, *line, *save = NULL;
    size_t advice_lines = 0, objects = 0;

    fixture_init(&f, 1024, MS(50));
    add_generation_heavy(&f);
    fixture_add(&f, 61000.0, 1, MS(2), 10, 5);
    fixture_finish(&f, 60000.0, "3.12.1", 0);
    f.in.have_gc_state = 1;
    f.in.gc_threshold[0] = 2000;
    f.in.gc_threshold[1] = 10;
    f.in.gc_threshold[2] = 0;
    out = advice_text(&f);
    for (line = strtok_r(out, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "===", 3) == 0 || strncmp(line, "    ", 4) == 0)
            continue;
        GCM_CHECK(strncmp(line, "MEDIUM: ", 8) == 0 || strncmp(line, "HIGH: ", 6) == 0 ||
                  strncmp(line, "CRITICAL: ", 10) == 0);
        GCM_CHECK(strstr(line, " Try: ") != NULL);
        advice_lines++;
    }
    free(out);
    GCM_CHECK(advice_lines >= 6);

    GCM_CHECK_EQ_INT(gcm_summarize(&f.snap, &sum), 0);
    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm__render_advice_jsonl(&f.in, &sum, &s), 0);
    /* ceil(900 / 400) = 3 times the 2000 of gc.get_threshold(). */
    GCM_CHECK(strstr(m.buf, "\"code\":\"gc.set_threshold(6000, 10, 0)\"") != NULL);
    save = NULL;
    for (line = strtok_r(m.buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        cJSON *obj = cJSON_Parse(line);
        const cJSON *sev, *val, *lim;
        GCM_CHECK(obj != NULL);
        GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "type")->valuestring, "advice");
        sev = cJSON_GetObjectItemCaseSensitive(obj, "severity");
        GCM_CHECK(cJSON_IsString(sev));
        val = cJSON_GetObjectItemCaseSensitive(obj, "value");
        lim = cJSON_GetObjectItemCaseSensitive(obj, "limit");
        GCM_CHECK(cJSON_IsNumber(val) && cJSON_IsNumber(lim));
        /* The figure is over (or, for p95 and pauses at the threshold, at) its limit. */
        GCM_CHECK(val->valuedouble >= lim->valuedouble);
        GCM_CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(obj, "code")));
        cJSON_Delete(obj);
        objects++;
    }
    GCM_CHECK_EQ_U64(objects, advice_lines);
    free(m.buf);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_quiet_run_has_no_section);
    GCM_RUN(test_gen2_mean);
    GCM_RUN(test_gen2_share);
    GCM_RUN(test_gen2_share_snippet);
    GCM_RUN(test_p95_near_threshold);
    GCM_RUN(test_pauses_over_threshold);
    GCM_RUN(test_max_pause);
    GCM_RUN(test_gc_share);
    GCM_RUN(test_uncollectable);
    GCM_RUN(test_gen0_rate);
    GCM_RUN(test_bursts);
    GCM_RUN(test_low_efficiency);
    GCM_RUN(test_generations_mislead);
    GCM_RUN(test_dump_garbage_note);
    GCM_RUN(test_every_line_and_json);
    return 0;
}
