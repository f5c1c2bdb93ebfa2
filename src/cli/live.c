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

#include "cli.h"
#include "gc_monitor/reader.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/stats.h"

/* At most this many processes are watched at once (arguments plus the
 * FILE.<pid> captures of their children). */
#define LIVE_MAX_PROCS 64
/* Records copied per process and refresh: enough for the last few shown
 * and to find a recent alert (48 KB, copied in tens of microseconds). */
#define LIVE_EVENTS 1024
/* Records listed on the screen. */
#define LIVE_SHOWN_EVENTS 5
/* The screen is built as lines of at most this many bytes before being cut
 * to the terminal's width. */
#define LINE_MAX_BYTES 256
#define FRAME_MAX_LINES 96
/* Refresh interval limits, in seconds: faster than 0.05 s is a busy loop
 * for no visible gain, slower than an hour is a typo. */
#define INTERVAL_MIN 0.05
#define INTERVAL_MAX 3600.0
/* A capture still being created is waited for this many times this long
 * (2 s in all) before it is refused. */
#define CREATE_WAIT_TRIES 40
#define CREATE_WAIT_NS 50000000L

/* How a frame line is drawn. */
enum { ATTR_PLAIN, ATTR_BOLD, ATTR_TITLE, ATTR_ALERT };

/* Why the main loop ended. */
enum { END_NONE, END_WRITERS, END_QUIT, END_SIGNAL, END_OUTPUT };

typedef struct live_args {
    double interval_s;
    int plain;
    int help;
    const char *targets[LIVE_MAX_PROCS];
    size_t target_count;
} live_args;

typedef struct live_proc {
    char path[GCM_PATH_MAX];
    dev_t dev;
    ino_t ino;
    gcm_capture cap;
    gcm_snapshot *snap;      /* the latest snapshot (heap: about 60 KB) */
    gcm_summary now;         /* figures of `snap` */
    gcm_summary prev;        /* figures of the previous refresh, when have_prev */
    uint64_t taken_ns;       /* CLOCK_MONOTONIC of the latest snapshot ... */
    uint64_t prev_taken_ns;  /* ... and of the previous one */
    int have_now;
    int have_prev;
    int torn;                /* the latest snapshot was taken with the counter odd */
    char command[LINE_MAX_BYTES];
    char version[32];
    gcm_event events[LIVE_EVENTS];
    size_t event_count;
    uint64_t rss_bytes;      /* resident set of a running writer, 0 if unknown */
} live_proc;

typedef struct live_state {
    live_args args;
    live_proc *procs[LIVE_MAX_PROCS];
    size_t proc_count;
    size_t dropped_procs;    /* children not watched because the table was full */
    char bases[LIVE_MAX_PROCS][GCM_PATH_MAX]; /* paths whose FILE.<pid> siblings are watched */
    size_t base_count;
    int output_errno;        /* errno of the write to stdout that failed */
} live_state;

typedef struct frame_line {
    char text[LINE_MAX_BYTES];
    int attr;
} frame_line;

typedef struct frame {
    frame_line lines[FRAME_MAX_LINES];
    size_t count;
} frame;

/* ---- signals and the terminal ---------------------------------------------------------- */

/* The signal handlers only write the signal's number into this pipe; the
 * main loop polls it, so no signal can slip in between a check and a wait. */
static int wake_pipe[2] = {-1, -1};
/* The terminal's settings before raw mode, and whether they must be put
 * back.  Read by the handlers, so only set before they are installed or
 * with them unable to run in between (a single store of an int). */
static struct termios saved_tio;
static struct termios raw_tio;
static volatile sig_atomic_t tio_active;
static volatile sig_atomic_t screen_active;

static const char show_cursor[] = "\033[?25h\033[0m";
static const char hide_cursor[] = "\033[?25l";

/* Puts the terminal back as it was.  Async-signal-safe: handlers call it. */
static void term_restore(void)
{
    if (tio_active)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    if (screen_active)
        (void)!write(STDOUT_FILENO, show_cursor, sizeof show_cursor - 1);
}

static void on_wake_signal(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;

    if (wake_pipe[1] >= 0)
        (void)!write(wake_pipe[1], &byte, 1);
    errno = saved;
}

/* Ctrl-Z: give the shell its terminal back while we are stopped, take it
 * again on resume, and ask the main loop to redraw. */
static void on_tstp(int sig)
{
    int saved = errno;

    (void)sig;
    term_restore();
    (void)raise(SIGSTOP);
    if (tio_active)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio);
    if (screen_active)
        (void)!write(STDOUT_FILENO, hide_cursor, sizeof hide_cursor - 1);
    on_wake_signal(SIGCONT);
    errno = saved;
}

static void on_sigbus(int sig)
{
    term_restore();
    gcm__on_sigbus(sig);
}

