/* src/capture/find.c: the capture file a running process writes.
 *
 * `pygcprofiler live PID` needs the -o FILE of a program started elsewhere.
 * The writer maps its capture shared and writable for its whole life, so the
 * file is among its mappings (/proc/<pid>/maps), even when its name was
 * relative to a working directory we do not know.
 */
#include "gc_monitor/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

/* Parses one /proc/<pid>/maps line.  A capture is mapped shared, readable
 * and writable, from offset 0, by its writer; everything else is skipped.
 * Returns 1 with the mapped file's path in `path`, 0 otherwise. */
static int maps_line_capture(const char *line, char *path, size_t size, int *deleted)
{
    static const char deleted_tag[] = " (deleted)";
    const char *p = line;
    char *end = NULL;
    unsigned long long offset;
    size_t len;
    int field;

    /* address perms offset dev inode path */
    p = strchr(p, ' ');
    if (p == NULL)
        return 0;
    p++;
    if (strlen(p) < 5 || p[0] != 'r' || p[1] != 'w' || p[3] != 's' || p[4] != ' ')
        return 0;
    p += 5;
    offset = strtoull(p, &end, 16);
    if (end == p || offset != 0)
        return 0;
    p = end;
    for (field = 0; field < 2; field++) {
        while (*p == ' ')
            p++;
        while (*p != ' ' && *p != '\0')
            p++;
    }
    while (*p == ' ')
        p++;
    if (*p != '/')
        return 0;
    len = strcspn(p, "\n");
    *deleted = 0;
    if (len >= sizeof deleted_tag - 1 &&
        memcmp(p + len - (sizeof deleted_tag - 1), deleted_tag, sizeof deleted_tag - 1) == 0) {
        *deleted = 1;
        len -= sizeof deleted_tag - 1;
    }
    if (len >= size)
        return 0;
    memcpy(path, p, len);
    path[len] = '\0';
    return 1;
}

/* Finds the capture file that process `pid` writes, from the files it has
 * mapped: the first shared writable mapping whose file holds a block whose
 * header names `pid` as its writer (a forked child still maps its parent's
 * capture, which names the parent).  Writes its path to `out`.  Returns 0,
 * or GCM_EINVAL with a message. */
int gcm_capture_find_pid(int64_t pid, char *out, size_t out_size, char *msg, size_t msg_size)
{
    char maps_path[64];
    char why[128];
    char candidate[GCM_PATH_MAX];
    char gone_path[GCM_PATH_MAX] = "";
    FILE *maps = NULL;
    char *line = NULL;
    size_t line_size = 0;
    uint64_t ticks = 0;
    int status = GCM_EINVAL;

    if (pid <= 0 || gcm_capture_start_ticks(pid, &ticks) != 0) {
        (void)snprintf(msg, msg_size, "no process with pid %lld", (long long)pid);
        goto done;
    }
    (void)snprintf(maps_path, sizeof maps_path, "/proc/%lld/maps", (long long)pid);
    maps = fopen(maps_path, "re");
    if (maps == NULL) {
        (void)snprintf(msg, msg_size, "cannot read the mappings of pid %lld: %s", (long long)pid,
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    while (getline(&line, &line_size, maps) > 0) {
        int deleted = 0;
        gcm_capture cap;

        if (!maps_line_capture(line, candidate, sizeof candidate, &deleted))
            continue;
        if (deleted) {
            (void)snprintf(gone_path, sizeof gone_path, "%s", candidate);
            continue;
        }
        memset(&cap, 0, sizeof cap);
        if (gcm_capture_open(&cap, candidate) != 0)
            continue;
        if (cap.block->header.pid == pid) {
            gcm_capture_close(&cap);
            if (strlen(candidate) >= out_size)
                continue;
            memcpy(out, candidate, strlen(candidate) + 1);
            status = 0;
            goto done;
        }
        gcm_capture_close(&cap);
    }
    /* Reading the maps of another user's process needs ptrace rights: an
     * empty read is the kernel saying no, not a process without mappings. */
    if (ferror(maps)) {
        (void)snprintf(msg, msg_size, "cannot read the mappings of pid %lld: %s", (long long)pid,
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    if (gone_path[0] != '\0')
        (void)snprintf(msg, msg_size,
                       "the capture of pid %lld was deleted ('%.200s'); start it with -o again",
                       (long long)pid, gone_path);
    else
        (void)snprintf(msg, msg_size, "no capture for pid %lld; start it with -o", (long long)pid);
done:
    free(line);
    if (maps != NULL)
        (void)fclose(maps);
    return status;
}
