/* src/report/render.c: the public entry points of the renderers, and the start lines.
 *
 * gcm_report_render picks the renderer the configuration asks for;
 * gcm_report_render_fd puts it in front of a line-preserving buffer for a file
 * descriptor.  The start lines are written here too: they are the only output
 * that carries text from outside (the command), so this file also holds the
 * escaping that keeps that text on one line and, in JSON, valid UTF-8.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "base/base.h"
#include "report_internal.h"

/* The fd buffer: at about 80 bytes an event line, a million events take a few
 * hundred write(2) calls to a file (pipes get PIPE_BUF-sized writes, see
 * gcm__fdbuf_capacity_for).  If even this cannot be had at exit, a small
 * stack buffer still gets the report out, in more writes. */
#define FD_BUFFER_SIZE (256u * 1024u)
#define FD_FALLBACK_SIZE PIPE_BUF

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* Everything after the summary, in its one fixed order: advice, the terminal
 * chart, the object and garbage tables, the prompt, the budget verdicts
 * (text and JSON alike). */
static int render_extras(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    int json = in->config->json;
    int status;

    /* --stacks: which code triggered the pauses, first after the summary. */
    status = json ? gcm__render_triggers_jsonl(in, sink) : gcm__render_triggers_text(in, sink);
    if (status != 0)
        goto done;
    if (json) {
        status = gcm__render_timeline_jsonl(in, sink);
        if (status != 0)
            goto done;
        status = gcm__render_advice_jsonl(in, sum, sink);
    } else {
        status = gcm__render_advice_text(in, sum, sink);
        if (status == 0 && in->config->terminal_flamegraph)
            status = gcm__render_terminal_flamegraph(in, sink);
    }
    if (status != 0)
        goto done;
    if (in->config->dump_objects) {
        status = gcm__render_objects(in, sink);
        if (status != 0)
            goto done;
    }
    if (in->config->dump_garbage) {
        status = gcm__render_garbage(in, sink);
        if (status != 0)
            goto done;
    }
    if (in->config->prompt)
        status = gcm__render_prompt(in, sum, sink);
    if (status == 0)
        status = gcm_budget_render(in->config->fail_on, in->config->fail_on_count, sum, json, sink);
done:
    return status;
}

int gcm_report_render(const gcm_report_input *in, const gcm_sink *sink)
{
    gcm_summary sum;
    int status = GCM_EINVAL;

    if (in == NULL || in->snapshot == NULL || in->config == NULL || sink == NULL ||
        sink->write == NULL || (in->events == NULL && in->event_count > 0))
        goto done;
    status = gcm_summarize(in->snapshot, &sum);
    if (status == 0)
        status = gcm_verdict_fill(in, &sum);
    if (status != 0)
        goto done;
    if (in->config->json) {
        /* The verdict comes first, so a reader that stops early has the
         * answer; the objects of the other options come before the summary,
         * which stays the last line of every report, as readers of schema 1
         * rely on. */
        status = gcm__render_verdict_jsonl(in, &sum, sink);
        if (status == 0)
            status = gcm__render_jsonl_events(in, sink);
        if (status == 0)
            status = render_extras(in, &sum, sink);
        if (status == 0)
            status = gcm__render_jsonl_summary(in->snapshot, sink);
    } else {
        /* The event lines are the log; the report body they lead into
         * opens with the verdict, before the figures it rests on. */
        status = gcm__render_text_events(in, sink);
        if (status == 0)
            status = gcm__render_verdict_text(in, &sum, sink);
        if (status == 0)
            status = gcm__render_summary_text(in, &sum, sink);
        if (status == 0)
            status = render_extras(in, &sum, sink);
    }
done:
    return status;
}

int gcm_report_render_fd(const gcm_report_input *in, int fd)
{
    char fallback[FD_FALLBACK_SIZE];
    size_t cap = gcm__fdbuf_capacity_for(fd, FD_BUFFER_SIZE);
    char *heap = NULL;
    gcm__fdbuf fb;
    gcm_sink sink;
    int status, flushed;

    /* Pipes need no more than the stack buffer; files get the large one,
     * or the stack buffer if memory is short at exit. */
    if (cap > sizeof fallback)
        heap = malloc(cap);
    if (heap != NULL)
        gcm__fdbuf_init(&fb, fd, heap, cap);
    else
        gcm__fdbuf_init(&fb, fd, fallback, cap < sizeof fallback ? cap : sizeof fallback);
    sink.write = gcm__fdbuf_write;
    sink.ctx = &fb;
    /* Only here is the stream known, so only here can it be asked whether it
     * is a terminal (for --terminal-flamegraph-color). */
    if (in != NULL) {
        gcm_report_input tty_in = *in;
        tty_in.is_tty = isatty(fd) == 1;
        status = gcm_report_render(&tty_in, &sink);
    } else {
        status = gcm_report_render(in, &sink);
    }
    /* Whatever was rendered before a failure still goes out: half a report
     * beats none when, say, the summary ran out of memory. */
    flushed = gcm__fdbuf_flush(&fb);
    if (status == 0)
        status = flushed;
    free(heap);
    return status;
}

