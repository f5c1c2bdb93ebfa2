/* src/report/trace.c: `report --format perfetto`, a Chrome trace-event file.
 *
 * The JSON object format of the trace-event specification, which
 * ui.perfetto.dev and chrome://tracing open: {"traceEvents": [...]}.  One
 * complete ("ph": "X") event per retained collection, on the recorded
 * process, with its generation, objects and cause in "args"; two counter
 * ("ph": "C") tracks per --interval bucket, the GC share of the bucket and
 * its collections; process and thread names as metadata ("ph": "M").
 * Timestamps are microseconds since monitoring started, written from integer
 * nanoseconds with three decimals, so they are exact and locale-free.  Each
 * event is one line; every line after the first event starts with its comma.
 * A process tree is one trace: each process its own pid track, named and
 * ordered parents first by metadata, and all on the clock of the earliest
 * start of monitoring among them (each block's realtime/monotonic pair puts
 * its collections there).
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stats.h"
#include "report_internal.h"

/* Writes `ns` as microseconds with exactly three decimals into `buf`. */
static void micros(char *buf, size_t size, uint64_t ns)
{
    (void)snprintf(buf, size, "%" PRIu64 ".%03" PRIu64, ns / 1000u, ns % 1000u);
}

/* Writes one line built by snprintf into `sink`.  Returns 0 or GCM_E*. */
static int emit(const gcm_sink *sink, const char *line, int n, size_t size)
{
    if (n < 0 || (size_t)n >= size)
        return GCM_ENOMEM;
    return sink->write(sink->ctx, line, (size_t)n);
}

/* The two counters of one interval bucket starting at `start_ns`. */
static int emit_counters(const gcm_sink *sink, int64_t pid, uint64_t start_ns, uint64_t width_ns,
                         uint64_t count, uint64_t gc_ns)
{
    char line[256];
    char ts[32];
    /* The share in thousandths of a percent, in integers. */
    uint64_t milli_pct = width_ns > 0 ? gcm__div_round(gc_ns * 100000u, width_ns) : 0;
    int status;

    micros(ts, sizeof ts, start_ns);
    status = emit(sink, line,
                  snprintf(line, sizeof line,
                           ",{\"name\":\"GC share %%\",\"ph\":\"C\",\"ts\":%s,\"pid\":%" PRId64
                           ",\"args\":{\"percent\":%" PRIu64 ".%03" PRIu64 "}}\n",
                           ts, pid, milli_pct / 1000u, milli_pct % 1000u),
                  sizeof line);
    if (status == 0)
        status = emit(sink, line,
                      snprintf(line, sizeof line,
                               ",{\"name\":\"collections\",\"ph\":\"C\",\"ts\":%s,\"pid\":%" PRId64
                               ",\"args\":{\"count\":%" PRIu64 "}}\n",
                               ts, pid, count),
                      sizeof line);
    return status;
}

uint64_t gcm__process_offset_ns(const gcm_report_input *const *ins, size_t count, size_t i)
{
    int64_t origin = ins[0]->snapshot->init_realtime_ns;

    for (size_t k = 1; k < count; k++) {
        if (ins[k]->snapshot->init_realtime_ns < origin)
            origin = ins[k]->snapshot->init_realtime_ns;
    }
    return ins[i]->snapshot->init_realtime_ns > origin
               ? (uint64_t)(ins[i]->snapshot->init_realtime_ns - origin)
               : 0;
}

/* The metadata lines of one process: its name, its place among the
 * processes and the name of its one track.  The first line of the first
 * process has no comma before it. */
