/* test_budget.c: GC budget rules: parsing, measuring, verdicts and rendering. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/budget.h"
#include "gc_monitor/config.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gcm_test.h"

static gcm_budget_rule parse_ok(const char *text)
{
    gcm_budget_rule rule;
    char why[160] = "";

    if (gcm_budget_parse(text, &rule, why, sizeof why) != 0) {
        fprintf(stderr, "rule '%s' refused: %s\n", text, why);
        exit(1);
    }
    return rule;
}

/* Checks that `text` is refused with a reason that contains `reason`. */
static void parse_bad(const char *text, const char *reason)
{
    gcm_budget_rule rule;
    gcm_budget_rule before;
    char why[160] = "";

    memset(&rule, 0x5a, sizeof rule);
    memcpy(&before, &rule, sizeof rule);
    GCM_CHECK_EQ_INT(gcm_budget_parse(text, &rule, why, sizeof why), GCM_ECONFIG);
    if (strstr(why, reason) == NULL) {
        fprintf(stderr, "rule '%s': reason '%s' lacks '%s'\n", text, why, reason);
        exit(1);
    }
    /* A refused rule leaves the output alone. */
    GCM_CHECK(memcmp(&rule, &before, sizeof rule) == 0);
}

static void test_parse_forms(void)
{
    gcm_budget_rule r;

    r = parse_ok("max>50ms");
    GCM_CHECK_EQ_INT(r.generation, -1);
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_MAX);
    GCM_CHECK_EQ_INT(r.op, GCM_OP_GT);
    GCM_CHECK_EQ_INT(r.unit, GCM_UNIT_MS);
    GCM_CHECK(r.limit == 50e6);
    GCM_CHECK_STREQ(r.text, "max>50ms");

    r = parse_ok("gen2.p99>20ms");
    GCM_CHECK_EQ_INT(r.generation, 2);
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_P99);
    GCM_CHECK_STREQ(r.text, "gen2.p99>20ms");

    /* Without a unit a duration is in ms, and the canonical text says so. */
    r = parse_ok("  p99 >= 10 ");
    GCM_CHECK_EQ_INT(r.op, GCM_OP_GE);
    GCM_CHECK(r.limit == 10e6);
    GCM_CHECK_STREQ(r.text, "p99>=10ms");

    r = parse_ok("total>1s");
    GCM_CHECK(r.limit == 1e9);
    GCM_CHECK_EQ_INT(r.unit, GCM_UNIT_S);
    r = parse_ok("mean<250us");
    GCM_CHECK_EQ_INT(r.op, GCM_OP_LT);
    GCM_CHECK(r.limit == 250e3);
    r = parse_ok("min<=1500ns");
    GCM_CHECK_EQ_INT(r.op, GCM_OP_LE);
    GCM_CHECK(r.limit == 1500.0);
    r = parse_ok("p999>1.5e1 ms");
    GCM_CHECK(r.limit == 15e6);
    GCM_CHECK_STREQ(r.text, "p999>1.5e1ms");

    r = parse_ok("share>2%");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_SHARE);
    GCM_CHECK_EQ_INT(r.unit, GCM_UNIT_PCT);
    GCM_CHECK(r.limit == 2.0);
    r = parse_ok("share>2.5");
    GCM_CHECK_STREQ(r.text, "share>2.5%");

    r = parse_ok("uncollectable>0");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_UNCOLLECTABLE);
    GCM_CHECK_EQ_INT(r.unit, GCM_UNIT_NONE);
    GCM_CHECK(r.limit == 0.0);
    r = parse_ok("gen2.count>5");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_COUNT);
    GCM_CHECK_EQ_INT(r.generation, 2);
    r = parse_ok("gen0.collected>=1000000");
    GCM_CHECK(r.limit == 1e6);
    r = parse_ok("alerts>0");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_ALERTS);
    r = parse_ok("bursts>10");
    r = parse_ok("wall>2s");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_WALL);

    /* The JSON summary's own key names are accepted too. */
    r = parse_ok("gen1.max_ms>3");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_MAX);
    GCM_CHECK_STREQ(r.text, "gen1.max>3ms");
}

