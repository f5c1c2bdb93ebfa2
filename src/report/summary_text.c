/* src/report/summary_text.c: "=== GC MONITORING SUMMARY ===" and everything under it.
 *
 * The section opens with the documented lines (docs/reports.md), in their
 * exact shape, for the people and scripts that read them.  Our additions follow, each read at
 * a glance: a percentile table with aligned columns, GC's share of wall time,
 * object totals, the --duration-buckets histogram, the counters of anything
 * the recorder lost or skipped, the --interval table of activity over time
 * (timeline.c, the one part drawn from the ring), and notes on interpreters whose generation
 * numbers do not mean what they usually do.  All figures come from the exact
 * aggregates of the snapshot, never from the ring, so they include records the
 * ring overwrote.
 */
#include <stdlib.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* Column widths of the percentile table: a row label, then numbers. */
#define LABEL_WIDTH 8
#define COUNT_WIDTH 12
#define TIME_WIDTH 10
/* The histogram's bar at its longest, for the fullest bucket. */
#define BAR_WIDTH 30

/* Rounds a mean in nanoseconds to a whole number of them for display. */
static uint64_t mean_ns_rounded(double mean_ns)
{
    if (!(mean_ns > 0.0))
        return 0;
    /* The largest double below 2^64: anything from there up would overflow
     * the conversion, which C leaves undefined. */
    if (mean_ns >= 18446744073709549568.0)
        return UINT64_MAX;
    return (uint64_t)(mean_ns + 0.5);
}

/* One "Label: <duration>" line of the documented block. */
static int duration_line(const char *label, uint64_t ns, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    gcm__line_str(&l, label);
    gcm__line_duration(&l, ns);
    return gcm__line_emit(&l, sink);
}

static int render_original_block(const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__line l;
    unsigned g;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "=== GC MONITORING SUMMARY ===");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Total GC collections: ");
    gcm__line_u64(&l, sum->all.count);
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    status = duration_line("Total GC time: ", sum->all.total_ns, sink);
    if (status != 0)
        goto done;
    status = duration_line("Average GC duration: ", mean_ns_rounded(sum->all.mean_ns), sink);
    if (status != 0)
        goto done;
    status = duration_line("Maximum GC duration: ", sum->all.max_ns, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Collections by generation:");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        /* "1 collections" is the documented wording; scripts match on it. */
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Generation ");
        gcm__line_u64(&l, g);
        GCM__LINE_LIT(&l, ": ");
        gcm__line_u64(&l, sum->gen[g].count);
        GCM__LINE_LIT(&l, " collections");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
done:
    return status;
}

static int percentile_row(const char *label, const gcm_gen_summary *s, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    gcm__line_table_row(&l, label, LABEL_WIDTH, s->count, COUNT_WIDTH);
    gcm__line_time_cell(&l, s->total_ns, s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, mean_ns_rounded(s->mean_ns), s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, s->p50_ns, s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, s->p90_ns, s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, s->p99_ns, s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, s->p999_ns, s->count, TIME_WIDTH);
    gcm__line_time_cell(&l, s->max_ns, s->count, TIME_WIDTH);
    return gcm__line_emit(&l, sink);
}

static int render_percentiles(const gcm_summary *sum, const gcm_sink *sink)
{
    static const char *const heads[] = {"total", "mean", "p50", "p90", "p99", "p99.9", "max"};
    static const char *const labels[GCM_GENERATIONS] = {"gen 0", "gen 1", "gen 2"};
    gcm__line l;
    unsigned g;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Pause times:");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    gcm__line_table_head(&l, LABEL_WIDTH, COUNT_WIDTH, heads, sizeof heads / sizeof heads[0],
                         TIME_WIDTH);
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        status = percentile_row(labels[g], &sum->gen[g], sink);
        if (status != 0)
            goto done;
    }
    status = percentile_row("all", &sum->all, sink);
    if (status != 0 || (sum->event_flags & GCM_EVENT_NATIVE_DURATION) == 0)
        goto done;
    /* A reader comparing these pauses with CPython's own gc.get_stats()
     * durations should know they are the same figures, not our clock's. */
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l,
                  "  (pause times are CPython's own: the \"duration\" of its gc.callbacks info)");
    status = gcm__line_emit(&l, sink);