/* A crash must not leave the user's terminal in raw mode either. */
static void on_fatal(int sig)
{
    term_restore();
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

static int install_handler(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    (void)sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() must return at once to let the loop react. */
    return sigaction(sig, &sa, NULL) == 0 ? 0 : GCM_EIO;
}

static int make_wake_pipe(void)
{
    int status = GCM_EIO;

    if (pipe(wake_pipe) != 0)
        goto done;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(wake_pipe[i], F_GETFL);
        if (flags < 0 || fcntl(wake_pipe[i], F_SETFL, flags | O_NONBLOCK) != 0 ||
            fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}

static int install_signals(void)
{
    static const int wake[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
    static const int fatal[] = {SIGSEGV, SIGABRT, SIGFPE, SIGILL};
    int status = make_wake_pipe();

    for (size_t i = 0; status == 0 && i < sizeof wake / sizeof wake[0]; i++)
        status = install_handler(wake[i], on_wake_signal);
    for (size_t i = 0; status == 0 && i < sizeof fatal / sizeof fatal[0]; i++)
        status = install_handler(fatal[i], on_fatal);
    if (status == 0)
        status = install_handler(SIGBUS, on_sigbus);
    if (status == 0)
        status = install_handler(SIGTSTP, on_tstp);
    /* A closed stdout (`live F | head`) must end us with a status, not kill us. */
    if (status == 0 && signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        status = GCM_EIO;
    return status;
}

/* Enters non-canonical, no-echo mode on a terminal stdin, keeping ISIG so
 * that Ctrl-C still arrives as SIGINT, and hides the cursor. */
static void term_enter(int keys)
{
    if (keys && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        raw_tio = saved_tio;
        raw_tio.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw_tio.c_cc[VMIN] = 0;
        raw_tio.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio) == 0)
            tio_active = 1;
    }
    screen_active = 1;
    (void)gcm__write_all(STDOUT_FILENO, hide_cursor, sizeof hide_cursor - 1);
    (void)gcm__write_all(STDOUT_FILENO, "\033[H\033[2J", 7);
}

static void term_leave(void)
{
    term_restore();
    tio_active = 0;
    screen_active = 0;
}

/* ---- formatting ------------------------------------------------------------------------ */

/* Writes an elapsed time as H:MM:SS (or Dd HH:MM:SS past a day). */
static void fmt_clock(uint64_t ns, char *buf, size_t size)
{
    unsigned long long s = (unsigned long long)(ns / 1000000000u);

    if (s >= 86400u)
        (void)snprintf(buf, size, "%llud %02llu:%02llu:%02llu", s / 86400u, s / 3600u % 24u,
                       s / 60u % 60u, s % 60u);
    else
        (void)snprintf(buf, size, "%llu:%02llu:%02llu", s / 3600u, s / 60u % 60u, s % 60u);
}

/* Appends printf output to a frame line (cut at its end). */
static void line_add(frame *f, int attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void line_add(frame *f, int attr, const char *fmt, ...)
{
    va_list ap;
    frame_line *line;

    if (f->count >= FRAME_MAX_LINES)
        return;
    line = &f->lines[f->count++];
    line->attr = attr;
    va_start(ap, fmt);
    (void)vsnprintf(line->text, sizeof line->text, fmt, ap);
    va_end(ap);
}

/* ---- arguments ------------------------------------------------------------------------- */

/* The options of `live`, in one table: parsing and --help both read it. */
typedef enum live_opt { OPT_INTERVAL, OPT_PLAIN, OPT_HELP } live_opt;

static const struct {
    live_opt id;
    const char *names;   /* as --help shows them */
    const char *flag;    /* the long name, without "--" */
    const char *metavar; /* NULL for an option without a value */
    const char *help;
} live_options[] = {
    {OPT_INTERVAL, "--interval SECONDS", "interval", "SECONDS",
     "time between refreshes (default 1, 0.05 to 3600)"},
    {OPT_PLAIN, "--plain", "plain", NULL, "print lines even on a terminal"},
    {OPT_HELP, "-h, --help", "help", NULL, "show this help"},
};

static int print_live_help(void)
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
        "On a terminal it refreshes one screen; q or Ctrl-C quits.  Otherwise (or with\n"
        "--plain) it prints one 'key=value ...' line per process and interval.\n"
        "\n"
        "options:\n";
    static const char tail[] =
        "\n"
        "An argument of digits only is a PID; write ./123 for a file named 123.\n"
        "\n"
        "Exit status: 0 when quit or when the programs ended, 1 when stdout fails,\n"
        "2 for bad input (a bad option, an unreadable capture, a process without one).\n";
    int status = gcm__write_all(1, head, sizeof head - 1);

    for (size_t i = 0; status == 0 && i < sizeof live_options / sizeof live_options[0]; i++) {
        char line[256];
        int n = snprintf(line, sizeof line, "  %-20s  %s\n", live_options[i].names,
                         live_options[i].help);
        status = n > 0 && (size_t)n < sizeof line ? gcm__write_all(1, line, (size_t)n) : GCM_EIO;
    }
    if (status == 0)
        status = gcm__write_all(1, tail, sizeof tail - 1);
    return status;
}

static int parse_interval(const char *value, double *out, char *msg, size_t msg_size)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(value, &end);
    if (end == value || *end != '\0' || errno != 0 || !isfinite(v) || v < INTERVAL_MIN ||
        v > INTERVAL_MAX) {
        (void)snprintf(msg, msg_size,
                       "invalid value '%.100s' for '--interval': must be seconds from %g to %g",
                       value, INTERVAL_MIN, INTERVAL_MAX);
        return GCM_EINVAL;
    }
    *out = v;
    return 0;
}

/* Reads the option at argv[*i] ("--name", "--name=value", "--name value"
 * or "-h") into `a`. */
static int parse_option(live_args *a, int argc, char **argv, int *i, char *msg, size_t msg_size)
{
    const char *word = argv[*i];
    const char *name = word[1] == '-' ? word + 2 : word + 1;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const char *value = eq != NULL ? eq + 1 : NULL;
    int status = GCM_EINVAL;
    size_t k;

    for (k = 0; k < sizeof live_options / sizeof live_options[0]; k++) {
        const char *flag = live_options[k].flag;
        if (word[1] == '-' ? (strlen(flag) == len && strncmp(flag, name, len) == 0)
                           : (live_options[k].id == OPT_HELP && strcmp(word, "-h") == 0))
            break;
    }
    if (k == sizeof live_options / sizeof live_options[0]) {
        (void)snprintf(msg, msg_size, "unknown option '%.100s'", word);
        goto done;
    }
    if (live_options[k].metavar == NULL && value != NULL) {
        (void)snprintf(msg, msg_size, "option '--%s' takes no value, got '%.100s'",
                       live_options[k].flag, value);
        goto done;
    }
    if (live_options[k].metavar != NULL && value == NULL) {
        if (*i + 1 >= argc) {
            (void)snprintf(msg, msg_size, "option '--%s' needs a value (%s)",
                           live_options[k].flag, live_options[k].metavar);
            goto done;
        }
        value = argv[++*i];
    }
    switch (live_options[k].id) {
    case OPT_INTERVAL:
        if (parse_interval(value, &a->interval_s, msg, msg_size) != 0)
            goto done;
        break;
    case OPT_PLAIN:
        a->plain = 1;
        break;
    case OPT_HELP:
        a->help = 1;
        break;
    }
    status = 0;
done:
    return status;
}

static int parse_args(live_args *a, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    int only_targets = 0;

    memset(a, 0, sizeof *a);
    a->interval_s = 1.0;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (!only_targets && strcmp(word, "--") == 0) {
            only_targets = 1;
            continue;
        }
        if (!only_targets && word[0] == '-' && word[1] != '\0') {
            if (parse_option(a, argc, argv, &i, msg, msg_size) != 0)
                goto done;
            /* --help wins over everything after it, even a bad word. */
            if (a->help) {
                status = 0;
                goto done;
            }
            continue;
        }
        if (a->target_count >= LIVE_MAX_PROCS) {
            (void)snprintf(msg, msg_size, "too many captures: at most %d", LIVE_MAX_PROCS);
            goto done;
        }
        a->targets[a->target_count++] = word;
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

/* Returns 1 when `word` is a process id: digits only, no more than fit a pid. */
static int is_pid_word(const char *word, int64_t *pid)
{
    int64_t v = 0;

    if (word[0] == '\0')
        return 0;
    for (const char *p = word; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (INT32_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    *pid = v;
    return 1;
}

/* ---- the watched processes ------------------------------------------------------------- */

static void proc_free(live_proc *p)
{
    if (p == NULL)
        return;
    gcm_capture_close(&p->cap);
    free(p->snap);
    free(p);
}

/* Returns 1 when the file at `path` is already watched. */
static int already_watched(const live_state *st, dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        if (st->procs[i]->dev == dev && st->procs[i]->ino == ino)
            return 1;
    }
    return 0;
}

/* Opens the capture at `path` and adds it to the watched processes.
 * Returns 0, 1 when it was already watched, or a gcm_capture_open code
 * (errno set), or GCM_ENOMEM (no memory, or LIVE_MAX_PROCS are watched). */
static int proc_add(live_state *st, const char *path)
{
    live_proc *p = NULL;
    struct stat sb;
    char meta[GCM_META_SIZE + 1];
    int status = GCM_ENOMEM;

    if (st->proc_count >= LIVE_MAX_PROCS)
        goto done;
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto done;
    p->snap = malloc(sizeof *p->snap);
    if (p->snap == NULL)
        goto done;
    if (strlen(path) >= sizeof p->path) {
        errno = ENAMETOOLONG;
        status = GCM_EIO;
        goto done;
    }
    memcpy(p->path, path, strlen(path) + 1);
    status = gcm_capture_open(&p->cap, path);
    if (status != 0)
        goto done;
    /* The same file named twice (a PID and its FILE) is watched once. */
    if (stat(path, &sb) == 0) {
        p->dev = sb.st_dev;
        p->ino = sb.st_ino;
        if (already_watched(st, sb.st_dev, sb.st_ino)) {
            status = 1;
            goto done;
        }
    }
    gcm_capture_meta_copy(p->cap.block, meta, sizeof meta);
    (void)gcm_capture_meta_get(meta, "command", p->command, sizeof p->command);
    (void)gcm_capture_meta_get(meta, "python_version", p->version, sizeof p->version);
    st->procs[st->proc_count++] = p;
    p = NULL;
    status = 0;
done:
    proc_free(p);
    return status;
}

/* Adds the captures of children that appeared next to each watched FILE
 * since the last look.  A file that does not open yet (a child still
 * formatting it) is simply tried again at the next refresh. */
static void scan_children(live_state *st)
{
    st->dropped_procs = 0;
    for (size_t b = 0; b < st->base_count; b++) {
        const char *base_path = st->bases[b];
        const char *slash = strrchr(base_path, '/');
        char dir[GCM_PATH_MAX];
        const char *base = slash != NULL ? slash + 1 : base_path;
        DIR *d;
        struct dirent *ent;

        if (slash == NULL) {
            (void)snprintf(dir, sizeof dir, ".");
        } else if (slash == base_path) {
            (void)snprintf(dir, sizeof dir, "/");
        } else {
            size_t n = (size_t)(slash - base_path);
            memcpy(dir, base_path, n);
            dir[n] = '\0';
        }
        d = opendir(dir);
        if (d == NULL)
            continue;
        while ((ent = readdir(d)) != NULL) {
            char path[GCM_PATH_MAX];
            struct stat sb;
            int n;

            if (!gcm_capture_is_child_name(ent->d_name, base))
                continue;
            n = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
            if (n < 0 || (size_t)n >= sizeof path)
                continue;
            if (stat(path, &sb) != 0 || already_watched(st, sb.st_dev, sb.st_ino))
                continue;
            if (st->proc_count >= LIVE_MAX_PROCS)
                st->dropped_procs++;
            else
                (void)proc_add(st, path);
        }
        (void)closedir(d);
    }
}

/* Reads the resident set size of a running writer from /proc/<pid>/statm. */
static uint64_t read_rss(int64_t pid)
{
    char path[64];
    char buf[128];
    unsigned long long size_pages = 0;
    unsigned long long rss_pages = 0;
    long page = sysconf(_SC_PAGESIZE);

    (void)snprintf(path, sizeof path, "/proc/%lld/statm", (long long)pid);
    if (gcm__read_small_file(path, buf, sizeof buf) <= 0)
        return 0;
    if (sscanf(buf, "%llu %llu", &size_pages, &rss_pages) != 2 || page <= 0)
        return 0;
    return (uint64_t)rss_pages * (uint64_t)page;
}

/* Takes a new snapshot of one process, keeping the previous figures for the
 * interval columns.  A process that had already ended is not read again. */
static void proc_refresh(live_proc *p)
{
    int gone = 0;
    int rc;
    size_t kept = 0;
    uint64_t first = 0;

    if (p->have_now && p->snap->state != GCM_STATE_RUNNING)
        return;
    if (p->have_now) {
        p->prev = p->now;
        p->prev_taken_ns = p->taken_ns;
        p->have_prev = 1;
    }
    rc = gcm_capture_snapshot(&p->cap, p->snap, 1, &gone);
    if (rc != 0 && rc != GCM_EBUSY)
        return;
    p->torn = rc == GCM_EBUSY;
    p->taken_ns = p->snap->taken_monotonic_ns;
    (void)gcm_summarize(p->snap, &p->now);
    p->have_now = 1;
    if (gcm_block_copy_events(p->cap.block, p->events, LIVE_EVENTS, &p->event_count, &first) != 0)
        p->event_count = 0;
    /* Only a damaged file holds other generations; they are not shown. */
    for (size_t i = 0; i < p->event_count; i++) {
        if (p->events[i].generation < GCM_GENERATIONS)
            p->events[kept++] = p->events[i];
    }
    p->event_count = kept;
    p->rss_bytes = p->snap->state == GCM_STATE_RUNNING ? read_rss(p->snap->pid) : 0;
}

/* The figures of one process over the last interval (or since its start,
 * at the first refresh). */
typedef struct interval_figures {
    uint64_t wall_ns;
    uint64_t gc_ns;
    uint64_t count[GCM_GENERATIONS + 1]; /* per generation, then all */
    uint64_t alerts;
    double share_pct;
} interval_figures;

static void interval_of(const live_proc *p, interval_figures *out)
{
    const gcm_summary *now = &p->now;
    const gcm_summary *prev = p->have_prev ? &p->prev : NULL;

    memset(out, 0, sizeof *out);
    /* Counters only grow; a difference that would go negative can only come
     * from a damaged file and is shown as 0. */
#define DIFF(field) (prev == NULL ? now->field : (now->field > prev->field ? now->field - prev->field : 0))
    /* The interval is the time between the two snapshots: every collection
     * counted in it ended in between, even when the process ended too (its
     * lifetime stops at its recorded end, which would make the last
     * interval look shorter than the collections it holds). */
    if (prev == NULL)
        out->wall_ns = now->wall_ns;
    else if (p->taken_ns > p->prev_taken_ns)
        out->wall_ns = p->taken_ns - p->prev_taken_ns;
    out->gc_ns = DIFF(gc_ns);
    out->alerts = DIFF(all.alerts);
    out->count[GCM_GENERATIONS] = DIFF(all.count);
    for (int g = 0; g < GCM_GENERATIONS; g++)
        out->count[g] = DIFF(gen[g].count);
#undef DIFF
    out->share_pct = out->wall_ns > 0 ? 100.0 * (double)out->gc_ns / (double)out->wall_ns : 0.0;
}

static double per_second(uint64_t n, uint64_t ns)
{
    return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

static int all_ended(const live_state *st)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        const live_proc *p = st->procs[i];
        if (!p->have_now || p->snap->state == GCM_STATE_RUNNING)
            return 0;
    }
    return 1;
}

/* ---- plain lines ----------------------------------------------------------------------- */

/* Writes one logfmt line per process: documented in docs/live.md, every
 * value free of spaces, numbers in plain decimal. */
static int write_lines(const live_state *st)
{
    char stamp[40];
    struct timespec ts;
    struct tm tm;
    int status = 0;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || gmtime_r(&ts.tv_sec, &tm) == NULL ||
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        (void)snprintf(stamp, sizeof stamp, "unknown");
    for (size_t i = 0; status == 0 && i < st->proc_count; i++) {
        const live_proc *p = st->procs[i];
        const gcm_summary *s = &p->now;
        interval_figures iv;
        char line[1024];
        char tail[64] = "";
        int n;

        if (!p->have_now)
            continue;
        interval_of(p, &iv);
        if (p->snap->state == GCM_STATE_EXITED && p->snap->exit_status != GCM_EXIT_STATUS_UNKNOWN)
            (void)snprintf(tail, sizeof tail, " exit_status=%d", (int)p->snap->exit_status);
        else if (p->snap->state == GCM_STATE_KILLED)
            (void)snprintf(tail, sizeof tail, " signal=%d", (int)p->snap->exit_status);
        if (p->torn)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " torn=1");
        n = snprintf(line, sizeof line,
                     "time=%s.%03ldZ pid=%lld state=%s up_s=%.3f collections=%llu gen0=%llu "
                     "gen1=%llu gen2=%llu interval_s=%.3f interval_collections=%llu "
                     "gc_ms=%.4f interval_gc_ms=%.4f share_pct=%.4f interval_share_pct=%.4f "
                     "p50_ms=%.4f p99_ms=%.4f max_ms=%.4f alerts=%llu interval_alerts=%llu "
                     "collected=%llu uncollectable=%llu%s\n",
                     stamp, ts.tv_nsec / 1000000L, (long long)p->snap->pid,
                     gcm_capture_state_word(p->snap->state), (double)s->wall_ns / 1e9,
                     (unsigned long long)s->all.count, (unsigned long long)s->gen[0].count,
                     (unsigned long long)s->gen[1].count, (unsigned long long)s->gen[2].count,
                     (double)iv.wall_ns / 1e9, (unsigned long long)iv.count[GCM_GENERATIONS],
                     (double)s->gc_ns / 1e6, (double)iv.gc_ns / 1e6, s->share_pct, iv.share_pct,
                     (double)s->all.p50_ns / 1e6, (double)s->all.p99_ns / 1e6,
                     (double)s->all.max_ns / 1e6, (unsigned long long)s->all.alerts,
                     (unsigned long long)iv.alerts, (unsigned long long)s->all.collected,
                     (unsigned long long)s->all.uncollectable, tail);
        if (n > 0)
            status = gcm__write_all(STDOUT_FILENO, line,
                                    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    return status;
}

/* ---- the screen ------------------------------------------------------------------------ */

/* The status words of a process: "running", "exited 0", "killed by SIGTERM", "gone". */
static void state_text(const live_proc *p, char *buf, size_t size)
{
    gcm_capture_ending_text(p->snap->state, p->snap->exit_status, buf, size);
}

static void add_event_line(frame *f, const live_proc *p, const gcm_event *e, int with_pid)
{
    char dur[16];
    char freed[32];
    uint64_t since = 0;

    if (p->snap->init_monotonic_ns >= 0 && e->start_ns > (uint64_t)p->snap->init_monotonic_ns)
        since = e->start_ns - (uint64_t)p->snap->init_monotonic_ns;
    gcm__format_duration_short(e->duration_ns, dur, sizeof dur);
    gcm__format_count(e->collected, freed, sizeof freed);
    if (with_pid)
        line_add(f, gcm_is_alert(e->duration_ns, p->snap->alert_threshold_ns) ? ATTR_ALERT : ATTR_PLAIN,
                 "  pid %-7lld T+%-12.3f gen %u  %9s  freed %s", (long long)p->snap->pid,
                 (double)since / 1e9, (unsigned)e->generation, dur, freed);
    else
        line_add(f, gcm_is_alert(e->duration_ns, p->snap->alert_threshold_ns) ? ATTR_ALERT : ATTR_PLAIN,
                 "  T+%-12.3f gen %u  %9s  freed %s", (double)since / 1e9, (unsigned)e->generation,
                 dur, freed);
}

/* The alerts line: total, in the last interval, and the latest one seen. */
static void add_alert_line(frame *f, const live_proc *p, const interval_figures *iv)
{
    char limit[16];
    char total[32];
    const gcm_event *latest = NULL;

    gcm__format_duration_short(p->snap->alert_threshold_ns, limit, sizeof limit);
    gcm__format_count(p->now.all.alerts, total, sizeof total);
    for (size_t i = p->event_count; i > 0; i--) {
        if (gcm_is_alert(p->events[i - 1].duration_ns, p->snap->alert_threshold_ns)) {
            latest = &p->events[i - 1];
            break;
        }
    }
    if (latest != NULL) {
        char dur[16];
        uint64_t since = 0;
        if (p->snap->init_monotonic_ns >= 0 &&
            latest->start_ns > (uint64_t)p->snap->init_monotonic_ns)
            since = latest->start_ns - (uint64_t)p->snap->init_monotonic_ns;
        gcm__format_duration_short(latest->duration_ns, dur, sizeof dur);
        line_add(f, iv->alerts > 0 ? ATTR_ALERT : ATTR_PLAIN,
                 "Alerts: %s pauses >= %s, %llu in the interval; latest gen %u %s at T+%.3f", total,
                 limit, (unsigned long long)iv->alerts, (unsigned)latest->generation, dur,
                 (double)since / 1e9);
    } else {
        line_add(f, iv->alerts > 0 ? ATTR_ALERT : ATTR_PLAIN,
                 "Alerts: %s pauses >= %s, %llu in the interval%s", total, limit,
                 (unsigned long long)iv->alerts,
                 p->now.all.alerts > 0 ? "; none in the last records" : "");
    }
}

/* Notes about figures that are not whole: torn snapshots, lost records. */
static void add_warnings(frame *f, const live_proc *p)
{
    if (p->torn)
        line_add(f, ATTR_ALERT, "Warning: the writer stopped in the middle of a record");
    if (p->snap->overwritten > 0) {
        char lost[32];
        gcm__format_count(p->snap->overwritten, lost, sizeof lost);
        line_add(f, ATTR_PLAIN,
                 "Note: %s older records left the ring (aggregates stay exact)", lost);
    }
}

static void frame_one(frame *f, const live_state *st, const live_proc *p)
{
    const gcm_summary *s = &p->now;
    interval_figures iv;
    char up[32];
    char state[32];
    char rss[32] = "";
    char shown[LINE_MAX_BYTES];
    char freed[32];
    char unfreed[32];
    char gc[16];

    interval_of(p, &iv);
    fmt_clock(s->wall_ns, up, sizeof up);
    state_text(p, state, sizeof state);
    if (p->rss_bytes > 0)
        (void)snprintf(rss, sizeof rss, ", rss %.1f MiB", (double)p->rss_bytes / 1048576.0);
    gcm__copy_printable(shown, sizeof shown, p->path);
    line_add(f, ATTR_TITLE, "pygcprofiler live  %s  every %gs  (q quits)", shown,
             st->args.interval_s);
    line_add(f, ATTR_BOLD, "pid %lld %s, up %s%s, python %s", (long long)p->snap->pid, state, up,
             rss, p->version[0] != '\0' ? p->version : "unknown");
    gcm__copy_printable(shown, sizeof shown, p->command);
    line_add(f, ATTR_PLAIN, "%s", shown);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, ATTR_BOLD, "%-3s %12s %7s %9s %8s %8s %8s %8s %7s", "gen", "collections", "/s",
             "paused", "mean", "p50", "p99", "max", "alerts");
    for (int g = 0; g <= GCM_GENERATIONS; g++) {
        const gcm_gen_summary *gs = g < GCM_GENERATIONS ? &s->gen[g] : &s->all;
        char label[8];
        char count[32];
        char total[16];
        char mean[16];
        char p50[16];
        char p99[16];
        char max[16];

        if (g < GCM_GENERATIONS)
            (void)snprintf(label, sizeof label, "%d", g);
        else
            (void)snprintf(label, sizeof label, "all");
        gcm__format_count(gs->count, count, sizeof count);
        gcm__format_duration_short(gs->total_ns, total, sizeof total);
        gcm__format_duration_short((uint64_t)gs->mean_ns, mean, sizeof mean);
        gcm__format_duration_short(gs->p50_ns, p50, sizeof p50);
        gcm__format_duration_short(gs->p99_ns, p99, sizeof p99);
        gcm__format_duration_short(gs->max_ns, max, sizeof max);
        line_add(f, g < GCM_GENERATIONS ? ATTR_PLAIN : ATTR_BOLD,
                 "%-3s %12s %7.1f %9s %8s %8s %8s %8s %7llu", label, count,
                 per_second(iv.count[g], iv.wall_ns), total, mean, p50, p99, max,
                 (unsigned long long)gs->alerts);
    }
    line_add(f, ATTR_PLAIN, "%s", "");
    gcm__format_duration_short(s->gc_ns, gc, sizeof gc);
    line_add(f, ATTR_PLAIN, "GC share: %.2f%% over the last %.2fs, %.2f%% overall (%s of %s)",
             iv.share_pct, (double)iv.wall_ns / 1e9, s->share_pct, gc, up);
    gcm__format_count(s->all.collected, freed, sizeof freed);
    gcm__format_count(s->all.uncollectable, unfreed, sizeof unfreed);
    line_add(f, ATTR_PLAIN, "Freed %s objects, %s uncollectable; %llu bursts", freed, unfreed,
             (unsigned long long)s->bursts);
    add_alert_line(f, p, &iv);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, ATTR_BOLD, "Last collections (T+ seconds since the program started):");
    if (p->event_count == 0)
        line_add(f, ATTR_PLAIN, "  none yet");
    for (size_t i = p->event_count > LIVE_SHOWN_EVENTS ? p->event_count - LIVE_SHOWN_EVENTS : 0;
         i < p->event_count; i++)
        add_event_line(f, p, &p->events[i], 0);
    add_warnings(f, p);
}

static void frame_tree(frame *f, const live_state *st, size_t room)
{
    static gcm_gen_snapshot sum;
    const gcm_event *newest[LIVE_SHOWN_EVENTS];
    const live_proc *owner[LIVE_SHOWN_EVENTS];
    size_t shown_events = 0;
    size_t rows = 0;
    double iv_rate = 0.0;
    uint64_t iv_wall = 0;
    uint64_t iv_gc = 0;
    uint64_t gc = 0;
    uint64_t wall = 0;
    uint64_t alerts = 0;
    char max[16];
    char p99[16];
    /* Title, blank, header, total, blank, events title, events, blank: the
     * rest of the screen is for process rows. */
    size_t fixed = 8 + LIVE_SHOWN_EVENTS;
    size_t max_rows = room > fixed + 1 ? room - fixed : 1;

    memset(&sum, 0, sizeof sum);
    line_add(f, ATTR_TITLE, "pygcprofiler live  %zu processes  every %gs  (q quits)",
             st->proc_count, st->args.interval_s);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, ATTR_BOLD, "%7s %-8s %8s %9s %5s %6s %6s %8s %8s %5s", "pid", "state", "up",
             "colls", "/s", "now%", "all%", "p99", "max", "alert");
    for (size_t i = 0; i < st->proc_count; i++) {
        const live_proc *p = st->procs[i];
        interval_figures iv;
        char up[32];
        char state[32];

        if (!p->have_now)
            continue;
        interval_of(p, &iv);
        /* The total row takes its percentiles from the summed histograms. */
        gcm_gen_snapshot_add(&sum, &p->snap->all);
        iv_rate += per_second(iv.count[GCM_GENERATIONS], iv.wall_ns);
        iv_gc += iv.gc_ns;
        iv_wall += iv.wall_ns;
        gc += p->now.gc_ns;
        wall += p->now.wall_ns;
        alerts += iv.alerts;
        if (rows >= max_rows)
            continue;
        rows++;
        fmt_clock(p->now.wall_ns, up, sizeof up);
        state_text(p, state, sizeof state);
        gcm__format_duration_short(p->now.all.p99_ns, p99, sizeof p99);
        gcm__format_duration_short(p->now.all.max_ns, max, sizeof max);
        line_add(f, iv.alerts > 0 ? ATTR_ALERT : ATTR_PLAIN,
                 "%7lld %-8.8s %8s %9llu %5.0f %6.2f %6.2f %8s %8s %5llu", (long long)p->snap->pid,
                 state, up, (unsigned long long)p->now.all.count,
                 per_second(iv.count[GCM_GENERATIONS], iv.wall_ns), iv.share_pct,
                 p->now.share_pct, p99, max, (unsigned long long)p->now.all.alerts);
    }
    if (rows < st->proc_count)
        line_add(f, ATTR_PLAIN, "  ... %zu more processes", st->proc_count - rows);
    gcm__format_duration_short(gcm_percentile_ns(&sum, 0.99), p99, sizeof p99);
    gcm__format_duration_short(sum.max_ns, max, sizeof max);
    /* The tree's rate is the processes' rates added; its shares are GC
     * time over the processes' summed wall times (in the interval and over
     * their lifetimes), the share a process of the tree would have on
     * average. */
    line_add(f, ATTR_BOLD, "%7s %-8s %8s %9llu %5.0f %6.2f %6.2f %8s %8s %5llu", "total", "",
             "", (unsigned long long)sum.count, iv_rate,
             iv_wall > 0 ? 100.0 * (double)iv_gc / (double)iv_wall : 0.0,
             wall > 0 ? 100.0 * (double)gc / (double)wall : 0.0, p99, max,
             (unsigned long long)sum.alerts);
    if (st->dropped_procs > 0)
        line_add(f, ATTR_ALERT, "Note: %zu more child captures not watched (at most %d)",
                 st->dropped_procs, LIVE_MAX_PROCS);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, alerts > 0 ? ATTR_ALERT : ATTR_BOLD,
             "Last collections of all processes (%llu alerts in the interval):",
             (unsigned long long)alerts);
    /* The newest records across processes: every start is CLOCK_MONOTONIC
     * of this machine, so they sort together. */
    for (size_t k = 0; k < LIVE_SHOWN_EVENTS; k++) {
        const gcm_event *best = NULL;
        const live_proc *best_owner = NULL;
        for (size_t i = 0; i < st->proc_count; i++) {
            const live_proc *p = st->procs[i];
            for (size_t j = p->event_count; p->have_now && j > 0; j--) {
                const gcm_event *e = &p->events[j - 1];
                int taken = 0;
                for (size_t m = 0; m < shown_events; m++)
                    taken |= newest[m] == e;
                if (taken)
                    continue;
                if (best == NULL || e->start_ns > best->start_ns) {
                    best = e;
                    best_owner = p;
                }
                break;
            }
        }
        if (best == NULL)
            break;
        newest[shown_events] = best;
        owner[shown_events] = best_owner;
        shown_events++;
    }
    if (shown_events == 0)
        line_add(f, ATTR_PLAIN, "  none yet");
    for (size_t k = shown_events; k > 0; k--)
        add_event_line(f, owner[k - 1], newest[k - 1], 1);
}