static int emit_process_head(const gcm_report_input *in, size_t index, size_t count,
                             const gcm_sink *sink)
{
    const gcm_snapshot *snap = in->snapshot;
    const int64_t pid = snap->pid;
    char line[512];
    char name[96];
    int status;

    if (count > 1)
        (void)snprintf(name, sizeof name, "python (pid %" PRId64 ", parent %" PRId64 ")", pid,
                       snap->ppid);
    else
        (void)snprintf(name, sizeof name, "python (pid %" PRId64 ")", pid);
    status = emit(sink, line,
                  snprintf(line, sizeof line,
                           "%s{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%" PRId64
                           ",\"tid\":%" PRId64 ",\"args\":{\"name\":\"%s\"}}\n"
                           ",{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%" PRId64
                           ",\"tid\":%" PRId64 ",\"args\":{\"name\":\"garbage collections\"}}\n",
                           index == 0 ? "" : ",", pid, pid, name, pid, pid),
                  sizeof line);
    /* Perfetto orders processes by pid unless told: the tree's order
     * (parents first) reads better. */
    if (status == 0 && count > 1)
        status = emit(sink, line,
                      snprintf(line, sizeof line,
                               ",{\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":%" PRId64
                               ",\"tid\":%" PRId64 ",\"args\":{\"sort_index\":%zu}}\n",
                               pid, pid, index),
                      sizeof line);
    return status;
}

/* The collections and counters of one process, `offset` nanoseconds after
 * the earliest start of monitoring among the processes. */
static int emit_process(const gcm_report_input *in, uint64_t offset, const gcm_sink *sink)
{
    const gcm_snapshot *snap = in->snapshot;
    const int64_t pid = snap->pid;
    const uint64_t origin = (uint64_t)snap->init_monotonic_ns;
    const uint64_t width_ns = (uint64_t)(in->config->interval_s * 1e9 + 0.5);
    uint64_t bucket = 0, bucket_count = 0, bucket_gc = 0;
    gcm__line l;
    int status = 0;

    for (size_t i = 0; status == 0 && i < in->event_count; i++) {
        const gcm_event *e = &in->events[i];
        uint64_t rel = e->start_ns > origin ? e->start_ns - origin : 0;
        const char *cause = snap->causes_known ? gcm_cause_name(GCM_EVENT_CAUSE(e->flags)) : NULL;
        uint64_t b = width_ns > 0 ? rel / width_ns : 0;

        /* A bucket's counters go out when the first collection of a later
         * bucket arrives, with a zero for each bucket between. */
        if (i > 0 && b != bucket) {
            status = emit_counters(sink, pid, offset + bucket * width_ns, width_ns, bucket_count,
                                   bucket_gc);
            if (status == 0 && b > bucket + 1)
                status = emit_counters(sink, pid, offset + (bucket + 1) * width_ns, width_ns, 0, 0);
            bucket_count = 0;
            bucket_gc = 0;
        }
        bucket = b;
        bucket_count++;
        bucket_gc += e->duration_ns;
        if (status != 0)
            break;
        /* The line of every collection is built by appends, not snprintf:
         * a million of them are most of the trace's time. */
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, ",{\"name\":\"gen ");
        gcm__line_u64(&l, e->generation);
        GCM__LINE_LIT(&l, "\",\"ph\":\"X\",\"ts\":");
        gcm__line_fixed(&l, offset + rel, 3);
        GCM__LINE_LIT(&l, ",\"dur\":");
        gcm__line_fixed(&l, e->duration_ns, 3);
        GCM__LINE_LIT(&l, ",\"pid\":");
        gcm__line_i64(&l, pid);
        GCM__LINE_LIT(&l, ",\"tid\":");
        gcm__line_i64(&l, pid);
        GCM__LINE_LIT(&l, ",\"args\":{\"generation\":");
        gcm__line_u64(&l, e->generation);
        GCM__LINE_LIT(&l, ",\"collected\":");
        gcm__line_json_u64(&l, e->collected);
        GCM__LINE_LIT(&l, ",\"uncollectable\":");
        gcm__line_json_u64(&l, e->uncollectable);
        if (cause != NULL) {
            GCM__LINE_LIT(&l, ",\"cause\":\"");
            gcm__line_str(&l, cause);
            GCM__LINE_LIT(&l, "\"");
        }
        GCM__LINE_LIT(&l, "}}");
        status = gcm__line_emit(&l, sink);
    }
    if (status == 0 && in->event_count > 0)
        status =
            emit_counters(sink, pid, offset + bucket * width_ns, width_ns, bucket_count, bucket_gc);
    return status;
}

