/* test_speedscope.c: the speedscope profiles, from fabricated recordings.
 *
 * The file is rendered into a memory sink (which checks that every write is
 * whole lines) and parsed back with cJSON: the evented profile opens and
 * closes a generation's frame per collection, balanced and in order, and its
 * durations add up to the aggregates' total exactly, also when a clock put a
 * start before the previous end; a tree's profiles share one clock; with a
 * trigger table, the sampled profile comes first, its stacks outermost frame
 * first and its weights, the "other" row included, adding up to every pause.
 */
#include <cjson/cJSON.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

/* Renders `count` fixtures' inputs and parses the file. */
static cJSON *render(const gcm_report_input *const *ins, size_t count)
{
    memsink m;
    gcm_sink sink = memsink_sink(&m);
    cJSON *doc;

    GCM_CHECK_EQ_INT(gcm__render_speedscope(ins, count, &sink), 0);
    GCM_CHECK(m.buf != NULL);
    doc = cJSON_Parse(m.buf);
    GCM_CHECK(doc != NULL);
    free(m.buf);
    return doc;
}

static double number(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    GCM_CHECK(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const char *string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    GCM_CHECK(cJSON_IsString(item));
    return item->valuestring;
}

/* Checks an evented profile: balanced, ordered events on the generation
 * frames; returns the collections and sets *total_ns to their pauses. */
static size_t check_evented(const cJSON *profile, uint64_t *total_ns)
{
    const cJSON *e;
    double at = number(profile, "startValue"), opened = -1.0;
    size_t collections = 0;

    GCM_CHECK_STREQ(string(profile, "type"), "evented");
    GCM_CHECK_STREQ(string(profile, "unit"), "nanoseconds");
    *total_ns = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(profile, "events"))
    {
        const char *type = string(e, "type");
        double frame = number(e, "frame");

        GCM_CHECK(frame >= 0.0 && frame <= 2.0);
        GCM_CHECK(number(e, "at") >= at);
        at = number(e, "at");
        if (strcmp(type, "O") == 0) {
            GCM_CHECK(opened < 0.0);
            opened = at;
            collections++;
        } else {
            GCM_CHECK_STREQ(type, "C");
            GCM_CHECK(opened >= 0.0);
            *total_ns += (uint64_t)(at - opened);
            opened = -1.0;
        }
    }
    GCM_CHECK(opened < 0.0);
    GCM_CHECK(at <= number(profile, "endValue"));
    return collections;
}

static void test_pauses_by_generation(void)
{
    fixture f;
    const gcm_report_input *in;
    cJSON *doc, *frames, *profiles;
    uint64_t total = 0;

    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 10.0, 0, MS(0.2), 10, 0);
    fixture_add(&f, 20.0, 1, MS(1.5) + 7, 10, 0);
    fixture_add(&f, 30.0, 2, MS(12) + 3, 10, 1);
    /* A start that a clock put before the previous end is moved to it. */
    fixture_add(&f, 30.005, 0, 999, 10, 0);
    fixture_finish(&f, 2000.0, "3.12.1", 0);
    in = &f.in;
    doc = render(&in, 1);
    GCM_CHECK_STREQ(string(doc, "$schema"), "https://www.speedscope.app/file-format-schema.json");
    GCM_CHECK_STREQ(string(doc, "name"), "GC pauses of pid 4242");
    frames =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "shared"), "frames");
    GCM_CHECK_STREQ(string(cJSON_GetArrayItem(frames, 0), "name"), "gen 0");
    GCM_CHECK_STREQ(string(cJSON_GetArrayItem(frames, 2), "name"), "gen 2");
    profiles = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(profiles), 1);
    GCM_CHECK_EQ_U64(check_evented(cJSON_GetArrayItem(profiles, 0), &total), 4);
    GCM_CHECK_EQ_U64(total, f.snap.all.total_ns);
    GCM_CHECK(number(cJSON_GetArrayItem(profiles, 0), "startValue") == 0.0);
    GCM_CHECK(number(cJSON_GetArrayItem(profiles, 0), "endValue") ==
              (double)(MS(30) + MS(12) + 3 + 999));
    cJSON_Delete(doc);
    fixture_release(&f);
}

static void test_a_tree_shares_one_clock(void)
{
    fixture a, b;
    const gcm_report_input *ins[2];
    cJSON *doc, *profiles, *second;
    uint64_t total = 0;

    fixture_init(&a, 16, MS(50));
    fixture_add(&a, 5.0, 0, MS(1), 1, 0);
    fixture_finish(&a, 1000.0, "3.12.1", 0);
    fixture_init(&b, 16, MS(50));
    /* The child started monitoring 2 s after its parent. */
    b.block->header.init_realtime_ns = FIX_INIT_REALTIME_NS + INT64_C(2000000000);
    b.block->header.pid = 4243;
    b.block->header.ppid = FIX_PID;
    fixture_add(&b, 1.0, 2, MS(3), 1, 0);
    fixture_add(&b, 2.0, 0, MS(0.5), 1, 0);
    fixture_finish(&b, 1000.0, "3.12.1", 0);
    ins[0] = &a.in;
    ins[1] = &b.in;
    doc = render(ins, 2);
    GCM_CHECK_STREQ(string(doc, "name"), "GC pauses of 2 processes");
    profiles = cJSON_GetObjectItemCaseSensitive(doc, "profiles");
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(profiles), 2);
    GCM_CHECK_STREQ(string(cJSON_GetArrayItem(profiles, 0), "name"),
                    "python (pid 4242, parent 1): pauses by generation");
    second = cJSON_GetArrayItem(profiles, 1);
    GCM_CHECK_STREQ(string(second, "name"), "python (pid 4243, parent 4242): pauses by generation");
    GCM_CHECK(number(second, "startValue") == 2e9);
    GCM_CHECK_EQ_U64(check_evented(second, &total), 2);
    GCM_CHECK_EQ_U64(total, MS(3) + MS(0.5));
    GCM_CHECK(number(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(second, "events"), 0),
                     "at") == 2e9 + (double)MS(1));
    cJSON_Delete(doc);
    fixture_release(&a);
    fixture_release(&b);
}