/* Appends `s` to the output buffer, or nothing when it would not fit. */
static void out_add(char *out, size_t size, size_t *used, const char *s)
{
    size_t len = strlen(s);

    if (*used + len < size) {
        memcpy(out + *used, s, len);
        *used += len;
    }
}

/* Appends one screen line: its attribute, its text cut to `cols` - 1
 * columns, the end of the attribute, a clear to the end of the line. */
static void out_line(char *out, size_t size, size_t *used, const char *text, int attr,
                     size_t cols)
{
    static const char *const start[] = {"", "\033[1m", "\033[7m", "\033[1;31m"};
    size_t width = 0;

    out_add(out, size, used, start[attr]);
    /* Columns are counted as UTF-8 lead bytes, so a multibyte character of
     * the command line is one column and never cut in half.  The last
     * column is left empty: writing into it makes some terminals wrap. */
    for (const char *c = text; *c != '\0' && *used + 16 < size; c++) {
        int lead = ((unsigned char)*c & 0xc0) != 0x80;
        if (lead && width + 1 >= cols)
            break;
        width += (size_t)lead;
        out[(*used)++] = *c;
    }
    out_add(out, size, used, attr != ATTR_PLAIN ? "\033[0m\033[K\r\n" : "\033[K\r\n");
}

/* Draws `f` over the previous frame: home, each line cut to the width and
 * cleared to its end, then the rest of the screen cleared.  One write.  A
 * footer, when given, is always the last line shown. */
