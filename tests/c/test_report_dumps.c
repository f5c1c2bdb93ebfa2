/* test_report_dumps.c: the --dump-objects and --dump-garbage tables and the
 * --prompt text, from fabricated censuses, against goldens.
 *
 * Besides the bytes: the tables rank by count and keep only the top 20, the
 * garbage is never called uncollectable, outside text (type names, repr()s)
 * cannot break a line, and a --json report with all of them parses line by
 * line with the summary last.
 */
#include <cjson/cJSON.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* 25 types with distinct counts, in scrambled order, plus a tie. */
static gcm_type_count object_types[26];
static char type_names[26][32];

static void make_census(gcm_object_census *c)
{
    size_t i;
    uint64_t total = 0;

    for (i = 0; i < 25; i++) {
        /* Counts 1000, 7000, 13000, ... assigned out of order. */
        size_t rank = (i * 7) % 25;
        snprintf(type_names[i], sizeof type_names[i], "type_%02zu", rank);
        object_types[i].name = type_names[i];
        object_types[i].count = 1000u + 6000u * (uint64_t)(24 - rank);
        total += object_types[i].count;
    }
    /* Same count as type_03; ranked by name after it. */
    snprintf(type_names[25], sizeof type_names[25], "zz_tie");
    object_types[25].name = type_names[25];
    object_types[25].count = 1000u + 6000u * 21u;
    total += object_types[25].count;
    c->gathered = 1;
    c->types = object_types;
    c->type_count = 26;
    c->total = total;
}

static const gcm_type_count garbage_types[] = {
    {"list", 3},
    {"dict", 5},
    {"Node", 2},
};

static const gcm_garbage_repr garbage_reprs[] = {
    {"dict", "{'a': 1, 'b': [1, 2, 3]}"},
    {"list", "[<Node object at 0x7f0000001000>, 'line\nbreak', '\x1b[31mred']"},
    {"Node", "<repr() failed: ValueError>"},
};

static void setup(fixture *f)
{
    fixture_init(f, 64, MS(50));
    fixture_add(f, 100.0, 0, MS(0.2), 100, 0);
    fixture_add(f, 900.0, 2, MS(62.5), 9000, 2);
    fixture_add(f, 1500.0, 0, MS(0.3), 120, 0);
    fixture_finish(f, 2000.0, "3.12.1", 0);
    f->in.python_build = "3.12.1 (main, Jan  1 2026, 00:00:00) [GCC 12.2.0]";
    f->in.have_gc_state = 1;
    f->in.gc_threshold[0] = 700;
    f->in.gc_threshold[1] = 10;
    f->in.gc_threshold[2] = 10;
    f->in.have_freeze_count = 1;
    f->in.freeze_count = 1234;
    make_census(&f->in.objects);
    f->in.garbage.gathered = 1;
    f->in.garbage.types = garbage_types;
    f->in.garbage.type_count = 3;
    f->in.garbage.total = 10;
    f->in.garbage_reprs = garbage_reprs;
    f->in.garbage_repr_count = 3;
}

