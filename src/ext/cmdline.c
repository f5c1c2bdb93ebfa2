/* src/ext/cmdline.c: the command line that ps and pgrep show for the process.
 *
 * The launcher execs `python -c <bootstrap> <target words>`, so /proc/PID/cmdline
 * would show the bootstrap's program between the interpreter and the target:
 * ps in a terminal cuts the line before the target, and `pgrep -f 'python
 * app.py'` never matches, so users could not find the pid for `live PID`.
 * The kernel shows the argument strings where exec left them, in the
 * process's own memory ([arg_start, arg_end) of /proc/self/stat), so the
 * two launcher words are removed there, in place: what remains is
 * `python <target words>`, the command python's sys.orig_argv names.  Python
 * itself keeps copies of its arguments and never reads this memory again.
 * The area keeps its length (only CAP_SYS_RESOURCE may move its end), so it
 * ends in NUL bytes, which ps and pgrep show as nothing.
 */
#include "ext.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads fields 48 and 49 of /proc/self/stat, arg_start and arg_end (Linux 3.5
 * and later).  Returns 0, or -1 when they cannot be read. */
static int
arg_area(unsigned long *start, unsigned long *end)
{
    char buf[1024];
    ssize_t got = 0;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    const char *p;
    int field = 3;

    if (fd < 0)
        return -1;
    while ((size_t)got < sizeof buf - 1) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - (size_t)got);
        if (n <= 0)
            break;
        got += n;
    }
    (void)close(fd);
    buf[got > 0 ? got : 0] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: the
     * fields after it start after its last ')'. */
    p = strrchr(buf, ')');
    if (p == NULL)
        return -1;
    p += 2;
    while (field < 48 && *p != '\0') {
        p = strchr(p, ' ');
        if (p == NULL)
            return -1;
        p++;
        field++;
    }
    return sscanf(p, "%lu %lu", start, end) == 2 && *start != 0 && *end > *start ? 0 : -1;
}

PyObject *
gcm__cmdline_drop_launcher_py(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    unsigned long start = 0, end = 0;
    char *area;
    size_t size, first, code_len, rest;

    (void)module;
    if (arg_area(&start, &end) != 0)
        Py_RETURN_FALSE;
    area = (char *)(uintptr_t)start;
    size = (size_t)(end - start);
    /* Only the launcher's own form is touched: argv[1] is "-c" and argv[2]
     * the bootstrap's program; anything else (a program that already
     * rewrote its title, a run not started by the launcher) stays. */
    if (area[size - 1] != '\0')
        Py_RETURN_FALSE;
    first = strlen(area) + 1;
    if (first + 3 > size || memcmp(area + first, "-c", 3) != 0)
        Py_RETURN_FALSE;
    code_len = strlen(area + first + 3) + 1;
    rest = first + 3 + code_len;
    if (rest > size || strstr(area + first + 3, "gc_monitor._bootstrap") == NULL)
        Py_RETURN_FALSE;
    memmove(area + first, area + rest, size - rest);
    memset(area + first + (size - rest), 0, rest - first);
    Py_RETURN_TRUE;
}