done:
    return status;
}

/* One row of the efficiency table: the share, then the counts it comes from. */
static int efficiency_row(const char *label, const gcm_gen_summary *s, const gcm_sink *sink)
{
    gcm__line l;
    size_t from;
    double pct;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  ");
    from = l.len;
    gcm__line_str(&l, label);
    gcm__line_pad_to(&l, from, LABEL_WIDTH);
    from = l.len;
    if (gcm_efficiency_pct(s, &pct))
        gcm__line_printf(&l, "%.2f%%", pct);
    else
        GCM__LINE_LIT(&l, "-");
    gcm__line_align_right(&l, from, TIME_WIDTH);
    GCM__LINE_LIT(&l, "  (");
    gcm__line_u64(&l, s->collected);
    GCM__LINE_LIT(&l, " of ");
    gcm__line_u64(&l, s->candidates);
    GCM__LINE_LIT(&l, ")");
    return gcm__line_emit(&l, sink);
}

/* "Collection efficiency", per generation: only for an interpreter that
 * counts the candidates its collections examine (CPython 3.15+). */
static int render_efficiency(const gcm_summary *sum, const gcm_sink *sink)
{
    static const char *const labels[GCM_GENERATIONS] = {"gen 0", "gen 1", "gen 2"};
    gcm__line l;
    unsigned g;
    int status = 0;

    if ((sum->event_flags & GCM_EVENT_HAS_CANDIDATES) == 0 || sum->all.count == 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Collection efficiency (objects collected of the candidates examined):");
    status = gcm__line_emit(&l, sink);
    for (g = 0; g < GCM_GENERATIONS && status == 0; g++)
        status = efficiency_row(labels[g], &sum->gen[g], sink);
    if (status == 0)
        status = efficiency_row("all", &sum->all, sink);
done:
    return status;
}

/* "Objects freed per collection: gen 0 839.3, gen 1 12.0, gen 2 0.0": how
 * much each generation's collections earn, the figure that says whether a
 * generation is overhead; with CPython 3.15's candidates, the share of the
 * objects examined that were freed too. */
static int freed_line(const gcm_snapshot *snap, const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__line l;
    unsigned g;
    int any = 0;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Objects freed per collection:");
    for (g = 0; g < GCM_GENERATIONS; g++) {
        const gcm_gen_summary *s = &sum->gen[g];
        if (s->count == 0)
            continue;
        gcm__line_str(&l, any ? ", gen " : " gen ");
        gcm__line_u64(&l, g);
        gcm__line_printf(&l, " %.1f", (double)s->collected / (double)s->count);
        if (snap->gen[g].candidates > 0)
            gcm__line_printf(&l, " (%.1f%% of those examined)",
                             100.0 * (double)s->collected / (double)snap->gen[g].candidates);
        any = 1;
    }
    return gcm__line_emit(&l, sink);
}

static int render_share_and_objects(const gcm_summary *sum, const gcm_snapshot *snap,
                                    const gcm_sink *sink)
{
    gcm__line l;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GC share of wall time: ");
    if (sum->wall_ns == 0)
        GCM__LINE_LIT(&l, "unknown");
    else if (sum->share_pct > 0.0 && sum->share_pct < 0.01)
        GCM__LINE_LIT(&l, "<0.01%");
    else
        gcm__line_printf(&l, "%.2f%%", sum->share_pct);
    GCM__LINE_LIT(&l, " (");
    gcm__line_duration(&l, sum->gc_ns);
    GCM__LINE_LIT(&l, " of ");
    gcm__line_duration(&l, sum->wall_ns);
    GCM__LINE_LIT(&l, ")");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Objects collected: ");
    gcm__line_u64(&l, sum->all.collected);
    GCM__LINE_LIT(&l, ", uncollectable: ");
    gcm__line_u64(&l, sum->all.uncollectable);
    status = gcm__line_emit(&l, sink);
    if (status == 0 && sum->all.count > 0)
        status = freed_line(snap, sum, sink);
    if (status != 0)
        goto done;
    /* With --stats-only there are no alert lines, so the count is stated here;
     * it counts every collection, including any the ring overwrote. */
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Pauses at or over the ");
    gcm__line_duration(&l, snap->alert_threshold_ns);
    GCM__LINE_LIT(&l, " alert threshold: ");
    gcm__line_u64(&l, sum->all.alerts);
    status = gcm__line_emit(&l, sink);
done:
    return status;
}

/* The label of user bucket `i`: "up to 1ms", "1ms to 5ms", "over 100ms". */
static void bucket_label(gcm__line *l, const gcm_snapshot *snap, uint32_t i)
{
    if (i == snap->bucket_count) {
        GCM__LINE_LIT(l, "over ");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i - 1]);
    } else if (i == 0) {
        GCM__LINE_LIT(l, "up to ");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[0]);
    } else {
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i - 1]);
        GCM__LINE_LIT(l, " to ");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i]);
    }
}

