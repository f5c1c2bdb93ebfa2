/* src/cli/live_screen.c: what `pygcprofiler live` shows.
 *
 * On a terminal, one frame per interval drawn with plain ANSI escapes (no
 * curses): the cursor is homed and the previous frame overwritten line by
 * line, so nothing flickers over ssh.  Otherwise, one logfmt line per
 * process per interval.
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
static void line_add(frame *f, int attr, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

/* Writes one logfmt line per process: documented in docs/live.md, every
 * value free of spaces, numbers in plain decimal. */
int gcm__live_write_lines(const live_state *st)
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
        char tail[160] = "";
        char examined[96] = "";
        double eff;
        const char *state_word;
        int n;

        if (!p->have_now)
            continue;
        gcm__live_interval_of(p, &iv);
        /* Causes first, then the keys only some lines have; a capture
         * written before causes were recorded has no cause keys. */
        if (s->causes_known)
            (void)snprintf(tail, sizeof tail, " explicit=%llu shutdown=%llu",
                           (unsigned long long)s->cause[GCM_CAUSE_EXPLICIT].count,
                           (unsigned long long)s->cause[GCM_CAUSE_SHUTDOWN].count);
        if (p->snap->state == GCM_STATE_EXITED && p->snap->exit_status != GCM_EXIT_STATUS_UNKNOWN)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " exit_status=%d",
                           (int)p->snap->exit_status);
        else if (p->snap->state == GCM_STATE_KILLED)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " signal=%d",
                           (int)p->snap->exit_status);
        /* CPython 3.15+ counts the candidates its collections examine:
         * figures beside collected and uncollectable, before the tail. */
        if ((s->event_flags & GCM_EVENT_HAS_CANDIDATES) != 0) {
            (void)snprintf(examined, sizeof examined, " candidates=%llu",
                           (unsigned long long)s->all.candidates);
            if (gcm_efficiency_pct(&s->all, &eff))
                (void)snprintf(examined + strlen(examined), sizeof examined - strlen(examined),
                               " efficiency_pct=%.4f", eff);
        }
        if (p->torn)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " torn=1");
        if (p->snap->unseen > 0)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail), " missed=%llu",
                           (unsigned long long)p->snap->unseen);
        /* Seen from outside, an end has no status: the process has ended. */
        state_word = p->remote != NULL && p->snap->state == GCM_STATE_GONE
                         ? "ended"
                         : gcm_capture_state_word(p->snap->state);
        if (p->remote != NULL)
            (void)snprintf(tail + strlen(tail), sizeof tail - strlen(tail),
                           " source=remote missed_pauses=%llu%s",
                           (unsigned long long)p->snap->missed,
                           p->remote->failed ? " reader_failed=1" : "");
        n = snprintf(line, sizeof line,
                     "time=%s.%03ldZ pid=%lld state=%s up_s=%.3f collections=%llu gen0=%llu "
                     "gen1=%llu gen2=%llu interval_s=%.3f interval_collections=%llu "
                     "gc_ms=%.4f interval_gc_ms=%.4f share_pct=%.4f interval_share_pct=%.4f "
                     "p50_ms=%.4f p99_ms=%.4f max_ms=%.4f interval_max_ms=%.4f alerts=%llu "
                     "interval_alerts=%llu collected=%llu uncollectable=%llu%s%s\n",
                     stamp, ts.tv_nsec / 1000000L, (long long)p->snap->pid, state_word,
                     (double)s->wall_ns / 1e9, (unsigned long long)s->all.count,
                     (unsigned long long)s->gen[0].count, (unsigned long long)s->gen[1].count,
                     (unsigned long long)s->gen[2].count, (double)iv.wall_ns / 1e9,
                     (unsigned long long)iv.count[GCM_GENERATIONS], (double)s->gc_ns / 1e6,
                     (double)iv.gc_ns / 1e6, s->share_pct, iv.share_pct,
                     (double)s->all.p50_ns / 1e6, (double)s->all.p99_ns / 1e6,
                     (double)s->all.max_ns / 1e6, (double)iv.max_ns / 1e6,
                     (unsigned long long)s->all.alerts, (unsigned long long)iv.alerts,
                     (unsigned long long)s->all.collected, (unsigned long long)s->all.uncollectable,
                     examined, tail);
        if (n > 0)
            status = gcm__write_all(STDOUT_FILENO, line,
                                    (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    return status;
}

/* The status words of a process: "running", "exited 0", "killed by SIGTERM", "gone". */
static void state_text(const live_proc *p, char *buf, size_t size)
{
    /* Seen from outside, an end has no status: the process is just gone. */
    if (p->remote != NULL && p->snap->state == GCM_STATE_GONE)
        (void)snprintf(buf, size, "ended");
    else
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
        line_add(
            f, gcm_is_alert(e->duration_ns, p->snap->alert_threshold_ns) ? ATTR_ALERT : ATTR_PLAIN,
            "  pid %-7lld T+%-12.3f gen %u  %9s  freed %s", (long long)p->snap->pid,
            (double)since / 1e9, (unsigned)e->generation, dur, freed);
    else
        line_add(
            f, gcm_is_alert(e->duration_ns, p->snap->alert_threshold_ns) ? ATTR_ALERT : ATTR_PLAIN,
            "  T+%-12.3f gen %u  %9s  freed %s", (double)since / 1e9, (unsigned)e->generation, dur,
            freed);
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
    if (p->snap->unseen > 0) {
        char missed[32];
        gcm__format_count(p->snap->unseen, missed, sizeof missed);
        line_add(f, ATTR_ALERT,
                 "Warning: %s collections missed: the program took the monitor out of gc.callbacks",
                 missed);
    }
    if (p->remote != NULL && p->remote->failed)
        line_add(f, ATTR_ALERT, "Warning: the reader stopped: %s", p->remote->why);
    if (p->snap->overwritten > 0) {
        char lost[32];
        gcm__format_count(p->snap->overwritten, lost, sizeof lost);
        line_add(f, ATTR_PLAIN, "Note: %s older records left the ring (aggregates stay exact)",
                 lost);
    }
}

/* "Freed of examined": per generation, the share of the objects its collections
 * examined that they freed, for CPython 3.15+, which counts them. */
static void add_efficiency_line(frame *f, const gcm_summary *s)
{
    char cell[GCM_GENERATIONS + 1][16];
    double eff;

    for (int g = 0; g <= GCM_GENERATIONS; g++) {
        const gcm_gen_summary *gs = g < GCM_GENERATIONS ? &s->gen[g] : &s->all;
        if (gcm_efficiency_pct(gs, &eff))
            (void)snprintf(cell[g], sizeof cell[g], "%.2f%%", eff);
        else
            (void)snprintf(cell[g], sizeof cell[g], "-");
    }
    line_add(f, ATTR_PLAIN, "Freed of examined: gen 0 %s, gen 1 %s, gen 2 %s, all %s", cell[0],
             cell[1], cell[2], cell[3]);
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

    gcm__live_interval_of(p, &iv);
    fmt_clock(s->wall_ns, up, sizeof up);
    state_text(p, state, sizeof state);
    if (p->rss_bytes > 0)
        (void)snprintf(rss, sizeof rss, ", rss %.1f MiB", (double)p->rss_bytes / 1048576.0);
    gcm__copy_printable(shown, sizeof shown, p->path);
    line_add(f, ATTR_TITLE, "pygcprofiler live  %s  every %gs  (q quits)", shown,
             st->args.interval_s);
    /* Read from outside, the figures start with the watch, not the program. */
    line_add(f, ATTR_BOLD, "pid %lld %s, %s %s%s, python %s", (long long)p->snap->pid, state,
             p->remote != NULL ? "watched" : "up", up, rss,
             p->version[0] != '\0' ? p->version : "unknown");
    gcm__copy_printable(shown, sizeof shown, p->command);
    line_add(f, ATTR_PLAIN, "%s", shown);
    if (p->remote != NULL) {
        char missed[32];

        /* In the blank line's place, where a 24-line terminal always shows it. */
        gcm__format_count(p->snap->missed, missed, sizeof missed);
        line_add(f, p->snap->missed > 0 ? ATTR_ALERT : ATTR_PLAIN,
                 "Read from outside every %d ms: %s missed pauses (in the totals only)",
                 GCM__REMOTE_POLL_MS, missed);
    } else {
        line_add(f, ATTR_PLAIN, "%s", "");
    }
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
                 gcm__live_per_second(iv.count[g], iv.wall_ns), total, mean, p50, p99, max,
                 (unsigned long long)gs->alerts);
    }
    line_add(f, ATTR_PLAIN, "%s", "");
    gcm__format_duration_short(s->gc_ns, gc, sizeof gc);
    line_add(f, ATTR_PLAIN, "GC share: %.2f%% over the last %.2fs, %.2f%% overall (%s of %s)",
             iv.share_pct, (double)iv.wall_ns / 1e9, s->share_pct, gc, up);
    gcm__format_count(s->all.collected, freed, sizeof freed);
    gcm__format_count(s->all.uncollectable, unfreed, sizeof unfreed);
    gcm__format_duration_short(iv.max_ns, gc, sizeof gc);
    line_add(f, ATTR_PLAIN,
             "Longest pause in the last %.2fs: %s (p99 and max above: the whole run)",
             (double)iv.wall_ns / 1e9, iv.max_ns > 0 ? gc : "none");
    line_add(f, ATTR_PLAIN, "Freed %s objects, %s uncollectable", freed, unfreed);
    if ((s->event_flags & GCM_EVENT_HAS_CANDIDATES) != 0)
        add_efficiency_line(f, s);
    if (s->causes_known && s->all.count > 0) {
        char explicit_n[32];

        /* The one cause a program can simply stop: its gc.collect() calls. */
        gcm__format_count(s->cause[GCM_CAUSE_EXPLICIT].count, explicit_n, sizeof explicit_n);
        line_add(f, ATTR_PLAIN, "Explicit gc.collect(): %s collections, %.1f%% of GC time",
                 explicit_n, s->cause[GCM_CAUSE_EXPLICIT].share_pct);
    }
    if (p->top_trigger[0] != '\0') {
        char count[32];

        /* The figures first: a long call site is what the width cuts. */
        gcm__format_count(p->top_trigger_count, count, sizeof count);
        line_add(f, ATTR_PLAIN, "Top GC trigger (%.1f%% of GC time, %s collection%s): %s",
                 p->top_trigger_share, count, p->top_trigger_count == 1 ? "" : "s", p->top_trigger);
    }
    if (s->all.count - s->missed > 1) {
        char bursts[32];
        char gaps[32];
        /* A burst is a collection that started under 50 ms after the
         * previous one ended: said in those words, with its share, of the
         * pauses seen (missed ones have no times). */
        uint64_t seen_gaps = s->all.count - s->missed - 1;

        gcm__format_count(s->bursts, bursts, sizeof bursts);
        gcm__format_count(seen_gaps, gaps, sizeof gaps);
        line_add(f, ATTR_PLAIN, "Bursts: %s of the %s gaps between collections (%.0f%%) under 50ms",
                 bursts, gaps, 100.0 * (double)s->bursts / (double)seen_gaps);
    }
    add_alert_line(f, p, &iv);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, ATTR_BOLD, "Last collections (T+ seconds since the %s):",
             p->remote != NULL ? "watch began" : "program started");
    if (p->event_count == 0)
        line_add(f, ATTR_PLAIN, "  none yet");
    for (size_t i = p->event_count > LIVE_SHOWN_EVENTS ? p->event_count - LIVE_SHOWN_EVENTS : 0;
         i < p->event_count; i++)
        add_event_line(f, p, &p->events[i], 0);
    add_warnings(f, p);
}

