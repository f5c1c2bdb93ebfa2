/* src/cli/util.c: small helpers of the launcher's own output.
 *
 * The launcher's messages follow one house rule: a single lowercase line.
 * The C library's strerror() texts start with a capital letter, so they are
 * lowercased here, and the one error that needs explaining (a --log-file that
 * is a symlink, refused by O_NOFOLLOW) gets its own words.
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

int gcm__write_json_line(int fd, const struct cJSON *obj)
{
    gcm_sink sink = {gcm_sink_write_fd, &fd};

    return gcm__sink_json_line(obj, &sink);
}

const char *gcm__state_word(uint32_t state)
{
    switch (state) {
    case GCM_STATE_EXITED:
        return "exited";
    case GCM_STATE_KILLED:
        return "killed";
    case GCM_STATE_GONE:
        return "gone";
    default:
        return "running";
    }
}

const char *gcm__signal_name(int signum)
{
    /* The signals a process is commonly ended by; any other shows its number. */
    static const struct {
        int number;
        const char *name;
    } names[] = {
        {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGABRT, "SIGABRT"},
        {SIGKILL, "SIGKILL"}, {SIGSEGV, "SIGSEGV"}, {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"},
        {SIGTERM, "SIGTERM"}, {SIGUSR1, "SIGUSR1"}, {SIGUSR2, "SIGUSR2"}, {SIGBUS, "SIGBUS"},
    };

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (names[i].number == signum)
            return names[i].name;
    }
    return NULL;
}

void gcm__ending_text(uint32_t state, int32_t exit_status, char *buf, size_t size)
{
    const char *name;

    switch (state) {
    case GCM_STATE_EXITED:
        if (exit_status == GCM_EXIT_STATUS_UNKNOWN)
            /* A multiprocessing fork worker: it said it was done, then left
             * by os._exit with a status it could not know. */
            (void)snprintf(buf, size, "exited (os._exit)");
        else
            (void)snprintf(buf, size, "exited %d", (int)exit_status);
        break;
    case GCM_STATE_KILLED:
        name = gcm__signal_name((int)exit_status);
        if (name != NULL)
            (void)snprintf(buf, size, "killed by %s", name);
        else
            (void)snprintf(buf, size, "killed by signal %d", (int)exit_status);
        break;
    default:
        (void)snprintf(buf, size, "%s", gcm__state_word(state));
        break;
    }
}

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

const char *gcm__errno_text(int err, char *buf, size_t size)
{
    if (size == 0)
        return "";
    if (err == ELOOP)
        (void)snprintf(buf, size, "it is a symbolic link (not followed)");
    else
        (void)snprintf(buf, size, "%s", strerror(err));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}
