/* src/report/advice.c: "=== GC THRESHOLD RECOMMENDATIONS ===", in two phases.
 *
 * Phase 1 (gcm__advice_derive) turns the exact aggregates of the snapshot,
 * the verdict and the interpreter's facts into flags; only the shape of the
 * heap over time (do the full collections' pauses reach their size early and
 * stay, or keep growing) reads the retained generation 2 events.  Phase 2
 * builds each piece of advice from the flags once, in one fixed order, into
 * an item that the text, JSON and prompt renderers all print: the wording
 * lives in one place, and each rule can be tested on its own.  Advice needs
 * evidence: below the verdict's minimum, or when the verdict is FINE, only
 * facts (notes, uncollectable objects) are reported.  Every rule, its
 * evidence, its bound and its scenario test are in docs/recommendations.md;
 * keep the two in step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* The most items one report can hold: three notes, a budget line per
 * generation, and four rules. */
#define ADVICE_MAX 12
#define CODE_CAP 192

/* The "Recommended optimizations" lines that scripts look for, as the freeze
 * rule's snippet. */
static const char *const freeze_snippet[] = {
    "    import gc",
    "    # After application initialization",
    "    gc.collect(2)  # one full collection of the start-up garbage",
    "    gc.freeze()    # move every survivor to the permanent generation",
};

typedef struct advice_item {
    const char *severity;       /* "MEDIUM", "HIGH", or "NOTE" */
    const char *rule;           /* stable identifier, the JSON "rule" */
    int generation;             /* -1 when the rule is about all generations */
    double value;               /* the figure that fired the rule ... */
    double limit;               /* ... the limit it crossed ... */
    const char *unit;           /* ... and their unit ("ms", "%", "per_s", "objects") */
    gcm__line message;          /* the figure, as a sentence */
    char code[CODE_CAP];        /* the code to try, one line; "" for notes */
    const char *const *snippet; /* extra lines of code, indented */
    size_t snippet_lines;
    gcm__line cost;  /* what the change costs, measured where possible; empty if nothing */
    gcm__line check; /* how to see that it worked; empty for notes */
} advice_item;

