/* src/cli/watch.c: `pygcprofiler watch -o FILE PID`.
 *
 * Records the collections of a running CPython 3.15+ process that was not
 * started under pygcprofiler into a capture file, read from outside
 * (remote.c: the process's own interpreter runs gc_monitor/_remote.py,
 * nothing runs in the process).  The capture is an ordinary one, created by
 * src/capture/writer.c, so `report`, `live` and `compare` read it; its
 * metadata says `source=remote`, and the collections whose pauses left the
 * interpreter's ring between two polls are counted in its aggregates
 * (`missed`).  It stops when the process ends, or on Ctrl-C, SIGTERM or
 * SIGHUP, and leaves the capture complete either way.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"
#include "remote.h"

#define WATCH_ROWS 4
/* The pipe is emptied at least this often (ms) while nothing arrives. */
#define WATCH_WAIT_MS 100

typedef struct watch_args {
    const char *output;
    const char *pid_word;
    int64_t pid;
} watch_args;

/* The signal that asks us to stop, 0 while none came. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

static size_t watch_options(watch_args *a, gcm__opt rows[WATCH_ROWS])
{
    const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_LIST,
         .name = "output",
         .short_name = 'o',
         .metavar = "FILE",
         .store = &a->output,
         .add = gcm__opts_take_output,
         .help = "the capture file to create (required; never replaced)"},
        GCM__OPT_HELP_ROW,
    };
    _Static_assert(sizeof table / sizeof table[0] <= WATCH_ROWS, "WATCH_ROWS is too small");

    memcpy(rows, table, sizeof table);
    return sizeof table / sizeof table[0];
}

size_t gcm__watch_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static watch_args unused;
    gcm__opt all[WATCH_ROWS];

    return gcm__opts_lend(rows, size, all, watch_options(&unused, all));
}

static int print_watch_help(watch_args *a)
{
    static const char head[] =
        "usage: pygcprofiler watch -o FILE PID\n"
        "\n"
        "Records the collections of a running CPython 3.15+ process that was not\n"
        "started under pygcprofiler into the capture FILE, read from outside with\n"
        "CPython's _remote_debugging: nothing runs in the process.  Counts and pause\n"
        "totals are exact; single pauses are polled every millisecond from the\n"
        "interpreter's ring, and the ones that left it between two polls are counted\n"
        "as missed.  It stops when the process ends, or on Ctrl-C; then\n"
        "'pygcprofiler report FILE' reads the capture.\n";
    static const char tail[] =
        "\n"
        "It needs the right to read the process's memory (its user, or root) and\n"
        "runs the reader with the process's own interpreter.\n"
        "\n"
        "Exit status: 0 when the process ended or on Ctrl-C, 1 when the reader\n"
        "failed, 2 for bad input (a bad option, a process that cannot be read).\n";
    gcm__opt rows[WATCH_ROWS];
    size_t count = watch_options(a, rows);

    return gcm__opts_help(1, head, rows, count, tail);
}

static int take_pid(void *ctx, const char *word, char *msg, size_t msg_size)
{
    watch_args *a = (watch_args *)ctx;

    return gcm__opts_take_pid(&a->pid_word, &a->pid, word, msg, msg_size);
}

static int parse_args(watch_args *a, int argc, char **argv, int *help, char *msg, size_t msg_size)
{
    gcm__opt rows[WATCH_ROWS];
    const gcm__opt_spec spec = {
        .rows = rows, .count = watch_options(a, rows), .ctx = a, .operand = take_pid};
    int status = GCM_EINVAL;

    if (gcm__opts_parse_verb(&spec, argc, argv, help, msg, msg_size) != 0)
        goto done;
    if (*help) {
        status = 0;
        goto done;
    }
    if (a->pid_word == NULL) {
        (void)snprintf(msg, msg_size, "missing process: give the PID to watch");
        goto done;
    }
    if (a->output == NULL) {
        (void)snprintf(msg, msg_size, "missing capture file: give -o FILE");
        goto done;
    }
    if (gcm__cli_check_output("output", a->output, GCM__OUTPUT_NEW, msg, msg_size) != 0)
        goto done;
    status = 0;
done:
    return status;
}

/* Catches the signals that end a watch, without SA_RESTART so that a wait
 * returns at once. */
