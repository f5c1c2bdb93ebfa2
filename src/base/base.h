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
#define GCM__COLD __attribute__((cold))
#define GCM__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GCM__LIKELY(x) (x)
#define GCM__UNLIKELY(x) (x)
#define GCM__NOINLINE
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
 * the string stays valid JSON.  Cut between characters to fit. */
void gcm__copy_path_shown(char *dst, size_t size, const char *src, int json);

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