static char *render_with(fixture *f, int (*fn)(const gcm_report_input *, const gcm_sink *))
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(fn(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

static void test_objects_table(void)
{
    fixture f;
    char *out;

    setup(&f);
    f.config.dump_objects = 1;
    out = render_with(&f, gcm__render_objects);
    check_golden("objects.txt", out, strlen(out));
    /* The 20 most common, most first; type_20 .. type_24 are left out. */
    GCM_CHECK(strstr(out, "of 26 types; the 20 most common:\n") != NULL);
    GCM_CHECK(strstr(out, "      145000  type_00\n") != NULL);
    GCM_CHECK(strstr(out, "  type_03\n") < strstr(out, "  zz_tie\n"));
    GCM_CHECK(strstr(out, "type_20") == NULL);
    GCM_CHECK_EQ_U64(count_prefixed(out, "       count  type\n"), 1);
    GCM_CHECK_EQ_U64(count_prefixed(out, "      "), 1 + 20);
    free(out);
    fixture_release(&f);
}

static void test_objects_not_gathered(void)
{
    fixture f;
    char *out;

    setup(&f);
    memset(&f.in.objects, 0, sizeof f.in.objects);
    out = render_with(&f, gcm__render_objects);
    GCM_CHECK(strstr(out, "Not gathered: the report was written before") != NULL);
    free(out);
    /* A fork child of a free-threaded build says why it skipped the census. */
    f.in.world_unsafe = 1;
    out = render_with(&f, gcm__render_objects);
    GCM_CHECK(strstr(out, "Not gathered: gc.get_objects() stops the world, which a fork child"
                          " of a free-threaded build cannot do safely.") != NULL);
    free(out);
    f.config.json = 1;
    out = render_with(&f, gcm__render_objects);
    GCM_CHECK_STREQ(out, "{\"type\":\"objects\",\"gathered\":false}\n");
    free(out);
    fixture_release(&f);
}

static void test_garbage_table(void)
{
    fixture f;
    char *out;

    setup(&f);
    f.config.dump_garbage = 1;
    out = render_with(&f, gcm__render_garbage);
    check_golden("garbage.txt", out, strlen(out));
    GCM_CHECK(strstr(out, "kept alive by DEBUG_SAVEALL") != NULL);
    GCM_CHECK(strstr(out, "not representative") != NULL);
    GCM_CHECK(strstr(out, "uncollectable objects") == NULL ||
              strstr(out, "not uncollectable objects") != NULL);
    /* Outside text stays on its line: newline and escape are shown, not sent. */
    GCM_CHECK(strstr(out, "'line\\nbreak', '\\x1b[31mred'") != NULL);
    GCM_CHECK(strchr(out, '\033') == NULL);
    free(out);
    fixture_release(&f);
}

static void test_garbage_json(void)
{
    fixture f;
    cJSON *obj, *reprs;
    char *out;

    setup(&f);
    f.config.dump_garbage = 1;
    f.config.json = 1;
    out = render_with(&f, gcm__render_garbage);
    check_golden("garbage.jsonl", out, strlen(out));
    obj = cJSON_Parse(out);
    GCM_CHECK(obj != NULL);
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "kept_alive_by")->valuestring,
                    "DEBUG_SAVEALL");
    GCM_CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(obj, "pauses_representative")));
    reprs = cJSON_GetObjectItemCaseSensitive(obj, "reprs");
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(reprs), 3);
    GCM_CHECK_STREQ(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(reprs, 1), "repr")->valuestring,
        garbage_reprs[1].text);
    /* The most common garbage type first. */
    GCM_CHECK_STREQ(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(obj, "types"), 0), "name")
            ->valuestring,
        "dict");
    cJSON_Delete(obj);
    free(out);
    fixture_release(&f);
}

