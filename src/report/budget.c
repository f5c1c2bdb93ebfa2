/* src/report/budget.c: the verdict of the --fail-on rules in the exit report.
 *
 * Text reports get one "GMEM BUDGET | ..." line per rule, the broken ones
 * first, so the reason a CI job failed is the first budget line a reader
 * sees; JSON reports get one {"type": "budget"} object with every rule.  The
 * launcher's exit status 3 is decided elsewhere (the bootstrap), from the
 * same rules and the same aggregates.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/budget.h"
#include "gc_monitor/errors.h"
#include "report_internal.h"

/* Milliseconds or a percentage, rounded to three decimals as the summary's
 * figures are; counts stay whole. */
static double json_value(const gcm_budget_rule *rule, double base)
{
    switch (gcm_budget_metric_kind(rule->metric)) {
    case GCM_KIND_DURATION:
        return round(base / 1e3) / 1e3;
    case GCM_KIND_PERCENT:
        return round(base * 1e3) / 1e3;
    default:
        return base < (double)GCM__JSON_MAX_EXACT ? base : (double)GCM__JSON_MAX_EXACT;
    }
}

/* The metric's key as the summary writes it: "p99_ms", "gen2.count". */
static void json_metric(const gcm_budget_rule *rule, char *buf, size_t size)
{
    const char *name = gcm_budget_metric_name(rule->metric);
    const char *suffix = gcm_budget_metric_kind(rule->metric) == GCM_KIND_DURATION ? "_ms" : "";

    if (rule->generation >= 0)
        (void)snprintf(buf, size, "gen%d.%s%s", rule->generation, name, suffix);
    else
        (void)snprintf(buf, size, "%s%s", name, suffix);
}

/* Adds `value` of `rule` under `key`: a verdict's level as its word
 * ("noticeable"), the rule's own limit as given (never rounded away: a
 * limit of 0.0004 ms stays 0.0004), any other figure as json_value gives it. */
static cJSON *add_value(cJSON *item, const char *key, const gcm_budget_rule *rule, double value)
{
    const char *word;

    if (gcm_budget_metric_kind(rule->metric) == GCM_KIND_DURATION && value == rule->limit)
        return cJSON_AddNumberToObject(item, key, value / 1e6);
    if (gcm_budget_metric_kind(rule->metric) != GCM_KIND_LEVEL)
        return cJSON_AddNumberToObject(item, key, json_value(rule, value));
    word =
        value >= 0.0 && value <= (double)GCM_VERDICT_HURTING ? gcm_verdict_word((int)value) : NULL;
    return cJSON_AddStringToObject(item, key, word != NULL ? word : "?");
}

static int render_json(const gcm_budget_rule *rules, size_t count,
                       const gcm_budget_verdict *verdicts, int broken, uint64_t unseen,
                       const gcm_sink *sink)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *arr;
    size_t i;
    int status = GCM_ENOMEM;

    if (obj == NULL || cJSON_AddStringToObject(obj, "type", "budget") == NULL ||
        cJSON_AddNumberToObject(obj, "broken", broken) == NULL)
        goto done;
    /* Only when it happened: no rule can be said to hold on the figures
     * of a callback the program took out of gc.callbacks. */
    if (unseen > 0 && cJSON_AddNumberToObject(obj, "missed_collections", (double)unseen) == NULL)
        goto done;
    arr = cJSON_AddArrayToObject(obj, "rules");
    if (arr == NULL)
        goto done;
    for (i = 0; i < count; i++) {
        char key[48];
        cJSON *item = cJSON_CreateObject();
        if (item == NULL)
            goto done;
        cJSON_AddItemToArray(arr, item);
        json_metric(&rules[i], key, sizeof key);
        if (cJSON_AddStringToObject(item, "rule", rules[i].text) == NULL ||
            cJSON_AddStringToObject(item, "metric", key) == NULL ||
            cJSON_AddStringToObject(item, "op", gcm_budget_op_text(rules[i].op)) == NULL ||
            add_value(item, "limit", &rules[i], rules[i].limit) == NULL ||
            add_value(item, "measured", &rules[i], verdicts[i].measured) == NULL ||
            cJSON_AddBoolToObject(item, "broken", verdicts[i].broken) == NULL)
            goto done;
    }
    status = gcm__sink_json_line(obj, sink);
done:
    cJSON_Delete(obj);
    return status;
}

static int render_text(const gcm_budget_rule *rules, size_t count,
                       const gcm_budget_verdict *verdicts, uint64_t unseen, const gcm_sink *sink)
{
    gcm__line line;
    char what[160];
    int pass;
    size_t i;
    int status = 0;

    if (unseen > 0) {
        gcm__line_reset(&line);
        GCM__LINE_LIT(&line, "GMEM BUDGET | not checked: the program took the monitor out of "
                             "gc.callbacks, so ");
        gcm__line_u64(&line, unseen);
        GCM__LINE_LIT(&line, " collections were not recorded; the rules below saw only the rest");
        status = gcm__line_emit(&line, sink);
        if (status != 0)
            goto done;
    }

    /* Broken rules first, then the ones that held, each in the order given. */
    for (pass = 1; pass >= 0; pass--) {
        for (i = 0; i < count; i++) {
            if (verdicts[i].broken != pass)
                continue;
            (void)gcm_budget_describe(&rules[i], &verdicts[i], what, sizeof what);
            gcm__line_reset(&line);
            GCM__LINE_LIT(&line, "GMEM BUDGET | ");
            if (!pass)
                GCM__LINE_LIT(&line, "ok: ");
            gcm__line_str(&line, what);
            status = gcm__line_emit(&line, sink);
            if (status != 0)
                goto done;
        }
    }
done:
    return status;
}

int gcm_budget_render(const gcm_budget_rule *rules, size_t count, const gcm_summary *sum, int json,
                      const struct gcm_sink *sink)
{
    gcm_budget_verdict verdicts[GCM_MAX_RULES];
    int broken;
    int status = GCM_EINVAL;

    if (count == 0) {
        status = 0;
        goto done;
    }
    if (rules == NULL || sum == NULL || sink == NULL || sink->write == NULL ||
        count > GCM_MAX_RULES)
        goto done;
    broken = gcm_budget_evaluate(rules, count, sum, verdicts);
    if (broken < 0) {
        status = broken;
        goto done;
    }
    if (json)
        status = render_json(rules, count, verdicts, broken, sum->unseen, sink);
    else
        status = render_text(rules, count, verdicts, sum->unseen, sink);
done:
    return status;
}
