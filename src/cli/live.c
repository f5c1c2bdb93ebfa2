/* src/cli/live.c: `pygcprofiler live FILE|PID... [--interval S] [--plain]`.
 *
 * Watches running programs' collections from their capture files (run -o
 * FILE).  The monitored program pays nothing for being watched: this
 * process maps the file read-only and copies figures out of it with the
 * core's own gcm_capture_snapshot and gcm_block_copy_events, the same
 * consistent-snapshot path `pygcprofiler report` uses, and derives every
 * figure with gcm_summarize and gcm_percentile_ns.  Nothing is sent by the
 * program and nothing here can make it wait.
 *
 * On a terminal it redraws one screen per interval with plain ANSI escapes
 * (no curses): it homes the cursor and overwrites the previous frame line by
 * line, so nothing flickers over ssh and the last frame stays on the screen
 * after it quits.  Keys are read in non-canonical mode (termios) and the
 * terminal's settings are put back on every way out: `q`, Ctrl-C, SIGTERM,
 * SIGHUP, a crash, the file shrinking under us (SIGBUS), Ctrl-Z (restored
 * while stopped, raw again on resume).  When stdout is not a terminal, or
 * with --plain, it prints one logfmt line per process per interval instead.
 *
 * It stops by itself, exit 0, when every writer it watches has exited or is
 * gone.  docs/live.md describes the screen, the line format and how a
 * PID's capture is found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"
#include "live.h"

/* ---- arguments ------------------------------------------------------------------------- */

/* Room for live's option table. */
#define LIVE_ROWS 8

/* Fills `rows` with live's options, stored into `a`; parsing and --help both
 * read it.  Returns the number of rows. */
static size_t live_options(live_args *a, gcm__opt rows[LIVE_ROWS])
{
    /* The limits are stated once, in live.h; the texts are written from them. */
    static char interval_help[64];
    static char interval_refusal[64];
    const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_NUMBER,
         .name = "interval",
         .metavar = "SECONDS",
         .store = &a->interval_s,
         .min = INTERVAL_MIN,
         .max = INTERVAL_MAX,
         .default_text = "1",
         .refusal = interval_refusal,
         .help = interval_help},
        {.kind = GCM__OPT_FLAG,
         .name = "plain",
         .store = &a->plain,
         .help = "print lines even on a terminal"},
        GCM__OPT_HELP_ROW,
    };
    _Static_assert(sizeof table / sizeof table[0] <= LIVE_ROWS, "LIVE_ROWS is too small");

    (void)snprintf(interval_help, sizeof interval_help, "time between refreshes, %g to %g",
                   INTERVAL_MIN, INTERVAL_MAX);
    (void)snprintf(interval_refusal, sizeof interval_refusal, "must be seconds from %g to %g",
                   INTERVAL_MIN, INTERVAL_MAX);
    memcpy(rows, table, sizeof table);
    return sizeof table / sizeof table[0];
}

size_t gcm__live_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static live_args unused;
    gcm__opt all[LIVE_ROWS];

    return gcm__opts_lend(rows, size, all, live_options(&unused, all));
}

static int print_live_help(live_args *a)
{
    static const char head[] =
        "usage: pygcprofiler live [options] FILE|PID...\n"
        "\n"
        "Watches the collections of running programs, from the capture FILE that\n"
        "'pygcprofiler run -o FILE' writes, or from the capture of process PID.  The\n"
        "programs pay nothing for it: the file is only read.  Captures of forked\n"
        "children next to FILE (FILE.<pid>, FILE.<pid>.<n>) are watched too, one row\n"
        "per process.  It stops when every watched program has exited or died.\n"
        "\n"
        "A PID without a capture that runs CPython 3.15+ is read from outside, with\n"
        "CPython's _remote_debugging run by its own interpreter (nothing runs in it):\n"
        "exact counts and totals from the watch's start, pauses polled every 1 ms,\n"
        "the ones missed between polls counted ('pygcprofiler watch' records it).\n"
        "\n"
        "On a terminal it refreshes one screen; q or Ctrl-C quits.  Otherwise (or with\n"
        "--plain) it prints one 'key=value ...' line per process and interval.\n";
    static const char tail[] =
        "\n"
        "An argument of digits only is a PID; write ./123 for a file named 123.\n"
        "\n"
        "Exit status: 0 when quit or when the programs ended, 1 when stdout fails,\n"
        "2 for bad input (a bad option, an unreadable capture, a process without one\n"
        "that cannot be read from outside either).\n";
    gcm__opt rows[LIVE_ROWS];
    size_t count = live_options(a, rows);

    return gcm__opts_help(1, head, rows, count, tail);
}

/* Takes one FILE or PID argument. */
static int add_target(void *ctx, const char *word, char *msg, size_t msg_size)
{
    live_args *a = (live_args *)ctx;

    if (a->target_count >= LIVE_MAX_PROCS) {
        (void)snprintf(msg, msg_size, "too many captures: at most %d", LIVE_MAX_PROCS);
        return GCM_EINVAL;
    }
    a->targets[a->target_count++] = word;
    return 0;
}