static char *prompt(fixture *f)
{
    gcm_summary sum;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm_summarize(&f->snap, &sum), 0);
    GCM_CHECK_EQ_INT(gcm__render_prompt(&f->in, &sum, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

static void test_prompt_text(void)
{
    fixture f;
    char *out;

    setup(&f);
    f.config.prompt = 1;
    f.config.dump_objects = 1;
    out = prompt(&f);
    check_golden("prompt.txt", out, strlen(out));
    /* Environment, figures, advice, object table and a question. */
    GCM_CHECK(strstr(out, "- Python: 3.12.1 (main, Jan  1 2026, 00:00:00) [GCC 12.2.0]; default"
                          " build") != NULL);
    GCM_CHECK(strstr(out, "gc.get_threshold() == (700, 10, 10)") != NULL);
    GCM_CHECK(strstr(out, "gc.get_freeze_count()): 1234") != NULL);
    GCM_CHECK(strstr(out, "- collections: 3 in 2.00s of wall time") != NULL);
    GCM_CHECK(strstr(out, "\nGC verdict: NOT ENOUGH DATA (3 collections in 2.00s") != NULL);
    GCM_CHECK(strstr(out, "\nNOTE: 3 collections in 2.00s of wall time is under the evidence") !=
              NULL);
    GCM_CHECK(strstr(out, "  type_00\n") != NULL);
    GCM_CHECK(strstr(out, "\nQuestion: ") != NULL);
    GCM_CHECK(strncmp(out, "=== AI OPTIMIZATION PROMPT", 26) == 0);
    GCM_CHECK(strstr(out, "\n=== END OF PROMPT ===\n") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_prompt_without_facts(void)
{
    fixture f;
    char *out;

    setup(&f);
    f.in.python_build = NULL;
    f.in.have_gc_state = 0;
    f.config.prompt = 1;
    out = prompt(&f);
    GCM_CHECK(strstr(out, "- Python: 3.12.1; default build") != NULL);
    /* A capture: the freeze count its writer's exit report kept, no thresholds. */
    GCM_CHECK(strstr(out, "- GC thresholds: unknown; frozen objects at exit"
                          " (gc.get_freeze_count()): 1234\n") != NULL);
    free(out);
    f.in.have_freeze_count = 0;
    out = prompt(&f);
    GCM_CHECK(strstr(out, "GC thresholds and freeze count: unknown") != NULL);
    free(out);
    /* Thresholds known, freeze count skipped (a free-threaded fork child). */
    f.in.have_gc_state = 1;
    out = prompt(&f);
    GCM_CHECK(strstr(out, "gc.get_threshold() == (700, 10, 10); frozen objects"
                          " (gc.get_freeze_count()): unknown") != NULL);
    /* Without --dump-objects, no table. */
    GCM_CHECK(strstr(out, "type_00") == NULL);
    free(out);
    f.in.free_threaded = 1;
    out = prompt(&f);
    GCM_CHECK(strstr(out, "free-threaded build (no GIL)") != NULL);
    GCM_CHECK(strstr(out, "single generation") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_prompt_json_is_the_text(void)
{
    fixture f;
    cJSON *obj;
    char *text, *json, *body;
    size_t len;

    setup(&f);
    f.config.prompt = 1;
    f.config.dump_objects = 1;
    text = prompt(&f);
    f.config.json = 1;
    json = prompt(&f);
    check_golden("prompt.jsonl", json, strlen(json));
    GCM_CHECK_EQ_U64(count_prefixed(json, "{"), 1);
    obj = cJSON_Parse(json);
    GCM_CHECK(obj != NULL);
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "type")->valuestring, "prompt");
    /* The object's text is the text report's body, between its markers. */
    body = strchr(text, '\n') + 1;
    len = strlen(body) - strlen("=== END OF PROMPT ===\n");
    body[len] = '\0';
    GCM_CHECK_STREQ(cJSON_GetObjectItemCaseSensitive(obj, "text")->valuestring, body);
    cJSON_Delete(obj);
    free(text);
    free(json);
    fixture_release(&f);
}

/* --json --prompt --dump-objects --dump-garbage: every line one object. */
static void test_json_report_parses_line_by_line(void)
{
    static const char *const order[] = {"verdict", "event",   "timeline", "advice",
                                        "objects", "garbage", "prompt",   "summary"};
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);
    char *line, *save = NULL;
    size_t at = 0, lines = 0;

    setup(&f);
    f.config.json = 1;
    f.config.prompt = 1;
    f.config.dump_objects = 1;
    f.config.dump_garbage = 1;
    f.config.terminal_flamegraph = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    for (line = strtok_r(m.buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        cJSON *obj = cJSON_Parse(line);
        const cJSON *type;
        GCM_CHECK(obj != NULL);
        type = cJSON_GetObjectItemCaseSensitive(obj, "type");
        GCM_CHECK(cJSON_IsString(type));
        if (strcmp(type->valuestring, "alert") != 0) {
            /* Types come in the documented order. */
            while (at < sizeof order / sizeof order[0] && strcmp(order[at], type->valuestring) != 0)
                at++;
            GCM_CHECK(at < sizeof order / sizeof order[0]);
        }
        cJSON_Delete(obj);
        lines++;
    }
    GCM_CHECK_STREQ(order[at], "summary");
    GCM_CHECK(lines >= 9);
    free(m.buf);
    fixture_release(&f);
}

/* Every section of the text report, in its documented order. */
static void test_text_report_order(void)
{
    static const char *const order[] = {
        "=== GC MONITORING SUMMARY ===",
        "GC activity over time",
        "=== GC THRESHOLD RECOMMENDATIONS ===",
        " GC time per 5s, by generation ",
        "=== OBJECTS TRACKED BY THE GC AT EXIT ===",
        "=== GC.GARBAGE AT EXIT (kept alive by DEBUG_SAVEALL) ===",
        "=== AI OPTIMIZATION PROMPT",
        "=== END OF PROMPT ===",
    };
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);
    const char *at;
    size_t i;

    setup(&f);
    f.config.prompt = 1;
    f.config.dump_objects = 1;
    f.config.dump_garbage = 1;
    f.config.terminal_flamegraph = 1;
    f.config.terminal_flamegraph_width = 60;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    check_golden("text_all_sections.txt", m.buf, m.len);
    at = m.buf;
    for (i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *next = strstr(at, order[i]);
        if (next == NULL) {
            fprintf(stderr, "'%s' missing or out of order in:\n%s\n", order[i], m.buf);
            exit(1);
        }
        at = next;
    }
    free(m.buf);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_text_report_order);
    GCM_RUN(test_objects_table);
    GCM_RUN(test_objects_not_gathered);
    GCM_RUN(test_garbage_table);
    GCM_RUN(test_garbage_json);
    GCM_RUN(test_prompt_text);
    GCM_RUN(test_prompt_without_facts);
    GCM_RUN(test_prompt_json_is_the_text);
    GCM_RUN(test_json_report_parses_line_by_line);
    return 0;
}
