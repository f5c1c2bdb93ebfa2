/* src/report/logfile.c: the --log-file's derived names for child processes, and
 * opening either kind without following a symbolic link (gc_monitor/logfile.h). */
#include "gc_monitor/logfile.h"

#include "base/base.h"
#include "gc_monitor/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Returns the offset in `path` where the pid goes: the last '.' of the file
 * name, unless the name has none or starts with its only dot (".gclog"), in
 * which case the pid is appended at the end. */
static size_t insertion_point(const char *path)
{
    const char *base = strrchr(path, '/');
    const char *dot;

    base = base == NULL ? path : base + 1;
    dot = strrchr(base, '.');
    if (dot == NULL || dot == base)
        return strlen(path);
    return (size_t)(dot - path);
}

int gcm_logfile_derive(const char *path, int64_t pid, int n, char *out, size_t out_size)
{
    size_t len;
    size_t at;
    int written;
    int status = GCM_EINVAL;

    if (path == NULL || out == NULL || pid < 0 || n < 0)
        goto done;
    len = strlen(path);
    if (len == 0 || path[len - 1] == '/')
        goto done;
    at = insertion_point(path);
    /* "%.*s" takes an int precision: a path longer than that is no path. */
    if (at > (size_t)INT_MAX)
        goto done;
    if (n == 0)
        written = snprintf(out, out_size, "%.*s.%" PRId64 "%s", (int)at, path, pid, path + at);
    else
        written =
            snprintf(out, out_size, "%.*s.%" PRId64 ".%d%s", (int)at, path, pid, n, path + at);
    if (written < 0) {
        status = GCM_EINVAL;
        goto done;
    }
    if ((size_t)written >= out_size) {
        status = GCM_ENOMEM;
        goto done;
    }
    status = 0;
done:
    return status;
}

int gcm_logfile_open(const char *path, int *fd_out)
{
    gcm__output out;
    int status = GCM_EINVAL;

    if (path == NULL || path[0] == '\0' || fd_out == NULL)
        goto done;
    /* The one policy for files we write (src/base/files.c): appended to
     * when it is a regular file, created 0600 when it is not there, refused
     * when it is anything else. */
    status = gcm__create_output(&out, path, GCM__OUTPUT_APPEND, O_WRONLY | O_CLOEXEC);
    if (status != 0)
        goto done;
    *fd_out = out.fd;
done:
    return status;
}

int gcm_logfile_open_child(const char *path, int64_t pid, int *fd_out, char *name_out,
                           size_t name_size)
{
    char name[4096];
    gcm__output out;
    int n;
    int fd = -1;
    int status = GCM_EINVAL;

    if (fd_out == NULL)
        goto done;
    for (n = 0; n <= GCM_LOGFILE_MAX_SUFFIX; n++) {
        status = gcm_logfile_derive(path, pid, n, name, sizeof name);
        if (status != 0)
            goto done;
        /* Checked before the file exists, so a refusal leaves nothing behind. */
        if (name_out != NULL && strlen(name) >= name_size) {
            status = GCM_ENOMEM;
            goto done;
        }
        /* A new file only: a name that exists belongs to an earlier process
         * with the same pid, or is a planted symlink, a FIFO, a device;
         * whatever it is, it is not ours, and the next name is tried. */
        status = gcm__create_output(&out, name, GCM__OUTPUT_NEW, O_WRONLY | O_CLOEXEC);
        if (status == 0) {
            fd = out.fd;
            break;
        }
        if (status != GCM_EIO ||
            (errno != EEXIST && errno != ELOOP && errno != EISDIR && errno != EINVAL)) {
            status = GCM_EIO;
            goto done;
        }
    }
    if (fd < 0) {
        status = GCM_ERANGE;
        goto done;
    }
    if (name_out != NULL)
        memcpy(name_out, name, strlen(name) + 1);
    *fd_out = fd;
    status = 0;
done:
    return status;
}

int gcm_logfile_absolute(char *path, size_t size)
{
    char cwd[4096];
    size_t cwd_len;
    size_t len;
    int status = GCM_EINVAL;

    if (path == NULL || size == 0)
        goto done;
    status = 0;
    if (path[0] == '\0' || path[0] == '/')
        goto done;
    if (getcwd(cwd, sizeof cwd) == NULL) {
        status = errno == ERANGE ? GCM_ENOMEM : GCM_EIO;
        goto done;
    }
    cwd_len = strlen(cwd);
    len = strlen(path);
    /* cwd, a '/' unless cwd is the root, path, and the terminator. */
    if (cwd_len + 1 + len + 1 > size) {
        status = GCM_ENOMEM;
        goto done;
    }
    memmove(path + cwd_len + (cwd[cwd_len - 1] == '/' ? 0 : 1), path, len + 1);
    memcpy(path, cwd, cwd_len);
    if (cwd[cwd_len - 1] != '/')
        path[cwd_len] = '/';
done:
    return status;
}