static const char hex_digits[] = "0123456789abcdef";

/* Appends `s` as the body of a JSON string into `out` (room for 6 bytes per
 * input byte): quotes, backslashes and control characters escaped, bytes that
 * are not UTF-8 replaced by U+FFFD.  Returns the new end. */
static char *json_escape(char *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);

    while (n > 0) {
        size_t len = gcm__utf8_length(s, n);
        if (len == 0) {
            memcpy(out, "\\ufffd", 6);
            out += 6;
            len = 1;
        } else if (*s == '"' || *s == '\\') {
            *out++ = '\\';
            *out++ = (char)*s;
        } else if (*s == '\n') {
            memcpy(out, "\\n", 2);
            out += 2;
        } else if (*s == '\t') {
            memcpy(out, "\\t", 2);
            out += 2;
        } else if (*s < 0x20 || *s == 0x7F) {
            memcpy(out, "\\u00", 4);
            out[4] = hex_digits[*s >> 4];
            out[5] = hex_digits[*s & 0xF];
            out += 6;
        } else {
            memcpy(out, s, len);
            out += len;
        }
        s += len;
        n -= len;
    }
    return out;
}

/* Appends `s` for a text line into `out` (room for 4 bytes per input byte):
 * control characters become visible escapes, so a multi-line `-c` program
 * stays on the one "GMEM Running:" line, and a byte that is not part of
 * well-formed UTF-8 (an argument or a path is any bytes) is shown as "\xNN",
 * so the line stays valid UTF-8 for whatever reads it. */
static char *text_escape(char *out, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t n = strlen(text);

    while (n > 0) {
        size_t len = gcm__utf8_length(s, n);
        if (len == 0) {
            out[0] = '\\';
            out[1] = 'x';
            out[2] = hex_digits[*s >> 4];
            out[3] = hex_digits[*s & 0xF];
            out += 4;
            len = 1;
        } else if (len == 1) {
            out += gcm__escape_control(*s, out);
        } else {
            memcpy(out, s, len);
            out += len;
        }
        s += len;
        n -= len;
    }
    return out;
}

int gcm__render_start(const gcm_config *config, const char *command, int64_t pid,
                      int64_t realtime_ns, const gcm_sink *sink)
{
    gcm__line head;
    char *buf = NULL;
    char *p;
    size_t cmd_len;
    int status;

    if (config == NULL || sink == NULL || sink->write == NULL) {
        status = GCM_EINVAL;
        goto done;
    }
    cmd_len = command != NULL ? strlen(command) : 0;
    gcm__line_reset(&head);
    if (config->json) {
        GCM__LINE_LIT(&head, "{\"type\":\"start\",\"schema_version\":");
        gcm__line_u64(&head, GCM_JSON_SCHEMA_VERSION);
        GCM__LINE_LIT(&head, ",\"version\":\"" GCM_VERSION "\",\"ts\":");
        gcm__line_unix_seconds(&head, realtime_ns);
        GCM__LINE_LIT(&head, ",\"pid\":");
        gcm__line_i64(&head, pid);
        GCM__LINE_LIT(&head, ",\"command\":");
    } else {
        /* The documented wording, kept for the scripts that look for it. */
        GCM__LINE_LIT(&head, "GMEM Monitoring initialized (Zero Runtime Overhead)\n");
        if (command != NULL)
            GCM__LINE_LIT(&head, "GMEM Running: ");
    }
    if (head.overflow) {
        status = GCM_ERANGE;
        goto done;
    }
    /* The command is the one unbounded piece, so this line gets its own
     * buffer: the head, the escaped command (at most 6 bytes per byte), and
     * the tail. */
    if (cmd_len > (SIZE_MAX - head.len - 8) / 6) {
        status = GCM_ERANGE;
        goto done;
    }
    buf = malloc(head.len + cmd_len * 6 + 8);
    if (buf == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    memcpy(buf, head.buf, head.len);
    p = buf + head.len;
    if (config->json) {
        if (command == NULL) {
            memcpy(p, "null", 4);
            p += 4;
        } else {
            *p++ = '"';
            p = json_escape(p, command);
            *p++ = '"';
        }
        *p++ = '}';
        *p++ = '\n';
    } else if (command != NULL) {
        p = text_escape(p, command);
        *p++ = '\n';
    }
    status = sink->write(sink->ctx, buf, (size_t)(p - buf));
done:
    free(buf);
    return status;
}

int gcm_report_start_fd(const gcm_config *config, const char *command, int64_t pid, int fd)
{
    gcm_sink sink;

    sink.write = gcm_sink_write_fd;
    sink.ctx = &fd;
    return gcm__render_start(config, command, pid, gcm_clock_realtime_ns(), &sink);
}