/* The command of a process as a table cell, in the few columns left: the
 * words after the interpreter (every process of a tree runs the same
 * python), the script without its directory, printable. */
static void short_command(const char *command, char *out, size_t size)
{
    const char *rest = strchr(command, ' ');
    const char *word_end;
    const char *slash = NULL;

    if (rest == NULL) {
        gcm__copy_printable(out, size, command);
        return;
    }
    while (*rest == ' ')
        rest++;
    word_end = strchr(rest, ' ');
    for (const char *c = rest; *c != '\0' && (word_end == NULL || c < word_end); c++) {
        if (*c == '/')
            slash = c;
    }
    gcm__copy_printable(out, size, slash != NULL ? slash + 1 : rest);
}

/* The length of the last interval of `p`. */
static uint64_t iv_wall_busiest(const live_proc *p)
{
    interval_figures iv;

    gcm__live_interval_of(p, &iv);
    return iv.wall_ns;
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
    uint64_t iv_max = 0;
    const live_proc *busiest = NULL;
    double busiest_pct = 0.0;
    char max[16];
    char last[16];
    char command[LINE_MAX_BYTES];
    /* Title, blank, header, total, its two notes, blank, events title,
     * events, blank: the rest of the screen is for process rows. */
    size_t fixed = 10 + LIVE_SHOWN_EVENTS;
    size_t max_rows = room > fixed + 1 ? room - fixed : 1;

    memset(&sum, 0, sizeof sum);
    line_add(f, ATTR_TITLE, "pygcprofiler live  %zu processes  every %gs  (q quits)",
             st->proc_count, st->args.interval_s);
    line_add(f, ATTR_PLAIN, "%s", "");
    line_add(f, ATTR_BOLD, "%7s %-8s %7s %7s %4s %5s %5s %7s %7s %5s %s", "pid", "state", "up",
             "colls", "/s", "now%", "all%", "lastmax", "max", "alert", "command");
    for (size_t i = 0; i < st->proc_count; i++) {
        const live_proc *p = st->procs[i];
        interval_figures iv;
        char up[32];
        char state[32];

        if (!p->have_now)
            continue;
        gcm__live_interval_of(p, &iv);
        /* The total row takes its maximum from the summed histograms. */
        gcm_gen_snapshot_add(&sum, &p->snap->all);
        if (iv.max_ns > iv_max)
            iv_max = iv.max_ns;
        if (busiest == NULL || iv.share_pct > busiest_pct) {
            busiest = p;
            busiest_pct = iv.share_pct;
        }
        iv_rate += gcm__live_per_second(iv.count[GCM_GENERATIONS], iv.wall_ns);
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
        gcm__format_duration_short(iv.max_ns, last, sizeof last);
        gcm__format_duration_short(p->now.all.max_ns, max, sizeof max);
        short_command(p->command, command, sizeof command);
        line_add(f, iv.alerts > 0 ? ATTR_ALERT : ATTR_PLAIN,
                 "%7lld %-8.8s %7s %7llu %4.0f %5.1f %5.1f %7s %7s %5llu %s",
                 (long long)p->snap->pid, state, up, (unsigned long long)p->now.all.count,
                 gcm__live_per_second(iv.count[GCM_GENERATIONS], iv.wall_ns), iv.share_pct,
                 p->now.share_pct, iv.max_ns > 0 ? last : "-", p->now.all.count > 0 ? max : "-",
                 (unsigned long long)p->now.all.alerts, command);
    }
    if (rows < st->proc_count)
        line_add(f, ATTR_PLAIN, "  ... %zu more processes", st->proc_count - rows);
    gcm__format_duration_short(iv_max, last, sizeof last);
    gcm__format_duration_short(sum.max_ns, max, sizeof max);
    /* The tree's rate is the processes' rates added; its shares are GC
     * time over the processes' summed wall times (in the interval and over
     * their lifetimes): each process weighs by how long it ran, so an idle
     * parent pulls the share of busy workers down.  The row says so, and
     * names the busiest process, whose share the total would hide. */
    line_add(f, ATTR_BOLD, "%7s %-8s %7s %7llu %4.0f %5.1f %5.1f %7s %7s %5llu", "total", "", "",
             (unsigned long long)sum.count, iv_rate,
             iv_wall > 0 ? 100.0 * (double)iv_gc / (double)iv_wall : 0.0,
             wall > 0 ? 100.0 * (double)gc / (double)wall : 0.0, iv_max > 0 ? last : "-", max,
             (unsigned long long)sum.alerts);
    line_add(f, ATTR_PLAIN, "total: counts added; now%%/all%%: GC time / all processes' time");
    if (busiest != NULL)
        line_add(f, ATTR_PLAIN, "busiest in the last %.2fs: pid %lld, %.1f%% of its time in GC",
                 (double)iv_wall_busiest(busiest) / 1e9, (long long)busiest->snap->pid,
                 busiest_pct);
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
static void out_line(char *out, size_t size, size_t *used, const char *text, int attr, size_t cols)
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

int gcm__live_draw_screen(const live_state *st, const char *footer)
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
void gcm__live_end_text(const live_state *st, int why, char *buf, size_t size)
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
            (void)snprintf(buf, size, "pid %lld was %s; stopped.", (long long)p->snap->pid, ending);
        } else if (p->remote != NULL && p->remote->failed)
            (void)snprintf(buf, size, "the reader of pid %lld stopped; stopped.",
                           (long long)p->snap->pid);
        else if (p->remote != NULL)
            (void)snprintf(buf, size, "pid %lld has ended; stopped.", (long long)p->snap->pid);
        else
            (void)snprintf(buf, size, "pid %lld is gone (killed or crashed); stopped.",
                           (long long)p->snap->pid);
    } else if (why == END_WRITERS) {
        (void)snprintf(buf, size, "every watched process has ended; stopped.");
    } else {
        buf[0] = '\0';
    }
}