static void test_parse_refusals(void)
{
    parse_bad("", "must not be empty");
    parse_bad("   ", "must not be empty");
    parse_bad("max", "has no operator");
    parse_bad("gen2.count", "has no operator");
    parse_bad(">5", "has no metric");
    parse_bad("p98>1ms", "unknown metric 'p98'");
    parse_bad("MAX>1ms", "unknown metric 'MAX'");
    parse_bad("gen3.max>1ms", "unknown generation 'gen3'");
    parse_bad("gen.max>1ms", "unknown generation 'gen'");
    parse_bad("gen22.max>1ms", "unknown generation 'gen22'");
    parse_bad("gen2.share>1%", "'share' has no per-generation figure");
    parse_bad("gen0.alerts>1", "'alerts' has no per-generation figure");
    parse_bad("max=50ms", "unknown operator '='");
    parse_bad("max==50ms", "unknown operator '=='");
    parse_bad("max!=50ms", "unknown operator '!='");
    parse_bad("max<>50ms", "limit is not a number");
    parse_bad("max>", "has no limit");
    parse_bad("max>-1ms", "must not be negative");
    parse_bad("max>ms", "limit is not a number");
    parse_bad("max>0x10", "unknown unit 'x10'");
    parse_bad("max>inf", "limit is not a number");
    parse_bad("max>nan", "limit is not a number");
    parse_bad("max>.", "limit is not a number");
    parse_bad("max>1e999", "out of range");
    parse_bad("max>50 ms extra", "has text after the limit");
    parse_bad("max>50min", "unknown unit 'min'");
    parse_bad("max>5%", "'max' is a duration");
    parse_bad("share>2ms", "'share' is a percentage");
    parse_bad("share>101%", "at most 100%");
    parse_bad("count>5ms", "'count' is a count");
    parse_bad("count>1.5", "whole number");
    parse_bad("count>1e16", "out of range");
    parse_bad("max>2d", "unknown unit 'd'");
    parse_bad("max>86401s", "at most a day");
    parse_bad("max>123456789012345678901234567890", "too long");
    parse_bad("max\n>1", "unknown operator '?'");
    /* Non-ASCII bytes are shown as '?', keeping the message valid UTF-8. */
    parse_bad("max>1\xc3\xa4", "unknown unit '?"
                               "?'");
    {
        gcm_budget_rule r;
        char why[8];
        GCM_CHECK_EQ_INT(gcm_budget_parse(NULL, &r, why, sizeof why), GCM_EINVAL);
        GCM_CHECK_EQ_INT(gcm_budget_parse("max>1", NULL, why, sizeof why), GCM_EINVAL);
    }
}

/* The canonical text parses back to exactly the same bytes, in any locale. */
static void test_canonical_round_trip(void)
{
    static const char *const texts[] = {
        "max > 50",      "gen2.p99>=20.25ms", "share<0.5", "uncollectable>0", "total>1.5s",
        "gen0.count<=7", "mean>0.000001s",    "p50_ms>2",  "wall>3e3ms",      "bursts>0"};
    size_t i;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        /* The second pass runs under a locale whose decimal point is ',',
         * when the machine has one: the rules must still read '.'. */
        if (pass == 1 && setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL &&
            setlocale(LC_NUMERIC, "de_DE") == NULL)
            break;
        for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
            gcm_budget_rule a = parse_ok(texts[i]);
            gcm_budget_rule b = parse_ok(a.text);
            GCM_CHECK(memcmp(&a, &b, sizeof a) == 0);
        }
        GCM_CHECK(parse_ok("gen2.p99>=20.25ms").limit == 20.25e6);
    }
    (void)setlocale(LC_NUMERIC, "C");
}