static int draw(const frame *f, const char *footer)
{
    static char out[(FRAME_MAX_LINES + 1) * (LINE_MAX_BYTES + 32) + 64];
    struct winsize ws;
    size_t cols = 80;
    size_t rows = 24;
    size_t used = 0;
    size_t limit;
    size_t shown;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
        cols = ws.ws_col;
        rows = ws.ws_row;
    }
    /* The last row stays empty: the newline after a line written there
     * would scroll the whole frame up by one. */
    limit = rows > 1 ? rows - 1 : 1;
    if (footer != NULL)
        limit = limit > 1 ? limit - 1 : 0;
    shown = f->count < limit ? f->count : limit;
    out_add(out, sizeof out, &used, "\033[H");
    for (size_t i = 0; i < shown; i++)
        out_line(out, sizeof out, &used, f->lines[i].text, f->lines[i].attr, cols);
    if (footer != NULL)
        out_line(out, sizeof out, &used, footer, ATTR_BOLD, cols);
    out_add(out, sizeof out, &used, "\033[J");
    return gcm__write_all(STDOUT_FILENO, out, used);
}

static int draw_screen(const live_state *st, const char *footer)
{
    static frame f;
    struct winsize ws;
    size_t rows = 24;

    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
        rows = ws.ws_row;
    f.count = 0;
    if (st->proc_count == 1)
        frame_one(&f, st, st->procs[0]);
    else
        frame_tree(&f, st, rows > 2 ? rows - 2 : 1);
    return draw(&f, footer);
}

