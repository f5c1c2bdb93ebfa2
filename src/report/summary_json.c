/* src/report/summary_json.c: the JSON summary object, the one source of its keys.
 *
 * The exit report's {"type": "summary"} line and GCMonitor.snapshot() are
 * both built from the tree made here, so a key is added or renamed in this
 * file only; docs/json.md describes the result.  cJSON holds numbers as
 * doubles, so integers are clamped below 2^53 to stay exact, and durations
 * are rounded to whole microseconds before they become milliseconds.
 */
#include <math.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "gc_monitor/report.h"
#include "gc_monitor/stats.h"
#include "report_internal.h"

/* The largest integer a double (and so every JSON reader using doubles)
 * holds exactly.  Counts above it do not occur in practice (2^53 collections
 * at a million a second take 285 years); they are clamped, not wrapped. */
#define JSON_MAX_INT 9007199254740991.0

static double json_int(uint64_t v)
{
    double d = (double)v;
    return d > JSON_MAX_INT ? JSON_MAX_INT : d;
}

/* Nanoseconds to milliseconds, rounded half up to the microsecond. */
static double ms_from_ns(uint64_t ns)
{
    uint64_t us = ns <= UINT64_MAX - 500u ? (ns + 500u) / 1000u : ns / 1000u;
    return (double)us / 1000.0;
}

static double ms_from_ns_double(double ns)
{
    return floor(ns / 1000.0 + 0.5) / 1000.0;
}

/* Adds a number member; returns 0 or -1 when memory runs out. */
static int add_number(cJSON *obj, const char *key, double value)
{
    return cJSON_AddNumberToObject(obj, key, value) != NULL ? 0 : -1;
}

/* Adds "candidates" and "efficiency" (collected / candidates in percent,
 * three decimals; null when no candidate was examined), for an interpreter
 * that reports candidates (3.15+).  Earlier ones have neither key, so
 * their summaries are what they always were. */
static int add_efficiency(cJSON *obj, const gcm_gen_summary *s)
{
    double pct;

    if (add_number(obj, "candidates", json_int(s->candidates)) != 0)
        return -1;
    if (gcm_efficiency_pct(s, &pct))
        return add_number(obj, "efficiency", floor(pct * 1000.0 + 0.5) / 1000.0);
    return cJSON_AddNullToObject(obj, "efficiency") != NULL ? 0 : -1;
}

/* Adds the 11 figures shared by the overall object and each generation,
 * and the two of add_efficiency when `flags` say the interpreter has them. */
static int add_figures(cJSON *obj, const gcm_gen_summary *s, uint64_t flags)
{
    int status = -1;

    if (add_number(obj, "count", json_int(s->count)) != 0 ||
        add_number(obj, "total_ms", ms_from_ns(s->total_ns)) != 0 ||
        add_number(obj, "mean_ms", ms_from_ns_double(s->mean_ns)) != 0 ||
        add_number(obj, "min_ms", ms_from_ns(s->min_ns)) != 0 ||
        add_number(obj, "max_ms", ms_from_ns(s->max_ns)) != 0 ||
        add_number(obj, "p50_ms", ms_from_ns(s->p50_ns)) != 0 ||
        add_number(obj, "p90_ms", ms_from_ns(s->p90_ns)) != 0 ||
        add_number(obj, "p99_ms", ms_from_ns(s->p99_ns)) != 0 ||
        add_number(obj, "p999_ms", ms_from_ns(s->p999_ns)) != 0 ||
        add_number(obj, "collected", json_int(s->collected)) != 0 ||
        add_number(obj, "uncollectable", json_int(s->uncollectable)) != 0)
        goto done;
    if ((flags & GCM_EVENT_HAS_CANDIDATES) != 0 && add_efficiency(obj, s) != 0)
        goto done;
    status = 0;
done:
    return status;
}

/* Adds "buckets": one {"le_ms", "count"} per user bound, then the overflow
 * bucket with "le_ms": null.  Bounds are the user's configuration, so they
 * are given exactly rather than rounded. */
