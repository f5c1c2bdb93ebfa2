/* src/report/advice.c: "=== GC THRESHOLD RECOMMENDATIONS ===", in two phases.
 *
 * Phase 1 (gcm__advice_derive) turns the exact aggregates of the snapshot
 * into flags; it never looks at the ring, so advice covers every collection,
 * including those the ring overwrote.  Phase 2 builds each piece of advice
 * from the flags once, in one fixed order, into an item that the text, JSON
 * and prompt renderers all print: the wording lives in one place, and each
 * rule can be tested on its own.  The limits and the gen0 threshold formula
 * are documented in docs/recommendations.md; keep the two in step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* The most items one report can hold: two notes, two generation 2 rules, three
 * rules per generation, and five more. */
#define ADVICE_MAX 19
#define CODE_CAP 192

/* The "Recommended optimizations" lines that scripts look for, as the gen2
 * share rule's snippet. */
static const char *const freeze_snippet[] = {
    "    import gc",
    "    # After application initialization",
    "    gc.collect(2)  # one full collection of the start-up garbage",
    "    gc.freeze()    # move every survivor to the permanent generation",
};

typedef struct advice_item {
    const char *severity;       /* "MEDIUM", "HIGH", "CRITICAL", or "NOTE" */
    const char *rule;           /* stable identifier, the JSON "rule" */
    int generation;             /* -1 when the rule is about all generations */
    double value;               /* the figure that fired the rule ... */
    double limit;               /* ... the limit it crossed ... */
    const char *unit;           /* ... and their unit ("ms", "%", "per_min", "objects") */
    gcm__line message;          /* the figure, as a sentence */
    char code[CODE_CAP];        /* the code to try, one line; "" for notes */
    const char *const *snippet; /* extra lines of code, indented */
    size_t snippet_lines;
} advice_item;

