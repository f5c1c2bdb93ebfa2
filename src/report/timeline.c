/* src/report/timeline.c: "GC activity over time", the table --interval sets the width of.
 *
 * --interval costs nothing at run time: it is the bucket width, in seconds
 * from the start of monitoring, of a table drawn at report time from the
 * ring, so it covers the retained window (the collections still in the
 * ring).  Events come oldest first, so
 * one pass with one running bucket is enough: no allocation, whatever the
 * number of events.  Runs of empty intervals share one row, so an idle hour
 * is one line, not 720.
 */
#include <string.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

#define COUNT_WIDTH 12
#define TIME_WIDTH 11

int gcm__walk_intervals(const gcm_report_input *in, uint64_t width_ns, gcm__interval_fn fn,
                        void *ctx)
{
    gcm__interval_row row;
    int open = 0;
    size_t i;
    int status = 0;

    memset(&row, 0, sizeof row);
    for (i = 0; i < in->event_count; i++) {
        const gcm_event *ev = &in->events[i];
        uint64_t idx = gcm__event_offset_ns(in->snapshot, ev) / width_ns;

        if (open && idx != row.first) {
            status = fn(ctx, &row);
            if (status != 0)
                goto done;
            if (idx > row.first + 1) {
                gcm__interval_row gap;
                memset(&gap, 0, sizeof gap);
                gap.first = row.first + 1;
                gap.last = idx - 1;
                status = fn(ctx, &gap);
                if (status != 0)
                    goto done;
            }
            open = 0;
        }
        if (!open) {
            memset(&row, 0, sizeof row);
            row.first = row.last = idx;
            open = 1;
        }
        row.count++;
        row.total_ns += ev->duration_ns;
        if (ev->duration_ns > row.max_ns)
            row.max_ns = ev->duration_ns;
        if (ev->generation < GCM_GENERATIONS) {
            row.gen[ev->generation]++;
            row.gen_ns[ev->generation] += ev->duration_ns;
        }
    }
    if (open)
        status = fn(ctx, &row);
done:
    return status;
}

/* "T+5s to T+10s" for intervals first..last. */
static void row_label(gcm__line *l, const gcm__interval_row *row, uint64_t width_ns)
{
    GCM__LINE_LIT(l, "T+");
    gcm__line_seconds_exact(l, row->first * width_ns);
    GCM__LINE_LIT(l, "s to T+");
    gcm__line_seconds_exact(l, (row->last + 1) * width_ns);
    GCM__LINE_LIT(l, "s");
}

typedef struct text_ctx {
    uint64_t width_ns;
    size_t label_width;
    const gcm_sink *sink;
} text_ctx;

static int measure_row(void *ctx, const gcm__interval_row *row)
{
    text_ctx *t = ctx;
    gcm__line l;

    gcm__line_reset(&l);
    row_label(&l, row, t->width_ns);
    if (l.len > t->label_width)
        t->label_width = l.len;
    return 0;
}

static int text_row(void *ctx, const gcm__interval_row *row)
{
    text_ctx *t = ctx;
    gcm__line l;
    size_t from;
    unsigned g;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  ");
    from = l.len;
    row_label(&l, row, t->width_ns);
    gcm__line_pad_to(&l, from, t->label_width);
    from = l.len;
    gcm__line_u64(&l, row->count);
    gcm__line_align_right(&l, from, COUNT_WIDTH);
    gcm__line_time_cell(&l, row->total_ns, row->count, TIME_WIDTH);
    gcm__line_time_cell(&l, row->max_ns, row->count, TIME_WIDTH);
    if (row->count > 0) {
        GCM__LINE_LIT(&l, "   ");
        for (g = 0; g < GCM_GENERATIONS; g++) {
            if (g > 0)
                GCM__LINE_LIT(&l, "/");
            gcm__line_u64(&l, row->gen[g]);
        }
    }
    return gcm__line_emit(&l, t->sink);
}