static int parse_args(live_args *a, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    gcm__opt rows[LIVE_ROWS];
    gcm__opt_spec spec;

    memset(a, 0, sizeof *a);
    spec = (gcm__opt_spec){
        .rows = rows, .count = live_options(a, rows), .ctx = a, .operand = add_target};
    if (gcm__opts_parse_verb(&spec, argc, argv, &a->help, msg, msg_size) != 0)
        goto done;
    if (a->help) {
        status = 0;
        goto done;
    }
    if (a->target_count == 0) {
        (void)snprintf(msg, msg_size,
                       "missing capture: give the FILE of 'run -o FILE' or the PID of its program");
        goto done;
    }
    status = 0;
done:
    return status;
}

/* ---- the loop -------------------------------------------------------------------------- */

static void refresh_all(live_state *st)
{
    gcm__live_scan_children(st);
    for (size_t i = 0; i < st->proc_count; i++)
        gcm__live_proc_refresh(st->procs[i]);
}

/* Waits as gcm__live_wait_for does; while a process is read from outside,
 * in slices of PUMP_NS, taking what its reader wrote after each, so the
 * reader never waits on a full pipe (and misses collections) however long
 * the interval is. */
static int wait_pumping(live_state *st, uint64_t deadline_ns, int keys, int *sig)
{
    int rc;

    if (!gcm__live_has_remote(st))
        return gcm__live_wait_for(deadline_ns, keys, sig);
    for (;;) {
        uint64_t now = gcm_clock_monotonic_ns();
        uint64_t until = now + PUMP_NS < deadline_ns ? now + PUMP_NS : deadline_ns;

        rc = gcm__live_wait_for(until, keys, sig);
        gcm__live_pump(st);
        if (rc != END_NONE || until >= deadline_ns)
            return rc;
    }
}

static int run_loop(live_state *st, int screen, int *sig)
{
    /* Keys are read only from a terminal we own: a background job that
     * changed the terminal's modes or read it would be stopped by
     * SIGTTOU or SIGTTIN. */
    int keys = screen && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
    uint64_t interval_ns = (uint64_t)llround(st->args.interval_s * 1e9);
    uint64_t next = gcm_clock_monotonic_ns();
    int why = END_NONE;
    char footer[128];

    if (screen)
        gcm__live_term_enter(keys);
    for (;;) {
        int rc;

        refresh_all(st);
        if (gcm__live_all_ended(st))
            why = END_WRITERS;
        gcm__live_end_text(st, why, footer, sizeof footer);
        rc = screen ? gcm__live_draw_screen(st, why != END_NONE ? footer : NULL)
                    : gcm__live_write_lines(st);
        if (rc != 0) {
            st->output_errno = errno;
            why = END_OUTPUT;
            break;
        }
        if (why != END_NONE)
            break;
        next += interval_ns;
        /* After a stop (Ctrl-Z) or a slow refresh, start a new cadence
         * instead of catching up with a burst of refreshes. */
        if (next < gcm_clock_monotonic_ns())
            next = gcm_clock_monotonic_ns() + interval_ns;
        do {
            rc = wait_pumping(st, next, keys, sig);
            if (rc == 1 && screen && gcm__live_draw_screen(st, NULL) != 0) {
                st->output_errno = errno;
                rc = END_OUTPUT;
            }
        } while (rc == 1);
        if (rc != END_NONE) {
            why = rc;
            break;
        }
    }
    /* The last frame stays on the screen; every line of it ended with a
     * newline, so the shell's prompt starts on a clean line below it. */
    if (screen)
        gcm__live_term_leave();
    return why;
}

int gcm__live_main(int argc, char **argv)
{
    static live_state st;
    char msg[GCM__MSG_MAX];
    int status = GCM__EXIT_USAGE;
    int screen;
    int sig = 0;
    int why;

    memset(&st, 0, sizeof st);
    if (parse_args(&st.args, argc, argv, msg, sizeof msg) != 0) {
        gcm__complain("live", msg);
        goto done;
    }
    if (st.args.help) {
        status = print_live_help(&st.args) == 0 ? 0 : 1;
        goto done;
    }
    gcm__sigbus_message("a capture shrank while it was being watched");
    if (gcm__live_install_signals() != 0) {
        gcm__complain("live", "cannot install the signal handlers");
        goto done;
    }
    for (size_t i = 0; i < st.args.target_count; i++) {
        if (gcm__live_add_target(&st, st.args.targets[i], msg, sizeof msg) != 0) {
            gcm__complain("live", msg);
            goto done;
        }
    }
    screen = !st.args.plain && isatty(STDOUT_FILENO);
    why = run_loop(&st, screen, &sig);
    status = why == END_OUTPUT ? 1 : 0;
    /* A reader that went away (`live ... | head`) is a normal end; any
     * other failure (a full disk) is worth a line. */
    if (why == END_OUTPUT && st.output_errno != EPIPE) {
        char why_text[128];
        int n = snprintf(msg, sizeof msg, "error: cannot write to stdout: %s\n",
                         gcm__errno_text(st.output_errno, why_text, sizeof why_text));

        if (n > 0)
            (void)gcm__write_all(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    }
    if (why == END_SIGNAL && sig != 0) {
        /* Killed politely (SIGTERM, SIGHUP): the terminal is restored, so
         * die of the signal as the caller expects. */
        (void)signal(sig, SIG_DFL);
        (void)raise(sig);
    }
done:
    for (size_t i = 0; i < st.proc_count; i++)
        gcm__live_proc_free(st.procs[i]);
    gcm__live_close_signals();
    return status;
}