static int install_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    if (sigemptyset(&sa.sa_mask) != 0)
        return -1;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    }
    return 0;
}

/* The last line: what was recorded. */
static void say_done(const gcm__remote *r, const gcm_capture *cap, const char *path)
{
    gcm_snapshot *snap = malloc(sizeof *snap);
    char line[GCM__MSG_MAX + 160];
    char shown[GCM__SHOWN_MAX];
    uint64_t count = 0;
    int gone = 0;
    int n;

    if (snap != NULL && gcm_capture_snapshot(cap, snap, 0, &gone) == 0)
        count = snap->all.count;
    n = snprintf(line, sizeof line,
                 "pygcprofiler watch: pid %lld %s: %llu collections recorded into '%s', %llu "
                 "of their pauses missed\n",
                 (long long)r->pid, r->ended ? "ended" : "still runs", (unsigned long long)count,
                 gcm__subject(shown, path), (unsigned long long)(snap != NULL ? snap->missed : 0));
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    free(snap);
}

int gcm__watch_main(int argc, char **argv)
{
    static gcm__remote remote;
    watch_args args;
    gcm_capture cap;
    char msg[GCM__MSG_MAX];
    char shown[GCM__SHOWN_MAX];
    int help = 0;
    int status = GCM__EXIT_USAGE;
    int started = 0;
    int rc;

    memset(&args, 0, sizeof args);
    memset(&cap, 0, sizeof cap);
    if (parse_args(&args, argc, argv, &help, msg, sizeof msg) != 0) {
        gcm__complain("watch", msg);
        goto done;
    }
    if (help) {
        status = print_watch_help(&args) == 0 ? 0 : 1;
        goto done;
    }
    if (install_signals() != 0) {
        gcm__complain("watch", "cannot install the signal handlers");
        goto done;
    }
    if (gcm__remote_start(&remote, args.pid, msg, sizeof msg) != 0) {
        gcm__complain("watch", msg);
        goto done;
    }
    started = 1;
    rc = gcm__remote_block(&remote, args.output, &cap);
    if (rc != 0) {
        char why[160];
        (void)snprintf(msg, sizeof msg, "cannot create '%s': %s", gcm__subject(shown, args.output),
                       rc == GCM_EIO ? gcm__path_error_text(args.output, errno, why, sizeof why)
                                     : gcm_strerror(rc));
        gcm__complain("watch", msg);
        goto done;
    }
    {
        /* The baseline is taken: what happens from now on is recorded. */
        char line[GCM__MSG_MAX + 160];
        int n = snprintf(line, sizeof line,
                         "pygcprofiler watch: recording pid %lld (python %s) into '%s'; Ctrl-C "
                         "stops\n",
                         (long long)remote.pid, remote.version, gcm__subject(shown, args.output));
        if (n > 0)
            (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    while (stop_signal == 0) {
        if (gcm__remote_pump(&remote, cap.block, WATCH_WAIT_MS) != 0)
            break;
        /* The process ended: take what the reader wrote before it saw so. */
        if (!gcm_capture_writer_alive(remote.pid, remote.start_ticks)) {
            (void)gcm__remote_pump(&remote, cap.block, 2000);
            remote.ended = 1;
            break;
        }
    }
    /* Seen from outside, no exit status is known: the capture says gone,
     * and its metadata that it was read from outside (report says so). */
    gcm_block_set_state(cap.block, GCM_STATE_GONE, 0, gcm_clock_realtime_ns());
    say_done(&remote, &cap, args.output);
    if (remote.failed && stop_signal == 0) {
        (void)snprintf(msg, sizeof msg, "the reader of pid %lld stopped: %s", (long long)remote.pid,
                       remote.why);
        gcm__complain("watch", msg);
        status = 1;
        goto done;
    }
    status = 0;
done:
    if (started)
        gcm__remote_stop(&remote);
    gcm_capture_close(&cap);
    if (status == 0 && (stop_signal == SIGTERM || stop_signal == SIGHUP)) {
        /* Asked to stop politely: the capture is complete; die of the
         * signal as the caller expects. */
        (void)signal(stop_signal, SIG_DFL);
        (void)raise(stop_signal);
    }
    return status;
}
