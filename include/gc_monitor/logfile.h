/* gc_monitor/logfile.h: naming and opening the --log-file, for one process or many.
 *
 * The process that `pygcprofiler run` started appends its report to the
 * --log-file itself.  A child that inherited the monitor through fork(2)
 * (gunicorn workers, multiprocessing fork workers, plain os.fork) must neither
 * truncate that file nor interleave with it, so it writes a file of its own
 * whose name is derived from the --log-file and the child's pid:
 *
 *     gc.log  ->  gc.<pid>.log  ->  gc.<pid>.1.log, gc.<pid>.2.log, ...
 *
 * The pid goes before the last extension of the file name (a name without one,
 * or a dot file such as ".gclog", gets it appended).  The numbered names are
 * only used when the plain derived name already exists, which happens when a
 * pid is reused by a later child.
 *
 * Every file is opened by the one output policy (src/base/files.c):
 * write-only, close-on-exec, never through a symbolic link, and created with
 * mode 0600 (before the umask): reports name the program's command line and
 * the types of its objects.  Only a regular file is ever written: a symlink,
 * a directory, a FIFO, a socket or a device at the path is refused, never
 * opened.  The --log-file itself is appended to; a derived name is created
 * exclusively, so two processes never share it.
 *
 * Ownership and threading: these functions keep no state; the caller owns the
 * returned descriptor.  They are safe to call from any thread, but not from an
 * async-signal context (they format with snprintf).
 */
#ifndef GC_MONITOR_LOGFILE_H
#define GC_MONITOR_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How many numbered names (gc.<pid>.1.log up to this) gcm_logfile_open_child tries. */
#define GCM_LOGFILE_MAX_SUFFIX 999

/* Writes the derived name of `path` for `pid` into `out` (gc.<pid>.log when
 * `n` is 0, else gc.<pid>.<n>.log).  Returns 0, GCM_EINVAL for an empty path,
 * a path ending in '/' or a negative pid or n, or GCM_ENOMEM if `out_size`
 * is too small. */
int gcm_logfile_derive(const char *path, int64_t pid, int n, char *out, size_t out_size);

/* Opens `path` for appending (created 0600, no symlink, close-on-exec) and
 * stores the descriptor in `*fd_out`.  Returns 0, or GCM_EIO with errno
 * telling why (ELOOP for a symbolic link, EISDIR for a directory, EINVAL for
 * a FIFO, a socket or a device), GCM_EINVAL for an empty path. */
int gcm_logfile_open(const char *path, int *fd_out);

/* Creates the first free derived name of `path` for `pid` exclusively (0600,
 * no symlink, close-on-exec) and stores its descriptor in `*fd_out` and, when
 * `name_out` is not NULL, its name in `name_out`; a name taken by anything
 * (a file, a symlink, a FIFO...) is skipped.  Returns 0, GCM_ERANGE when
 * every numbered name up to GCM_LOGFILE_MAX_SUFFIX is taken, GCM_EIO with errno
 * set for any other refusal, or what gcm_logfile_derive returns. */
int gcm_logfile_open_child(const char *path, int64_t pid, int *fd_out, char *name_out,
                           size_t name_size);

/* Makes a relative `path` (a NUL-terminated string in a buffer of `size`
 * bytes) absolute against the current directory, in place, so that a report
 * still lands where the user asked after the program changes directory.
 * Returns 0 (an empty or absolute path is left as it is), GCM_ENOMEM when the
 * result would not fit (path unchanged), or GCM_EIO when the current
 * directory cannot be read (errno says why; path unchanged). */
int gcm_logfile_absolute(char *path, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_LOGFILE_H */