int gcm__render_trace(const gcm_report_input *const *ins, size_t count, const gcm_sink *sink)
{
    char line[512];
    size_t retained = 0;
    static const char open_text[] = "{\"traceEvents\":[\n";
    int status;

    status = sink->write(sink->ctx, open_text, sizeof open_text - 1u);
    for (size_t i = 0; status == 0 && i < count; i++) {
        status = emit_process_head(ins[i], i, count, sink);
        if (status == 0)
            status = emit_process(ins[i], gcm__process_offset_ns(ins, count, i), sink);
        retained += ins[i]->event_count;
    }
    if (status == 0 && count == 1)
        status =
            emit(sink, line,
                 snprintf(line, sizeof line,
                          "],\"displayTimeUnit\":\"ms\",\"otherData\":{\"pid\":%" PRId64
                          ",\"retained\":%zu,\"first_index\":%" PRIu64 "}}\n",
                          ins[0]->snapshot->pid, ins[0]->event_count, ins[0]->first_event_index),
                 sizeof line);
    else if (status == 0)
        /* A tree's timestamps share the clock of the earliest process. */
        status = emit(sink, line,
                      snprintf(line, sizeof line,
                               "],\"displayTimeUnit\":\"ms\",\"otherData\":{\"processes\":%zu"
                               ",\"retained\":%zu}}\n",
                               count, retained),
                      sizeof line);
    return status;
}

/* Checks that every input has what a renderer of several needs. */
int gcm__inputs_valid(const gcm_report_input *const *ins, size_t count)
{
    if (ins == NULL || count == 0)
        return 0;
    for (size_t i = 0; i < count; i++) {
        const gcm_report_input *in = ins[i];
        if (in == NULL || in->snapshot == NULL || in->config == NULL ||
            (in->events == NULL && in->event_count > 0))
            return 0;
    }
    return 1;
}

int gcm__render_many_fd(const gcm_report_input *const *ins, size_t count, int fd,
                        int (*render)(const gcm_report_input *const *ins, size_t count,
                                      const gcm_sink *sink))
{
    char buf[1 << 16];
    gcm__fdbuf fb;
    gcm_sink sink;
    int status, flushed;

    if (!gcm__inputs_valid(ins, count))
        return GCM_EINVAL;
    gcm__fdbuf_init(&fb, fd, buf, gcm__fdbuf_capacity_for(fd, sizeof buf));
    sink.write = gcm__fdbuf_write;
    sink.ctx = &fb;
    status = render(ins, count, &sink);
    flushed = gcm__fdbuf_flush(&fb);
    return status != 0 ? status : flushed;
}

int gcm__write_report_file(const gcm_report_input *in, const char *path,
                           int (*render_fd)(const gcm_report_input *in, int fd))
{
    gcm__output out;
    int status = GCM_EINVAL;

    if (in == NULL || in->config == NULL || in->snapshot == NULL || path == NULL)
        goto done;
    if (path[0] == '\0') {
        status = 0;
        goto done;
    }
    /* The one output policy (src/base/files.c): a regular file at the path
     * is replaced whole, atomically, anything else there is refused. */
    status = gcm__create_output(&out, path, GCM__OUTPUT_REPLACE, O_WRONLY | O_CLOEXEC);
    if (status != 0)
        goto done;
    status = render_fd(in, out.fd);
    if (status == 0)
        status = gcm__output_commit(&out);
    else
        gcm__output_discard(&out);
done:
    return status;
}

int gcm_trace_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd)
{
    return gcm__render_many_fd(ins, count, fd, gcm__render_trace);
}

int gcm_trace_render_fd(const gcm_report_input *in, int fd)
{
    return gcm_trace_render_many_fd(&in, 1, fd);
}