static int add_buckets(cJSON *obj, const gcm_snapshot *snap)
{
    int status = -1;
    cJSON *arr;
    cJSON *item;
    uint32_t n = snap->bucket_count <= GCM_MAX_BUCKETS ? snap->bucket_count : GCM_MAX_BUCKETS;
    uint32_t i;

    arr = cJSON_AddArrayToObject(obj, "buckets");
    if (arr == NULL)
        goto done;
    for (i = 0; i <= n; i++) {
        item = cJSON_CreateObject();
        if (item == NULL)
            goto done;
        if (!cJSON_AddItemToArray(arr, item)) {
            cJSON_Delete(item);
            goto done;
        }
        if (i < n) {
            if (add_number(item, "le_ms", (double)snap->bucket_bounds_ns[i] / 1e6) != 0)
                goto done;
        } else if (cJSON_AddNullToObject(item, "le_ms") == NULL) {
            goto done;
        }
        if (add_number(item, "count", json_int(snap->all.buckets[i])) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}

cJSON *gcm_summary_json(const gcm_snapshot *snap)
{
    static const char *const gen_keys[GCM_GENERATIONS] = {"gen0", "gen1", "gen2"};
    cJSON *root = NULL;
    cJSON *result = NULL;
    cJSON *gen;
    gcm_summary sum;
    uint32_t g;

    if (snap == NULL || gcm_summarize(snap, &sum) != 0)
        goto done;
    root = cJSON_CreateObject();
    if (root == NULL)
        goto done;
    if (cJSON_AddStringToObject(root, "type", "summary") == NULL ||
        add_number(root, "schema_version", GCM_JSON_SCHEMA_VERSION) != 0 ||
        add_number(root, "pid", (double)sum.pid) != 0 ||
        add_figures(root, &sum.all, sum.event_flags) != 0)
        goto done;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        gen = cJSON_AddObjectToObject(root, gen_keys[g]);
        if (gen == NULL || add_figures(gen, &sum.gen[g], sum.event_flags) != 0)
            goto done;
    }
    if (add_number(root, "share", floor(sum.share_pct * 1000.0 + 0.5) / 1000.0) != 0 ||
        add_number(root, "wall_ms", ms_from_ns(sum.wall_ns)) != 0 ||
        add_number(root, "alerts", json_int(sum.all.alerts)) != 0 ||
        add_number(root, "alert_threshold_ms", (double)snap->alert_threshold_ns / 1e6) != 0 ||
        add_number(root, "bursts", json_int(sum.bursts)) != 0 || add_buckets(root, snap) != 0 ||
        add_number(root, "events", json_int(sum.events_total)) != 0 ||
        add_number(root, "overwritten", json_int(sum.overwritten)) != 0 ||
        add_number(root, "dropped_stops", json_int(sum.dropped_stops)) != 0 ||
        add_number(root, "unusable_info", json_int(sum.unusable_info)) != 0)
        goto done;
    /* Only where CPython times its own collections (3.15+): the pauses are
     * then its figures, not the monitor's two clock readings. */
    if ((sum.event_flags & GCM_EVENT_NATIVE_DURATION) != 0 &&
        cJSON_AddStringToObject(root, "duration_source", "interpreter") == NULL)
        goto done;
    /* Only when it happened: a run whose callback stayed in gc.callbacks
     * keeps the summary it always had. */
    if (sum.unseen > 0 && add_number(root, "missed_collections", json_int(sum.unseen)) != 0)
        goto done;
    /* Only from an outside reader: pauses counted in the totals, not in the percentiles. */
    if (sum.missed > 0 && add_number(root, "missed_pauses", json_int(sum.missed)) != 0)
        goto done;
    if (gcm__add_causes_json(root, &sum) != 0 || gcm__add_requests_json(root, &sum) != 0)
        goto done;
    result = root;
    root = NULL;
done:
    cJSON_Delete(root);
    return result;
}
