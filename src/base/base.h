/* src/base/base.h: the small helpers every part of pygcprofiler shares.
 *
 * Each helper here exists once: the system-call loops that retry EINTR and
 * short writes, the text helpers of messages and screens, the decimal
 * grammar, and the branch hints.  Nothing here is public API: the names carry
 * the gcm__ prefix and may change at any time.  None of it allocates, prints
 * or keeps state, so the extension, the launcher and the C tests can all use
 * it; none of it is called on the recording path except the branch hints.
 */
#ifndef GCM_BASE_BASE_H
#define GCM_BASE_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if defined(__GNUC__) || defined(__clang__)
#define GCM__LIKELY(x) __builtin_expect(!!(x), 1)
#define GCM__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GCM__NOINLINE __attribute__((noinline))
#define GCM__ALWAYS_INLINE inline __attribute__((always_inline))
#define GCM__COLD __attribute__((cold))
#define GCM__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GCM__LIKELY(x) (x)
#define GCM__UNLIKELY(x) (x)
#define GCM__NOINLINE
#define GCM__ALWAYS_INLINE inline
#define GCM__COLD
#define GCM__PRINTF(fmt, args)
#endif

/* ---- system calls (sys.c) ------------------------------------------------ */

/* Writes all `len` bytes of `data` to `fd`, retrying short writes and EINTR.
 * Returns 0, or GCM_EIO with errno saying why. */
int gcm__write_all(int fd, const void *data, size_t len);

/* open(2) retried while it fails with EINTR (a FIFO's open blocks, and a
 * signal handler may interrupt it).  Returns the descriptor or -1 with errno. */
int gcm__open(const char *path, int flags, mode_t mode);

/* Reads from `fd` until `size` bytes came or the end of the file, retrying
 * EINTR and short reads.  Returns the number of bytes read, or -1 with errno
 * set when a read failed. */
ssize_t gcm__read_full(int fd, void *buf, size_t size);

/* pread(2) of exactly `len` bytes at `offset`, retrying EINTR and short
 * reads.  Returns 0, or -1 when the file ends first or a read fails. */
int gcm__pread_full(int fd, void *buf, size_t len, off_t offset);

/* Reads up to `size` - 1 bytes of the small file at `path` (a /proc file)
 * into `buf` and NUL-terminates it.  Returns the number of bytes read, or -1
 * with errno set. */
ssize_t gcm__read_small_file(const char *path, char *buf, size_t size);

/* Closes `fd` (ignored when negative) without changing errno, for cleanup
 * paths whose caller reports the errno of the failure before. */
void gcm__close_keep_errno(int fd);

/* Unmaps `mem` unless it is MAP_FAILED (never mapped, or handed over to its
 * owner), without changing errno, for the same cleanup paths. */
void gcm__unmap_keep_errno(void *mem, size_t size);

/* ---- the files we write and read (files.c) ------------------------------- */

struct stat;

/* The longest path the policy handles, with its terminator. */
#define GCM__FILES_PATH_MAX 4096

/* What an output does with an existing regular file at its path.  Anything
 * else at the path (a symlink, a directory, a FIFO, a socket, a device) is
 * refused in every mode; a path that does not exist is created 0600. */
typedef enum gcm__output_mode {
    GCM__OUTPUT_NEW = 0,    /* refuse it (EEXIST): -o, a child's derived names */
    GCM__OUTPUT_APPEND = 1, /* append to it: --log-file */
    GCM__OUTPUT_REPLACE = 2 /* replace it atomically at commit: --flamegraph-file */
} gcm__output_mode;

/* One output being written.  `path` is the caller's string, which must
 * outlive the output. */
typedef struct gcm__output {
    int fd;      /* where to write; -1 once committed or discarded */
    int created; /* 1 when this output made the file at `path` */
    const char *path;
    char tmp[GCM__FILES_PATH_MAX + 32]; /* REPLACE: the temporary, "" otherwise */
} gcm__output;