static void test_metric_names(void)
{
    int gen = 9;
    gcm_metric m = GCM_METRIC_COUNT;
    char why[160];

    GCM_CHECK_EQ_INT(gcm_budget_parse_metric(" gen2.max ", &gen, &m, why, sizeof why), 0);
    GCM_CHECK_EQ_INT(gen, 2);
    GCM_CHECK_EQ_INT(m, GCM_METRIC_MAX);
    GCM_CHECK_EQ_INT(gcm_budget_parse_metric("p99", &gen, &m, why, sizeof why), 0);
    GCM_CHECK_EQ_INT(gen, -1);
    GCM_CHECK_EQ_INT(m, GCM_METRIC_P99);
    GCM_CHECK_EQ_INT(gcm_budget_parse_metric("p99>1", &gen, &m, why, sizeof why), GCM_ECONFIG);
    GCM_CHECK_EQ_INT(gcm_budget_parse_metric("gen1.wall", &gen, &m, why, sizeof why), GCM_ECONFIG);
    GCM_CHECK_STREQ(gcm_budget_metric_name(GCM_METRIC_P999), "p999");
    GCM_CHECK_STREQ(gcm_budget_metric_name(GCM_METRIC_COUNT_OF), "?");
    GCM_CHECK_STREQ(gcm_budget_op_text(GCM_OP_LE), "<=");
    GCM_CHECK_STREQ(gcm_budget_unit_text(GCM_UNIT_PCT), "%");
    GCM_CHECK_EQ_INT(gcm_budget_metric_kind(GCM_METRIC_SHARE), GCM_KIND_PERCENT);
    GCM_CHECK_EQ_INT(gcm_budget_metric_kind(GCM_METRIC_WALL), GCM_KIND_DURATION);
    GCM_CHECK_EQ_INT(gcm_budget_metric_kind(GCM_METRIC_BURSTS), GCM_KIND_COUNT);
}

static void test_hints(void)
{
    char buf[64];

    GCM_CHECK(gcm_budget_lacks_operator("max"));
    GCM_CHECK(gcm_budget_lacks_operator("gen2.p99"));
    GCM_CHECK(!gcm_budget_lacks_operator("max>1"));
    GCM_CHECK(!gcm_budget_lacks_operator("max=1"));
    gcm_budget_example("max", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "max>50ms");
    gcm_budget_example("gen2.p99", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "gen2.p99>50ms");
    gcm_budget_example("gen2.count", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "gen2.count>5");
    gcm_budget_example("uncollectable", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "uncollectable>0");
    gcm_budget_example("share", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "share>2%");
    gcm_budget_example("whatever", buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "max>50ms");
    /* Every example is itself a valid rule. */
    GCM_CHECK_STREQ(parse_ok("gen2.count>5").text, "gen2.count>5");
}

/* A summary with a distinct value in every field, so a metric read from the
 * wrong field shows. */
static void fabricate(gcm_summary *sum)
{
    int g;

    memset(sum, 0, sizeof *sum);
    sum->all.count = 12;
    sum->all.total_ns = 224235000;
    sum->all.mean_ns = 18686250.0;
    sum->all.min_ns = 1000000;
    sum->all.max_ns = 150000000;
    sum->all.p50_ns = 2007000;
    sum->all.p90_ns = 60000000;
    sum->all.p99_ns = 149000000;
    sum->all.p999_ns = 150000000;
    sum->all.collected = 5461;
    sum->all.uncollectable = 3;
    sum->all.alerts = 2;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        sum->gen[g].count = 10u + (uint64_t)g;
        sum->gen[g].max_ns = 1000000u * (uint64_t)(g + 1);
        sum->gen[g].p99_ns = 900000u * (uint64_t)(g + 1);
        sum->gen[g].uncollectable = (uint64_t)g;
    }
    sum->share_pct = 2.803;
    sum->wall_ns = 8000000000u;
    sum->bursts = 4;
}