/* The last words on the screen: why it stopped. */
static void end_text(const live_state *st, int why, char *buf, size_t size)
{
    if (why == END_WRITERS && st->proc_count == 1) {
        const live_proc *p = st->procs[0];
        if (p->snap->state == GCM_STATE_EXITED && p->snap->exit_status == GCM_EXIT_STATUS_UNKNOWN)
            (void)snprintf(buf, size, "pid %lld exited by os._exit; stopped.",
                           (long long)p->snap->pid);
        else if (p->snap->state == GCM_STATE_EXITED)
            (void)snprintf(buf, size, "pid %lld exited with status %d; stopped.",
                           (long long)p->snap->pid, (int)p->snap->exit_status);
        else if (p->snap->state == GCM_STATE_KILLED) {
            char ending[48];

            gcm_capture_ending_text(p->snap->state, p->snap->exit_status, ending, sizeof ending);
            (void)snprintf(buf, size, "pid %lld was %s; stopped.", (long long)p->snap->pid,
                           ending);
        } else
            (void)snprintf(buf, size, "pid %lld is gone (killed or crashed); stopped.",
                           (long long)p->snap->pid);
    } else if (why == END_WRITERS) {
        (void)snprintf(buf, size, "every watched process has ended; stopped.");
    } else {
        buf[0] = '\0';
    }
}