/* Checks, creating nothing, that `path` can be opened as an output of
 * `mode`: it is a regular file the mode accepts (and we may write), or it
 * does not exist and its directory may be written.  Returns 0, GCM_EINVAL
 * for an empty path, or GCM_EIO with errno: ELOOP for a symlink, EISDIR for
 * a directory, EINVAL for a FIFO, socket or device, EEXIST for an existing
 * file in GCM__OUTPUT_NEW, or what lstat(2) and access(2) said. */
int gcm__check_output(const char *path, gcm__output_mode mode);

/* Opens `path` as an output of `mode` by the policy of gcm__check_output:
 * a new file is created exclusively, 0600, never through a symlink; an
 * existing regular file is appended to (APPEND) or replaced by a temporary
 * in the same directory that gcm__output_commit renames over it (REPLACE).
 * `flags` is O_WRONLY or O_RDWR, with O_CLOEXEC unless the descriptor must
 * cross an exec.  Returns 0 with out->fd set, or what gcm__check_output
 * returns, or GCM_EIO with errno set. */
int gcm__create_output(gcm__output *out, const char *path, gcm__output_mode mode, int flags);

/* Closes the output and, for REPLACE, renames the temporary over the path,
 * unless the path has become something other than a regular file meanwhile.
 * Returns 0, or GCM_EIO with errno set, having discarded the output. */
int gcm__output_commit(gcm__output *out);

/* Closes the output and removes what it created (the temporary, or the new
 * file), keeping errno: for a refusal that must leave nothing behind. */
void gcm__output_discard(gcm__output *out);

/* Returns 1 when paths `a` and `b` name the same file: one existing file
 * (symlinks followed), or, when neither exists yet, one name in one
 * directory; else 0.  Two outputs, or an output and an input, that are one
 * file would destroy each other. */
int gcm__same_file(const char *a, const char *b);

/* gcm__open_input: follow a symlink at the path (a script, as python does). */
#define GCM__INPUT_FOLLOW 0x1u

/* Opens `path` for reading only if it is a regular file: looked at with
 * lstat(2) (stat(2) with GCM__INPUT_FOLLOW) first, so a FIFO, a device, a
 * socket, a directory or a symlink is never opened, then opened
 * non-blocking and checked again on the descriptor.  Stores the descriptor
 * (close-on-exec) in *fd_out and, when `st_out` is not NULL, its fstat.
 * Returns 0, GCM_EINVAL, or GCM_EIO with errno: ELOOP for a symlink, EISDIR
 * for a directory, EINVAL for any other kind of file, EAGAIN when the path
 * was replaced between the look and the open, or open(2)'s. */
int gcm__open_input(const char *path, unsigned flags, int *fd_out, struct stat *st_out);

/* Describes error `err` about `path` as lowercase text in `buf` and returns
 * `buf`: a refusal by the policy names the kind of file that is there ("it
 * is a FIFO, not a regular file"), anything else is gcm__errno_text. */
const char *gcm__path_error_text(const char *path, int err, char *buf, size_t size);

/* ---- text (text.c) ------------------------------------------------------- */

/* Returns the length (1 to 4) of the well-formed UTF-8 sequence at `s`, with
 * `n` bytes left, or 0 when it is not one: the bytes Python's strict decoder
 * refuses (overlong forms, surrogates, anything above U+10FFFF). */
size_t gcm__utf8_length(const unsigned char *s, size_t n);

/* How gcm__copy_shown treats bytes above 0x7f. */
enum {
    GCM__SHOWN_UTF8 = 0, /* keep well-formed UTF-8 */
    GCM__SHOWN_ASCII = 1 /* show every byte above 0x7f as '?' (a grammar of ASCII words) */
};

/* Copies the `len` bytes at `src` into `dst` for an error message, as one
 * line of valid UTF-8: control bytes and malformed sequences (with
 * GCM__SHOWN_ASCII, every non-ASCII byte) become '?', so the message stays
 * one line and converts to a Python str; a value too long is cut between
 * characters and ends in "..." so the reader knows it was cut.  `size` is at
 * least 4. */
