/* src/report/verdict.c: "GC verdict: ...", the answer to "is GC hurting my latency?".
 *
 * The verdict heads the report body: one level (HURTING LATENCY, NOTICEABLE,
 * FINE or NOT ENOUGH DATA), the figure that decided it, and the KPIs it rests
 * on.  Every KPI but one comes from the exact aggregates, so a capture read
 * after its writer was killed gets the same verdict as the exit report; the
 * worst one-second window needs the time of each collection, which only the
 * retained events have, and says so when the ring lost older ones.  The
 * levels and limits are documented in docs/recommendations.md.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* The pause budget: --slo-ms when given, else the alert threshold. */
static uint64_t slo_of(const gcm_report_input *in, int *given)
{
    double ms = in->config->slo_ms;

    *given = ms > 0.0;
    if (ms > 0.0)
        return gcm__seconds_to_ns(ms / 1e3);
    return in->snapshot->alert_threshold_ns;
}

uint64_t gcm__over_budget(const gcm_gen_snapshot *g, uint64_t slo, uint64_t threshold)
{
    uint64_t n = 0;
    uint32_t i;

    if (slo == threshold)
        return g->alerts;
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        uint64_t lo, hi;
        if (g->hist[i] == 0)
            continue;
        gcm_hist_bounds(i, &lo, &hi);
        if (lo + (hi - lo) / 2u >= slo)
            n += g->hist[i];
    }
    return n;
}

/* The most GC time that starts inside any one-second window, over the
 * retained events (in start order), by a sliding window: each event opens
 * a window, and the events starting less than a second after it fill it. */
static void worst_window(const gcm_report_input *in, gcm__verdict *v)
{
    const gcm_event *ev = in->events;
    size_t n = in->event_count, lo = 0, hi = 0;
    uint64_t sum = 0, best = 0, best_start = 0;

    for (lo = 0; lo < n; lo++) {
        uint64_t end = ev[lo].start_ns + GCM__WINDOW_NS;
        if (hi < lo) {
            hi = lo;
            sum = 0;
        }
        while (hi < n && ev[hi].start_ns >= ev[lo].start_ns && ev[hi].start_ns < end) {
            sum += ev[hi].duration_ns;
            hi++;
        }
        if (sum > best) {
            best = sum;
            best_start = gcm__event_offset_ns(in->snapshot, &ev[lo]);
        }
        if (hi > lo)
            sum -= ev[lo].duration_ns;
    }
    /* A window holds at most a second of GC, however the pauses overlap it. */
    v->window_ns = best < GCM__WINDOW_NS ? best : GCM__WINDOW_NS;
    v->window_start_ns = best_start;
    v->window_pct = 100.0 * (double)v->window_ns / (double)GCM__WINDOW_NS;
}

