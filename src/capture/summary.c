/* src/capture/summary.c: the summary of a run, from a JSON report or a capture.
 *
 * `pygcprofiler compare` and any tool that checks one run against another
 * need the same figures from either kind of input: the last {"type":
 * "summary"} object of a --json report, or the summary a capture's exit
 * report would have had.  The input is untrusted and may be large; only the
 * lines that can hold a summary are parsed.
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

/* The largest input read whole. */
#define MAX_INPUT_BYTES ((size_t)4 << 30)

/* Reads all of `path` into a NUL-terminated heap buffer. */
static int read_file(const char *path, char **out, size_t *out_len, char *msg, size_t msg_size)
{
    /* The path as quoted: a very long one is cut there (ending in "..."),
     * so the reason after it always fits in the line. */
    char shown[1024];
    char why[128];
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    ssize_t got;
    size_t cap;
    int fd;
    int status = GCM_EIO;

    gcm__copy_shown(shown, sizeof shown, path, strlen(path), GCM__SHOWN_UTF8);
    fd = gcm__open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) {
        (void)snprintf(msg, msg_size, "cannot open '%s': %s", shown,
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        (void)snprintf(msg, msg_size, "'%s' is not a regular file", shown);
        goto done;
    }
    if ((uint64_t)st.st_size > MAX_INPUT_BYTES) {
        (void)snprintf(msg, msg_size, "'%s' is too large for a pygcprofiler report", shown);
        goto done;
    }
    cap = (size_t)st.st_size + 1;
    buf = malloc(cap);
    if (buf == NULL) {
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", shown);
        goto done;
    }
    /* The file may change size while we read: take what fits. */
    got = gcm__read_full(fd, buf, cap - 1);
    if (got < 0) {
        (void)snprintf(msg, msg_size, "cannot read '%s': %s", shown,
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    len = (size_t)got;
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    buf = NULL;
    status = 0;
done:
    free(buf);
    if (fd >= 0)
        (void)close(fd);
    return status;
}

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

/* Finds the last summary object of a --json report in `text`. */
static cJSON *find_summary(const char *text, size_t len)
{
    const char *end = text + len;
    cJSON *obj = NULL;

    /* From the last line backwards: the summary ends every report. */
    while (end > text && obj == NULL) {
        const char *line_end = end;
        const char *start = end;
        while (start > text && start[-1] != '\n')
            start--;
        obj = summary_on_line(start, line_end);
        end = start > text ? start - 1 : text;
    }
    if (obj == NULL) {
        /* A summary saved on its own, pretty-printed over several lines. */
        const cJSON *type;
        obj = cJSON_ParseWithLength(text, len);
        type = cJSON_GetObjectItemCaseSensitive(obj, "type");
        if (!cJSON_IsString(type) || strcmp(type->valuestring, "summary") != 0) {
            cJSON_Delete(obj);
            obj = NULL;
        }
    }
    return obj;
}

/* The summary of a capture file, as its exit report would have it. */
static cJSON *capture_summary(const char *path, char *msg, size_t msg_size)
{
    /* The path as quoted: a very long one is cut there (ending in "..."),
     * so the reason after it always fits in the line. */
    char shown[1024];
    gcm_capture cap;
    gcm_snapshot *snap = NULL;
    cJSON *obj = NULL;
    char why[128];
    int rc;

    gcm__copy_shown(shown, sizeof shown, path, strlen(path), GCM__SHOWN_UTF8);
    memset(&cap, 0, sizeof cap);
    rc = gcm_capture_open(&cap, path);
    if (rc != 0) {
        if (rc == GCM_EIO)
            (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", shown,
                           gcm__errno_text(errno, why, sizeof why));
        else
            (void)snprintf(msg, msg_size, "'%s' is not a readable capture: %s", shown,
                           gcm_strerror(rc));
        goto done;
    }
    snap = malloc(sizeof *snap);
    if (snap == NULL) {
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", shown);
        goto done;
    }
    /* A torn snapshot (a writer killed mid-record) still has every figure
     * but one collection's; the report shows it the same way. */
    (void)gcm_block_snapshot(cap.block, snap);
    (void)gcm_capture_resolve_state(snap, 1);
    obj = gcm_summary_json(snap);
    if (obj == NULL)
        (void)snprintf(msg, msg_size, "out of memory reading '%s'", shown);
done:
    free(snap);
    gcm_capture_close(&cap);
    return obj;
}

cJSON *gcm_capture_load_summary(const char *path, char *msg, size_t msg_size)
{
    /* The path as quoted: a very long one is cut there (ending in "..."),
     * so the reason after it always fits in the line. */
    char shown[1024];
    char *text = NULL;
    size_t len = 0;
    cJSON *obj = NULL;
    const cJSON *version;

    gcm__copy_shown(shown, sizeof shown, path, strlen(path), GCM__SHOWN_UTF8);
    if (read_file(path, &text, &len, msg, msg_size) != 0)
        goto done;
    if (len >= sizeof GCM_BLOCK_MAGIC - 1 &&
        memcmp(text, GCM_BLOCK_MAGIC, sizeof GCM_BLOCK_MAGIC - 1) == 0) {
        obj = capture_summary(path, msg, msg_size);
        goto done;
    }
    obj = find_summary(text, len);
    if (obj == NULL) {
        (void)snprintf(msg, msg_size,
                       "'%s' has no summary object: give a 'pygcprofiler run --json' report "
                       "or a capture file",
                       shown);
        goto done;
    }
    version = cJSON_GetObjectItemCaseSensitive(obj, "schema_version");
    if (!cJSON_IsNumber(version)) {
        (void)snprintf(msg, msg_size, "'%s' has a summary without a schema_version", shown);
        cJSON_Delete(obj);
        obj = NULL;
        goto done;
    }
    if (version->valuedouble != (double)GCM_JSON_SCHEMA_VERSION) {
        (void)snprintf(msg, msg_size,
                       "schema_version mismatch: '%s' has %g, this pygcprofiler reads %d", shown,
                       version->valuedouble, GCM_JSON_SCHEMA_VERSION);
        cJSON_Delete(obj);
        obj = NULL;
        goto done;
    }
done:
    free(text);
    return obj;
}
