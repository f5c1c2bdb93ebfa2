/* src/capture/summary.c: the summary of a run, from a JSON report or a capture.
 *
 * `pygcprofiler compare` and any tool that checks one run against another
 * need the same figures from either kind of input: the last {"type":
 * "summary"} object of a --json report, or the summary a capture's exit
 * report would have had.  The input is untrusted and may be large: a report
 * is read line by line and only the lines that can hold a summary are
 * parsed; a capture is read through its mapping, aggregates only.
 */
#include "gc_monitor/reader.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stats.h"

/* A --json report is read line by line, never whole: the longest line
 * kept (a summary object is a few KB; longer lines are skipped unread), and
 * the largest file parsed whole when its summary is pretty-printed over
 * several lines (a summary saved on its own). */
#define MAX_LINE_BYTES ((size_t)16 << 20)
#define MAX_WHOLE_BYTES ((size_t)16 << 20)
#define READ_CHUNK ((size_t)64 << 10)

/* Returns the parsed summary object on line [start, end) of a report, or NULL. */
static cJSON *summary_on_line(const char *start, const char *end)
{
    cJSON *obj;
    const cJSON *type;

    /* Parsing every event line of a large report would be slow; only lines
     * that mention "summary" can be one. */
    if (end - start < 9)
        return NULL;
    {
        size_t len = (size_t)(end - start);
        const char *p = start;
        int found = 0;
        while (!found && (p = memchr(p, '"', len - (size_t)(p - start))) != NULL) {
            found = (size_t)(end - p) >= 9 && memcmp(p, "\"summary\"", 9) == 0;
            p++;
            if (p >= end)
                break;
        }
        if (!found)
            return NULL;
    }
    obj = cJSON_ParseWithLength(start, (size_t)(end - start));
    type = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "summary") != 0) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* Returns the summary object that `text` holds whole (pretty-printed over
 * several lines), or NULL. */
static cJSON *whole_summary(const char *text, size_t len)
{
    const cJSON *type;
    cJSON *obj = cJSON_ParseWithLength(text, len);

    type = cJSON_GetObjectItemCaseSensitive(obj, "type");
    if (!cJSON_IsString(type) || strcmp(type->valuestring, "summary") != 0) {
        cJSON_Delete(obj);
        obj = NULL;
    }
    return obj;
}

/* Reads the --json report on `fd` (`size` bytes when opened) line by line
 * and returns its last summary object, or NULL with `msg` set when a read
 * failed (else `msg` stays "").  Memory stays within one line of at most
 * MAX_LINE_BYTES, whatever the size of the report. */
static cJSON *report_summary(int fd, const char *path, off_t size, char *msg, size_t msg_size)
{
    char shown[GCM__SUBJECT_MAX];
    char why[128];
    char *buf = NULL;
    size_t cap = READ_CHUNK;
    size_t len = 0;
    size_t lines = 0;
    int skipping = 0;
    int eof = 0;
    cJSON *last = NULL;

    buf = malloc(cap + 1);
    if (buf == NULL) {
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", gcm__subject(shown, path));
        goto done;
    }
    while (!eof) {
        ssize_t got;
        size_t from = 0;
        char *nl;

        if (len == cap) {
            /* One line fills the buffer: grow it up to MAX_LINE_BYTES, then
             * drop the line (no summary is that long) and skip to its end. */
            char *bigger = cap < MAX_LINE_BYTES ? realloc(buf, cap * 2 + 1) : NULL;
            if (bigger == NULL) {
                skipping = 1;
                len = 0;
            } else {
                buf = bigger;
                cap *= 2;
            }
        }
        got = gcm__read_full(fd, buf + len, cap - len < READ_CHUNK ? cap - len : READ_CHUNK);
        if (got < 0) {
            (void)snprintf(msg, msg_size, "cannot read '%s': %s", gcm__subject(shown, path),
                           gcm__errno_text(errno, why, sizeof why));
            cJSON_Delete(last);
            last = NULL;
            goto done;
        }
        eof = got == 0;
        len += (size_t)got;
        /* The last line needs no newline. */
        if (eof && len > 0)
            buf[len++] = '\n';
        while ((nl = memchr(buf + from, '\n', len - from)) != NULL) {
            size_t end = (size_t)(nl - buf);
            if (!skipping) {
                cJSON *obj = summary_on_line(buf + from, buf + end);
                if (obj != NULL) {
                    cJSON_Delete(last);
                    last = obj;
                }
            }
            skipping = 0;
            lines++;
            from = end + 1;
        }
        memmove(buf, buf + from, len - from);
        len -= from;
    }
    /* No summary line: a summary saved on its own, pretty-printed over
     * several lines, is small enough to parse whole. */
    if (last == NULL && lines > 1 && size > 0 && (uint64_t)size <= MAX_WHOLE_BYTES) {
        char *text = realloc(buf, (size_t)size + 1);
        ssize_t got;
        if (text == NULL) {
            (void)snprintf(msg, msg_size, "out of memory reading '%s'", gcm__subject(shown, path));
            goto done;
        }
        buf = text;
        got = lseek(fd, 0, SEEK_SET) == 0 ? gcm__read_full(fd, buf, (size_t)size) : -1;
        if (got < 0) {
            (void)snprintf(msg, msg_size, "cannot read '%s': %s", gcm__subject(shown, path),
                           gcm__errno_text(errno, why, sizeof why));
            goto done;
        }
        last = whole_summary(buf, (size_t)got);
    }
done:
    free(buf);
    return last;
}