void gcm__copy_shown(char *dst, size_t size, const char *src, size_t len, int mode);

/* Copies `src` into `dst` (`size` bytes, at least 1), cut to fit without
 * decoration: for texts that are known to fit, such as our own messages. */
void gcm__copy_cut(char *dst, size_t size, const char *src);

/* Copies `src` into `dst` (`size` bytes, at least 1) with every control byte
 * (below 0x20, and 0x7f) replaced by '?', so a path or a command cannot move
 * a terminal's cursor or end a line early; cut to fit. */
void gcm__copy_printable(char *dst, size_t size, const char *src);

/* Writes byte `c` as a text report shows it into `out`: "\n", "\t", "\xNN"
 * for the other control bytes, the byte itself otherwise, so outside text
 * (a multi-line -c program, an object's repr) stays on its line.  Returns
 * the number of bytes written (1, 2 or 4). */
size_t gcm__escape_control(unsigned char c, char out[4]);

/* Copies a path (any bytes but NUL) into `dst` (`size` bytes, at least 1)
 * so that it can be shown without loss of meaning: for a text line (`json`
 * 0) a byte that is not part of well-formed UTF-8 becomes "\xNN" and control
 * bytes are escaped as gcm__escape_control does; for a JSON string (`json`
 * 1, control bytes left to the JSON writer) such a byte becomes U+FFFD, so
 * the string stays valid JSON.  Cut between characters to fit.  Returns the
 * length written (without the NUL). */
size_t gcm__copy_path_shown(char *dst, size_t size, const char *src, int json);

/* The longest quoted subject (a path, a word) an error line shows. */
#define GCM__SUBJECT_MAX 1024

/* Copies `text` into `dst` (GCM__SUBJECT_MAX bytes) as the quoted subject of
 * an error line: bytes that are not UTF-8 as \xNN and control bytes escaped
 * (gcm__copy_path_shown), then cut between characters and ended in "..."
 * when too long, so that the reason after it always fits.  Returns `dst`,
 * for use as a printf argument. */
const char *gcm__subject(char *dst, const char *text);

/* The edit distance between `a` (`alen` bytes) and the string `b`, capped:
 * anything above `limit` is returned as limit + 1, and so is any name longer
 * than 63 bytes (never close to an option name). */
size_t gcm__edit_distance(const char *a, size_t alen, const char *b, size_t limit);

/* Writes a duration in the unit that keeps it short: "850ns", "12.3us",
 * "1.23ms", "4.56s". */
void gcm__format_duration_short(uint64_t ns, char *buf, size_t size);

/* Writes `v` with thousands separators: 1234567 -> "1,234,567". */
void gcm__format_count(uint64_t v, char *buf, size_t size);

/* Describes errno value `err` as lowercase text in `buf` and returns `buf`;
 * ELOOP, which O_NOFOLLOW gives for a symlink, says so in its own words. */
const char *gcm__errno_text(int err, char *buf, size_t size);

/* ---- decimal numbers (numtext.c) ----------------------------------------- */

/* Accepts exactly digits[.digits][(e|E)[+-]digits] with at least one
 * mantissa digit: plain decimal, nothing strtod() would add to it (no spaces,
 * signs, hex, inf or nan).  Returns its length, or 0 when `s` is not one. */
size_t gcm__decimal_length(const char *s);

/* Writes the decimal point that snprintf() and strtod() use right now (the
 * program's LC_NUMERIC) into `out`, NUL-terminated; "." when it cannot tell. */
void gcm__locale_radix(char *out, size_t size);

/* strtod() of the `len` bytes at `text`, a decimal already checked against
 * our grammar, with '.' as the point whatever the locale.  Sets *whole to 1
 * when all `len` bytes were read, else 0; errno is strtod()'s (ERANGE). */
double gcm__strtod_c(const char *text, size_t len, int *whole);

#endif /* GCM_BASE_BASE_H */
