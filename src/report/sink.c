/* src/report/sink.c: where report lines go: a file descriptor, whole lines
 * per write(2), or a growing memory buffer; and outside text as lines.
 *
 * Reports go to stderr or a --log-file that other processes (the program's
 * own logging, forked workers) may be writing at the same time.  A line that
 * reaches the descriptor in one write(2) cannot be interleaved with theirs
 * mid-line, so the buffer below only ever flushes at line boundaries.  A
 * closed or broken stream is not worth a traceback or a changed exit status:
 * the first failure becomes a sticky GCM_EIO that ends the report quietly.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_monitor/errors.h"
#include "base/base.h"
#include "report_internal.h"

int gcm_sink_write_fd(void *ctx, const char *data, size_t len)
{
    return gcm__write_all(*(const int *)ctx, data, len);
}

size_t gcm__fdbuf_capacity_for(int fd, size_t cap)
{
    struct stat st;

    /* An fd that cannot be examined is treated like a pipe: smaller writes
     * cost a few more system calls and are never less safe. */
    if ((fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) && cap > PIPE_BUF)
        cap = PIPE_BUF;
    return cap;
}

void gcm__fdbuf_init(gcm__fdbuf *b, int fd, char *buf, size_t cap)
{
    b->fd = fd;
    b->status = 0;
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
}

int gcm__fdbuf_flush(gcm__fdbuf *b)
{
    if (b->status == 0 && b->len > 0)
        b->status = gcm_sink_write_fd(&b->fd, b->buf, b->len);
    b->len = 0;
    return b->status;
}

int gcm__fdbuf_write(void *ctx, const char *data, size_t len)
{
    gcm__fdbuf *b = ctx;

    if (b->status != 0)
        goto done;
    if (len > b->cap - b->len) {
        if (gcm__fdbuf_flush(b) != 0)
            goto done;
        /* Too big for the buffer even when empty: it goes out alone, whole. */
        if (len > b->cap) {
            b->status = gcm_sink_write_fd(&b->fd, data, len);
            goto done;
        }
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
done:
    return b->status;
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

int gcm__sink_json_line(const cJSON *obj, const gcm_sink *sink)
{
    char *text = NULL;
    char *line = NULL;
    size_t len;
    int status = GCM_ENOMEM;

    text = cJSON_PrintUnformatted(obj);
    if (text == NULL)
        goto done;
    /* The printed object has no newline of its own, and cJSON's buffer comes
     * from its own allocator: copy it into a line of ours that has one, so
     * the whole line still goes to the sink in one call. */
    len = strlen(text);
    line = malloc(len + 1);
    if (line == NULL)
        goto done;
    memcpy(line, text, len);
    line[len] = '\n';
    status = sink->write(sink->ctx, line, len + 1);
done:
    free(line);
    if (text != NULL)
        cJSON_free(text);
    return status;
}

int gcm__write_json_line(int fd, const struct cJSON *obj)
{
    gcm_sink sink = {gcm_sink_write_fd, &fd};

    return gcm__sink_json_line(obj, &sink);
}

int gcm__sink_json_take(struct cJSON *obj, const gcm_sink *sink)
{
    int status = GCM_ENOMEM;

    if (obj == NULL)
        goto done;
    status = gcm__sink_json_line(obj, sink);
done:
    cJSON_Delete(obj);
    return status;
}
