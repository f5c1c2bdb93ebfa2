/* src/report/flame.c: the two flame graphs, --flamegraph-file and --terminal-flamegraph.
 *
 * Both bucket the retained events by --flamegraph-bucket seconds from the
 * start of monitoring.  The file is "folded" text (one stack and a weight per
 * line) that flamegraph.pl and speedscope read; the terminal chart draws GC
 * time per bucket as bars split by generation, exactly
 * --terminal-flamegraph-width columns wide.  Every duration here goes
 * through the report's one duration formatter, so the chart's units are
 * the summary's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/logfile.h"
#include "report_internal.h"

/* ---- the folded file ---- */

/* Labels of the --duration-buckets, without spaces: a folded line's weight is
 * whatever follows its last space. */
static void duration_label(gcm__line *l, const gcm_snapshot *snap, uint32_t i)
{
    if (snap->bucket_count == 0) {
        GCM__LINE_LIT(l, "all");
    } else if (i == snap->bucket_count) {
        GCM__LINE_LIT(l, ">");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i - 1]);
    } else if (i == 0) {
        GCM__LINE_LIT(l, "<=");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[0]);
    } else {
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i - 1]);
        l->len -= 2; /* "1ms-5ms" reads as "1-5ms" */
        GCM__LINE_LIT(l, "-");
        gcm__line_ms_exact(l, snap->bucket_bounds_ns[i]);
    }
}

static uint32_t duration_index(const gcm_snapshot *snap, uint64_t ns)
{
    uint32_t n = snap->bucket_count <= GCM_MAX_BUCKETS ? snap->bucket_count : GCM_MAX_BUCKETS;
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (ns <= snap->bucket_bounds_ns[i])
            return i;
    }
    return n;
}

/* The pause time and count of one time bucket, by generation and duration. */
typedef struct folded_acc {
    uint64_t ns[GCM_GENERATIONS][GCM_MAX_BUCKETS + 1];
    uint64_t count[GCM_GENERATIONS][GCM_MAX_BUCKETS + 1];
} folded_acc;

static int flush_bucket(const gcm_snapshot *snap, uint64_t start_ns, const folded_acc *acc,
                        const gcm_sink *sink)
{
    uint32_t n = snap->bucket_count <= GCM_MAX_BUCKETS ? snap->bucket_count : GCM_MAX_BUCKETS;
    gcm__line l;
    unsigned g;
    uint32_t b;
    int status = 0;

    for (g = 0; g < GCM_GENERATIONS; g++) {
        for (b = 0; b <= n; b++) {
            uint64_t us;
            if (acc->count[g][b] == 0)
                continue;
            /* A frame that happened weighs at least 1, so it stays visible. */
            us = gcm__div_round(acc->ns[g][b], 1000u);
            if (us == 0)
                us = 1;
            gcm__line_reset(&l);
            GCM__LINE_LIT(&l, "T+");
            gcm__line_seconds_exact(&l, start_ns);
            GCM__LINE_LIT(&l, "s;Gen ");
            gcm__line_u64(&l, g);
            GCM__LINE_LIT(&l, ";");
            duration_label(&l, snap, b);
            GCM__LINE_LIT(&l, " ");
            gcm__line_u64(&l, us);
            status = gcm__line_emit(&l, sink);
            if (status != 0)
                goto done;
        }
    }
done:
    return status;
}

