/* report_internal.h: what the renderers under src/report/ share, and nothing else.
 *
 * The renderers build each line in a gcm__line (a fixed buffer on the stack,
 * so rendering a million events allocates nothing per event) and hand it to a
 * gcm_sink in one call.  The fd sink in fdbuf.c gathers those whole lines into
 * one larger buffer and writes it out only at line boundaries.  Everything here
 * runs at report time on one thread; none of it is on the recording path.
 */
#ifndef GCM_REPORT_INTERNAL_H
#define GCM_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gc_monitor/report.h"
#include "gc_monitor/stats.h"

/* The longest line a renderer builds in one piece.  Event, alert and summary
 * lines are far shorter; only caller text (a command) can be longer, and that
 * path sizes its own buffer. */
#define GCM__LINE_CAP 512

/* The largest integer JSON readers that hold numbers as doubles keep exact
 * (2^53 - 1); summary_json.c clamps at the same value. */
#define GCM__JSON_MAX_EXACT ((UINT64_C(1) << 53) - 1u)

/* One line under construction.  Appends past the capacity set `overflow`
 * instead of writing, so a bug truncates nothing silently: emit refuses it. */
typedef struct gcm__line {
    size_t len;
    int overflow;
    char buf[GCM__LINE_CAP];
} gcm__line;

/* Empties `l`. */
void gcm__line_reset(gcm__line *l);

/* Appends `n` bytes of `s`.  Inline, so that the many fixed-size appends of an
 * event line become a few moves instead of calls into memcpy. */
static inline void gcm__line_mem(gcm__line *l, const char *s, size_t n)
{
    if (n > GCM__LINE_CAP - l->len) {
        l->overflow = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Appends the NUL-terminated string `s`. */
void gcm__line_str(gcm__line *l, const char *s);

/* Appends a string literal without measuring it at run time. */
#define GCM__LINE_LIT(l, s) gcm__line_mem((l), ("" s), sizeof(s) - 1u)

/* Appends `n` copies of the character `c`. */
void gcm__line_fill(gcm__line *l, char c, size_t n);

/* Appends `v` in decimal. */
void gcm__line_u64(gcm__line *l, uint64_t v);

/* Appends `v` in decimal, with a '-' when negative. */
void gcm__line_i64(gcm__line *l, int64_t v);

/* Appends units / 10^decimals with exactly `decimals` digits after the point
 * (decimals <= 9), e.g. (52300, 3) -> "52.300". */
void gcm__line_fixed(gcm__line *l, uint64_t units, unsigned decimals);

/* Appends a pause in the original tool's units: under 1 ms "%.3fms", under
 * 1 s "%.1fms", otherwise "%.2fs", rounded half up from exact nanoseconds. */
void gcm__line_duration(gcm__line *l, uint64_t ns);

/* Appends a duration in milliseconds with the fewest digits that show it
 * exactly to the nanosecond (1000000 -> "1ms", 500000 -> "0.5ms"). */
void gcm__line_ms_exact(gcm__line *l, uint64_t ns);

/* Appends Unix time `ns` as seconds with six decimals (microseconds),
 * rounded half away from zero: 1764349200012000000 -> "1764349200.012000". */
void gcm__line_unix_seconds(gcm__line *l, int64_t ns);

/* Appends printf-formatted text; for the rare lines only, never per event. */
void gcm__line_printf(gcm__line *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Right-aligns the text appended since offset `from` in a field of `width`
 * columns by inserting spaces before it (nothing happens if it is wider). */
void gcm__line_align_right(gcm__line *l, size_t from, size_t width);

/* Pads with spaces so that the text since offset `from` is `width` columns. */
void gcm__line_pad_to(gcm__line *l, size_t from, size_t width);

/* Appends a JSON integer, clamped to GCM__JSON_MAX_EXACT as the summary's
 * are, so no reader ever sees an integer it cannot hold. */
void gcm__line_json_u64(gcm__line *l, uint64_t v);

/* Appends '\n' and writes the line to `sink` in one call.  Returns 0, the
 * sink's error, or GCM_ERANGE if the line overflowed its buffer. */
int gcm__line_emit(gcm__line *l, const gcm_sink *sink);

/* Rounds a / b half up, without the overflow of (a + b / 2) / b.  b > 0. */
uint64_t gcm__div_round(uint64_t a, uint64_t b);

/* Unix time in nanoseconds of a CLOCK_MONOTONIC reading taken in the process
 * whose block had this clock pair at init. */
int64_t gcm__event_realtime_ns(const gcm_snapshot *snap, uint64_t monotonic_ns);

/* ---- the buffered file-descriptor sink (fdbuf.c) ---- */

typedef struct gcm__fdbuf {
    int fd;
    int status;       /* the first write error; later lines are dropped */
    char *buf;
    size_t cap;
    size_t len;
} gcm__fdbuf;

/* How much of a `cap`-byte buffer to fill before writing to `fd`: all of it
 * for a regular file, where an O_APPEND write of any size lands whole, but
 * at most PIPE_BUF for a pipe, socket or terminal, where only writes that
 * small are atomic, so concurrent writers (forked workers sharing stderr)
 * can never cut into a line. */
size_t gcm__fdbuf_capacity_for(int fd, size_t cap);

/* Points `b` at caller-provided storage `buf` of `cap` bytes for `fd`. */
void gcm__fdbuf_init(gcm__fdbuf *b, int fd, char *buf, size_t cap);

/* gcm_sink writer over a gcm__fdbuf at `ctx`: buffers whole lines, flushing
 * before a line that would not fit; a line larger than the buffer goes out
 * alone in one write.  Returns 0 or the sticky GCM_EIO. */
int gcm__fdbuf_write(void *ctx, const char *data, size_t len);

/* Writes out whatever is buffered.  Returns 0 or the sticky GCM_EIO. */
int gcm__fdbuf_flush(gcm__fdbuf *b);

/* ---- renderers ---- */

/* The text report: event and alert lines (unless stats-only), the summary,
 * then the advice section. */
int gcm__render_text(const gcm_report_input *in, const gcm_sink *sink);

/* The JSON Lines report: event and alert objects (unless stats-only), then
 * the summary object. */
int gcm__render_jsonl(const gcm_report_input *in, const gcm_sink *sink);

/* The start lines of gcm_report_start_fd, with the clock reading passed in so
 * tests can fix it. */
int gcm__render_start(const gcm_config *config, const char *command, int64_t pid,
                      int64_t realtime_ns, const gcm_sink *sink);

/* The text summary section, "=== GC MONITORING SUMMARY ===" and all below it. */
int gcm__render_summary_text(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink);

/* The advice section rendered after the summary (recommendations, filled in
 * by the reports part 2 work).  Writes nothing while there is no advice. */
int gcm__render_advice_text(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm_sink *sink);

/* The JSON counterpart of gcm__render_advice_text: one object per line. */
int gcm__render_advice_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink);

#endif /* GCM_REPORT_INTERNAL_H */