static double measure(const gcm_summary *sum, const char *metric)
{
    int gen = -1;
    gcm_metric m = GCM_METRIC_COUNT;
    char why[160];
    double v = -1.0;

    GCM_CHECK_EQ_INT(gcm_budget_parse_metric(metric, &gen, &m, why, sizeof why), 0);
    GCM_CHECK_EQ_INT(gcm_budget_measure(sum, gen, m, &v), 0);
    return v;
}

static void test_measure_summary(void)
{
    gcm_summary sum;
    double v;

    fabricate(&sum);
    GCM_CHECK(measure(&sum, "count") == 12.0);
    GCM_CHECK(measure(&sum, "total") == 224235000.0);
    GCM_CHECK(measure(&sum, "mean") == 18686250.0);
    GCM_CHECK(measure(&sum, "min") == 1e6);
    GCM_CHECK(measure(&sum, "max") == 150e6);
    GCM_CHECK(measure(&sum, "p50") == 2007000.0);
    GCM_CHECK(measure(&sum, "p90") == 60e6);
    GCM_CHECK(measure(&sum, "p99") == 149e6);
    GCM_CHECK(measure(&sum, "p999") == 150e6);
    GCM_CHECK(measure(&sum, "collected") == 5461.0);
    GCM_CHECK(measure(&sum, "uncollectable") == 3.0);
    GCM_CHECK(measure(&sum, "share") == 2.803);
    GCM_CHECK(measure(&sum, "wall") == 8e9);
    GCM_CHECK(measure(&sum, "alerts") == 2.0);
    GCM_CHECK(measure(&sum, "bursts") == 4.0);
    GCM_CHECK(measure(&sum, "gen0.count") == 10.0);
    GCM_CHECK(measure(&sum, "gen2.count") == 12.0);
    GCM_CHECK(measure(&sum, "gen1.max") == 2e6);
    GCM_CHECK(measure(&sum, "gen2.p99") == 2.7e6);
    GCM_CHECK(measure(&sum, "gen2.uncollectable") == 2.0);
    GCM_CHECK_EQ_INT(gcm_budget_measure(&sum, 2, GCM_METRIC_SHARE, &v), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_budget_measure(&sum, 3, GCM_METRIC_MAX, &v), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_budget_measure(NULL, -1, GCM_METRIC_MAX, &v), GCM_EINVAL);
}

static void test_measure_json(void)
{
    /* The summary line documented in docs/json.md, cut to the keys used. */
    static const char text[] =
        "{\"type\":\"summary\",\"schema_version\":1,\"count\":6,\"total_ms\":224.235,"
        "\"mean_ms\":37.373,\"min_ms\":1,\"max_ms\":150,\"p50_ms\":2.007,\"p90_ms\":150,"
        "\"p99_ms\":150,\"p999_ms\":150,\"collected\":5461,\"uncollectable\":3,"
        "\"gen2\":{\"count\":2,\"max_ms\":150,\"p99_ms\":150},\"share\":2.803,"
        "\"wall_ms\":8000,\"alerts\":2,\"bursts\":1}";
    cJSON *json = cJSON_Parse(text);
    double v = 0.0;

    GCM_CHECK(json != NULL);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_P50, &v), 0);
    GCM_CHECK(fabs(v - 2007000.0) < 1e-6);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_COUNT, &v), 0);
    GCM_CHECK(v == 6.0);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_SHARE, &v), 0);
    GCM_CHECK(v == 2.803);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_WALL, &v), 0);
    GCM_CHECK(v == 8e9);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, 2, GCM_METRIC_COUNT, &v), 0);
    GCM_CHECK(v == 2.0);
    /* Absent keys and generations are corrupt input, not zero. */
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, 2, GCM_METRIC_MEAN, &v), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, 0, GCM_METRIC_COUNT, &v), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, 2, GCM_METRIC_SHARE, &v), GCM_EINVAL);
    cJSON_Delete(json);

    json = cJSON_Parse("{\"count\":\"6\",\"max_ms\":-1}");
    GCM_CHECK(json != NULL);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_COUNT, &v), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(gcm_budget_measure_json(json, -1, GCM_METRIC_MAX, &v), GCM_ECORRUPT);
    cJSON_Delete(json);
}

