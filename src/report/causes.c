/* src/report/causes.c: the "GC causes" table (text) and the summary's "causes" object (JSON).
 *
 * Why each collection ran: automatic (the allocation threshold), explicit (a
 * gc.collect() call) or shutdown (after the program's main code ended).  The
 * figures are gcm_summary.cause[], exact over every collection.  A capture
 * written before causes were recorded (layout version 1) has none: the table
 * then says "not recorded", and JSON has "causes": null, so nobody reads
 * zero explicit collections into a file that could not have counted them.
 * GCeasy's "GC causes" table is the model: count, total, mean, max per cause.
 */
#include <math.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

#define LABEL_WIDTH 11
#define COUNT_WIDTH 12
#define TIME_WIDTH 10
#define SHARE_WIDTH 8

/* A mean in nanoseconds, rounded to a whole one for a table cell. */
static uint64_t whole_ns(double ns)
{
    if (!(ns > 0.0))
        return 0;
    if (ns >= 18446744073709549568.0)
        return UINT64_MAX;
    return (uint64_t)(ns + 0.5);
}

/* A percentage in tenths, rounded, for gcm__line_fixed. */
static uint64_t tenths(double pct)
{
    return pct > 0.0 && pct <= 100.0 ? (uint64_t)(pct * 10.0 + 0.5) : 0;
}

/* Appends a share of pause time as "12.3%" right-aligned in `width`, or "-"
 * for a cause with no collections, like the time cells beside it. */
static void share_cell(gcm__line *l, double pct, uint64_t count, size_t width)
{
    size_t from = l->len;

    if (count == 0) {
        GCM__LINE_LIT(l, "-");
    } else {
        gcm__line_fixed(l, tenths(pct), 1);
        GCM__LINE_LIT(l, "%");
    }
    gcm__line_align_right(l, from, width);
}

static int cause_row(const char *label, const gcm_cause_summary *c, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    gcm__line_table_row(&l, label, LABEL_WIDTH, c->count, COUNT_WIDTH);
    gcm__line_time_cell(&l, c->total_ns, c->count, TIME_WIDTH);
    gcm__line_time_cell(&l, whole_ns(c->mean_ns), c->count, TIME_WIDTH);
    gcm__line_time_cell(&l, c->max_ns, c->count, TIME_WIDTH);
    share_cell(&l, c->share_pct, c->count, SHARE_WIDTH);
    return gcm__line_emit(&l, sink);
}

/* The plain sentence under the table when the program calls gc.collect():
 * explicit collections are the one cause a program can simply stop. */
static int explicit_line(const gcm_summary *sum, const gcm_sink *sink)
{
    const gcm_cause_summary *e = &sum->cause[GCM_CAUSE_EXPLICIT];
    gcm__line l;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Explicit gc.collect() calls ran ");
    gcm__line_u64(&l, e->count);
    GCM__LINE_LIT(&l, " of the ");
    gcm__line_u64(&l, sum->all.count);
    GCM__LINE_LIT(&l, " collections and ");
    gcm__line_fixed(&l, tenths(e->share_pct), 1);
    GCM__LINE_LIT(&l, "% of the pause time");
    return gcm__line_emit(&l, sink);
}

int gcm__render_causes_text(const gcm_summary *sum, const gcm_sink *sink)
{
    static const char *const heads[] = {"total", "mean", "max"};
    gcm__line l;
    size_t from;
    uint32_t c;
    int status = 0;

    if (sum->all.count == 0)
        goto done;
    gcm__line_reset(&l);
    if (!sum->causes_known) {
        GCM__LINE_LIT(&l, "GC causes: not recorded (an older capture format, or a capture read "
                          "from outside the process)");
        status = gcm__line_emit(&l, sink);
        goto done;
    }
    GCM__LINE_LIT(&l, "GC causes:");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    gcm__line_table_head(&l, LABEL_WIDTH, COUNT_WIDTH, heads, sizeof heads / sizeof heads[0],
                         TIME_WIDTH);
    from = l.len;
    GCM__LINE_LIT(&l, "share");
    gcm__line_align_right(&l, from, SHARE_WIDTH);
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    for (c = 0; c < GCM_CAUSES; c++) {
        status = cause_row(gcm_cause_name(c), &sum->cause[c], sink);
        if (status != 0)
            goto done;
    }
    if (sum->cause[GCM_CAUSE_EXPLICIT].count > 0)
        status = explicit_line(sum, sink);
done:
    return status;
}

/* Nanoseconds to milliseconds rounded to the microsecond, as summary_json.c does. */
static double ms3(double ns)
{
    return floor(ns / 1000.0 + 0.5) / 1000.0;
}

static int add_cause(cJSON *causes, const char *name, const gcm_cause_summary *c)
{
    static const char *const gen_keys[GCM_GENERATIONS] = {"gen0", "gen1", "gen2"};
    cJSON *obj = cJSON_AddObjectToObject(causes, name);
    uint32_t g;

    if (obj == NULL || cJSON_AddNumberToObject(obj, "count", (double)c->count) == NULL ||
        cJSON_AddNumberToObject(obj, "total_ms", ms3((double)c->total_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "mean_ms", ms3(c->mean_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "max_ms", ms3((double)c->max_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "share", floor(c->share_pct * 1000.0 + 0.5) / 1000.0) == NULL)
        return -1;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        if (cJSON_AddNumberToObject(obj, gen_keys[g], (double)c->gen_count[g]) == NULL)
            return -1;
    }
    return 0;
}

int gcm__add_causes_json(cJSON *root, const gcm_summary *sum)
{
    cJSON *causes;
    uint32_t c;
    int status = -1;

    if (!sum->causes_known) {
        status = cJSON_AddNullToObject(root, "causes") != NULL ? 0 : -1;
        goto done;
    }
    causes = cJSON_AddObjectToObject(root, "causes");
    if (causes == NULL)
        goto done;
    for (c = 0; c < GCM_CAUSES; c++) {
        if (add_cause(causes, gcm_cause_name(c), &sum->cause[c]) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}
