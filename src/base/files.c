/* src/base/files.c: the one policy for every file pygcprofiler writes or reads.
 *
 * A path named on a command line may be anything: a regular file, a symlink
 * to someone else's file or to /proc/self/fd/1, a device, a FIFO a program
 * is waiting on, a socket, a directory.  Opening some of these has effects
 * (a FIFO's open blocks, a read consumes its data, a tty may become the
 * controlling terminal), and replacing one with a regular file destroys it.
 * So every output and every input goes through the functions here, and each
 * looks at the path with lstat(2) before it opens anything:
 *
 * - an output that does not exist is created 0600, exclusively, never through
 *   a symlink;
 * - an existing regular file is appended to, replaced atomically (a
 *   temporary in the same directory renamed over it), or refused, as the
 *   option says (gcm__output_mode);
 * - anything else (a symlink, a directory, a FIFO, a socket, a device) is
 *   refused and never opened, for writing and for reading alike.
 *
 * The checks repeat on the descriptor after open (O_NONBLOCK, so a path
 * swapped for a FIFO in between still cannot block us), so the policy holds
 * even against a path that changes while we look at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

/* Sets errno for a path that exists as `mode` and is not a regular file,
 * and returns GCM_EIO: ELOOP for a symlink (which O_NOFOLLOW would give),
 * EISDIR for a directory, EINVAL for the rest (gcm__path_error_text names
 * each kind in words). */
static int refuse_kind(mode_t mode)
{
    if (S_ISLNK(mode))
        errno = ELOOP;
    else if (S_ISDIR(mode))
        errno = EISDIR;
    else
        errno = EINVAL;
    return GCM_EIO;
}

/* Copies the directory part of `path` into `dir` ("." for a bare name).
 * Returns 0, or -1 when it does not fit. */
static int directory_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    size_t len;

    if (slash == NULL) {
        if (size < 2)
            return -1;
        memcpy(dir, ".", 2);
        return 0;
    }
    len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= size)
        return -1;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return 0;
}

int gcm__check_output(const char *path, gcm__output_mode mode)
{
    char dir[GCM__FILES_PATH_MAX];
    struct stat st;
    int exists;
    int status = GCM_EINVAL;

    if (path == NULL || path[0] == '\0')
        goto done;
    status = GCM_EIO;
    exists = lstat(path, &st) == 0;
    if (!exists && errno != ENOENT)
        goto done;
    if (exists && !S_ISREG(st.st_mode)) {
        status = refuse_kind(st.st_mode);
        goto done;
    }
    if (exists && mode == GCM__OUTPUT_NEW) {
        errno = EEXIST;
        goto done;
    }
    if (exists && mode == GCM__OUTPUT_APPEND) {
        /* Appending writes the file itself, not its directory. */
        if (access(path, W_OK) != 0)
            goto done;
    } else {
        /* A new file, or the temporary that replaces one, is made in the
         * directory. */
        if (directory_of(path, dir, sizeof dir) != 0) {
            errno = ENAMETOOLONG;
            goto done;
        }
        if (access(dir, W_OK | X_OK) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}

/* Opens an existing regular file for appending: O_NONBLOCK and O_NOCTTY
 * keep a path swapped for a FIFO or a terminal since the lstat from
 * blocking or from taking over the terminal, and the descriptor is checked
 * to be a regular file before anything is written. */
static int open_existing_for_append(const char *path, int flags)
{
    struct stat st;
    int fd = gcm__open(path, flags | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0);
    int fl;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0)
        goto fail;
    if (!S_ISREG(st.st_mode)) {
        (void)refuse_kind(st.st_mode);
        goto fail;
    }
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0)
        goto fail;
    return fd;
fail:
    gcm__close_keep_errno(fd);
    return -1;
}

/* Creates `path` new: exclusive, so neither a file nor a symlink that
 * appeared since the lstat is ever opened. */
static int create_new(const char *path, int flags)
{
    return gcm__open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY, 0600);
}

int gcm__create_output(gcm__output *out, const char *path, gcm__output_mode mode, int flags)
{
    int status = GCM_EINVAL;
    int n;

    if (out == NULL)
        goto done;
    out->fd = -1;
    out->created = 0;
    out->path = path;
    out->tmp[0] = '\0';
    if (path == NULL || path[0] == '\0')
        goto done;
    flags &= O_ACCMODE | O_CLOEXEC;
    status = gcm__check_output(path, mode);
    if (status != 0)
        goto done;
    status = GCM_EIO;
    switch (mode) {
    case GCM__OUTPUT_NEW:
        out->fd = create_new(path, flags);
        out->created = out->fd >= 0;
        break;
    case GCM__OUTPUT_APPEND:
        out->fd = create_new(path, flags | O_APPEND);
        out->created = out->fd >= 0;
        /* It existed after all (it did when we checked, or it appeared
         * since): append, still only to a regular file. */
        if (out->fd < 0 && errno == EEXIST)
            out->fd = open_existing_for_append(path, flags);
        break;
    case GCM__OUTPUT_REPLACE:
        /* A file of our own next to the target, renamed over it by
         * gcm__output_commit: readers of the path never see half a file,
         * and rename replaces a name instead of writing through it. */
        n = snprintf(out->tmp, sizeof out->tmp, "%s.%lld.tmp", path, (long long)getpid());
        if (n < 0 || (size_t)n >= sizeof out->tmp) {
            out->tmp[0] = '\0';
            errno = ENAMETOOLONG;
            goto done;
        }
        out->fd = create_new(out->tmp, flags);
        if (out->fd < 0)
            out->tmp[0] = '\0';
        break;
    default:
        status = GCM_EINVAL;
        goto done;
    }
    if (out->fd < 0)
        goto done;
    status = 0;
done:
    return status;
}

