/* src/report/triggers_folded.c: `run --stacks-file`, the --stacks table as folded stacks.
 *
 * The format flamegraph.pl, inferno and speedscope read: one line per stack,
 * its frames outermost first joined by ';', a space, and its weight, here
 * the stack's total pause time in whole microseconds.  Each frame is
 * "function (file:line)".  The stand-in frames are named as in the
 * speedscope file: the "other" row of a full table is one frame of its own,
 * and a stack cut by --stack-depth starts with a frame saying so.  A stack
 * whose pause time rounds to 0 us is left out, since a weight of 0 is no
 * sample to these tools.  There are no comment lines: not every reader
 * skips them.
 */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "report_internal.h"

/* Room for one frame: its names, the punctuation and a line number. */
#define FRAME_BYTES (GCM_STACK_FUNC_SIZE + GCM_STACK_FILE_SIZE + 24u)
/* Room for the weight: a space, 20 digits and the newline. */
#define WEIGHT_BYTES 32u

/* One line under construction, in a buffer sized for the deepest stack. */
typedef struct folded_line {
    const gcm_stack_table *t;
    const gcm_sink *sink;
    char *buf;
    size_t cap;
    size_t len;
} folded_line;

/* Appends `s`; ';' (the frame separator) becomes ',' and a control byte (a
 * newline would end the line) a space, so that every line parses.  The
 * buffer is sized so that it always fits; a longer name is cut. */
static void put_text(folded_line *fl, const char *s)
{
    for (; *s != '\0' && fl->len < fl->cap; s++) {
        unsigned char c = (unsigned char)*s;

        fl->buf[fl->len++] = c == ';' ? ',' : (c < 0x20u || c == 0x7fu) ? ' ' : (char)c;
    }
}

static void put_u64(folded_line *fl, uint64_t v)
{
    char digits[24];
    size_t n = 0;

    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v > 0);
    while (n > 0 && fl->len < fl->cap)
        fl->buf[fl->len++] = digits[--n];
}

/* Appends frame `f` as "function (file:line)". */
static void put_frame(folded_line *fl, const gcm_stack_frame *f)
{
    const gcm_stack_site *site;

    if (f->site == GCM_STACK_NO_SITE) {
        put_text(fl, GCM__FRAME_UNNAMED);
        return;
    }
    site = gcm_stacks_site(fl->t, f->site);
    if (site == NULL) {
        put_text(fl, "(unknown)");
        return;
    }
    put_text(fl, site->func);
    put_text(fl, " (");
    put_text(fl, site->file);
    if (f->line >= 0) {
        put_text(fl, ":");
        put_u64(fl, (uint64_t)f->line);
    }
    put_text(fl, ")");
}

/* Appends the separator before every frame but the first: the one ';' that
 * put_text never writes. */
static void put_separator(folded_line *fl)
{
    if (fl->len > 0 && fl->len < fl->cap)
        fl->buf[fl->len++] = ';';
}

/* Writes one stack's line, unless its weight rounds to 0 us. */
static int put_stack(const gcm__trigger_stack *s, void *ctx)
{
    folded_line *fl = ctx;
    uint64_t us = s->total_ns / 1000u + (s->total_ns % 1000u >= 500u ? 1u : 0u);

    if (us == 0)
        return 0;
    fl->len = 0;
    if (s->frames == NULL) {
        put_text(fl, GCM__FRAME_OTHER_STACKS);
    } else {
        if (s->truncated)
            put_text(fl, GCM__FRAME_CUT);
        /* The table keeps the innermost frame first; the format wants the
         * outermost. */
        for (uint32_t d = s->depth; d > 0; d--) {
            put_separator(fl);
            put_frame(fl, &s->frames[d - 1u]);
        }
    }
    /* A collection that ran with no Python frame on its thread still needs
     * one frame to make a line. */
    if (fl->len == 0)
        put_text(fl, "(no python frame)");
    put_text(fl, " ");
    put_u64(fl, us);
    if (fl->len < fl->cap)
        fl->buf[fl->len++] = '\n';
    return fl->sink->write(fl->sink->ctx, fl->buf, fl->len);
}

int gcm__render_stacks_folded(const gcm_report_input *in, const gcm_sink *sink)
{
    folded_line fl;
    int status = 0;

    if (in->stacks == NULL)
        goto done;
    memset(&fl, 0, sizeof fl);
    fl.t = in->stacks;
    fl.sink = sink;
    /* The frames, the cut frame and the weight of the deepest stack. */
    fl.cap = ((size_t)in->stacks->depth + 1u) * FRAME_BYTES + WEIGHT_BYTES;
    fl.buf = malloc(fl.cap);
    if (fl.buf == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    status = gcm__trigger_stacks_each(in->stacks, put_stack, &fl);
    free(fl.buf);
done:
    return status;
}

static int render_one(const gcm_report_input *const *ins, size_t count, const gcm_sink *sink)
{
    (void)count;
    return gcm__render_stacks_folded(ins[0], sink);
}

/* One input's folded stacks to `fd`, in the signature gcm__write_report_file takes. */
static int stacks_fd(const gcm_report_input *in, int fd)
{
    return gcm__render_many_fd(&in, 1, fd, render_one);
}

int gcm_report_write_stacks(const gcm_report_input *in)
{
    return gcm__write_report_file(
        in, in != NULL && in->config != NULL ? in->config->stacks_file : NULL, stacks_fd);
}
