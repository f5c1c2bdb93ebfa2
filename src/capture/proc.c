/* src/capture/proc.c: is a capture's writer still alive?
 *
 * A capture records its writer's pid and the start time the kernel gave it
 * (/proc/<pid>/stat field 22), so a reader can tell the writer from a later
 * process that got the same pid, and a zombie from a live process.
 */
#include "gc_monitor/capture.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

/* /proc/<pid>/stat is one line of at most a few hundred bytes; the command
 * name in it is at most 64. */
#define STAT_LINE_MAX 1024

/* Reads the whole of /proc/<pid>/stat into `buf`.  Returns its length, or
 * -1 with errno set. */
static long read_stat_line(int64_t pid, char *buf, size_t size)
{
    char path[64];

    (void)snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    return (long)gcm__read_small_file(path, buf, size);
}

/* Parses the state letter (field 3) and the start time (field 22) out of a
 * stat line.  The command name (field 2) may hold spaces and parentheses,
 * so the fields are counted from the last ')'. */
static int parse_stat_line(const char *line, char *state, uint64_t *ticks)
{
    const char *p = strrchr(line, ')');
    uint64_t v = 0;
    int field;
    int status = GCM_ECORRUPT;

    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        goto done;
    p += 2;
    *state = *p;
    /* p is at field 3; move to field 22. */
    for (field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            goto done;
        p++;
    }
    if (*p < '0' || *p > '9')
        goto done;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9u) / 10u)
            goto done;
        v = v * 10u + (uint64_t)(*p - '0');
    }
    *ticks = v;
    status = 0;
done:
    return status;
}

/* Like gcm_capture_start_ticks, but also returns the state letter. */
static int stat_of(int64_t pid, char *state, uint64_t *ticks)
{
    char line[STAT_LINE_MAX];
    int status = GCM_EIO;

    /* A pid from a damaged file may be anything: only real pids are looked
     * up, so "/proc/-1/stat" or "/proc/0/stat" is never even formed. */
    if (pid <= 0 || pid > INT32_MAX) {
        errno = ESRCH;
        goto done;
    }
    if (read_stat_line(pid, line, sizeof line) < 0)
        goto done;
    status = parse_stat_line(line, state, ticks);
done:
    return status;
}

int gcm_capture_start_ticks(int64_t pid, uint64_t *ticks)
{
    char state = 0;

    if (ticks == NULL)
        return GCM_EINVAL;
    return stat_of(pid, &state, ticks);
}

int gcm_capture_writer_alive(int64_t pid, uint64_t start_ticks)
{
    char state = 0;
    uint64_t ticks = 0;

    if (stat_of(pid, &state, &ticks) != 0)
        return 0;
    /* A zombie has exited; only its parent has not yet collected it. */
    if (state == 'Z' || state == 'X' || state == 'x')
        return 0;
    if (start_ticks != 0 && ticks != start_ticks)
        return 0;
    return 1;
}