void gcm__verdict_compute(const gcm_report_input *in, const gcm_summary *sum, gcm__verdict *v)
{
    const gcm_gen_summary *all = &sum->all;
    uint64_t slo;

    memset(v, 0, sizeof *v);
    gcm__line_reset(&v->why);
    slo = slo_of(in, &v->slo_given);
    v->slo_ns = slo;
    v->over_slo =
        slo > 0 ? gcm__over_budget(&in->snapshot->all, slo, in->snapshot->alert_threshold_ns) : 0;
    v->over_exact = slo == 0 || slo == in->snapshot->alert_threshold_ns;
    v->have_window = sum->wall_ns >= GCM__WINDOW_NS;
    if (v->have_window)
        worst_window(in, v);
    else
        v->window_pct = sum->share_pct;
    v->window_partial = sum->overwritten > 0;
    /* An automatic full collection needs more than threshold 2 generation 1
     * collections since the last full one, so after the first (whose
     * generation 1 collections may predate monitoring) each needs one seen:
     * full collections beyond the generation 1 count plus one were the
     * program's own gc.collect() calls (where generation numbers mean what
     * they say). */
    if (gcm__generations_mislead(in) == GCM__GENS_MEANINGFUL &&
        sum->gen[2].count > sum->gen[1].count + 1u)
        v->explicit_min = sum->gen[2].count - sum->gen[1].count - 1u;
    /* A capture of layout version 1, or one read from outside, does not say
     * why a collection ran: explicit_known stays 0 and the report says
     * "unknown" rather than guess. */
    if (sum->causes_known) {
        v->explicit_known = 1;
        v->explicit_count = sum->cause[GCM_CAUSE_EXPLICIT].count;
        v->explicit_ns = sum->cause[GCM_CAUSE_EXPLICIT].total_ns;
    }
    v->enough = sum->wall_ns >= GCM__MIN_WALL_NS && all->count >= GCM__MIN_COLLECTIONS;

    if (all->count == 0 && sum->wall_ns >= GCM__MIN_WALL_NS) {
        v->level = GCM_VERDICT_FINE;
        v->enough = 1;
        GCM__LINE_LIT(&v->why, "no collection in ");
        gcm__line_duration(&v->why, sum->wall_ns);
        return;
    }
    if (!v->enough) {
        v->level = GCM_VERDICT_NOT_ENOUGH_DATA;
        gcm__line_u64(&v->why, all->count);
        gcm__line_str(&v->why, all->count == 1 ? " collection in " : " collections in ");
        gcm__line_duration(&v->why, sum->wall_ns);
        GCM__LINE_LIT(&v->why, "; judging needs at least 10 collections and 1s");
        return;
    }
    if (slo > 0 && all->p99_ns >= slo) {
        v->level = GCM_VERDICT_HURTING;
        GCM__LINE_LIT(&v->why, "p99 pause ");
        gcm__line_duration(&v->why, all->p99_ns);
        GCM__LINE_LIT(&v->why, " reached the ");
        gcm__line_duration(&v->why, slo);
        GCM__LINE_LIT(&v->why, " budget");
    } else if (sum->share_pct >= GCM__HURT_SHARE_PCT) {
        v->level = GCM_VERDICT_HURTING;
        gcm__line_printf(&v->why, "GC took %.2f%% of wall time, at least 10%%", sum->share_pct);
    } else if (v->have_window && v->window_pct >= GCM__HURT_WINDOW_PCT) {
        v->level = GCM_VERDICT_HURTING;
        gcm__line_printf(&v->why, "the worst second was %.1f%% GC, at least 25%%", v->window_pct);
    } else if (slo > 0 && v->over_slo > 0) {
        v->level = GCM_VERDICT_NOTICEABLE;
        gcm__line_u64(&v->why, v->over_slo);
        gcm__line_str(&v->why, v->over_slo == 1 ? " pause reached the " : " pauses reached the ");
        gcm__line_duration(&v->why, slo);
        GCM__LINE_LIT(&v->why, " budget, the longest ");
        gcm__line_duration(&v->why, all->max_ns);
    } else if (sum->share_pct >= GCM__NOTICE_SHARE_PCT) {
        v->level = GCM_VERDICT_NOTICEABLE;
        gcm__line_printf(&v->why, "GC took %.2f%% of wall time, at least 2%%", sum->share_pct);
    } else if (v->have_window && v->window_pct >= GCM__NOTICE_WINDOW_PCT) {
        v->level = GCM_VERDICT_NOTICEABLE;
        gcm__line_printf(&v->why, "the worst second was %.1f%% GC, at least 10%%", v->window_pct);
    } else {
        v->level = GCM_VERDICT_FINE;
        gcm__line_printf(&v->why, "GC took %.2f%% of wall time", sum->share_pct);
        if (slo > 0) {
            GCM__LINE_LIT(&v->why, " and no pause reached the ");
            gcm__line_duration(&v->why, slo);
            GCM__LINE_LIT(&v->why, " budget");
        }
    }
}

int gcm_verdict_fill(const gcm_report_input *in, gcm_summary *sum)
{
    gcm__verdict v;

    if (in == NULL || in->snapshot == NULL || in->config == NULL || sum == NULL ||
        (in->events == NULL && in->event_count > 0))
        return GCM_EINVAL;
    gcm__verdict_compute(in, sum, &v);
    sum->verdict_known = 1;
    sum->verdict = v.level;
    sum->slo_ns = v.slo_ns;
    sum->window_pct = v.window_pct;
    return 0;
}