/* Names `n` frames (innermost first) of sites 0.. in `t`, and records one
 * collection of `ns` for their stack. */
static void record(gcm_stack_table *t, const uint32_t *sites, uint32_t n, uint32_t truncated,
                   uint64_t ns)
{
    gcm_stack_frame frames[4];
    int added = 0;
    uint32_t e;

    for (uint32_t i = 0; i < n; i++) {
        frames[i].site = sites[i];
        frames[i].offset = 2u * i;
        frames[i].line = (int32_t)(10u + sites[i]);
    }
    e = gcm_stacks_find(t, frames, n, truncated, &added);
    if (added && e != GCM_STACK_OTHER) {
        gcm_stack_frame *kept = gcm_stacks_frames(t, e);
        for (uint32_t i = 0; i < n; i++)
            kept[i].line = frames[i].line;
    }
    gcm_stacks_record(t, e, 0, ns, 0);
}

static void test_trigger_stacks_by_pause_time(void)
{
    static const char *const names[] = {"inner", "middle", "outer"};
    const uint32_t deep[] = {0, 1, 2}, shallow[] = {1, 2}, other[] = {2};
    size_t size = gcm_stacks_size(2, 4, 8);
    gcm_stack_table *t = malloc(size);
    fixture f;
    const gcm_report_input *in;
    cJSON *doc, *frames, *sampled, *samples, *weights, *w;
    double sum = 0.0;

    GCM_CHECK(t != NULL);
    GCM_CHECK_EQ_INT(gcm_stacks_init(t, size, 2, 4, 8), 0);
    for (uint32_t i = 0; i < 3; i++)
        GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "app.py", 6, names[i], strlen(names[i])), i);
    record(t, deep, 3, 0, 100);
    record(t, deep, 3, 0, 50);
    record(t, shallow, 2, 1, 30);
    /* The table holds two stacks: a third counts in the "other" row. */
    record(t, other, 1, 0, 7);
    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 1.0, 0, 187, 1, 0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    f.in.stacks = t;
    in = &f.in;
    doc = render(&in, 1);
    frames =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "shared"), "frames");
    sampled = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "profiles"), 0);
    GCM_CHECK_STREQ(string(sampled, "type"), "sampled");
    samples = cJSON_GetObjectItemCaseSensitive(sampled, "samples");
    weights = cJSON_GetObjectItemCaseSensitive(sampled, "weights");
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(samples), 3);
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(weights), 3);
    cJSON_ArrayForEach(w, weights) sum += w->valuedouble;
    GCM_CHECK(sum == 187.0);
    GCM_CHECK(number(sampled, "endValue") == 187.0);
    /* Outermost first: outer, middle, inner, each with its file and line. */
    {
        const cJSON *s = cJSON_GetArrayItem(samples, 0);
        const cJSON *first = cJSON_GetArrayItem(frames, cJSON_GetArrayItem(s, 0)->valueint);
        const cJSON *last = cJSON_GetArrayItem(frames, cJSON_GetArrayItem(s, 2)->valueint);

        GCM_CHECK_EQ_INT(cJSON_GetArraySize(s), 3);
        GCM_CHECK_STREQ(string(first, "name"), "outer");
        GCM_CHECK_STREQ(string(last, "name"), "inner");
        GCM_CHECK_STREQ(string(last, "file"), "app.py");
        GCM_CHECK(number(last, "line") == 10.0);
        GCM_CHECK(cJSON_GetArrayItem(weights, 0)->valuedouble == 150.0);
    }
    /* A cut stack starts with the frame that says so; "other" is one frame. */
    GCM_CHECK_STREQ(
        string(cJSON_GetArrayItem(frames,
                                  cJSON_GetArrayItem(cJSON_GetArrayItem(samples, 1), 0)->valueint),
               "name"),
        "(outer frames beyond --stack-depth)");
    GCM_CHECK_STREQ(
        string(cJSON_GetArrayItem(frames,
                                  cJSON_GetArrayItem(cJSON_GetArrayItem(samples, 2), 0)->valueint),
               "name"),
        "(other stacks: the table was full)");
    /* The pauses profile follows. */
    GCM_CHECK_STREQ(
        string(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "profiles"), 1), "type"),
        "evented");
    cJSON_Delete(doc);
    fixture_release(&f);
    free(t);
}

int main(void)
{
    GCM_RUN(test_pauses_by_generation);
    GCM_RUN(test_a_tree_shares_one_clock);
    GCM_RUN(test_trigger_stacks_by_pause_time);
    return 0;
}
