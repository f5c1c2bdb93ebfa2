/* src/capture/names.c: the child-capture naming rule, written once.
 *
 * A program run with `-o FILE` leaves FILE for the process the launcher
 * started and FILE.<pid> for every other process of its tree (a fork child,
 * or an interpreter followed with --follow-children).  When FILE.<pid> is
 * taken (a process that had the same pid before, or this very process
 * before an exec), the next free of FILE.<pid>.1, FILE.<pid>.2, ... is used.
 * The writer in the extension makes these names and `live` recognises them;
 * docs/capture-format.md states the rule for users.
 */
#include "gc_monitor/capture.h"

#include <stdio.h>
#include <string.h>

#include "gc_monitor/errors.h"

int gcm_capture_child_name(const char *base, int64_t pid, int n, char *out, size_t size)
{
    int len;

    if (base == NULL || out == NULL || size == 0 || pid < 0 || n < 0)
        return GCM_EINVAL;
    if (n == 0)
        len = snprintf(out, size, "%s.%lld", base, (long long)pid);
    else
        len = snprintf(out, size, "%s.%lld.%d", base, (long long)pid, n);
    return (len < 0 || (size_t)len >= size) ? GCM_ENOMEM : 0;
}

int gcm_capture_is_child_name(const char *name, const char *base)
{
    size_t len = strlen(base);
    const char *p;
    int groups = 0;

    if (strncmp(name, base, len) != 0 || name[len] != '.')
        return 0;
    p = name + len;
    while (*p == '.') {
        const char *digits = ++p;
        while (*p >= '0' && *p <= '9')
            p++;
        if (p == digits)
            return 0;
        groups++;
    }
    return *p == '\0' && groups <= 2;
}