int gcm__render_timeline_text(const gcm_report_input *in, const gcm_sink *sink)
{
    text_ctx t;
    gcm__line l;
    size_t from;
    int status = 0;

    if (in->events == NULL || in->event_count == 0)
        goto done;
    t.width_ns = gcm__seconds_to_ns(in->config->interval_s);
    t.label_width = 8;
    t.sink = sink;
    (void)gcm__walk_intervals(in, t.width_ns, measure_row, &t);
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GC activity over time (--interval ");
    gcm__line_seconds_exact(&l, t.width_ns);
    GCM__LINE_LIT(&l, "s, from the start of monitoring");
    if (in->first_event_index > 0) {
        GCM__LINE_LIT(&l, "; the latest ");
        gcm__line_u64(&l, in->event_count);
        GCM__LINE_LIT(&l, " collections, still in the ring");
    }
    GCM__LINE_LIT(&l, "):");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  ");
    from = l.len;
    GCM__LINE_LIT(&l, "interval");
    gcm__line_pad_to(&l, from, t.label_width);
    from = l.len;
    GCM__LINE_LIT(&l, "collections");
    gcm__line_align_right(&l, from, COUNT_WIDTH);
    from = l.len;
    GCM__LINE_LIT(&l, "GC time");
    gcm__line_align_right(&l, from, TIME_WIDTH);
    from = l.len;
    GCM__LINE_LIT(&l, "max pause");
    gcm__line_align_right(&l, from, TIME_WIDTH);
    GCM__LINE_LIT(&l, "   gen 0/1/2");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    status = gcm__walk_intervals(in, t.width_ns, text_row, &t);
done:
    return status;
}

typedef struct json_ctx {
    const gcm_report_input *in;
    uint64_t width_ns;
    const gcm_sink *sink;
} json_ctx;

/* {"type":"timeline","t_s":5,"ts":...,"interval_s":5,"collections":3,"gc_ms":1.234,"max_ms":0.5,"gen":[2,1,0]} */
static int json_row(void *ctx, const gcm__interval_row *row)
{
    json_ctx *j = ctx;
    const gcm_snapshot *snap = j->in->snapshot;
    uint64_t start_ns = row->first * j->width_ns;
    gcm__line l;
    unsigned g;

    /* Empty runs carry no figures; readers see the gaps in t_s. */
    if (row->count == 0)
        return 0;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "{\"type\":\"timeline\",\"t_s\":");
    gcm__line_seconds_exact(&l, start_ns);
    GCM__LINE_LIT(&l, ",\"ts\":");
    gcm__line_unix_seconds(
        &l, gcm__event_realtime_ns(snap, (uint64_t)snap->init_monotonic_ns + start_ns));
    GCM__LINE_LIT(&l, ",\"interval_s\":");
    gcm__line_seconds_exact(&l, j->width_ns);
    GCM__LINE_LIT(&l, ",\"collections\":");
    gcm__line_json_u64(&l, row->count);
    GCM__LINE_LIT(&l, ",\"gc_ms\":");
    gcm__line_fixed(&l, gcm__div_round(row->total_ns, 1000u), 3);
    GCM__LINE_LIT(&l, ",\"max_ms\":");
    gcm__line_fixed(&l, gcm__div_round(row->max_ns, 1000u), 3);
    GCM__LINE_LIT(&l, ",\"gen\":[");
    for (g = 0; g < GCM_GENERATIONS; g++) {
        if (g > 0)
            GCM__LINE_LIT(&l, ",");
        gcm__line_json_u64(&l, row->gen[g]);
    }
    GCM__LINE_LIT(&l, "]}");
    return gcm__line_emit(&l, j->sink);
}

int gcm__render_timeline_jsonl(const gcm_report_input *in, const gcm_sink *sink)
{
    json_ctx j;

    if (in->events == NULL || in->event_count == 0)
        return 0;
    j.in = in;
    j.width_ns = gcm__seconds_to_ns(in->config->interval_s);
    j.sink = sink;
    return gcm__walk_intervals(in, j.width_ns, json_row, &j);
}