static void test_verdicts(void)
{
    gcm_summary sum;
    gcm_budget_rule rules[6];
    gcm_budget_verdict verdicts[6];
    char line[160];

    fabricate(&sum);
    rules[0] = parse_ok("max>149.9ms");      /* 150 ms: broken */
    rules[1] = parse_ok("max>150ms");        /* exactly at the limit: holds */
    rules[2] = parse_ok("max>=150ms");       /* broken */
    rules[3] = parse_ok("gen2.count<13");    /* 12: broken */
    rules[4] = parse_ok("share>2.803%");     /* equal: holds */
    rules[5] = parse_ok("uncollectable<=2"); /* 3: holds */
    GCM_CHECK_EQ_INT(gcm_budget_evaluate(rules, 6, &sum, verdicts), 3);
    GCM_CHECK_EQ_INT(verdicts[0].broken, 1);
    GCM_CHECK_EQ_INT(verdicts[1].broken, 0);
    GCM_CHECK_EQ_INT(verdicts[2].broken, 1);
    GCM_CHECK_EQ_INT(verdicts[3].broken, 1);
    GCM_CHECK_EQ_INT(verdicts[4].broken, 0);
    GCM_CHECK_EQ_INT(verdicts[5].broken, 0);
    GCM_CHECK(verdicts[3].measured == 12.0);

    gcm_budget_describe(&rules[0], &verdicts[0], line, sizeof line);
    GCM_CHECK_STREQ(line, "max 150ms > 149.9ms");
    gcm_budget_describe(&rules[1], &verdicts[1], line, sizeof line);
    GCM_CHECK_STREQ(line, "max 150ms, not > 150ms");
    gcm_budget_describe(&rules[3], &verdicts[3], line, sizeof line);
    GCM_CHECK_STREQ(line, "gen2.count 12 < 13");
    gcm_budget_describe(&rules[4], &verdicts[4], line, sizeof line);
    GCM_CHECK_STREQ(line, "share 2.803%, not > 2.803%");
    /* A figure that rounds to the limit is shown to the nanosecond. */
    {
        gcm_budget_rule near = parse_ok("max>149.9999ms");
        gcm_budget_verdict v = {150e6, 1};
        gcm_budget_rule exact = parse_ok("max>=150ms");
        gcm_budget_verdict at = {150e6, 1};
        gcm_budget_describe(&near, &v, line, sizeof line);
        GCM_CHECK_STREQ(line, "max 150000000ns > 149999900ns");
        gcm_budget_describe(&exact, &at, line, sizeof line);
        GCM_CHECK_STREQ(line, "max 150ms >= 150ms");
    }
    /* A limit finer than the thousandths of its unit is never shown as 0:
     * both figures go to the nanosecond. */
    {
        gcm_budget_rule fine = parse_ok("p99>0.0004ms");
        gcm_budget_verdict v = {598000.0, 1};
        gcm_budget_describe(&fine, &v, line, sizeof line);
        GCM_CHECK_STREQ(line, "p99 598000ns > 400ns");
    }
    GCM_CHECK_EQ_INT(gcm_budget_evaluate(rules, 0, &sum, NULL), 0);
    GCM_CHECK_EQ_INT(gcm_budget_evaluate(rules, 1, NULL, verdicts), GCM_EINVAL);
}