/* ---- the loop -------------------------------------------------------------------------- */

static void refresh_all(live_state *st)
{
    scan_children(st);
    for (size_t i = 0; i < st->proc_count; i++)
        proc_refresh(st->procs[i]);
}

/* Waits until `deadline_ns` (CLOCK_MONOTONIC) or until a key or a signal
 * asks for something.  Returns END_NONE to refresh, END_QUIT, END_SIGNAL
 * (with *sig set), or 1 for "redraw now without a new snapshot". */
static int wait_for(uint64_t deadline_ns, int keys, int *sig)
{
    struct pollfd fds[2];
    nfds_t nfds = 1;

    for (;;) {
        uint64_t now = gcm_clock_monotonic_ns();
        int timeout;
        int rc;

        if (now >= deadline_ns)
            return END_NONE;
        timeout = (int)((deadline_ns - now + 999999u) / 1000000u);
        fds[0].fd = wake_pipe[0];
        fds[0].events = POLLIN;
        nfds = 1;
        if (keys) {
            fds[1].fd = STDIN_FILENO;
            fds[1].events = POLLIN;
            nfds = 2;
        }
        rc = poll(fds, nfds, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return END_NONE;
        if (fds[0].revents & POLLIN) {
            unsigned char buf[16];
            ssize_t n = read(wake_pipe[0], buf, sizeof buf);
            int redraw = 0;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == SIGINT) {
                    *sig = SIGINT;
                    return END_QUIT;
                }
                if (buf[i] == SIGWINCH || buf[i] == SIGCONT) {
                    redraw = 1;
                    continue;
                }
                *sig = buf[i];
                return END_SIGNAL;
            }
            if (redraw)
                return 1;
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[64];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            /* End of input on a terminal means it hung up: nobody is watching. */
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return END_QUIT;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3)
                    return END_QUIT;
            }
        }
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
        term_enter(keys);
    for (;;) {
        int rc;

        refresh_all(st);
        if (all_ended(st))
            why = END_WRITERS;
        end_text(st, why, footer, sizeof footer);
        rc = screen ? draw_screen(st, why != END_NONE ? footer : NULL) : write_lines(st);
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
            rc = wait_for(next, keys, sig);
            if (rc == 1 && screen && draw_screen(st, NULL) != 0) {
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
        term_leave();
    return why;
}

/* Returns 1 when the file at `path` is empty or starts with a zero byte:
 * a capture its writer is still creating (gcm_capture_create makes the
 * file, allocates it, then formats the header). */
static int being_created(const char *path)
{
    unsigned char first = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0)
        return 0;
    n = read(fd, &first, 1);
    (void)close(fd);
    return n == 0 || (n == 1 && first == 0);
}