static double pct(uint64_t part, uint64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Objects freed per collection of `g`, 0 without collections. */
static double per_collection(const gcm_gen_summary *g)
{
    return g->count > 0 ? (double)g->collected / (double)g->count : 0.0;
}

/* Objects freed per millisecond of `g`'s pauses, 0 without pause time. */
static double freed_per_ms(const gcm_gen_summary *g)
{
    return g->total_ns > 0 ? (double)g->collected * 1e6 / (double)g->total_ns : 0.0;
}

/* Collections of generation `g` that free almost nothing for the time they
 * take: under GCM__FEW_FREED_PER_MS objects per millisecond of pause (a
 * collection examines some 10^4 to 10^5 objects a millisecond, so that is
 * about 1% of them or less), or, where CPython 3.15 reports the objects it
 * examined, under GCM__LOW_EFFICIENCY_PCT of them. */
static int frees_little(const gcm_snapshot *snap, const gcm_gen_summary *g, unsigned gen)
{
    uint64_t candidates = snap->gen[gen].candidates;

    if (candidates > 0)
        return pct(g->collected, candidates) < GCM__LOW_EFFICIENCY_PCT;
    return (double)g->collected * 1e6 < (double)GCM__FEW_FREED_PER_MS * (double)g->total_ns;
}

/* The shape of the heap at the end of the run, from the young collections
 * between the newest GCM__SHAPE_PAUSES (six) full collections of the
 * retained events.  CPython (before 3.14, and from 3.14.5) runs a full
 * collection once the objects promoted since the last one exceed a quarter
 * of the long-lived heap, so at a steady rate of promotion the young
 * collections between two full ones stay steady while the heap does, and
 * grow with it (by a quarter each time when everything survives).  Growing
 * when the newest two of the five gaps hold more than GCM__GROWTH times the
 * young collections of the oldest two.  Counts, not pauses: a busy machine
 * stretches pauses, never counts.  With fewer full collections the shape is
 * unknown and neither flag is set. */
static void heap_shape(const gcm_report_input *in, gcm__advice_flags *flags)
{
    const gcm_event *ev = in->events;
    uint64_t gaps[GCM__SHAPE_PAUSES - 1];
    uint64_t young = 0;
    size_t i = in->event_count, seen = 0;

    while (i > 0 && seen < GCM__SHAPE_PAUSES) {
        i--;
        if (ev[i].generation != 2) {
            young++;
            continue;
        }
        /* Gap k holds the young collections after the (k+1)th newest full one. */
        if (seen > 0)
            gaps[seen - 1] = young;
        young = 0;
        seen++;
        flags->heap_at_ns = gcm__event_offset_ns(in->snapshot, &ev[i]);
    }
    if (seen < GCM__SHAPE_PAUSES)
        return;
    flags->heap_growing =
        (double)(gaps[0] + gaps[1]) >
        GCM__GROWTH * (double)(gaps[GCM__SHAPE_PAUSES - 3] + gaps[GCM__SHAPE_PAUSES - 2]);
    flags->heap_early = !flags->heap_growing;
}

void gcm__advice_derive(const gcm_report_input *in, const gcm_summary *sum, const gcm__verdict *v,
                        gcm__advice_flags *flags)
{
    const gcm_snapshot *snap = in->snapshot;
    const gcm_gen_summary *g2 = &sum->gen[2];
    unsigned g;

    memset(flags, 0, sizeof *flags);
    flags->mislead = gcm__generations_mislead(in);
    flags->dump_garbage = in->config->dump_garbage != 0;
    flags->enough = v->enough;
    flags->v = *v;
    /* Frozen by the program: since monitoring began, not by CPython at start-up. */
    flags->frozen = in->have_freeze_count && in->freeze_count > in->freeze_at_start;
    flags->uncollectable = sum->all.uncollectable > 0;
    /* Below the evidence minimum, and when GC is fine, only facts are
     * reported: rates, shares and pauses judged on too little, or on a run
     * GC does not hurt, make advice nobody should follow. */
    if (!v->enough || v->level == GCM_VERDICT_FINE || sum->all.count == 0)
        return;
    if (flags->mislead != GCM__GENS_MEANINGFUL) {
        flags->over_budget[0] = v->slo_ns > 0 && sum->all.p99_ns >= v->slo_ns;
        return;
    }
    for (g = 0; g < GCM_GENERATIONS; g++)
        flags->over_budget[g] =
            v->slo_ns > 0 && sum->gen[g].count > 0 && sum->gen[g].p99_ns >= v->slo_ns;

    /* Full collections that must have been the program's own gc.collect()
     * calls (the verdict counts them): when they are most of the full
     * collections, the rules about automatic ones keep out of it. */
    /* Recorded causes give the exact number; otherwise the count's bound. */
    flags->explicit_min =
        v->explicit_known ? sum->cause[GCM_CAUSE_EXPLICIT].gen_count[2] : v->explicit_min;
    flags->explicit_full = 2u * flags->explicit_min >= g2->count && g2->count > 0;

    /* Full collections: long, freeing little, over a heap built early ->
     * gc.freeze(); freeing little at a cost otherwise -> overhead. */
    if (!flags->explicit_full && g2->count >= 3 && frees_little(snap, g2, 2)) {
        int costs = pct(g2->total_ns, sum->wall_ns) >= GCM__COSTS_PCT ||
                    (v->slo_ns > 0 && g2->p99_ns >= v->slo_ns);
        heap_shape(in, flags);
        flags->freeze = !flags->frozen && flags->heap_early && g2->p99_ns >= GCM__LONG_FULL_NS;
        flags->wasted[2] = costs && !flags->freeze;
    }

    /* Young collections: enough of them, costing enough of the run. */
    {
        uint64_t young_n = sum->gen[0].count + sum->gen[1].count;
        uint64_t young_ns = sum->gen[0].total_ns + sum->gen[1].total_ns;
        double share = pct(young_ns, sum->wall_ns);
        if (sum->gen[0].count >= GCM__YOUNG_MIN && share >= GCM__YOUNG_SHARE_PCT) {
            /* One step aims the young share at about 1%, and is never more
             * than GCM__STEP_MAX: see docs/recommendations.md for why. */
            double k = ceil(share / 1.0);
            flags->young = 1;
            flags->young_share = share;
            flags->step = k < 2.0 ? 2u : k > (double)GCM__STEP_MAX ? GCM__STEP_MAX : (uint64_t)k;
            flags->young_cycles =
                young_n > 0 &&
                (double)(sum->gen[0].collected + sum->gen[1].collected) / (double)young_n >=
                    (double)GCM__CYCLES_FREED;
        }
    }
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
    gcm__line_reset(&it->cost);
    gcm__line_reset(&it->check);
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

/* A size in bytes as MB with one decimal. */
static void line_mb(gcm__line *l, uint64_t bytes)
{
    gcm__line_printf(l, "%.1f MB", (double)bytes / 1e6);
}

/* The thresholds to show in code: the ones read at exit, else the defaults
 * of the recording interpreter (3.13 raised threshold 0 from 700 to 2000). */
static void thresholds_of(const gcm_report_input *in, int64_t t[GCM_GENERATIONS], int *known)
{
    long v[3];

    *known = in->have_gc_state && in->gc_threshold[0] > 0;
    if (*known) {
        memcpy(t, in->gc_threshold, sizeof in->gc_threshold);
        return;
    }
    t[0] = gcm__version_of(in, v) && v[0] == 3 && v[1] >= 13 ? 2000 : 700;
    t[1] = 10;
    t[2] = 10;
}

static void budget_items(const gcm_report_input *in, const gcm_summary *sum, const gcm__verdict *v,
                         const gcm__advice_flags *f, advice_item *items, size_t *n)
{
    const gcm_snapshot *snap = in->snapshot;
    unsigned g;

    for (g = 0; g < GCM_GENERATIONS; g++) {
        const gcm_gen_summary *s = f->mislead ? &sum->all : &sum->gen[g];
        const gcm_gen_snapshot *gs = f->mislead ? &snap->all : &snap->gen[g];
        advice_item *it;
        if (!f->over_budget[g])
            continue;
        it = item_begin(items, n, "HIGH", "pause_budget", f->mislead ? -1 : (int)g,
                        (double)s->p99_ns / 1e6, (double)v->slo_ns / 1e6, "ms");
        if (f->mislead) {
            GCM__LINE_LIT(&it->message, "The p99 pause ");
        } else {
            GCM__LINE_LIT(&it->message, "Generation ");
            gcm__line_u64(&it->message, g);
            GCM__LINE_LIT(&it->message, " p99 pause ");
        }
        gcm__line_duration(&it->message, s->p99_ns);
        {
            /* Two decimals near the budget, so 52.3ms over 50ms is not "1.0 times". */
            double ratio = (double)s->p99_ns / (double)v->slo_ns;
            gcm__line_printf(&it->message,
                             ratio < 10.0 ? " is %.2f times the " : " is %.1f times the ", ratio);
        }
        gcm__line_duration(&it->message, v->slo_ns);
        GCM__LINE_LIT(&it->message, " pause budget (");
        of_count(&it->message, gcm__over_budget(gs, v->slo_ns, snap->alert_threshold_ns), s->count);
        GCM__LINE_LIT(&it->message, " pauses at or over it).");
    }
}

static void freeze_items(const gcm_report_input *in, const gcm_summary *sum,
                         const gcm__advice_flags *f, advice_item *items, size_t *n)
{
    const gcm_gen_summary *g2 = &sum->gen[2];
    advice_item *it;

    if (f->freeze) {
        it = item_begin(items, n, "HIGH", "freeze", 2, (double)g2->p99_ns / 1e6,
                        (double)GCM__LONG_FULL_NS / 1e6, "ms");
        GCM__LINE_LIT(&it->message, "Generation 2: ");
        gcm__line_u64(&it->message, g2->count);
        GCM__LINE_LIT(&it->message, " full collections, p99 ");
        gcm__line_duration(&it->message, g2->p99_ns);
        gcm__line_printf(&it->message,
                         ", freeing %.1f objects each (%.1f per ms of pause): they"
                         " rescan a long-lived heap that stopped growing (the young collections"
                         " between the last 6, since T+%.1fs, stayed steady).",
                         per_collection(g2), freed_per_ms(g2), (double)f->heap_at_ns / 1e9);
        item_code(it, "gc.freeze() after start-up:");
        it->snippet = freeze_snippet;
        it->snippet_lines = sizeof freeze_snippet / sizeof freeze_snippet[0];
        GCM__LINE_LIT(&it->cost, "frozen objects are never collected: garbage cycles among"
                                 " them stay until exit; call it once, after start-up.");
        GCM__LINE_LIT(&it->check, "rerun: the generation 2 p99 should fall with the share of the"
                                  " heap frozen (gc.get_freeze_count() says how many).");
    } else if (f->frozen && sum->gen[2].count >= 3 && g2->p99_ns >= GCM__LONG_FULL_NS) {
        it = item_begin(items, n, "NOTE", "already_frozen", 2,
                        (double)(in->freeze_count - in->freeze_at_start), 0.0, "objects");
        GCM__LINE_LIT(&it->message, "The program froze ");
        gcm__line_u64(&it->message, in->freeze_count - in->freeze_at_start);
        GCM__LINE_LIT(&it->message, " objects (gc.get_freeze_count()): gc.freeze() is not"
                                    " advised again; the long full collections walk objects"
                                    " made after the freeze.");
    }
}

static void wasted_item(const gcm_report_input *in, const gcm_summary *sum,
                        const gcm__advice_flags *f, advice_item *items, size_t *n)
{
    const gcm_gen_summary *g2 = &sum->gen[2];
    uint64_t candidates = in->snapshot->gen[2].candidates;
    int64_t t[GCM_GENERATIONS];
    char code[CODE_CAP];
    advice_item *it;
    int known;

    if (!f->wasted[2])
        return;
    it = item_begin(items, n, "MEDIUM", "wasted_collections", 2, freed_per_ms(g2),
                    (double)GCM__FEW_FREED_PER_MS, "objects_per_ms");
    GCM__LINE_LIT(&it->message, "Generation 2: ");
    gcm__line_u64(&it->message, g2->count);
    GCM__LINE_LIT(&it->message, " full collections took ");
    gcm__line_duration(&it->message, g2->total_ns);
    gcm__line_printf(&it->message, " (%.1f%% of wall time) and freed ",
                     pct(g2->total_ns, sum->wall_ns));
    gcm__line_u64(&it->message, g2->collected);
    gcm__line_printf(&it->message, " objects (%.1f each, %.1f per ms of pause", per_collection(g2),
                     freed_per_ms(g2));
    if (candidates > 0)
        gcm__line_printf(&it->message, ", %.2f%% of those examined",
                         pct(g2->collected, candidates));
    GCM__LINE_LIT(&it->message, "): they are overhead.");
    if (f->heap_growing)
        GCM__LINE_LIT(&it->message, " The heap kept growing (more young collections between"
                                    " full ones each time), so gc.freeze() would not help.");
    thresholds_of(in, t, &known);
    (void)snprintf(code, sizeof code,
                   "gc.disable() around the phases that build long-lived data, gc.enable()"
                   " after; or fewer full collections: gc.set_threshold(%lld, %lld, %lld)",
                   (long long)t[0], (long long)t[1], (long long)t[2] * 4);
    item_code(it, code);
    GCM__LINE_LIT(&it->cost, "garbage cycles made while the collector waits stay in memory"
                             " until it runs");
    if (in->have_peak_rss) {
        GCM__LINE_LIT(&it->cost, " (peak RSS was ");
        line_mb(&it->cost, in->peak_rss_bytes);
        GCM__LINE_LIT(&it->cost, ")");
    }
    GCM__LINE_LIT(&it->cost, ".");
    GCM__LINE_LIT(&it->check, "rerun: generation 2 collections and GC share should fall, and"
                              " peak RSS should not rise much.");
}

static void young_item(const gcm_report_input *in, const gcm_summary *sum,
                       const gcm__advice_flags *f, advice_item *items, size_t *n)
{
    uint64_t young_n = sum->gen[0].count + sum->gen[1].count;
    uint64_t freed = sum->gen[0].collected + sum->gen[1].collected;
    double each = young_n > 0 ? (double)freed / (double)young_n : 0.0;
    int64_t t[GCM_GENERATIONS];
    char code[CODE_CAP];
    advice_item *it;
    uint64_t t0;
    int known;

    if (!f->young)
        return;
    thresholds_of(in, t, &known);
    it = item_begin(items, n, "MEDIUM", "young_collections", 0, f->young_share,
                    GCM__YOUNG_SHARE_PCT, "%");
    GCM__LINE_LIT(&it->message, "Young collections (generations 0 and 1): ");
    gcm__line_u64(&it->message, young_n);
    GCM__LINE_LIT(&it->message, " took ");
    gcm__line_duration(&it->message, sum->gen[0].total_ns + sum->gen[1].total_ns);
    gcm__line_printf(&it->message, " (%.1f%% of wall time) and freed %.1f objects each",
                     f->young_share, each);
    if (f->young_cycles)
        GCM__LINE_LIT(&it->message, ": reference cycles only the collector can free.");
    else
        GCM__LINE_LIT(&it->message, ".");
    /* The step times threshold 0, rounded up to a multiple of 100; saturated,
     * since a damaged capture can claim any threshold. */
    t0 = (uint64_t)t[0] > (UINT64_MAX - 99u) / f->step
             ? UINT64_MAX / 100u * 100u
             : ((uint64_t)t[0] * f->step + 99u) / 100u * 100u;
    if (known)
        (void)snprintf(code, sizeof code, "%sgc.set_threshold(%llu, %lld, %lld)",
                       f->young_cycles ? "break the cycles (weakref, or clear back-references"
                                         " when done); or "
                                       : "",
                       (unsigned long long)t0, (long long)t[1], (long long)t[2]);
    else
        (void)snprintf(code, sizeof code,
                       "%sgc.set_threshold(gc.get_threshold()[0] * %llu,"
                       " *gc.get_threshold()[1:])",
                       f->young_cycles ? "break the cycles (weakref, or clear back-references"
                                         " when done); or "
                                       : "",
                       (unsigned long long)f->step);
    item_code(it, code);
    gcm__line_printf(&it->cost,
                     "up to %llu times as many young objects wait between"
                     " collections",
                     (unsigned long long)f->step);
    if (f->young_cycles)
        gcm__line_printf(&it->cost, " (about %.0f garbage objects at once instead of %.0f)",
                         each * (double)f->step, each);
    if (in->have_peak_rss) {
        GCM__LINE_LIT(&it->cost, "; peak RSS was ");
        line_mb(&it->cost, in->peak_rss_bytes);
    }
    GCM__LINE_LIT(&it->cost, ".");
    GCM__LINE_LIT(&it->check, "rerun: generation 0 should run about ");
    gcm__line_u64(&it->check, f->step);
    GCM__LINE_LIT(&it->check, " times less often (");
    gcm__line_u64(&it->check, sum->gen[0].count);
    GCM__LINE_LIT(&it->check, " -> about ");
    gcm__line_u64(&it->check, gcm__div_round(sum->gen[0].count, f->step));
    GCM__LINE_LIT(&it->check, "); raise it again only if the young share stays over 2% and"
                              " peak RSS allows.");
}

/* Full collections that must have been the program's own gc.collect()
 * calls, told apart by count alone (see gcm__advice_derive). */
static void explicit_full_item(const gcm_summary *sum, const gcm__advice_flags *f,
                               advice_item *items, size_t *n)
{
    const gcm_gen_summary *g2 = &sum->gen[2];
    advice_item *it;

    /* With recorded causes, the note on explicit collections says it exactly. */
    if (!f->explicit_full || f->v.explicit_known)
        return;
    it = item_begin(items, n, "MEDIUM", "explicit_collections", 2, (double)f->explicit_min, 0.0,
                    "collections");
    GCM__LINE_LIT(&it->message, "At least ");
    of_count(&it->message, f->explicit_min, g2->count);
    GCM__LINE_LIT(&it->message, " full collections were the program's own gc.collect() calls"
                                " (after the first, an automatic one needs a generation 1"
                                " collection before it, and there were ");
    gcm__line_u64(&it->message, sum->gen[1].count);
    GCM__LINE_LIT(&it->message, "); full collections took ");
    gcm__line_duration(&it->message, g2->total_ns);
    gcm__line_printf(&it->message,
                     ", %.1f%% of GC time: the program's choice, so the rules about automatic"
                     " collections leave them out.",
                     pct(g2->total_ns, sum->gc_ns));
    item_code(it, "call gc.collect() less often, or gc.collect(0) where only young garbage"
                  " needs freeing");
    GCM__LINE_LIT(&it->check, "rerun: generation 2 collections should fall to about as many as"
                              " generation 1 collections allow.");
}

/* GC that hurts with no rule to name a cause: say so rather than nothing,
 * and point at the likeliest cause the recording cannot tell apart. */
static void unexplained_item(const gcm_summary *sum, const gcm__advice_flags *f, advice_item *items,
                             size_t *n)
{
    const gcm_gen_summary *g2 = &sum->gen[2];
    advice_item *it;
    unsigned g;

    if (!f->enough || f->v.level < GCM_VERDICT_NOTICEABLE || f->mislead != GCM__GENS_MEANINGFUL ||
        f->freeze || f->wasted[2] || f->young || f->frozen || f->explicit_full)
        return;
    for (g = 0; g < GCM_GENERATIONS; g++)
        if (f->over_budget[g] && g < 2)
            return;
    it = item_begin(items, n, "NOTE", "unexplained", -1, sum->share_pct, 0.0, "%");
    GCM__LINE_LIT(&it->message, "No rule found a cause to name.");
    if (f->v.explicit_known || g2->count == 0 || 2u * g2->total_ns < sum->gc_ns)
        return;
    GCM__LINE_LIT(&it->message, " ");
    gcm__line_u64(&it->message, g2->count);
    GCM__LINE_LIT(&it->message, " full collections took ");
    gcm__line_duration(&it->message, g2->total_ns);
    gcm__line_printf(&it->message,
                     " (%.1f%% of GC time), and this recording does not tell the program's"
                     " gc.collect() calls from automatic collections: if it calls"
                     " gc.collect(), look there first.",
                     pct(g2->total_ns, sum->gc_ns));
}

/* Phase 2: builds every item the flags call for, in the fixed order. */
static size_t collect_items(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm__advice_flags *f, advice_item *items)
{
    const gcm__verdict *v = &f->v;
    advice_item *it;
    size_t n = 0;

    if (f->dump_garbage) {
        it = item_begin(items, &n, "NOTE", "dump_garbage", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "--dump-garbage was on: DEBUG_SAVEALL keeps every collected"
                                    " object alive, so the pauses above are not representative.");
    }
    if (f->v.level >= GCM_VERDICT_NOTICEABLE && f->mislead == GCM__GENS_FREE_THREADED) {
        it = item_begin(items, &n, "NOTE", "generations_mislead", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "free-threaded CPython has a single generation, so the"
                                    " per-generation rules (full collections, gc.freeze(),"
                                    " young collections and threshold 0) are left out.");
    } else if (f->v.level >= GCM_VERDICT_NOTICEABLE && f->mislead == GCM__GENS_INCREMENTAL) {
        it = item_begin(items, &n, "NOTE", "generations_mislead", -1, 0.0, 0.0, "");
        GCM__LINE_LIT(&it->message, "CPython 3.14.0 to 3.14.4 collect incrementally and report"
                                    " those collections as generation 1, so the per-generation"
                                    " rules (full collections, gc.freeze(), young collections"
                                    " and threshold 0) are left out.");
    }
    if (!f->enough && sum->all.count > 0) {
        it = item_begin(items, &n, "NOTE", "not_enough_data", -1, (double)sum->all.count,
                        (double)GCM__MIN_COLLECTIONS, "collections");
        gcm__line_u64(&it->message, sum->all.count);
        gcm__line_str(&it->message, sum->all.count == 1 ? " collection in " : " collections in ");
        gcm__line_duration(&it->message, sum->wall_ns);
        GCM__LINE_LIT(&it->message, " of wall time is under the evidence minimum (10 collections"
                                    " and 1s): no share, rate or threshold advice.");
    }
    if (v->explicit_known && v->explicit_count > 0) {
        it = item_begin(items, &n, "NOTE", "explicit_collections", -1, (double)v->explicit_count,
                        0.0, "collections");
        gcm__line_u64(&it->message, v->explicit_count);
        GCM__LINE_LIT(&it->message, " explicit gc.collect() calls took ");
        gcm__line_duration(&it->message, v->explicit_ns);
        gcm__line_printf(&it->message, ", %.1f%% of GC time", pct(v->explicit_ns, sum->gc_ns));
        /* With --stacks, the line that calls it (the stack that ran the most). */
        if (in->stacks != NULL) {
            size_t before = it->message.len;

            GCM__LINE_LIT(&it->message, ", called at ");
            if (!gcm__explicit_call_site(in->stacks, &it->message))
                it->message.len = before;
        }
        GCM__LINE_LIT(&it->message, ": the program's own choice, left out of the rules about"
                                    " automatic collections.");
    }
    explicit_full_item(sum, f, items, &n);
    budget_items(in, sum, v, f, items, &n);
    freeze_items(in, sum, f, items, &n);
    wasted_item(in, sum, f, items, &n);
    young_item(in, sum, f, items, &n);
    unexplained_item(sum, f, items, &n);
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
    return n;
}

/* Emits "    <label>: <text>" for a cost or check line that is not empty. */
static int detail_line(const char *label, const gcm__line *text, const gcm_sink *sink)
{
    gcm__line l;

    if (text->len == 0)
        return 0;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "    ");
    gcm__line_str(&l, label);
    GCM__LINE_LIT(&l, ": ");
    gcm__line_mem(&l, text->buf, text->len);
    return gcm__line_emit(&l, sink);
}

/* "SEVERITY: message Try: code", then the snippet, cost and check lines.
 * A code too long to share the message's line gets its own. */
static int item_text(const advice_item *it, const gcm_sink *sink)
{
    gcm__line l;
    size_t i;
    int status, own_line = 0;

    gcm__line_reset(&l);
    gcm__line_str(&l, it->severity);
    GCM__LINE_LIT(&l, ": ");
    gcm__line_mem(&l, it->message.buf, it->message.len);
    if (it->code[0] != '\0') {
        size_t len = l.len;
        GCM__LINE_LIT(&l, " Try: ");
        gcm__line_str(&l, it->code);
        if (l.overflow) {
            l.overflow = 0;
            l.len = len;
            own_line = 1;
        }
    }
    status = gcm__line_emit(&l, sink);
    if (status == 0 && own_line) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "    Try: ");
        gcm__line_str(&l, it->code);
        status = gcm__line_emit(&l, sink);
    }
    for (i = 0; i < it->snippet_lines && status == 0; i++) {
        gcm__line_reset(&l);
        gcm__line_str(&l, it->snippet[i]);
        status = gcm__line_emit(&l, sink);
    }
    if (status == 0)
        status = detail_line("Cost", &it->cost, sink);
    if (status == 0)
        status = detail_line("Check", &it->check, sink);
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
    gcm__verdict verdict;
    gcm__membuf body;
    gcm_sink mem;
    gcm__line l;
    size_t count = 0;
    int status;

    memset(&body, 0, sizeof body);
    gcm__verdict_compute(in, sum, &verdict);
    gcm__advice_derive(in, sum, &verdict, &flags);
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

/* Adds the text of `l` under `key`. */
static cJSON *add_text(cJSON *obj, const char *key, const gcm__line *l)
{
    char text[GCM__LINE_CAP + 1];

    memcpy(text, l->buf, l->len);
    text[l->len] = '\0';
    return cJSON_AddStringToObject(obj, key, text);
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
    if (ok && it->cost.len > 0)
        ok = add_text(obj, "cost", &it->cost) != NULL;
    if (ok && it->check.len > 0)
        ok = add_text(obj, "check", &it->check) != NULL;
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
    gcm__verdict verdict;
    advice_item *items;
    size_t n, i;
    int status = GCM_ENOMEM;

    gcm__verdict_compute(in, sum, &verdict);
    gcm__advice_derive(in, sum, &verdict, &flags);
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
