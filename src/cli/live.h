/* src/cli/live.h: what the files of `pygcprofiler live` share.
 *
 * live.c reads the command line and runs the refresh loop; live_procs.c
 * keeps the watched processes (their captures, snapshots and children);
 * live_screen.c draws a frame or writes the plain lines; live_term.c owns the
 * terminal and the signals.  docs/live.md describes what the user sees.
 */
#ifndef GCM_CLI_LIVE_H
#define GCM_CLI_LIVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/stats.h"
#include "remote.h"

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
/* A capture that does not exist yet, or is still being created, is waited
 * for this many times this long (5 s in all) before it is refused: python's
 * start-up before it creates the file takes a second on a loaded machine. */
#define CREATE_WAIT_TRIES 100
#define CREATE_WAIT_NS 50000000L

/* While a process is read from outside, its reader's pipe is emptied this
 * often (nanoseconds), whatever the refresh interval. */
#define PUMP_NS 50000000u

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
    gcm_snapshot *snap;     /* the latest snapshot (heap: about 100 KB) */
    gcm_summary now;        /* figures of `snap` */
    gcm_summary prev;       /* figures of the previous refresh, when have_prev */
    uint64_t taken_ns;      /* CLOCK_MONOTONIC of the latest snapshot ... */
    uint64_t prev_taken_ns; /* ... and of the previous one */
    int have_now;
    int have_prev;
    int torn; /* the latest snapshot was taken with the counter odd */
    char command[LINE_MAX_BYTES];
    char version[32];
    gcm_event events[LIVE_EVENTS];
    size_t event_count;
    uint64_t rss_bytes;               /* resident set of a running writer, 0 if unknown */
    char top_trigger[LINE_MAX_BYTES]; /* --stacks: the call site with the most pause time, or "" */
    uint64_t top_trigger_count;       /* its collections */
    double top_trigger_share;         /* and its share of the pause time, in percent */
    gcm__remote *remote; /* a process read from outside (remote.c), NULL for a capture */
} live_proc;

typedef struct live_state {
    live_args args;
    live_proc *procs[LIVE_MAX_PROCS];
    size_t proc_count;
    size_t dropped_procs;                     /* children not watched because the table was full */
    char bases[LIVE_MAX_PROCS][GCM_PATH_MAX]; /* paths whose FILE.<pid> siblings are watched */
    size_t base_count;
    int output_errno; /* errno of the write to stdout that failed */
} live_state;

typedef struct frame_line {
    char text[LINE_MAX_BYTES];
    int attr;
} frame_line;

typedef struct frame {
    frame_line lines[FRAME_MAX_LINES];
    size_t count;
} frame;

/* The figures of one process over the last interval (or since its start,
 * at the first refresh). */
typedef struct interval_figures {
    uint64_t wall_ns;
    uint64_t gc_ns;
    uint64_t count[GCM_GENERATIONS + 1]; /* per generation, then all */
    uint64_t alerts;
    uint64_t max_ns; /* the longest pause that started in the interval, of the copied records */
    double share_pct;
} interval_figures;

/* ---- the terminal and the signals (live_term.c) ---- */

/* Creates the wake pipe and installs the handlers of every signal live
 * reacts to.  Returns 0, or GCM_EIO with errno set. */
int gcm__live_install_signals(void);

/* Enters non-canonical, no-echo mode on a terminal stdin, keeping ISIG so
 * that Ctrl-C still arrives as SIGINT, and hides the cursor. */
void gcm__live_term_enter(int keys);

/* Puts the terminal back as gcm__live_term_enter found it. */
void gcm__live_term_leave(void);

/* Waits until `deadline_ns` (CLOCK_MONOTONIC) or until a key or a signal
 * asks for something.  Returns END_NONE to refresh, END_QUIT, END_SIGNAL
 * (with *sig set), or 1 for "redraw now without a new snapshot". */
int gcm__live_wait_for(uint64_t deadline_ns, int keys, int *sig);

/* Closes the pipe the signal handlers write to; call it last, after the
 * terminal was put back. */
void gcm__live_close_signals(void);

/* ---- the watched processes (live_procs.c) ---- */

/* Closes and frees a watched process; NULL is ignored. */
void gcm__live_proc_free(live_proc *p);

/* Adds the captures of children that appeared next to each watched FILE
 * since the last look.  A file that does not open yet (a child still
 * formatting it) is simply tried again at the next refresh. */
void gcm__live_scan_children(live_state *st);

/* Takes a new snapshot of one process, keeping the previous figures for the
 * interval columns.  A process that had already ended is not read again. */
void gcm__live_proc_refresh(live_proc *p);

/* The figures of the last interval of `p`: between its previous snapshot
 * and its latest one. */
void gcm__live_interval_of(const live_proc *p, interval_figures *out);

/* `n` events in `ns` nanoseconds as a rate per second (0 for no time). */
double gcm__live_per_second(uint64_t n, uint64_t ns);

/* Records what the readers of processes watched from outside have written
 * since the last call, without waiting. */
void gcm__live_pump(live_state *st);

/* Returns 1 when some process is watched from outside. */
int gcm__live_has_remote(const live_state *st);

/* Returns 1 when every watched writer has exited or is gone. */
int gcm__live_all_ended(const live_state *st);

/* Resolves one argument to a capture path and adds it (and remembers it as
 * a base whose children's captures are watched too). */
int gcm__live_add_target(live_state *st, const char *word, char *msg, size_t msg_size);

/* ---- the screen and the plain lines (live_screen.c) ---- */

/* Writes one logfmt line per process: documented in docs/live.md, every
 * value free of spaces, numbers in plain decimal. */
int gcm__live_write_lines(const live_state *st);

/* Draws one frame of every watched process, with `footer` as its last
 * line.  Returns 0, or GCM_EIO when stdout failed (errno set). */
int gcm__live_draw_screen(const live_state *st, const char *footer);

/* The last words on the screen: why it stopped. */
void gcm__live_end_text(const live_state *st, int why, char *buf, size_t size);

#endif /* GCM_CLI_LIVE_H */