/* The summary of a capture file, as its exit report would have it: from
 * the aggregates alone, through the mapping, so only the pages of the header
 * and the aggregates are ever read, however large a ring the file claims. */
static cJSON *capture_summary(const char *path, char *msg, size_t msg_size)
{
    char shown[GCM__SUBJECT_MAX];
    gcm_capture cap;
    gcm_snapshot *snap = NULL;
    cJSON *obj = NULL;
    int gone;
    int rc;

    memset(&cap, 0, sizeof cap);
    rc = gcm_capture_open(&cap, path);
    if (rc != 0) {
        gcm_capture_open_error(path, rc, errno, msg, msg_size);
        goto done;
    }
    snap = malloc(sizeof *snap);
    if (snap == NULL) {
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", gcm__subject(shown, path));
        goto done;
    }
    /* A torn snapshot (a writer killed mid-record) still has every figure
     * but one collection's; the report shows it the same way.  A dead
     * writer's counter is not waited on. */
    rc = gcm_capture_snapshot(&cap, snap, 1, &gone);
    if (rc != 0 && rc != GCM_EBUSY) {
        (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", gcm__subject(shown, path),
                       gcm_strerror(rc));
        goto done;
    }
    obj = gcm_summary_json(snap);
    if (obj == NULL)
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", gcm__subject(shown, path));
done:
    free(snap);
    gcm_capture_close(&cap);
    return obj;
}

cJSON *gcm_capture_load_summary(const char *path, char *msg, size_t msg_size)
{
    char shown[GCM__SUBJECT_MAX];
    char why[128];
    char magic[sizeof GCM_BLOCK_MAGIC - 1];
    struct stat st;
    cJSON *obj = NULL;
    const cJSON *version;
    ssize_t got;
    int fd = -1;

    msg[0] = '\0';
    /* The one input policy (src/base/files.c): a FIFO, a device, a socket,
     * a directory or a symlink is refused before anything opens or reads it. */
    if (gcm__open_input(path, 0, &fd, &st) != 0) {
        (void)snprintf(msg, msg_size, "cannot open '%s': %s", gcm__subject(shown, path),
                       gcm__path_error_text(path, errno, why, sizeof why));
        goto done;
    }
    got = gcm__read_full(fd, magic, sizeof magic);
    if (got < 0) {
        (void)snprintf(msg, msg_size, "cannot read '%s': %s", gcm__subject(shown, path),
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    if ((size_t)got == sizeof magic && memcmp(magic, GCM_BLOCK_MAGIC, sizeof magic) == 0) {
        /* A capture: its aggregates are all a summary needs, read through
         * the mapping, never the whole file. */
        obj = capture_summary(path, msg, msg_size);
        goto done;
    }
    if (lseek(fd, 0, SEEK_SET) != 0) {
        (void)snprintf(msg, msg_size, "cannot read '%s': %s", gcm__subject(shown, path),
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    obj = report_summary(fd, path, st.st_size, msg, msg_size);
    if (obj == NULL && msg[0] != '\0')
        goto done;
    if (obj == NULL) {
        (void)snprintf(msg, msg_size,
                       "'%s' has no summary object: give a 'pygcprofiler run --json' report "
                       "or a capture file",
                       gcm__subject(shown, path));
        goto done;
    }
    version = cJSON_GetObjectItemCaseSensitive(obj, "schema_version");
    if (!cJSON_IsNumber(version)) {
        (void)snprintf(msg, msg_size, "'%s' has a summary without a schema_version",
                       gcm__subject(shown, path));
        cJSON_Delete(obj);
        obj = NULL;
        goto done;
    }
    if (version->valuedouble != (double)GCM_JSON_SCHEMA_VERSION) {
        (void)snprintf(msg, msg_size,
                       "schema_version mismatch: '%s' has %g, this pygcprofiler reads %d",
                       gcm__subject(shown, path), version->valuedouble, GCM_JSON_SCHEMA_VERSION);
        cJSON_Delete(obj);
        obj = NULL;
        goto done;
    }
done:
    gcm__close_keep_errno(fd);
    return obj;
}