int gcm__render_folded(const gcm_report_input *in, const gcm_sink *sink)
{
    const gcm_snapshot *snap = in->snapshot;
    uint64_t width_ns = gcm__seconds_to_ns(in->config->flamegraph_bucket_s);
    folded_acc *acc = NULL;
    uint64_t current = 0;
    size_t i;
    int open = 0, status = 0;

    /* No comment line states the span: flamegraph.pl, inferno and speedscope
     * do not all skip one, so the file is stack lines only (an empty file
     * when nothing was retained).  The report says what the window holds. */
    if (in->events == NULL || in->event_count == 0)
        goto done;
    acc = calloc(1, sizeof *acc);
    if (acc == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    for (i = 0; i < in->event_count; i++) {
        const gcm_event *ev = &in->events[i];
        uint64_t idx = gcm__event_offset_ns(snap, ev) / width_ns;
        uint32_t b;

        if (ev->generation >= GCM_GENERATIONS)
            continue;
        if (open && idx != current) {
            status = flush_bucket(snap, current * width_ns, acc, sink);
            if (status != 0)
                goto done;
            memset(acc, 0, sizeof *acc);
        }
        current = idx;
        open = 1;
        b = duration_index(snap, ev->duration_ns);
        acc->ns[ev->generation][b] += ev->duration_ns;
        acc->count[ev->generation][b]++;
    }
    if (open)
        status = flush_bucket(snap, current * width_ns, acc, sink);
done:
    free(acc);
    return status;
}

int gcm_flamegraph_render_fd(const gcm_report_input *in, int fd)
{
    char buf[PIPE_BUF];
    gcm__fdbuf fb;
    gcm_sink sink;
    int status, flushed;

    if (in == NULL || in->snapshot == NULL || in->config == NULL ||
        (in->events == NULL && in->event_count > 0))
        return GCM_EINVAL;
    gcm__fdbuf_init(&fb, fd, buf, sizeof buf);
    sink.write = gcm__fdbuf_write;
    sink.ctx = &fb;
    status = gcm__render_folded(in, &sink);
    flushed = gcm__fdbuf_flush(&fb);
    return status != 0 ? status : flushed;
}

/* Both public writers: `fork_child` picks the child's derived name. */
static int write_flamegraph(const gcm_report_input *in, int fork_child)
{
    const char *path;
    int fd = -1;
    int status = GCM_EINVAL;

    if (in == NULL || in->config == NULL || in->snapshot == NULL)
        goto done;
    path = in->config->flamegraph_file;
    if (path[0] == '\0') {
        status = 0;
        goto done;
    }
    if (fork_child) {
        /* A child never replaces its parent's file: it makes its own, named
         * the way its --log-file would be. */
        status = gcm_logfile_open_child(path, (int64_t)getpid(), &fd, NULL, 0);
        if (status == 0) {
            status = gcm_flamegraph_render_fd(in, fd);
            if (close(fd) != 0 && status == 0)
                status = GCM_EIO;
        }
        goto done;
    }
    status = gcm__write_report_file(in, path, gcm_flamegraph_render_fd);
done:
    return status;
}

int gcm_report_write_flamegraph(const gcm_report_input *in)
{
    return write_flamegraph(in, 0);
}

int gcm_report_write_flamegraph_child(const gcm_report_input *in)
{
    return write_flamegraph(in, 1);
}

/* ---- the terminal chart ---- */

#define ANSI_RESET "\033[0m"
/* Room for the colour codes of one row: a start and a reset per generation. */
#define COLOR_ROOM 64

static const char gen_mark[GCM_GENERATIONS] = {'0', '1', '2'};
/* Green, yellow, red: from the cheapest generation to the costliest. */
static const char *const gen_color[GCM_GENERATIONS] = {"\033[32m", "\033[33m", "\033[31m"};

/* A chart line: up to 1000 columns, wider than a gcm__line, so it has its
 * own buffer, allocated once per chart. */
typedef struct row_buf {
    char *buf;
    size_t len;
    size_t cap;
} row_buf;

static void row_put(row_buf *r, const char *s, size_t n)
{
    /* The buffer is sized for the widest row; cutting is only a safeguard. */
    if (n > r->cap - r->len)
        n = r->cap - r->len;
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void row_fill(row_buf *r, char c, size_t n)
{
    if (n > r->cap - r->len)
        n = r->cap - r->len;
    memset(r->buf + r->len, c, n);
    r->len += n;
}

static int row_emit(row_buf *r, const gcm_sink *sink)
{
    row_put(r, "\n", 1);
    return sink->write(sink->ctx, r->buf, r->len);
}

typedef struct chart_ctx {
    uint64_t width_ns;
    uint64_t peak_ns; /* the largest bucket total: a full bar */
    size_t label_width;
    size_t value_width;
    size_t bar_width;
    int color;
    row_buf row;
    const gcm_sink *sink;
} chart_ctx;

static void chart_label(gcm__line *l, const gcm__interval_row *row, uint64_t width_ns)
{
    GCM__LINE_LIT(l, "T+");
    gcm__line_seconds_exact(l, row->first * width_ns);
    GCM__LINE_LIT(l, "s");
}

static void chart_value(gcm__line *l, const gcm__interval_row *row)
{
    if (row->count == 0)
        GCM__LINE_LIT(l, "-");
    else
        gcm__line_duration(l, row->total_ns);
}

static int chart_measure(void *ctx, const gcm__interval_row *row)
{
    chart_ctx *c = ctx;
    gcm__line l;

    gcm__line_reset(&l);
    chart_label(&l, row, c->width_ns);
    if (l.len > c->label_width)
        c->label_width = l.len;
    gcm__line_reset(&l);
    chart_value(&l, row);
    if (l.len > c->value_width)
        c->value_width = l.len;
    if (row->total_ns > c->peak_ns)
        c->peak_ns = row->total_ns;
    return 0;
}

/* Columns of a bar for `ns` out of the peak, rounded half up. */
static size_t bar_cols(uint64_t ns, uint64_t peak, size_t width)
{
    double cols;

    if (peak == 0)
        return 0;
    cols = (double)ns * (double)width / (double)peak + 0.5;
    return cols >= (double)width ? width : (size_t)cols;
}

static int chart_row(void *ctx, const gcm__interval_row *row)
{
    chart_ctx *c = ctx;
    row_buf *r = &c->row;
    uint64_t cum = 0;
    size_t drawn = 0;
    gcm__line l;
    unsigned g;

    r->len = 0;
    gcm__line_reset(&l);
    chart_label(&l, row, c->width_ns);
    if (l.len > c->label_width)
        l.len = c->label_width;
    gcm__line_pad_to(&l, 0, c->label_width);
    GCM__LINE_LIT(&l, " |");
    row_put(r, l.buf, l.len);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        size_t end, seg;
        if (row->gen[g] == 0)
            continue;
        /* Cumulative ends keep the segments' sum equal to the whole bar. */
        cum += row->gen_ns[g];
        end = bar_cols(cum, c->peak_ns, c->bar_width);
        seg = end > drawn ? end - drawn : 0;
        if (seg == 0 && drawn < c->bar_width)
            seg = 1; /* a generation that ran is never invisible */
        if (seg == 0)
            continue;
        if (c->color)
            row_put(r, gen_color[g], strlen(gen_color[g]));
        row_fill(r, gen_mark[g], seg);
        if (c->color)
            row_put(r, ANSI_RESET, sizeof ANSI_RESET - 1);
        drawn += seg;
    }
    if (drawn < c->bar_width)
        row_fill(r, ' ', c->bar_width - drawn);
    row_put(r, "|", 1);
    if (c->value_width > 0) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, " ");
        chart_value(&l, row);
        gcm__line_align_right(&l, 0, c->value_width + 1);
        row_put(r, l.buf, l.len);
    }
    return row_emit(r, c->sink);
}

