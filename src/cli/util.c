/* src/cli/util.c: small helpers of the launcher's own output.
 *
 * The launcher's messages follow one house rule: a single lowercase line.
 * The C library's strerror() texts start with a capital letter, so they are
 * lowercased here, and the errors that need explaining (an output path that
 * is a symlink, a FIFO or a device, refused by the one file policy of
 * src/base/files.c) get their own words.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/block.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "../report/report_internal.h"

void gcm__complain(const char *verb, const char *msg)
{
    char line[GCM__MSG_MAX + 96];
    int n = snprintf(line, sizeof line, "error: %s\ntry 'pygcprofiler%s%s --help'\n", msg,
                     verb != NULL ? " " : "", verb != NULL ? verb : "");

    /* One write, so that the two lines never interleave with another
     * process's output on a shared stderr. */
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Formatted in advance, so that the handler only has to write it. */
static char sigbus_line[GCM__MSG_MAX + 64];
static size_t sigbus_len;

void gcm__sigbus_message(const char *msg)
{
    int n = snprintf(sigbus_line, sizeof sigbus_line, "error: %s\n", msg);

    sigbus_len = n > 0 ? ((size_t)n < sizeof sigbus_line ? (size_t)n : sizeof sigbus_line - 1) : 0;
}

void gcm__on_sigbus(int sig)
{
    (void)sig;
    if (sigbus_len > 0)
        (void)!write(STDERR_FILENO, sigbus_line, sigbus_len);
    _exit(GCM__EXIT_USAGE);
}

int gcm__cli_check_output(const char *flag, const char *path, gcm__output_mode mode, char *msg,
                          size_t msg_size)
{
    char shown[GCM__SHOWN_MAX];
    char why[160];
    int err;

    if (path[0] == '\0' || gcm__check_output(path, mode) == 0)
        return 0;
    err = errno;
    (void)gcm__path_error_text(path, err, why, sizeof why);
    path = gcm__subject(shown, path);
    if (mode == GCM__OUTPUT_NEW)
        (void)snprintf(msg, msg_size, "cannot create the capture file '%s': %s%s", path, why,
                       err == EEXIST ? " (a capture is never overwritten)" : "");
    else if (mode == GCM__OUTPUT_APPEND)
        (void)snprintf(msg, msg_size, "cannot open '--%s' '%s': %s", flag, path, why);
    else
        (void)snprintf(msg, msg_size, "cannot write '--%s' '%s': %s", flag, path, why);
    return GCM_EINVAL;
}
