/* src/capture/ending.c: how a capture's writer ended, in words.
 *
 * The recorder marks its block exited (with the status), killed (with the
 * signal) or leaves it running; a reader finds a running writer that is no
 * longer alive gone (reader.c).  Reports, the process table and `live` all
 * say it the same way through these functions.
 */
#include "gc_monitor/reader.h"

#include <signal.h>
#include <stdio.h>

#include "gc_monitor/block.h"

const char *gcm_capture_state_word(uint32_t state)
{
    switch (state) {
    case GCM_STATE_EXITED:
        return "exited";
    case GCM_STATE_KILLED:
        return "killed";
    case GCM_STATE_GONE:
        return "gone";
    case GCM_STATE_DETACHED:
        return "detached";
    default:
        return "running";
    }
}

/* The name of signal `signum` ("SIGTERM"), or NULL for one without a name here. */
static const char *signal_name(int signum)
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

void gcm_capture_ending_text(uint32_t state, int32_t exit_status, char *buf, size_t size)
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
        name = signal_name((int)exit_status);
        if (name != NULL)
            (void)snprintf(buf, size, "killed by %s", name);
        else
            (void)snprintf(buf, size, "killed by signal %d", (int)exit_status);
        break;
    default:
        (void)snprintf(buf, size, "%s", gcm_capture_state_word(state));
        break;
    }
}