static int render_buckets(const gcm_snapshot *snap, const gcm_sink *sink)
{
    const gcm_gen_snapshot *all = &snap->all;
    uint32_t n = snap->bucket_count;
    uint64_t peak = 0;
    size_t label_width = 0;
    gcm__line l;
    uint32_t i;
    int status;

    if (n == 0 || n > GCM_MAX_BUCKETS) {
        status = 0;
        goto done;
    }
    /* Measure the labels first so that the counts line up in one column. */
    for (i = 0; i <= n; i++) {
        gcm__line_reset(&l);
        bucket_label(&l, snap, i);
        if (l.len > label_width)
            label_width = l.len;
        if (all->buckets[i] > peak)
            peak = all->buckets[i];
    }
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Pause durations (--duration-buckets):");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    for (i = 0; i <= n; i++) {
        uint64_t c = all->buckets[i];
        size_t from, bar = 0;

        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "  ");
        from = l.len;
        bucket_label(&l, snap, i);
        gcm__line_pad_to(&l, from, label_width);
        from = l.len;
        gcm__line_u64(&l, c);
        gcm__line_align_right(&l, from, COUNT_WIDTH);
        from = l.len;
        gcm__line_printf(&l, "%.1f%%", all->count ? 100.0 * (double)c / (double)all->count : 0.0);
        gcm__line_align_right(&l, from, 8);
        if (c > 0 && peak > 0) {
            /* Every non-empty bucket gets at least one mark, so none looks empty. */
            bar = (size_t)((double)c * BAR_WIDTH / (double)peak + 0.5);
            if (bar == 0)
                bar = 1;
            GCM__LINE_LIT(&l, "  ");
            gcm__line_fill(&l, '#', bar);
        }
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
done:
    return status;
}