/* The verdict's figures: rate, window and the verdict's level as a word. */
static void test_verdict_metrics(void)
{
    gcm_budget_rule r;
    gcm_budget_verdict verdict;
    gcm_summary sum;
    char buf[96];
    double v;

    r = parse_ok(" verdict >= noticeable ");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_VERDICT);
    GCM_CHECK_EQ_INT(r.op, GCM_OP_GE);
    GCM_CHECK(r.limit == (double)GCM_VERDICT_NOTICEABLE);
    GCM_CHECK_STREQ(r.text, "verdict>=noticeable");
    GCM_CHECK_STREQ(parse_ok(r.text).text, r.text);
    GCM_CHECK_STREQ(parse_ok("verdict>fine").text, "verdict>fine");
    r = parse_ok("rate>2.5");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_RATE);
    GCM_CHECK(r.limit == 2.5);
    r = parse_ok("window>25%");
    GCM_CHECK_EQ_INT(r.metric, GCM_METRIC_WINDOW);
    GCM_CHECK(r.limit == 25.0);
    parse_bad("verdict>bad",
              "unknown verdict 'bad' (not-enough-data, fine, noticeable or hurting)");
    parse_bad("verdict>2", "unknown verdict '2'");
    parse_bad("verdict>=", "has no limit after the operator");
    parse_bad("verdict>=fine x", "has text after the limit");
    parse_bad("rate>5ms", "'rate' is a rate a second: it takes no unit");
    parse_bad("gen2.verdict>fine", "'verdict' has no per-generation figure");

    fabricate(&sum);
    GCM_CHECK(measure(&sum, "rate") == sum.rate_per_s);
    /* A summary without its verdict has no window and no level ... */
    sum.verdict_known = 0;
    GCM_CHECK_EQ_INT(gcm_budget_measure(&sum, -1, GCM_METRIC_VERDICT, &v), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_budget_measure(&sum, -1, GCM_METRIC_WINDOW, &v), GCM_EINVAL);
    /* ... one with it compares the level. */
    sum.verdict_known = 1;
    sum.verdict = GCM_VERDICT_HURTING;
    sum.window_pct = 31.5;
    r = parse_ok("verdict>=noticeable");
    GCM_CHECK_EQ_INT(gcm_budget_evaluate(&r, 1, &sum, &verdict), 1);
    (void)gcm_budget_describe(&r, &verdict, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "verdict hurting >= noticeable");
    sum.verdict = GCM_VERDICT_FINE;
    GCM_CHECK_EQ_INT(gcm_budget_evaluate(&r, 1, &sum, &verdict), 0);
    (void)gcm_budget_describe(&r, &verdict, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "verdict fine, not >= noticeable");
    GCM_CHECK(measure(&sum, "window") == 31.5);
    /* The JSON summary has none of them: compare cannot read them. */
    {
        cJSON *obj = cJSON_CreateObject();
        GCM_CHECK(obj != NULL);
        GCM_CHECK_EQ_INT(gcm_budget_measure_json(obj, -1, GCM_METRIC_VERDICT, &v), GCM_ECORRUPT);
        cJSON_Delete(obj);
    }
}

static void test_format_value(void)
{
    char buf[48];

    gcm_budget_format_value(GCM_METRIC_P99, GCM_UNIT_MS, 12400000.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "12.4ms");
    gcm_budget_format_value(GCM_METRIC_P99, GCM_UNIT_MS, 12345678.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "12.346ms");
    gcm_budget_format_value(GCM_METRIC_P99, GCM_UNIT_MS, 10050000.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "10.05ms");
    gcm_budget_format_value(GCM_METRIC_TOTAL, GCM_UNIT_S, 1e9, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "1s");
    gcm_budget_format_value(GCM_METRIC_MAX, GCM_UNIT_US, 1500.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "1.5us");
    gcm_budget_format_value(GCM_METRIC_MAX, GCM_UNIT_NS, 1500.4, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "1500ns");
    gcm_budget_format_value(GCM_METRIC_COUNT, GCM_UNIT_NONE, 7.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "7");
    gcm_budget_format_value(GCM_METRIC_SHARE, GCM_UNIT_PCT, 0.0004, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "0%");
    gcm_budget_format_value(GCM_METRIC_P99, GCM_UNIT_MS, -1.0, buf, sizeof buf);
    GCM_CHECK_STREQ(buf, "?ms");
    /* Too small a buffer truncates, terminated. */
    GCM_CHECK_EQ_U64(gcm_budget_format_value(GCM_METRIC_P99, GCM_UNIT_MS, 12400000.0, buf, 4), 3);
    GCM_CHECK_STREQ(buf, "12.");
}