/* "  pauses: p50 ..., p99 ..., max ...; N of M at or over the budget". */
static void pauses_line(const gcm_summary *sum, const gcm__verdict *v, gcm__line *l)
{
    gcm__line_reset(l);
    if (sum->all.count == 0) {
        GCM__LINE_LIT(l, "  pauses: none");
        return;
    }
    GCM__LINE_LIT(l, "  pauses: p50 ");
    gcm__line_duration(l, sum->all.p50_ns);
    GCM__LINE_LIT(l, ", p99 ");
    gcm__line_duration(l, sum->all.p99_ns);
    GCM__LINE_LIT(l, ", max ");
    gcm__line_duration(l, sum->all.max_ns);
    if (v->slo_ns == 0) {
        GCM__LINE_LIT(l, "; no pause budget (an alert threshold of 0 and no --slo-ms)");
        return;
    }
    GCM__LINE_LIT(l, "; ");
    gcm__line_u64(l, v->over_slo);
    GCM__LINE_LIT(l, " of ");
    gcm__line_u64(l, sum->all.count);
    GCM__LINE_LIT(l, " at or over the ");
    gcm__line_duration(l, v->slo_ns);
    gcm__line_str(l, v->slo_given ? " budget (--slo-ms)" : " budget (the alert threshold)");
    if (!v->over_exact)
        GCM__LINE_LIT(l, ", from the histogram");
}

int gcm__verdict_lines(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__verdict v;
    gcm__line l;
    int status;

    gcm__verdict_compute(in, sum, &v);
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GC verdict: ");
    gcm__line_str(&l, gcm_verdict_name(v.level));
    GCM__LINE_LIT(&l, " (");
    gcm__line_mem(&l, v.why.buf, v.why.len);
    GCM__LINE_LIT(&l, ")");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;

    gcm__line_reset(&l);
    gcm__line_printf(&l, "  GC share of wall time: %.2f%% (", sum->share_pct);
    gcm__line_duration(&l, sum->gc_ns);
    GCM__LINE_LIT(&l, " of ");
    gcm__line_duration(&l, sum->wall_ns);
    GCM__LINE_LIT(&l, ")");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;

    pauses_line(sum, &v, &l);
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  worst one-second window: ");
    if (sum->all.count == 0) {
        GCM__LINE_LIT(&l, "no collection");
    } else if (v.have_window) {
        gcm__line_printf(&l, "%.1f%% GC (", v.window_pct);
        gcm__line_duration(&l, v.window_ns);
        GCM__LINE_LIT(&l, " from T+");
        gcm__line_printf(&l, "%.1fs", (double)v.window_start_ns / 1e9);
        GCM__LINE_LIT(&l, ")");
        if (v.window_partial)
            GCM__LINE_LIT(&l, ", among the retained collections only");
    } else {
        GCM__LINE_LIT(&l, "none (the run was shorter than a second)");
    }
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  collections: ");
    gcm__line_u64(&l, sum->all.count);
    if (v.enough)
        gcm__line_printf(&l, ", %.1f a second", sum->rate_per_s);
    else
        GCM__LINE_LIT(&l, " (too short a run for a rate)");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  explicit gc.collect() vs automatic: ");
    if (v.explicit_known) {
        gcm__line_u64(&l, v.explicit_count);
        GCM__LINE_LIT(&l, " explicit, ");
        gcm__line_u64(&l, sum->cause[GCM_CAUSE_AUTOMATIC].count);
        GCM__LINE_LIT(&l, " automatic");
        if (sum->cause[GCM_CAUSE_SHUTDOWN].count > 0) {
            GCM__LINE_LIT(&l, ", ");
            gcm__line_u64(&l, sum->cause[GCM_CAUSE_SHUTDOWN].count);
            GCM__LINE_LIT(&l, " at shutdown");
        }
    } else {
        GCM__LINE_LIT(&l, "unknown (this recording does not say why a collection ran)");
        if (v.explicit_min > 0) {
            GCM__LINE_LIT(&l, "; at least ");
            gcm__line_u64(&l, v.explicit_min);
            gcm__line_str(&l, v.explicit_min == 1
                                  ? " full collection was a gc.collect() call, by count"
                                  : " full collections were gc.collect() calls, by count");
        }
    }
    status = gcm__line_emit(&l, sink);
done:
    return status;
}

int gcm__render_verdict_text(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink)
{
    gcm__line l;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "=== GC VERDICT ===");
    status = gcm__line_emit(&l, sink);
    if (status == 0)
        status = gcm__verdict_lines(in, sum, sink);
    return status;
}