static double pct(uint64_t part, uint64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Rounds a double of nanoseconds to a whole number for display. */
static uint64_t ns_round(double ns)
{
    if (!(ns > 0.0))
        return 0;
    if (ns >= 18446744073709549568.0)
        return UINT64_MAX;
    return (uint64_t)(ns + 0.5);
}

static double ms(uint64_t ns)
{
    return (double)gcm__div_round(ns, 1000u) / 1000.0;
}

void gcm__advice_derive(const gcm_report_input *in, const gcm_summary *sum,
                        gcm__advice_flags *flags)
{
    const gcm_snapshot *snap = in->snapshot;
    uint64_t thr = snap->alert_threshold_ns;
    unsigned g;

    memset(flags, 0, sizeof *flags);
    flags->mislead = gcm__generations_mislead(in);
    flags->dump_garbage = in->config->dump_garbage != 0;
    if (sum->all.count == 0)
        return;
    if (flags->mislead == GCM__GENS_MEANINGFUL) {
        const gcm_gen_summary *g2 = &sum->gen[2];
        flags->gen2_mean = g2->count > 0 && g2->mean_ns > (double)GCM__GEN2_MEAN_NS;
        flags->gen2_share = pct(g2->count, sum->all.count) > GCM__GEN2_SHARE_PCT;
        for (g = 0; g < GCM_GENERATIONS; g++) {
            const gcm_gen_summary *s = &sum->gen[g];
            /* A threshold of 0 alerts on every pause by request: measuring
             * pauses against it would fire these rules on every run. */
            if (s->count == 0 || thr == 0)
                continue;
            flags->p95_near[g] = (double)s->p95_ns >= GCM__P95_FRACTION * (double)thr;
            flags->over_share[g] = pct(s->alerts, s->count) > GCM__OVER_SHARE_PCT;
        }
        if (sum->wall_ns > 0 && sum->gen[0].count > 0) {
            flags->gen0_per_min = (double)sum->gen[0].count * 60e9 / (double)sum->wall_ns;
            flags->gen0_rate = flags->gen0_per_min > GCM__GEN0_RATE_PER_MIN;
            /* Generation 0 runs once every threshold0 net allocations, so
             * its rate falls in proportion as threshold0 grows: multiply by
             * the rate over the target, rounded up to a whole factor. */
            double factor = ceil(flags->gen0_per_min / GCM__GEN0_TARGET_PER_MIN);
            /* A damaged capture file can claim any rate; converting a double
             * beyond 2^64 to an integer is undefined behaviour. */
            flags->threshold_factor =
                factor < 18446744073709551615.0 ? (uint64_t)factor : UINT64_MAX;
        }
        /* A handful of collections (a gc.collect() at start-up) says
         * nothing about how the program's collections usually go. */
        for (g = 0; g < GCM_GENERATIONS; g++) {
            double eff;
            flags->low_efficiency[g] = sum->gen[g].count >= GCM__EFFICIENCY_MIN_COUNT &&
                                       gcm_efficiency_pct(&sum->gen[g], &eff) &&
                                       eff < GCM__EFFICIENCY_PCT;
        }
    }
    flags->max_pause = thr > 0 && gcm_is_alert(sum->all.max_ns, thr);
    if (sum->wall_ns > 0) {
        if (sum->share_pct > GCM__SHARE_CRIT_PCT)
            flags->gc_share = 2;
        else if (sum->share_pct > GCM__SHARE_WARN_PCT)
            flags->gc_share = 1;
    }
    flags->uncollectable = sum->all.uncollectable > 0;
    /* Bursts are measured between the pauses seen: an outside reader's
     * missed collections (sum->missed) have no times to measure. */
    flags->bursts = sum->all.count - sum->missed >= 2 &&
                    pct(snap->bursts, sum->all.count - sum->missed - 1) > GCM__BURST_SHARE_PCT;
}

/* Starts item `it` with its fixed fields. */
static advice_item *item_begin(advice_item *items, size_t *n, const char *severity,
                               const char *rule, int generation, double value, double limit,
                               const char *unit)
{
    advice_item *it = &items[(*n)++];

    memset(it, 0, sizeof *it);
    it->severity = severity;
    it->rule = rule;
    it->generation = generation;
    it->value = value;
    it->limit = limit;
    it->unit = unit;
    gcm__line_reset(&it->message);
    return it;
}

static void item_code(advice_item *it, const char *code)
{
    size_t n = strlen(code);

    if (n >= sizeof it->code)
        n = sizeof it->code - 1;
    memcpy(it->code, code, n);
    it->code[n] = '\0';
}

/* "1 of 4" style counts in a message. */
static void of_count(gcm__line *l, uint64_t part, uint64_t whole)
{
    gcm__line_u64(l, part);
    GCM__LINE_LIT(l, " of ");
    gcm__line_u64(l, whole);
}

/* Phase 2: builds every item the flags call for, in the fixed order. */
static size_t collect_items(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm__advice_flags *f, advice_item *items)
{
    const gcm_snapshot *snap = in->snapshot;
    uint64_t thr = snap->alert_threshold_ns;
    advice_item *it;
    size_t n = 0;
    unsigned g;

    if (f->dump_garbage) {
        it = item_begin(items, &n, "NOTE", "dump_garbage", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "--dump-garbage was on: DEBUG_SAVEALL keeps every collected"
                                    " object alive, so the pauses above are not representative.");
    }
    if (f->mislead == GCM__GENS_FREE_THREADED) {
        it = item_begin(items, &n, "NOTE", "generations_mislead", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "free-threaded CPython has a single generation, so the"
                                    " per-generation rules (generation 2 pauses and share, p95"
                                    " and pauses over the threshold by generation, generation 0"
                                    " rate) are left out.");
    } else if (f->mislead == GCM__GENS_INCREMENTAL) {
        it = item_begin(items, &n, "NOTE", "generations_mislead", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "CPython 3.14.0 to 3.14.4 report incremental collections as"
                                    " generation 1, so the per-generation rules (generation 2"
                                    " pauses and share, p95 and pauses over the threshold by"
                                    " generation, generation 0 rate) are left out.");
    }
    if (f->gen2_mean) {
        uint64_t mean = ns_round(sum->gen[2].mean_ns);
        it = item_begin(items, &n, "HIGH", "gen2_mean_pause", 2, ms(mean), ms(GCM__GEN2_MEAN_NS),
                        "ms");
        GCM__LINE_LIT(&it->message, "Generation 2 average pause ");
        gcm__line_duration(&it->message, mean);
        GCM__LINE_LIT(&it->message, " is over 10ms: every full collection walks all long-lived"
                                    " objects.");
        item_code(it, "gc.freeze() after start-up, and fewer long-lived container objects");
    }
    if (f->gen2_share) {
        double share = pct(sum->gen[2].count, sum->all.count);
        it = item_begin(items, &n, "MEDIUM", "gen2_share", 2, share, GCM__GEN2_SHARE_PCT, "%");
        GCM__LINE_LIT(&it->message, "Generation 2 is ");
        gcm__line_printf(&it->message, "%.1f%%", share);
        GCM__LINE_LIT(&it->message, " of collections (");
        of_count(&it->message, sum->gen[2].count, sum->all.count);
        GCM__LINE_LIT(&it->message, "), over 10%.");
        item_code(it, "gc.freeze() after start-up:");
        it->snippet = freeze_snippet;
        it->snippet_lines = sizeof freeze_snippet / sizeof freeze_snippet[0];
    }
    for (g = 0; g < GCM_GENERATIONS; g++) {
        if (!f->p95_near[g])
            continue;
        /* The limit is the trigger, 80% of the threshold, not the threshold. */
        it = item_begin(items, &n, "MEDIUM", "p95_near_threshold", (int)g, ms(sum->gen[g].p95_ns),
                        GCM__P95_FRACTION * ms(thr), "ms");
        GCM__LINE_LIT(&it->message, "Generation ");
        gcm__line_u64(&it->message, g);
        GCM__LINE_LIT(&it->message, " p95 pause ");
        gcm__line_duration(&it->message, sum->gen[g].p95_ns);
        GCM__LINE_LIT(&it->message, " is at least 80% of the ");
        gcm__line_duration(&it->message, thr);
        GCM__LINE_LIT(&it->message, " alert threshold.");
        item_code(it, "gc.freeze() after start-up, so each collection walks fewer objects");
    }
    for (g = 0; g < GCM_GENERATIONS; g++) {
        double share;
        if (!f->over_share[g])
            continue;
        share = pct(sum->gen[g].alerts, sum->gen[g].count);
        it = item_begin(items, &n, "HIGH", "pauses_over_threshold", (int)g, share,
                        GCM__OVER_SHARE_PCT, "%");
        gcm__line_printf(&it->message, "%.1f%%", share);
        GCM__LINE_LIT(&it->message, " of generation ");
        gcm__line_u64(&it->message, g);
        GCM__LINE_LIT(&it->message, " pauses (");
        of_count(&it->message, sum->gen[g].alerts, sum->gen[g].count);
        GCM__LINE_LIT(&it->message, ") reached the ");
        gcm__line_duration(&it->message, thr);
        GCM__LINE_LIT(&it->message, " alert threshold, over 20%.");
        item_code(it, "gc.freeze() after start-up, and smaller batches of container objects");
    }
    if (f->max_pause) {
        it = item_begin(items, &n, "HIGH", "max_pause", -1, ms(sum->all.max_ns), ms(thr), "ms");
        GCM__LINE_LIT(&it->message, "Maximum pause ");
        gcm__line_duration(&it->message, sum->all.max_ns);
        GCM__LINE_LIT(&it->message, " reached the ");
        gcm__line_duration(&it->message, thr);
        GCM__LINE_LIT(&it->message, " alert threshold (");
        gcm__line_u64(&it->message, sum->all.alerts);
        gcm__line_str(&it->message, sum->all.alerts == 1 ? " pause)." : " pauses).");
        item_code(it, "gc.freeze() after start-up and fewer allocations; tune gc.set_threshold()");
    }
    if (f->gc_share) {
        int crit = f->gc_share == 2;
        it = item_begin(items, &n, crit ? "CRITICAL" : "MEDIUM", "gc_share", -1, sum->share_pct,
                        crit ? GCM__SHARE_CRIT_PCT : GCM__SHARE_WARN_PCT, "%");
        GCM__LINE_LIT(&it->message, "GC took ");
        gcm__line_printf(&it->message, "%.2f%%", sum->share_pct);
        GCM__LINE_LIT(&it->message, " of wall time (");
        gcm__line_duration(&it->message, sum->gc_ns);
        GCM__LINE_LIT(&it->message, " of ");
        gcm__line_duration(&it->message, sum->wall_ns);
        if (crit)
            GCM__LINE_LIT(&it->message, "), over 5%: major optimization needed.");
        else
            GCM__LINE_LIT(&it->message, "), over 2%.");
        item_code(it, "fewer short-lived container objects; gc.freeze() after start-up;"
                      " a higher gc.set_threshold() first value");
    }
    if (f->uncollectable) {
        it = item_begin(items, &n, "MEDIUM", "uncollectable", -1, (double)sum->all.uncollectable,
                        0.0, "objects");
        gcm__line_u64(&it->message, sum->all.uncollectable);
        gcm__line_str(&it->message, sum->all.uncollectable == 1
                                        ? " object was uncollectable: a reference cycle that"
                                          " cannot be freed."
                                        : " objects were uncollectable: reference cycles that"
                                          " cannot be freed.");
        item_code(it, "gc.set_debug(gc.DEBUG_UNCOLLECTABLE), then read gc.garbage and break the"
                      " cycles (weakref)");
    }
    if (f->gen0_rate) {
        char code[CODE_CAP];
        it = item_begin(items, &n, "MEDIUM", "gen0_rate", 0, f->gen0_per_min,
                        GCM__GEN0_RATE_PER_MIN, "per_min");
        GCM__LINE_LIT(&it->message, "Generation 0 ran ");
        gcm__line_printf(&it->message, "%.0f", f->gen0_per_min);
        GCM__LINE_LIT(&it->message, " times a minute, over 800.");
        if (in->have_gc_state && in->gc_threshold[0] > 0) {
            /* The factor times today's threshold0, rounded up to a multiple of
             * 100; saturated, since a damaged capture can claim any rate. */
            uint64_t base = (uint64_t)in->gc_threshold[0];
            uint64_t t0 = f->threshold_factor > (UINT64_MAX - 99u) / base
                              ? UINT64_MAX / 100u * 100u
                              : (base * f->threshold_factor + 99u) / 100u * 100u;
            (void)snprintf(code, sizeof code, "gc.set_threshold(%llu, %lld, %lld)",
                           (unsigned long long)t0, (long long)in->gc_threshold[1],
                           (long long)in->gc_threshold[2]);
        } else {
            (void)snprintf(code, sizeof code,
                           "gc.set_threshold(gc.get_threshold()[0] * %llu,"
                           " *gc.get_threshold()[1:])",
                           (unsigned long long)f->threshold_factor);
        }
        item_code(it, code);
    }
    if (f->bursts) {
        uint64_t gaps = sum->all.count - sum->missed - 1;
        double share = pct(snap->bursts, gaps);
        it = item_begin(items, &n, "MEDIUM", "bursts", -1, share, GCM__BURST_SHARE_PCT, "%");
        gcm__line_printf(&it->message, "%.1f%%", share);
        GCM__LINE_LIT(&it->message, " of the gaps between collections (");
        of_count(&it->message, snap->bursts, gaps);
        GCM__LINE_LIT(&it->message, ") were under 50ms, over 30%: collections come in bursts.");
        item_code(it, "gc.disable() before a burst of allocation and gc.enable() after it,"
                      " or a higher gc.set_threshold() first value");
    }
    for (g = 0; g < GCM_GENERATIONS; g++) {
        const gcm_gen_summary *s = &sum->gen[g];
        double eff = 0.0;
        if (!f->low_efficiency[g])
            continue;
        (void)gcm_efficiency_pct(s, &eff);
        it = item_begin(items, &n, "MEDIUM", "low_efficiency", (int)g, eff, GCM__EFFICIENCY_PCT,
                        "%");
        GCM__LINE_LIT(&it->message, "Generation ");
        gcm__line_u64(&it->message, g);
        GCM__LINE_LIT(&it->message, " collections freed ");
        gcm__line_printf(&it->message, "%.2f%%", eff);
        GCM__LINE_LIT(&it->message, " of the objects they examined (");
        of_count(&it->message, s->collected, s->candidates);
        GCM__LINE_LIT(&it->message, "), under 1%: nearly everything they walk survives.");
        /* A full collection walks the long-lived heap, which freezing takes
         * out of its way; a young one walks what outlived the interval, which
         * a higher threshold gives time to die first. */
        item_code(it, g == 2   ? "gc.freeze() after start-up, so full collections stop walking"
                                 " the objects that live on"
                      : g == 1 ? "a higher gc.set_threshold() second value, so fewer objects"
                                 " are examined again before they die"
                               : "a higher gc.set_threshold() first value, so more objects die"
                                 " before a collection examines them");
    }
    return n;
}

/* "SEVERITY: message Try: code", then the snippet lines. */
static int item_text(const advice_item *it, const gcm_sink *sink)
{
    gcm__line l;
    size_t i;
    int status;

    gcm__line_reset(&l);
    gcm__line_str(&l, it->severity);
    GCM__LINE_LIT(&l, ": ");
    gcm__line_mem(&l, it->message.buf, it->message.len);
    if (it->code[0] != '\0') {
        GCM__LINE_LIT(&l, " Try: ");
        gcm__line_str(&l, it->code);
    }
    status = gcm__line_emit(&l, sink);
    for (i = 0; i < it->snippet_lines && status == 0; i++) {
        gcm__line_reset(&l);
        gcm__line_str(&l, it->snippet[i]);
        status = gcm__line_emit(&l, sink);
    }
    return status;
}

int gcm__advice_lines(const gcm_report_input *in, const gcm_summary *sum,
                      const gcm__advice_flags *flags, const gcm_sink *sink, size_t *count)
{
    advice_item *items;
    size_t n, i;
    int status = GCM_ENOMEM;

    *count = 0;
    /* About 12 KiB: on the heap, so a caller's thread stack stays small. */
    items = malloc(ADVICE_MAX * sizeof *items);
    if (items == NULL)
        goto done;
    n = collect_items(in, sum, flags, items);
    status = 0;
    for (i = 0; i < n && status == 0; i++)
        status = item_text(&items[i], sink);
    if (status == 0)
        *count = n;
done:
    free(items);
    return status;
}

int gcm__render_advice_text(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm_sink *sink)
{
    gcm__advice_flags flags;
    gcm__membuf body;
    gcm_sink mem;
    gcm__line l;
    size_t count = 0;
    int status;

    memset(&body, 0, sizeof body);
    gcm__advice_derive(in, sum, &flags);
    /* The lines are gathered first so that a report without advice has no
     * heading either. */
    mem.write = gcm__membuf_write;
    mem.ctx = &body;
    status = gcm__advice_lines(in, sum, &flags, &mem, &count);
    if (status != 0 || count == 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "=== GC THRESHOLD RECOMMENDATIONS ===");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    status = gcm__emit_block(NULL, NULL, body.buf, body.len, 0, sink);
done:
    free(body.buf);
    return status;
}

/* Adds `value` as a number rounded to three decimals (a figure, not a count). */
static cJSON *add_figure(cJSON *obj, const char *key, double value)
{
    return cJSON_AddNumberToObject(obj, key, floor(value * 1000.0 + 0.5) / 1000.0);
}

/* One {"type":"advice"} line for `it`. */
static int item_json(const advice_item *it, const gcm_sink *sink)
{
    cJSON *obj = NULL;
    char message[GCM__LINE_CAP + 1];
    gcm__membuf line;
    size_t i;
    int ok, status = GCM_ENOMEM;

    memset(&line, 0, sizeof line);
    memcpy(message, it->message.buf, it->message.len);
    message[it->message.len] = '\0';
    obj = cJSON_CreateObject();
    if (obj == NULL)
        goto done;
    ok =
        cJSON_AddStringToObject(obj, "type", "advice") != NULL &&
        cJSON_AddStringToObject(obj, "severity", it->severity) != NULL &&
        cJSON_AddStringToObject(obj, "rule", it->rule) != NULL &&
        (it->generation < 0 ? cJSON_AddNullToObject(obj, "generation")
                            : cJSON_AddNumberToObject(obj, "generation", it->generation)) != NULL &&
        cJSON_AddStringToObject(obj, "message", message) != NULL;
    if (ok && it->unit[0] != '\0')
        ok = add_figure(obj, "value", it->value) != NULL &&
             add_figure(obj, "limit", it->limit) != NULL &&
             cJSON_AddStringToObject(obj, "unit", it->unit) != NULL;
    if (ok && it->code[0] != '\0') {
        /* The snippet joins the code, one line of Python per line. */
        gcm_sink mem;
        mem.write = gcm__membuf_write;
        mem.ctx = &line;
        ok = gcm__membuf_write(&line, it->code, strlen(it->code)) == 0;
        for (i = 0; ok && i < it->snippet_lines; i++) {
            const char *s = it->snippet[i];
            while (*s == ' ')
                s++;
            ok = mem.write(mem.ctx, "\n", 1) == 0 && mem.write(mem.ctx, s, strlen(s)) == 0;
        }
        ok = ok && cJSON_AddStringToObject(obj, "code", line.buf) != NULL;
    }
    if (!ok)
        goto done;
    status = gcm__sink_json_line(obj, sink);
done:
    free(line.buf);
    cJSON_Delete(obj);
    return status;
}

int gcm__render_advice_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink)
{
    gcm__advice_flags flags;
    advice_item *items;
    size_t n, i;
    int status = GCM_ENOMEM;

    gcm__advice_derive(in, sum, &flags);
    items = malloc(ADVICE_MAX * sizeof *items);
    if (items == NULL)
        goto done;
    n = collect_items(in, sum, &flags, items);
    status = 0;
    for (i = 0; i < n && status == 0; i++)
        status = item_json(&items[i], sink);
done:
    free(items);
    return status;
}