static int render_counters(const gcm_summary *sum, const gcm_snapshot *snap, const gcm_sink *sink)
{
    gcm__line l;
    int status = 0;

    if (sum->overwritten > 0) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Overwritten records: ");
        gcm__line_u64(&l, sum->overwritten);
        GCM__LINE_LIT(&l, " (the ring holds the latest ");
        gcm__line_u64(&l, snap->capacity);
        GCM__LINE_LIT(&l, "; the figures above include every collection)");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (sum->dropped_stops > 0) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Dropped stops: ");
        gcm__line_u64(&l, sum->dropped_stops);
        GCM__LINE_LIT(&l, " (a collection's end seen without its start, not timed)");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (sum->unusable_info > 0) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Unusable info: ");
        gcm__line_u64(&l, sum->unusable_info);
        GCM__LINE_LIT(&l, " (callbacks whose info could not be read, not counted)");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (sum->unseen > 0) {
        /* Every figure above counts only what the callback saw: say how
         * much it did not, where the reader of the figures looks. */
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Warning: ");
        gcm__line_u64(&l, sum->unseen);
        GCM__LINE_LIT(&l, " collections were missed: the program took the monitor out of"
                          " gc.callbacks, and the figures above cover only the ");
        gcm__line_u64(&l, sum->all.count);
        GCM__LINE_LIT(&l, " it saw of the ");
        gcm__line_u64(&l, sum->all.count + sum->unseen);
        GCM__LINE_LIT(&l, " gc.get_stats() counted");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (sum->missed > 0) {
        /* Read from outside: the counts and totals above are whole, the
         * pause figures are not. */
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Note: ");
        gcm__line_u64(&l, sum->missed);
        GCM__LINE_LIT(&l, " collections left the interpreter's ring between two polls of the"
                          " outside reader: they are in the counts and pause totals above, not in"
                          " the percentiles, maximum or alerts");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (sum->torn) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "Note: the recorder was mid-update when these figures were copied;"
                          " the latest collection may be counted in part.");
        status = gcm__line_emit(&l, sink);
    }
done:
    return status;
}

/* Emits each of `lines` as its own line, so a note wraps like the rest of the report. */
static int emit_lines(const char *const *lines, size_t count, const gcm_sink *sink)
{
    gcm__line l;
    size_t i;
    int status = 0;

    for (i = 0; i < count && status == 0; i++) {
        gcm__line_reset(&l);
        gcm__line_str(&l, lines[i]);
        status = gcm__line_emit(&l, sink);
    }
    return status;
}

static int render_notes(const gcm_report_input *in, const gcm_sink *sink)
{
    static const char *const free_threaded_note[] = {
        "Note: free-threaded CPython has a single generation and reports every automatic",
        "collection as generation 0, so the split by generation says nothing about how",
        "old the collected objects were.",
    };
    static const char *const incremental_note[] = {
        "Note: CPython 3.14.0 to 3.14.4 collect incrementally and report every automatic",
        "collection as generation 1, so the split by generation shows the collector's",
        "increments, not how old the collected objects were.",
    };
    int status = 0;

    switch (gcm__generations_mislead(in)) {
    case GCM__GENS_FREE_THREADED:
        status = emit_lines(free_threaded_note,
                            sizeof free_threaded_note / sizeof free_threaded_note[0], sink);
        break;
    case GCM__GENS_INCREMENTAL:
        status = emit_lines(incremental_note, sizeof incremental_note / sizeof incremental_note[0],
                            sink);
        break;
    default:
        break;
    }
    return status;
}

int gcm__render_summary_text(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink)
{
    int status;

    status = render_original_block(sum, sink);
    if (status != 0)
        goto done;
    if (sum->all.count > 0) {
        status = render_percentiles(sum, sink);
        if (status != 0)
            goto done;
    }
    status = gcm__render_causes_text(sum, sink);
    if (status != 0)
        goto done;
    status = gcm__render_requests_text(sum, sink);
    if (status != 0)
        goto done;
    status = render_share_and_objects(sum, in->snapshot, sink);
    if (status != 0)
        goto done;
    status = render_efficiency(sum, sink);
    if (status != 0)
        goto done;
    if (sum->all.count > 0) {
        status = render_buckets(in->snapshot, sink);
        if (status != 0)
            goto done;
    }
    status = render_counters(sum, in->snapshot, sink);
    if (status != 0)
        goto done;
    status = gcm__render_timeline_text(in, sink);
    if (status != 0)
        goto done;
    status = render_notes(in, sink);
done:
    return status;
}