/* An in-memory sink for the renderer. */
typedef struct mem {
    char buf[4096];
    size_t len;
    int calls;
} mem;

static int mem_write(void *ctx, const char *data, size_t len)
{
    mem *m = ctx;
    if (m->len + len >= sizeof m->buf)
        return GCM_EIO;
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    m->buf[m->len] = '\0';
    m->calls++;
    return 0;
}

static void test_render(void)
{
    gcm_summary sum;
    gcm_budget_rule rules[3];
    mem m;
    gcm_sink sink = {mem_write, &m};
    cJSON *json;
    cJSON *list;
    cJSON *first;

    fabricate(&sum);
    rules[0] = parse_ok("p99>10ms");        /* 149 ms: broken */
    rules[1] = parse_ok("gen2.count>100");  /* holds */
    rules[2] = parse_ok("uncollectable>0"); /* broken */

    memset(&m, 0, sizeof m);
    GCM_CHECK_EQ_INT(gcm_budget_render(rules, 3, &sum, 0, &sink), 0);
    /* Broken rules first, each line written whole. */
    GCM_CHECK_STREQ(m.buf, "GMEM BUDGET | p99 149ms > 10ms\n"
                           "GMEM BUDGET | uncollectable 3 > 0\n"
                           "GMEM BUDGET | ok: gen2.count 12, not > 100\n");
    GCM_CHECK_EQ_INT(m.calls, 3);

    memset(&m, 0, sizeof m);
    GCM_CHECK_EQ_INT(gcm_budget_render(rules, 3, &sum, 1, &sink), 0);
    GCM_CHECK_EQ_INT(m.calls, 1);
    GCM_CHECK(m.len > 0 && m.buf[m.len - 1] == '\n');
    GCM_CHECK(strchr(m.buf, '\n') == m.buf + m.len - 1);
    json = cJSON_Parse(m.buf);
    GCM_CHECK(json != NULL);
    GCM_CHECK_STREQ(cJSON_GetObjectItem(json, "type")->valuestring, "budget");
    GCM_CHECK(cJSON_GetObjectItem(json, "broken")->valuedouble == 2.0);
    list = cJSON_GetObjectItem(json, "rules");
    GCM_CHECK_EQ_INT(cJSON_GetArraySize(list), 3);
    first = cJSON_GetArrayItem(list, 0);
    GCM_CHECK_STREQ(cJSON_GetObjectItem(first, "rule")->valuestring, "p99>10ms");
    GCM_CHECK_STREQ(cJSON_GetObjectItem(first, "metric")->valuestring, "p99_ms");
    GCM_CHECK_STREQ(cJSON_GetObjectItem(first, "op")->valuestring, ">");
    GCM_CHECK(cJSON_GetObjectItem(first, "limit")->valuedouble == 10.0);
    GCM_CHECK(cJSON_GetObjectItem(first, "measured")->valuedouble == 149.0);
    GCM_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(first, "broken")));
    GCM_CHECK_STREQ(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "metric")->valuestring,
                    "gen2.count");
    GCM_CHECK(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(list, 1), "broken")));
    cJSON_Delete(json);

    /* No rules, no output. */
    memset(&m, 0, sizeof m);
    GCM_CHECK_EQ_INT(gcm_budget_render(rules, 0, &sum, 0, &sink), 0);
    GCM_CHECK_EQ_INT(m.calls, 0);
    GCM_CHECK_EQ_INT(gcm_budget_render(rules, GCM_MAX_RULES + 1, &sum, 0, &sink), GCM_EINVAL);
}