int gcm__output_commit(gcm__output *out)
{
    struct stat st;
    int status = GCM_EIO;
    int fd;

    if (out == NULL)
        return GCM_EINVAL;
    fd = out->fd;
    out->fd = -1;
    if (fd >= 0 && close(fd) != 0)
        goto done;
    if (out->tmp[0] == '\0') {
        status = 0;
        goto done;
    }
    /* The path may have become something else while we wrote (a device, a
     * FIFO, a directory): looked at again, it is still only replaced when
     * it is a regular file or nothing. */
    if (lstat(out->path, &st) == 0 && !S_ISREG(st.st_mode)) {
        status = refuse_kind(st.st_mode);
        goto done;
    }
    if (rename(out->tmp, out->path) != 0)
        goto done;
    out->tmp[0] = '\0';
    status = 0;
done:
    if (status != 0)
        gcm__output_discard(out);
    return status;
}

void gcm__output_discard(gcm__output *out)
{
    int saved = errno;

    if (out == NULL)
        return;
    gcm__close_keep_errno(out->fd);
    out->fd = -1;
    if (out->tmp[0] != '\0')
        (void)unlink(out->tmp);
    out->tmp[0] = '\0';
    if (out->created && out->path != NULL)
        (void)unlink(out->path);
    out->created = 0;
    errno = saved;
}

int gcm__open_input(const char *path, unsigned flags, int *fd_out, struct stat *st_out)
{
    struct stat seen;
    struct stat st;
    int fd = -1;
    int status = GCM_EINVAL;
    int follow = (flags & GCM__INPUT_FOLLOW) != 0;

    if (path == NULL || fd_out == NULL)
        goto done;
    *fd_out = -1;
    status = GCM_EIO;
    if ((follow ? stat(path, &seen) : lstat(path, &seen)) != 0)
        goto done;
    if (!S_ISREG(seen.st_mode)) {
        status = refuse_kind(seen.st_mode);
        goto done;
    }
    fd = gcm__open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW),
                   0);
    if (fd < 0)
        goto done;
    if (fstat(fd, &st) != 0)
        goto done;
    /* Swapped since the look: whatever is there now is refused as what it is. */
    if (!S_ISREG(st.st_mode) || st.st_dev != seen.st_dev || st.st_ino != seen.st_ino) {
        status = S_ISREG(st.st_mode) ? (errno = EAGAIN, GCM_EIO) : refuse_kind(st.st_mode);
        goto done;
    }
    if (st_out != NULL)
        *st_out = st;
    *fd_out = fd;
    fd = -1;
    status = 0;
done:
    gcm__close_keep_errno(fd);
    return status;
}

/* The kind of a file that is not a regular one, as a message says it. */
static const char *kind_words(mode_t mode)
{
    if (S_ISLNK(mode))
        return "a symbolic link";
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    return "an unknown kind of file";
}

const char *gcm__path_error_text(const char *path, int err, char *buf, size_t size)
{
    struct stat st;

    if (size == 0)
        return "";
    /* Only the errors the policy gives for a kind of file are put in words
     * of that kind; every other error is the system's text. */
    if (path != NULL && (err == EINVAL || err == EISDIR || err == ENXIO || err == ENODEV) &&
        lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
        (void)snprintf(buf, size, "it is %s, not a regular file", kind_words(st.st_mode));
        return buf;
    }
    if (err == EAGAIN) {
        (void)snprintf(buf, size, "it changed while it was being opened");
        return buf;
    }
    return gcm__errno_text(err, buf, size);
}

int gcm__same_file(const char *a, const char *b)
{
    char dir_a[GCM__FILES_PATH_MAX];
    char dir_b[GCM__FILES_PATH_MAX];
    struct stat sa;
    struct stat sb;
    const char *name_a;
    const char *name_b;
    int has_a = stat(a, &sa) == 0;
    int has_b = stat(b, &sb) == 0;

    if (has_a && has_b)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    /* Two names of one directory entry either both exist or both do not. */
    if (has_a || has_b)
        return 0;
    /* Neither exists yet: they are one file to be when they are one name in
     * one directory, however each path spells the directory. */
    name_a = strrchr(a, '/');
    name_b = strrchr(b, '/');
    name_a = name_a != NULL ? name_a + 1 : a;
    name_b = name_b != NULL ? name_b + 1 : b;
    if (strcmp(name_a, name_b) != 0 || directory_of(a, dir_a, sizeof dir_a) != 0 ||
        directory_of(b, dir_b, sizeof dir_b) != 0 || stat(dir_a, &sa) != 0 || stat(dir_b, &sb) != 0)
        return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