/* Resolves one argument to a capture path and adds it (and remembers it as
 * a base whose children's captures are watched too). */
static int add_target(live_state *st, const char *word, char *msg, size_t msg_size)
{
    char path[GCM_PATH_MAX];
    char why[128];
    int64_t pid = 0;
    int rc;
    int status = GCM_EINVAL;

    if (is_pid_word(word, &pid)) {
        if (gcm_capture_find_pid(pid, path, sizeof path, msg, msg_size) != 0)
            goto done;
    } else if (strlen(word) < sizeof path) {
        memcpy(path, word, strlen(word) + 1);
    } else {
        (void)snprintf(msg, msg_size, "path too long: '%.100s...'", word);
        goto done;
    }
    rc = proc_add(st, path);
    /* `run -o F & live F` may find F before its header: wait for it a
     * little rather than refuse a capture that is a moment from ready. */
    for (int tries = 0; (rc == GCM_ETRUNCATED || rc == GCM_EBADMAGIC) && tries < CREATE_WAIT_TRIES &&
                        being_created(path);
         tries++) {
        struct timespec pause = {0, CREATE_WAIT_NS};
        (void)nanosleep(&pause, NULL);
        rc = proc_add(st, path);
    }
    if (rc < 0) {
        if (rc == GCM_EIO)
            (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", path,
                           errno == EINVAL ? "not a regular file"
                                           : gcm__errno_text(errno, why, sizeof why));
        else if (rc == GCM_ENOMEM)
            (void)snprintf(msg, msg_size, "cannot watch '%s': at most %d processes, or out of memory",
                           path, LIVE_MAX_PROCS);
        else if (rc == GCM_ETRUNCATED && being_created(path))
            (void)snprintf(msg, msg_size, "capture '%s' is empty", path);
        else if (rc == GCM_EBADMAGIC)
            (void)snprintf(msg, msg_size, "'%s' is not a pygcprofiler capture file", path);
        else
            (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", path, gcm_strerror(rc));
        goto done;
    }
    if (rc == 0 && st->base_count < LIVE_MAX_PROCS) {
        memcpy(st->bases[st->base_count], path, strlen(path) + 1);
        st->base_count++;
    }
    status = 0;
done:
    return status;
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
        status = print_live_help() == 0 ? 0 : 1;
        goto done;
    }
    gcm__sigbus_message("a capture shrank while it was being watched");
    if (install_signals() != 0) {
        gcm__complain("live", "cannot install the signal handlers");
        goto done;
    }
    for (size_t i = 0; i < st.args.target_count; i++) {
        if (add_target(&st, st.args.targets[i], msg, sizeof msg) != 0) {
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
        proc_free(st.procs[i]);
    if (wake_pipe[0] >= 0) {
        (void)close(wake_pipe[0]);
        (void)close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
    return status;
}