/* `text` centred in '=' to exactly `width` columns (cut if it is longer). */
static int framed_line(row_buf *r, const char *text, size_t width, const gcm_sink *sink)
{
    size_t n = strlen(text), left;

    r->len = 0;
    if (n + 2 > width) {
        row_put(r, text, width);
    } else {
        left = (width - n - 2) / 2;
        row_fill(r, '=', left);
        row_put(r, " ", 1);
        row_put(r, text, n);
        row_put(r, " ", 1);
        row_fill(r, '=', width - n - 2 - left);
    }
    return row_emit(r, sink);
}

/* Copies the text of `l` into `out` as a C string, cut to fit. */
static void line_cstr(const gcm__line *l, char *out, size_t size)
{
    size_t n = l->len < size - 1 ? l->len : size - 1;

    memcpy(out, l->buf, n);
    out[n] = '\0';
}

int gcm__render_terminal_flamegraph(const gcm_report_input *in, const gcm_sink *sink)
{
    size_t width = in->config->terminal_flamegraph_width;
    char text[160];
    chart_ctx c;
    gcm__line l;
    int status;

    /* The option parser keeps the width within 20 to 1000 columns; a
     * hand-made configuration gets the same bounds. */
    if (width < 20)
        width = 20;
    if (width > 1000)
        width = 1000;
    memset(&c, 0, sizeof c);
    c.width_ns = gcm__seconds_to_ns(in->config->flamegraph_bucket_s);
    c.sink = sink;
    c.color = in->config->terminal_flamegraph_color && in->is_tty;
    c.row.cap = width + COLOR_ROOM + 1;
    c.row.buf = malloc(c.row.cap);
    if (c.row.buf == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GC time per ");
    gcm__line_seconds_exact(&l, c.width_ns);
    GCM__LINE_LIT(&l, "s, by generation");
    line_cstr(&l, text, sizeof text);
    status = framed_line(&c.row, text, width, sink);
    if (status != 0)
        goto done;
    if (in->events == NULL || in->event_count == 0) {
        status = framed_line(&c.row, "no collections in the retained window", width, sink);
        goto done;
    }
    (void)gcm__walk_intervals(in, c.width_ns, chart_measure, &c);
    /* label " |" bar "|" " " value: the bar takes what the rest leaves, and
     * the value column goes first when the width is too small for both. */
    if (c.label_width + 3 + c.value_width + 1 + 4 > width)
        c.value_width = 0;
    if (c.label_width + 3 + 1 > width)
        c.label_width = width - 4;
    c.bar_width = width - c.label_width - 3 - (c.value_width > 0 ? c.value_width + 1 : 0);
    status = gcm__walk_intervals(in, c.width_ns, chart_row, &c);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "0/1/2 = generation, full bar = ");
    gcm__line_duration(&l, c.peak_ns);
    line_cstr(&l, text, sizeof text);
    status = framed_line(&c.row, text, width, sink);
done:
    free(c.row.buf);
    return status;
}
