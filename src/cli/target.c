/* src/cli/target.c: checks of the target made before the interpreter starts.
 *
 * Python itself would notice a missing script or a directory without
 * __main__.py, but only after the monitor had started and printed its start
 * lines, and with python's exit status for it rather than ours.  Checking here
 * keeps the rule simple: bad input exits 2 and the target never runs.  The
 * checks only refuse what python would certainly refuse; anything unclear (an
 * unreadable zip directory, a zip64 archive) is left for python to decide.
 * The target is looked at with stat(2) first and only a regular file is ever
 * opened, so a FIFO keeps every byte its writer sends for python.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"

#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

/* Zip record layouts (APPNOTE.TXT 4.3.12 and 4.3.16); only the fields we read. */
#define ZIP_EOCD_SIG 0x06054b50u
#define ZIP_EOCD_SIZE 22u
#define ZIP_CDIR_SIG 0x02014b50u
#define ZIP_CDIR_SIZE 46u
#define ZIP_MAX_COMMENT 65535u
#define ZIP_MAX_CDIR (64u * 1024u * 1024u)

static uint32_t le16(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static int is_main_name(const unsigned char *name, size_t len)
{
    return (len == 11 && memcmp(name, "__main__.py", 11) == 0) ||
           (len == 12 && memcmp(name, "__main__.pyc", 12) == 0);
}

/* Walks the central directory that ends at `end`; returns 1 if it lists no
 * __main__ entry, 0 if it does or if the bytes do not look like a directory. */
static int cdir_lacks_main(const unsigned char *cdir, size_t size, uint32_t entries)
{
    size_t pos = 0;
    for (uint32_t n = 0; n < entries; n++) {
        size_t name_len, extra_len, comment_len;
        if (pos + ZIP_CDIR_SIZE > size || le32(cdir + pos) != ZIP_CDIR_SIG)
            return 0;
        name_len = le16(cdir + pos + 28);
        extra_len = le16(cdir + pos + 30);
        comment_len = le16(cdir + pos + 32);
        if (pos + ZIP_CDIR_SIZE + name_len > size)
            return 0;
        if (is_main_name(cdir + pos + ZIP_CDIR_SIZE, name_len))
            return 0;
        pos += ZIP_CDIR_SIZE + name_len + extra_len + comment_len;
    }
    return 1;
}

int gcm__zip_lacks_main(const char *path)
{
    int result = 0;
    int fd = -1;
    struct stat st;
    unsigned char tail[ZIP_EOCD_SIZE + ZIP_MAX_COMMENT];
    unsigned char *cdir = NULL;
    size_t tail_len;
    off_t tail_off;
    size_t eocd = 0;
    int found = 0;
    uint32_t entries, cdir_size;

    /* Only a regular file is opened (src/base/files.c, following a symlink
     * as python does): a FIFO must keep every byte for python, and a
     * device must not be read at all. */
    if (gcm__open_input(path, GCM__INPUT_FOLLOW, &fd, &st) != 0 ||
        st.st_size < (off_t)ZIP_EOCD_SIZE)
        goto done;
    tail_len = (size_t)st.st_size < sizeof tail ? (size_t)st.st_size : sizeof tail;
    tail_off = st.st_size - (off_t)tail_len;
    if (gcm__pread_full(fd, tail, tail_len, tail_off) != 0)
        goto done;
    /* The end record sits before an optional comment of up to 64 KiB, so
     * search backwards from the last place it could start. */
    for (size_t p = tail_len - ZIP_EOCD_SIZE + 1; p-- > 0;) {
        if (le32(tail + p) == ZIP_EOCD_SIG) {
            eocd = p;
            found = 1;
            break;
        }
    }
    if (!found)
        goto done;
    entries = le16(tail + eocd + 10);
    cdir_size = le32(tail + eocd + 12);
    /* Zip64 archives mark these fields as saturated; let python look. */
    if (entries == 0xffffu || cdir_size == 0xffffffffu || cdir_size > ZIP_MAX_CDIR)
        goto done;
    /* The directory ends where the end record starts; measuring back from
     * there also handles archives with a prefix (a shebang line). */
    if ((off_t)cdir_size > tail_off + (off_t)eocd)
        goto done;
    if (cdir_size == 0) {
        result = 1;
        goto done;
    }
    cdir = (unsigned char *)malloc(cdir_size);
    if (cdir == NULL)
        goto done;
    if (gcm__pread_full(fd, cdir, cdir_size, tail_off + (off_t)eocd - (off_t)cdir_size) != 0)
        goto done;
    result = cdir_lacks_main(cdir, cdir_size, entries);
done:
    free(cdir);
    if (fd >= 0)
        close(fd);
    return result;
}

/* Python can run a directory or a zip only through its __main__ module. */
static int check_directory(const char *path, char *msg, size_t msg_size)
{
    char main_path[GCM_PATH_MAX];
    struct stat st;
    const char *names[] = {"__main__.py", "__main__.pyc"};
    char shown[GCM__SHOWN_MAX];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int n = snprintf(main_path, sizeof main_path, "%s/%s", path, names[i]);
        if (n > 0 && (size_t)n < sizeof main_path && stat(main_path, &st) == 0 &&
            S_ISREG(st.st_mode))
            return 0;
    }
    MSG("no '__main__.py' in directory '%s'", gcm__subject(shown, path));
    return GCM_EINVAL;
}

/* Returns 1 if `name` could be a module for '-m': dotted identifiers (ASCII
 * letters, digits and '_', or any non-ASCII byte, as python allows). */
static int looks_like_module(const char *name)
{
    int start = 1;

    for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
        if (*p == '.') {
            if (start)
                return 0;
            start = 1;
        } else if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   *p >= 0x80 || (!start && *p >= '0' && *p <= '9')) {
            start = 0;
        } else {
            return 0;
        }
    }
    return !start;
}

static int check_script(const char *path, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    struct stat st;
    char why[128];
    char shown[GCM__SHOWN_MAX];

    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            /* "uvicorn" is far more often a module than a file in the cwd;
             * only a name that can be a module is worth suggesting. */
            (void)gcm__subject(shown, path);
            if (strstr(path, ".py") == NULL && looks_like_module(path))
                MSG("script file not found: '%s'; did you mean '-m %s'?", shown, shown);
            else
                MSG("script file not found: '%s'", shown);
        } else {
            (void)gcm__errno_text(errno, why, sizeof why);
            MSG("cannot open script file '%s': %s", gcm__subject(shown, path), why);
        }
        goto done;
    }
    if (S_ISDIR(st.st_mode)) {
        status = check_directory(path, msg, msg_size);
        goto done;
    }
    if (access(path, R_OK) != 0) {
        (void)gcm__errno_text(errno, why, sizeof why);
        MSG("cannot read script file '%s': %s", gcm__subject(shown, path), why);
        goto done;
    }
    /* A FIFO, a character device (/dev/stdin) or a socket is python's to
     * read: looking inside would consume what its writer sent. */
    if (S_ISREG(st.st_mode) && gcm__zip_lacks_main(path)) {
        MSG("no '__main__.py' in zip file '%s'", gcm__subject(shown, path));
        goto done;
    }
    status = 0;
done:
    return status;
}

int gcm__cli_check_target(const gcm__cli *cli, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;

    if (cli->kind == GCM__TARGET_SCRIPT && check_script(cli->target, msg, msg_size) != 0)
        goto done;
    status = 0;
done:
    return status;
}
