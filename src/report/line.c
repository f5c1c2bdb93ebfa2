/* src/report/line.c: building one report line in a fixed buffer, numbers included.
 *
 * The event lines of a million-collection run are the bulk of a report, so
 * their numbers are formatted here by hand: integer digits and fixed-point
 * decimals from exact nanoseconds, with no printf, no floating point and no
 * locale.  printf remains for the handful of summary lines.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gc_monitor/errors.h"
#include "base/base.h"
#include "report_internal.h"

static const uint64_t pow10_table[10] = {
    1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
};

void gcm__line_reset(gcm__line *l)
{
    l->len = 0;
    l->overflow = 0;
}

void gcm__line_str(gcm__line *l, const char *s)
{
    gcm__line_mem(l, s, strlen(s));
}

void gcm__line_fill(gcm__line *l, char c, size_t n)
{
    if (n > GCM__LINE_CAP - l->len) {
        l->overflow = 1;
        return;
    }
    memset(l->buf + l->len, c, n);
    l->len += n;
}

/* "00" to "99": two digits per division halves the divisions of a number. */
static const char digit_pairs[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes the digits of `v` right-aligned to end at `end`; returns their start. */
static char *digits_before(char *end, uint64_t v)
{
    while (v >= 100u) {
        unsigned pair = (unsigned)(v % 100u) * 2u;
        v /= 100u;
        end -= 2;
        end[0] = digit_pairs[pair];
        end[1] = digit_pairs[pair + 1];
    }
    if (v >= 10u) {
        end -= 2;
        end[0] = digit_pairs[v * 2u];
        end[1] = digit_pairs[v * 2u + 1];
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

/* Writes exactly `count` digits of `v` (zero-padded) to end at `end`. */
static char *padded_digits_before(char *end, uint64_t v, unsigned count)
{
    for (; count >= 2; count -= 2) {
        unsigned pair = (unsigned)(v % 100u) * 2u;
        v /= 100u;
        end -= 2;
        end[0] = digit_pairs[pair];
        end[1] = digit_pairs[pair + 1];
    }
    if (count == 1)
        *--end = (char)('0' + v % 10u);
    return end;
}

void gcm__line_u64(gcm__line *l, uint64_t v)
{
    char tmp[24];
    char *start = digits_before(tmp + sizeof tmp, v);
    gcm__line_mem(l, start, (size_t)(tmp + sizeof tmp - start));
}

void gcm__line_i64(gcm__line *l, int64_t v)
{
    if (v < 0) {
        GCM__LINE_LIT(l, "-");
        /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
        gcm__line_u64(l, (uint64_t)0 - (uint64_t)v);
    } else {
        gcm__line_u64(l, (uint64_t)v);
    }
}

void gcm__line_fixed(gcm__line *l, uint64_t units, unsigned decimals)
{
    char tmp[40];
    char *end = tmp + sizeof tmp;
    char *p;
    uint64_t scale, whole, frac;

    if (decimals > 9)
        decimals = 9;
    scale = pow10_table[decimals];
    whole = units / scale;
    frac = units % scale;
    p = end;
    if (decimals > 0) {
        p = padded_digits_before(p, frac, decimals);
        *--p = '.';
    }
    p = digits_before(p, whole);
    gcm__line_mem(l, p, (size_t)(end - p));
}

uint64_t gcm__div_round(uint64_t a, uint64_t b)
{
    uint64_t q = a / b, r = a % b;
    /* r >= b - r is "twice the remainder reaches b", written so it cannot overflow. */
    return q + (r >= b - r ? 1u : 0u);
}

void gcm__line_duration(gcm__line *l, uint64_t ns)
{
    if (ns < 1000000u) {
        gcm__line_fixed(l, gcm__div_round(ns, 1000u), 3);
        GCM__LINE_LIT(l, "ms");
    } else if (ns < 1000000000u) {
        gcm__line_fixed(l, gcm__div_round(ns, 100000u), 1);
        GCM__LINE_LIT(l, "ms");
    } else {
        gcm__line_fixed(l, gcm__div_round(ns, 10000000u), 2);
        GCM__LINE_LIT(l, "s");
    }
}

/* Appends units / 10^decimals like gcm__line_fixed, but with the fewest
 * digits after the point that show it exactly: (1500000, 6) -> "1.5". */
static void line_fixed_trimmed(gcm__line *l, uint64_t units, unsigned decimals)
{
    /* Drop trailing zero decimals: 1500000 ns in ms is "1.5", not "1.500000". */
    while (decimals > 0 && units % 10u == 0) {
        units /= 10u;
        decimals--;
    }
    gcm__line_fixed(l, units, decimals);
}

void gcm__line_ms_exact(gcm__line *l, uint64_t ns)
{
    line_fixed_trimmed(l, ns, 6);
    GCM__LINE_LIT(l, "ms");
}

void gcm__line_unix_seconds(gcm__line *l, int64_t ns)
{
    if (ns < 0) {
        GCM__LINE_LIT(l, "-");
        /* Negate in unsigned arithmetic so INT64_MIN does not overflow. */
        gcm__line_fixed(l, gcm__div_round((uint64_t)0 - (uint64_t)ns, 1000u), 6);
    } else {
        gcm__line_fixed(l, gcm__div_round((uint64_t)ns, 1000u), 6);
    }
}

void gcm__line_printf(gcm__line *l, const char *fmt, ...)
{
    va_list ap;
    size_t room = GCM__LINE_CAP - l->len;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(l->buf + l->len, room, fmt, ap);
    va_end(ap);
    /* vsnprintf needs room for its NUL too, so n == room already overflowed. */
    if (n < 0 || (size_t)n >= room) {
        l->overflow = 1;
        return;
    }
    l->len += (size_t)n;
}

void gcm__line_time_cell(gcm__line *l, uint64_t ns, uint64_t count, size_t width)
{
    size_t from = l->len;

    if (count == 0)
        GCM__LINE_LIT(l, "-");
    else
        gcm__line_duration(l, ns);
    gcm__line_align_right(l, from, width);
}

void gcm__line_align_right(gcm__line *l, size_t from, size_t width)
{
    size_t have, pad;

    if (l->overflow || from > l->len)
        return;
    have = l->len - from;
    if (have >= width)
        return;
    pad = width - have;
    if (pad > GCM__LINE_CAP - l->len) {
        l->overflow = 1;
        return;
    }
    memmove(l->buf + from + pad, l->buf + from, have);
    memset(l->buf + from, ' ', pad);
    l->len += pad;
}

void gcm__line_pad_to(gcm__line *l, size_t from, size_t width)
{
    if (l->overflow || from > l->len)
        return;
    if (l->len - from < width)
        gcm__line_fill(l, ' ', width - (l->len - from));
}

void gcm__line_json_u64(gcm__line *l, uint64_t v)
{
    /* Counts this large do not occur in practice; clamping keeps the line
     * valid for every reader rather than wrapping or losing digits silently. */
    gcm__line_u64(l, v <= GCM__JSON_MAX_EXACT ? v : GCM__JSON_MAX_EXACT);
}

int gcm__line_emit(gcm__line *l, const gcm_sink *sink)
{
    GCM__LINE_LIT(l, "\n");
    if (l->overflow)
        return GCM_ERANGE;
    return sink->write(sink->ctx, l->buf, l->len);
}

int64_t gcm__event_realtime_ns(const gcm_snapshot *snap, uint64_t monotonic_ns)
{
    /* Both clocks tick at the same rate, so the realtime of an event is the
     * init realtime plus the monotonic time elapsed since init.  Unsigned
     * arithmetic wraps instead of overflowing on a corrupt capture. */
    return (int64_t)((uint64_t)snap->init_realtime_ns +
                     (monotonic_ns - (uint64_t)snap->init_monotonic_ns));
}

void gcm__line_seconds_exact(gcm__line *l, uint64_t ns)
{
    line_fixed_trimmed(l, ns, 9);
}

uint64_t gcm__seconds_to_ns(double seconds)
{
    double ns = seconds * 1e9 + 0.5;

    /* The parser refuses widths that are not positive and finite; the clamps
     * keep a hand-made configuration from dividing by zero or overflowing. */
    if (!(ns >= 1.0))
        return 1;
    if (ns >= 9.2e18)
        return UINT64_C(9200000000000000000);
    return (uint64_t)ns;
}

uint64_t gcm__event_offset_ns(const gcm_snapshot *snap, const gcm_event *ev)
{
    uint64_t origin = (uint64_t)snap->init_monotonic_ns;

    return ev->start_ns > origin ? ev->start_ns - origin : 0;
}

void gcm__line_text_escaped(gcm__line *l, const char *text, size_t max_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t used = 0;

    for (; *s != '\0'; s++) {
        char esc[4];
        size_t n = gcm__escape_control(*s, esc);

        if (used + n > max_bytes)
            break;
        gcm__line_mem(l, esc, n);
        used += n;
    }
}

cJSON *gcm__json_add_unix_seconds(cJSON *obj, const char *key, int64_t ns)
{
    gcm__line line;

    gcm__line_reset(&line);
    gcm__line_unix_seconds(&line, ns);
    if (line.overflow || line.len >= sizeof line.buf)
        return NULL;
    line.buf[line.len] = '\0';
    return cJSON_AddRawToObject(obj, key, line.buf);
}

void gcm__line_table_row(gcm__line *l, const char *label, size_t label_width, uint64_t count,
                         size_t count_width)
{
    size_t from;

    GCM__LINE_LIT(l, "  ");
    from = l->len;
    gcm__line_str(l, label);
    gcm__line_pad_to(l, from, label_width);
    from = l->len;
    gcm__line_u64(l, count);
    gcm__line_align_right(l, from, count_width);
}

void gcm__line_table_head(gcm__line *l, size_t label_width, size_t count_width,
                          const char *const *heads, size_t n, size_t width)
{
    size_t from;
    size_t i;

    gcm__line_fill(l, ' ', 2 + label_width);
    from = l->len;
    GCM__LINE_LIT(l, "collections");
    gcm__line_align_right(l, from, count_width);
    for (i = 0; i < n; i++) {
        from = l->len;
        gcm__line_str(l, heads[i]);
        gcm__line_align_right(l, from, width);
    }
}
