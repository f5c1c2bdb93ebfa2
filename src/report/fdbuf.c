/* fdbuf.c: writing report lines to a file descriptor, whole lines per write(2).
 *
 * Reports go to stderr or a --log-file that other processes (the program's
 * own logging, forked workers) may be writing at the same time.  A line that
 * reaches the descriptor in one write(2) cannot be interleaved with theirs
 * mid-line, so the buffer below only ever flushes at line boundaries.  A
 * closed or broken stream is not worth a traceback or a changed exit status:
 * the first failure becomes a sticky GCM_EIO that ends the report quietly.
 */
#include <errno.h>
#include <limits.h>
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