/* --fail-on through the option parser: appending, the hint, the limit of 16,
 * and the environment encoding. */
static void test_config_option(void)
{
    gcm_config cfg;
    gcm_config back;
    gcm_config_error err;
    char msg[512];
    char buf[8192];
    int i;

    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(cfg.fail_on_count, 0);
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "--fail-on", "p99>10ms", GCM_SCOPE_CLI, &err), 0);
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "fail-on", "max>1s,share>5", GCM_SCOPE_CLI, &err),
                     0);
    GCM_CHECK_EQ_INT(cfg.fail_on_count, 3);
    GCM_CHECK_STREQ(cfg.fail_on[0].text, "p99>10ms");
    GCM_CHECK_STREQ(cfg.fail_on[1].text, "max>1s");
    GCM_CHECK_STREQ(cfg.fail_on[2].text, "share>5%");
    /* Not a GCMonitor keyword. */
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "fail_on", "p99>1", GCM_SCOPE_API, &err),
                     GCM_EUNKNOWN);

    /* The shell's leftover of an unquoted rule gets the quoted form. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "max", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, msg, sizeof msg);
    GCM_CHECK_STREQ(msg, "invalid value 'max' for '--fail-on': has no operator: quote the "
                         "whole rule, as in --fail-on 'max>50ms'");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "gen2.count", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, msg, sizeof msg);
    GCM_CHECK(strstr(msg, "--fail-on 'gen2.count>5'") != NULL);
    /* One bad rule of several refuses them all, naming it. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "max>1s,p98>1", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, msg, sizeof msg);
    GCM_CHECK(strstr(msg, "rule 'p98>1' unknown metric 'p98'") != NULL);
    GCM_CHECK_EQ_INT(cfg.fail_on_count, 3);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "", &err), GCM_ECONFIG);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", NULL, &err), GCM_ECONFIG);
    GCM_CHECK(err.missing);

    /* The environment encoding carries every rule, '%' escaped. */
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, sizeof buf, NULL), 0);
    GCM_CHECK(strstr(buf, "fail-on=p99>10ms,max>1s,share>5%25") != NULL);
    memset(&back, 0x11, sizeof back);
    GCM_CHECK_EQ_INT(gcm_config_decode(&back, buf, &err), 0);
    GCM_CHECK(memcmp(&back, &cfg, sizeof cfg) == 0);
    /* No rules encode as an empty value that decodes to none. */
    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, sizeof buf, NULL), 0);
    GCM_CHECK(strstr(buf, "fail-on=") != NULL);
    GCM_CHECK_EQ_INT(gcm_config_decode(&back, buf, &err), 0);
    GCM_CHECK_EQ_INT(back.fail_on_count, 0);

    /* At most GCM_MAX_RULES, and the one too many is refused. */
    for (i = 0; i < GCM_MAX_RULES; i++)
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "count>1", &err), 0);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "fail-on", "count>1", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, msg, sizeof msg);
    GCM_CHECK(strstr(msg, "at most 16") != NULL);
    GCM_CHECK_EQ_INT(cfg.fail_on_count, GCM_MAX_RULES);
}

int main(void)
{
    GCM_RUN(test_parse_forms);
    GCM_RUN(test_parse_refusals);
    GCM_RUN(test_canonical_round_trip);
    GCM_RUN(test_metric_names);
    GCM_RUN(test_hints);
    GCM_RUN(test_measure_summary);
    GCM_RUN(test_measure_json);
    GCM_RUN(test_verdicts);
    GCM_RUN(test_verdict_metrics);
    GCM_RUN(test_format_value);
    GCM_RUN(test_render);
    GCM_RUN(test_config_option);
    return 0;
}