/* Adds `value` rounded to three decimals (a figure, not a count). */
static cJSON *add_figure(cJSON *obj, const char *key, double value)
{
    return cJSON_AddNumberToObject(obj, key, floor(value * 1000.0 + 0.5) / 1000.0);
}

static cJSON *add_ms(cJSON *obj, const char *key, uint64_t ns)
{
    return cJSON_AddNumberToObject(obj, key, (double)gcm__div_round(ns, 1000u) / 1000.0);
}

static cJSON *add_count(cJSON *obj, const char *key, uint64_t n)
{
    return cJSON_AddNumberToObject(obj, key,
                                   (double)(n < GCM__JSON_MAX_EXACT ? n : GCM__JSON_MAX_EXACT));
}

cJSON *gcm__verdict_json(const gcm_report_input *in, const gcm_summary *sum)
{
    gcm__verdict v;
    cJSON *obj = NULL;
    cJSON *limits;
    cJSON *result = NULL;
    char why[GCM__LINE_CAP + 1];

    gcm__verdict_compute(in, sum, &v);
    memcpy(why, v.why.buf, v.why.len);
    why[v.why.len] = '\0';
    obj = cJSON_CreateObject();
    if (obj == NULL)
        goto done;
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "type", "verdict"));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "verdict", gcm_verdict_name(v.level)));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "level", gcm_verdict_word(v.level)));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "reason", why));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "enough_data", v.enough));
    GCM__JSON_ADD(add_figure(obj, "share", sum->share_pct));
    GCM__JSON_ADD(add_ms(obj, "gc_ms", sum->gc_ns));
    GCM__JSON_ADD(add_ms(obj, "wall_ms", sum->wall_ns));
    GCM__JSON_ADD(add_count(obj, "count", sum->all.count));
    GCM__JSON_ADD(add_figure(obj, "rate_per_s", sum->rate_per_s));
    GCM__JSON_ADD(add_ms(obj, "p50_ms", sum->all.p50_ns));
    GCM__JSON_ADD(add_ms(obj, "p99_ms", sum->all.p99_ns));
    GCM__JSON_ADD(add_ms(obj, "max_ms", sum->all.max_ns));
    GCM__JSON_ADD(add_ms(obj, "slo_ms", v.slo_ns));
    GCM__JSON_ADD(
        cJSON_AddStringToObject(obj, "slo_from", v.slo_given ? "slo_ms" : "alert_threshold"));
    GCM__JSON_ADD(add_count(obj, "over_slo", v.over_slo));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "over_slo_exact", v.over_exact));
    if (v.have_window) {
        GCM__JSON_ADD(add_figure(obj, "window", v.window_pct));
        GCM__JSON_ADD(add_figure(obj, "window_start_s", (double)v.window_start_ns / 1e9));
    } else {
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "window"));
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "window_start_s"));
    }
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "window_partial", v.window_partial));
    if (v.explicit_known) {
        GCM__JSON_ADD(add_count(obj, "explicit", v.explicit_count));
        GCM__JSON_ADD(add_ms(obj, "explicit_ms", v.explicit_ns));
    } else {
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "explicit"));
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "explicit_ms"));
    }
    GCM__JSON_ADD(add_count(obj, "explicit_at_least", v.explicit_min));
    limits = cJSON_AddObjectToObject(obj, "limits");
    GCM__JSON_ADD(limits);
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "min_collections", GCM__MIN_COLLECTIONS));
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "min_wall_s", GCM__MIN_WALL_NS / 1e9));
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "hurting_share", GCM__HURT_SHARE_PCT));
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "hurting_window", GCM__HURT_WINDOW_PCT));
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "noticeable_share", GCM__NOTICE_SHARE_PCT));
    GCM__JSON_ADD(cJSON_AddNumberToObject(limits, "noticeable_window", GCM__NOTICE_WINDOW_PCT));
    result = obj;
    obj = NULL;
done:
    cJSON_Delete(obj);
    return result;
}

int gcm__render_verdict_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                              const gcm_sink *sink)
{
    cJSON *obj = gcm__verdict_json(in, sum);
    int status = obj != NULL ? gcm__sink_json_line(obj, sink) : GCM_ENOMEM;

    cJSON_Delete(obj);
    return status;
}
