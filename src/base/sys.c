/* src/base/sys.c: the system-call loops, written once.
 *
 * A signal handler may interrupt any of these calls (the launcher's own, the
 * target's, live's SIGWINCH), and a pipe or a terminal may take part of a
 * write: each loop here retries both, so a caller never loses a report line
 * or a byte of a file to a signal.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

int gcm__write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    int status = GCM_EIO;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        /* A zero-byte write of a non-empty buffer would loop forever. */
        if (n <= 0)
            goto done;
        p += n;
        len -= (size_t)n;
    }
    status = 0;
done:
    return status;
}

int gcm__open(const char *path, int flags, mode_t mode)
{
    int fd;

    do {
        fd = open(path, flags, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

ssize_t gcm__read_full(int fd, void *buf, size_t size)
{
    char *p = buf;
    size_t got = 0;

    while (got < size) {
        ssize_t n = read(fd, p + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int gcm__pread_full(int fd, void *buf, size_t len, off_t offset)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

ssize_t gcm__read_small_file(const char *path, char *buf, size_t size)
{
    ssize_t got = -1;
    int fd;

    if (size == 0)
        return -1;
    fd = gcm__open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        goto done;
    got = gcm__read_full(fd, buf, size - 1);
    if (got >= 0)
        buf[got] = '\0';
done:
    gcm__close_keep_errno(fd);
    return got;
}

void gcm__close_keep_errno(int fd)
{
    int saved = errno;

    if (fd >= 0)
        (void)close(fd);
    errno = saved;
}

/* Unmaps `mem` unless it is MAP_FAILED (never mapped, or handed over to the
 * capture), keeping the errno that explains a failure for the caller. */
void gcm__unmap_keep_errno(void *mem, size_t size)
{
    int saved = errno;

    if (mem != MAP_FAILED)
        (void)munmap(mem, size);
    errno = saved;
}
