/* extras.c: the sections after the summary, and the helpers they share.
 *
 * The options of the reports' second part (recommendations, the terminal
 * chart, the object and garbage tables, the prompt) each add a section to
 * the exit report.  gcm__render_extras puts them in their one fixed order;
 * the small helpers here (seconds with exact decimals, escaping of outside
 * text, an in-memory sink) are what they have in common.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* Reads "3.14.2" (or "3.14.0rc1") into its first three numbers; 0 if unreadable. */
static int parse_version(const char *text, long out[3])
{
    const char *p = text;
    char *end;
    int i;

    for (i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return 0;
        out[i] = strtol(p, &end, 10);
        p = end;
        if (i < 2) {
            if (*p != '.')
                return 0;
            p++;
        }
    }
    return 1;
}

int gcm__generations_mislead(const gcm_report_input *in)
{
    long v[3];

    if (in->free_threaded)
        return GCM__GENS_FREE_THREADED;
    /* Only the default build of 3.14.0 to 3.14.4 has the incremental
     * collector; the free-threaded one above keeps its single generation. */
    if (in->python_version != NULL && parse_version(in->python_version, v) && v[0] == 3 &&
        v[1] == 14 && v[2] <= 4)
        return GCM__GENS_INCREMENTAL;
    return GCM__GENS_MEANINGFUL;
}

void gcm__line_seconds_exact(gcm__line *l, uint64_t ns)
{
    gcm__line_fixed_trimmed(l, ns, 9);
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

static const char hex_digits[] = "0123456789abcdef";

void gcm__line_text_escaped(gcm__line *l, const char *text, size_t max_bytes)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t used = 0;

    for (; *s != '\0'; s++) {
        char esc[4];
        size_t n;

        if (*s == '\n') {
            esc[0] = '\\';
            esc[1] = 'n';
            n = 2;
        } else if (*s == '\t') {
            esc[0] = '\\';
            esc[1] = 't';
            n = 2;
        } else if (*s < 0x20 || *s == 0x7F) {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex_digits[*s >> 4];
            esc[3] = hex_digits[*s & 0xF];
            n = 4;
        } else {
            esc[0] = (char)*s;
            n = 1;
        }
        if (used + n > max_bytes)
            break;
        gcm__line_mem(l, esc, n);
        used += n;
    }
}

int gcm__membuf_write(void *ctx, const char *data, size_t len)
{
    gcm__membuf *m = ctx;
    int status = GCM_ENOMEM;

    if (len >= SIZE_MAX / 2 - m->len)
        goto done;
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 1024;
        char *grown;
        while (m->len + len + 1 > cap)
            cap *= 2;
        grown = realloc(m->buf, cap);
        if (grown == NULL)
            goto done;
        m->buf = grown;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    m->buf[m->len] = '\0';
    status = 0;
done:
    return status;
}

/* Writes `text` line by line, each line (with its '\n', added to the last if
 * missing) in one call. */
static int emit_lines(const char *text, size_t len, const gcm_sink *sink)
{
    char *copy = NULL;
    size_t start = 0, i;
    int status = 0;

    for (i = 0; i < len && status == 0; i++) {
        if (text[i] == '\n') {
            status = sink->write(sink->ctx, text + start, i + 1 - start);
            start = i + 1;
        }
    }
    if (status == 0 && start < len) {
        copy = malloc(len - start + 1);
        if (copy == NULL) {
            status = GCM_ENOMEM;
            goto done;
        }
        memcpy(copy, text + start, len - start);
        copy[len - start] = '\n';
        status = sink->write(sink->ctx, copy, len - start + 1);
    }
done:
    free(copy);
    return status;
}

int gcm__emit_block(const char *type, const char *key, const char *text, size_t len, int json,
                    const gcm_sink *sink)
{
    cJSON *obj = NULL;
    char *copy = NULL;
    int status = GCM_ENOMEM;

    if (!json) {
        status = emit_lines(text, len, sink);
        goto done;
    }
    copy = malloc(len + 1);
    if (copy == NULL)
        goto done;
    memcpy(copy, text, len);
    copy[len] = '\0';
    obj = cJSON_CreateObject();
    if (obj == NULL || cJSON_AddStringToObject(obj, "type", type) == NULL ||
        cJSON_AddStringToObject(obj, key, copy) == NULL)
        goto done;
    status = gcm__sink_json_line(obj, sink);
done:
    cJSON_Delete(obj);
    free(copy);
    return status;
}

int gcm__render_extras(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    int json = in->config->json;
    int status;

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
