/* src/cli/export_procs.c: the captures `pygcprofiler export` reads, and their
 * figures in the Prometheus text exposition format.
 *
 * Every scrape looks for new captures, takes one seqlock snapshot of each
 * watched process (src/capture/: nothing runs in the monitored processes)
 * and writes the metrics of docs/metrics.md from the exact aggregates.  An
 * ended process keeps its final figures for --keep-ended seconds after its
 * end, so a worker killed between two scrapes is still seen once, then it
 * is dropped and its capture unmapped.
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/metrics.h"
#include "gc_monitor/reader.h"
#include "gc_monitor/stats.h"

static const char *const gen_names[GCM_GENERATIONS] = {"0", "1", "2"};

void gcm__export_printf(export_buf *out, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (out->failed)
        return;
    for (;;) {
        size_t room = out->cap - out->len;
        va_start(ap, fmt);
        n = vsnprintf(out->data != NULL ? out->data + out->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            out->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            out->len += (size_t)n;
            return;
        }
        {
            size_t want = out->cap * 2 + (size_t)n + 4096;
            char *grown = realloc(out->data, want);
            if (grown == NULL) {
                out->failed = 1;
                return;
            }
            out->data = grown;
            out->cap = want;
        }
    }
}

/* Writes `ns` nanoseconds as exact decimal seconds ("0.000010111", "3"). */
static void seconds_text(uint64_t ns, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%llu.%09llu", (unsigned long long)(ns / 1000000000u),
                     (unsigned long long)(ns % 1000000000u));
    if (n <= 0 || (size_t)n >= size)
        return;
    while (n > 0 && buf[n - 1] == '0')
        buf[--n] = '\0';
    if (n > 0 && buf[n - 1] == '.')
        buf[--n] = '\0';
}

static void proc_free(export_proc *p)
{
    if (p == NULL)
        return;
    gcm_capture_close(&p->cap);
    free(p->snap);
    free(p);
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Returns 1 when `path` is a FILE.<pid> capture beside a watched FILE. */
static int is_child_of_watched(const export_state *st, const char *path)
{
    size_t dir_len = (size_t)(base_name(path) - path);

    for (size_t i = 0; i < st->proc_count; i++) {
        const char *other = st->procs[i]->path;
        if ((size_t)(base_name(other) - other) == dir_len && strncmp(other, path, dir_len) == 0 &&
            gcm_capture_is_child_name(base_name(path), base_name(other)))
            return 1;
    }
    return 0;
}

/* Opens the capture at `path` and watches it.  Returns 0, 1 when the file
 * is already watched, GCM_ENOMEM when the table is full or memory is out,
 * or a gcm_capture_open code with errno set. */
static int proc_add(export_state *st, const char *path)
{
    export_proc *p = NULL;
    struct stat sb;
    int status = GCM_EIO;

    if (lstat(path, &sb) != 0)
        goto done;
    for (size_t i = 0; i < st->gone_count; i++) {
        if (st->gone[i].dev == sb.st_dev && st->gone[i].ino == sb.st_ino &&
            st->gone[i].ctime.tv_sec == sb.st_ctim.tv_sec &&
            st->gone[i].ctime.tv_nsec == sb.st_ctim.tv_nsec) {
            status = 1;
            goto done;
        }
    }
    for (size_t i = 0; i < st->proc_count; i++) {
        if (st->procs[i]->dev == sb.st_dev && st->procs[i]->ino == sb.st_ino) {
            status = 1;
            goto done;
        }
    }
    status = GCM_ENOMEM;
    if (st->proc_count >= EXPORT_MAX_PROCS) {
        st->skipped++;
        goto done;
    }
    if (strlen(path) >= sizeof p->path) {
        errno = ENAMETOOLONG;
        status = GCM_EIO;
        goto done;
    }
    p = calloc(1, sizeof *p);
    if (p == NULL)
        goto done;
    p->snap = malloc(sizeof *p->snap);
    if (p->snap == NULL)
        goto done;
    memcpy(p->path, path, strlen(path) + 1);
    p->dev = sb.st_dev;
    p->ino = sb.st_ino;
    status = gcm_capture_open(&p->cap, path);
    if (status != 0)
        goto done;
    p->child = is_child_of_watched(st, path);
    st->procs[st->proc_count++] = p;
    p = NULL;
    status = 0;
done:
    proc_free(p);
    return status;
}

static int has_magic(const char *word)
{
    return strpbrk(word, "*?[") != NULL;
}

/* Adds every capture a directory holds; other files are skipped.  Returns
 * the number of captures it holds (watched already or new), or -1 when the
 * directory cannot be read (errno set). */
static long scan_dir(export_state *st, const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char path[GCM_PATH_MAX];
    long found = 0;

    if (d == NULL)
        return -1;
    while ((ent = readdir(d)) != NULL) {
        int n;
        if (ent->d_name[0] == '.')
            continue;
        n = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (n < 0 || (size_t)n >= sizeof path)
            continue;
        {
            int rc = proc_add(st, path);
            found += rc == 0 || rc == 1;
        }
    }
    (void)closedir(d);
    return found;
}

/* Adds the captures matching `pattern`.  Returns how many captures it
 * matches (watched already or new). */
static long scan_glob(export_state *st, const char *pattern)
{
    glob_t g;
    long found = 0;

    memset(&g, 0, sizeof g);
    if (glob(pattern, 0, NULL, &g) != 0)
        goto done;
    for (size_t i = 0; i < g.gl_pathc; i++) {
        int rc = proc_add(st, g.gl_pathv[i]);
        found += rc == 0 || rc == 1;
    }
done:
    globfree(&g);
    return found;
}

/* Adds the FILE.<pid> captures of children beside every watched capture. */
static void scan_children(export_state *st)
{
    size_t count = st->proc_count;

    for (size_t i = 0; i < count; i++) {
        char pattern[GCM_PATH_MAX + 8];
        glob_t g;
        const char *path = st->procs[i]->path;

        if (st->procs[i]->child)
            continue;
        if (snprintf(pattern, sizeof pattern, "%s.[0-9]*", path) >= (int)sizeof pattern)
            continue;
        memset(&g, 0, sizeof g);
        if (glob(pattern, GLOB_NOESCAPE, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                if (gcm_capture_is_child_name(base_name(g.gl_pathv[k]), base_name(path)))
                    (void)proc_add(st, g.gl_pathv[k]);
            }
        }
        globfree(&g);
    }
}

int gcm__export_start(export_state *st, char *msg, size_t msg_size)
{
    char shown[GCM__SHOWN_MAX];
    char why[128];
    struct stat sb;
    int status = GCM_EINVAL;

    for (size_t i = 0; i < st->arg_count; i++) {
        const char *arg = st->args[i];
        if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            long n = scan_dir(st, arg);
            if (n < 0) {
                (void)snprintf(msg, msg_size, "cannot read directory '%s': %s",
                               gcm__subject(shown, arg), gcm__errno_text(errno, why, sizeof why));
                goto done;
            }
            if (n == 0) {
                (void)snprintf(msg, msg_size, "directory '%s' holds no pygcprofiler capture",
                               gcm__subject(shown, arg));
                goto done;
            }
        } else if (has_magic(arg) && lstat(arg, &sb) != 0) {
            if (scan_glob(st, arg) == 0) {
                (void)snprintf(msg, msg_size, "no pygcprofiler capture matches '%s'",
                               gcm__subject(shown, arg));
                goto done;
            }
        } else {
            int rc = proc_add(st, arg);
            if (rc == GCM_ENOMEM) {
                (void)snprintf(msg, msg_size, "too many captures: at most %d are watched",
                               EXPORT_MAX_PROCS);
                goto done;
            }
            if (rc != 0 && rc != 1) {
                gcm_capture_open_error(arg, rc, errno, msg, msg_size);
                goto done;
            }
        }
    }
    scan_children(st);
    status = 0;
done:
    return status;
}

/* Takes the snapshot of one process for this scrape, and drops it when it
 * ended longer ago than `keep_ns`. */
static void proc_refresh(export_proc *p, uint64_t keep_ns, int64_t now_ns)
{
    int gone = 0;
    int rc;
    gcm_summary sum;

    p->have_snap = 0;
    if (p->dropped)
        return;
    rc = gcm_capture_snapshot(&p->cap, p->snap, 1, &gone);
    if (rc != 0 && rc != GCM_EBUSY)
        return;
    if (p->snap->state != GCM_STATE_RUNNING && p->snap->end_realtime_ns > 0 &&
        now_ns - p->snap->end_realtime_ns > (int64_t)keep_ns) {
        p->dropped = 1;
        return;
    }
    if (gcm_summarize(p->snap, &sum) != 0)
        return;
    if (p->have_prev && sum.wall_ns > p->prev_wall_ns && sum.gc_ns >= p->prev_gc_ns)
        p->share = (double)(sum.gc_ns - p->prev_gc_ns) / (double)(sum.wall_ns - p->prev_wall_ns);
    else if (!p->have_prev && sum.wall_ns > 0)
        p->share = (double)sum.gc_ns / (double)sum.wall_ns;
    /* An ended process keeps the share of its last interval. */
    if (sum.wall_ns > p->prev_wall_ns || !p->have_prev) {
        p->prev_gc_ns = sum.gc_ns;
        p->prev_wall_ns = sum.wall_ns;
        p->have_prev = 1;
    }
    p->have_snap = 1;
}

/* Takes the dropped processes out of the table, remembering their files so
 * that the next scan does not open them again.  Without memory for that, a
 * process stays in the table (unshown) rather than being read anew. */
static void drop_ended(export_state *st)
{
    size_t kept = 0;

    for (size_t i = 0; i < st->proc_count; i++) {
        export_proc *p = st->procs[i];
        if (p->dropped && st->gone_count == st->gone_cap) {
            size_t want = st->gone_cap * 2 + 64;
            struct export_gone *grown = realloc(st->gone, want * sizeof *grown);
            if (grown != NULL) {
                st->gone = grown;
                st->gone_cap = want;
            }
        }
        if (p->dropped && st->gone_count < st->gone_cap) {
            struct stat sb;
            memset(&st->gone[st->gone_count], 0, sizeof st->gone[0]);
            st->gone[st->gone_count].dev = p->dev;
            st->gone[st->gone_count].ino = p->ino;
            if (lstat(p->path, &sb) == 0 && sb.st_dev == p->dev && sb.st_ino == p->ino)
                st->gone[st->gone_count].ctime = sb.st_ctim;
            st->gone_count++;
            proc_free(p);
            continue;
        }
        st->procs[kept++] = p;
    }
    for (size_t i = kept; i < st->proc_count; i++)
        st->procs[i] = NULL;
    st->proc_count = kept;
}

void gcm__export_refresh(export_state *st)
{
    int64_t now_ns = gcm_clock_realtime_ns();
    struct stat sb;

    st->skipped = 0;
    for (size_t i = 0; i < st->arg_count; i++) {
        const char *arg = st->args[i];
        if (stat(arg, &sb) == 0 && S_ISDIR(sb.st_mode))
            (void)scan_dir(st, arg);
        else if (has_magic(arg))
            (void)scan_glob(st, arg);
    }
    scan_children(st);
    for (size_t i = 0; i < st->proc_count; i++)
        proc_refresh(st->procs[i], st->keep_ns, now_ns);
    drop_ended(st);
}

/* Writes the labels that name process `p` (and `extra`, "" for none). */
static void labels(export_buf *out, const export_proc *p, const char *extra)
{
    char name[GCM__SHOWN_MAX];
    size_t n = 0;

    /* The capture's file name, with '"' and '\' escaped as the format asks. */
    for (const char *c = base_name(p->path); *c != '\0' && n + 3 < sizeof name; c++) {
        if (*c == '"' || *c == '\\')
            name[n++] = '\\';
        name[n++] = (*c == '\n') ? ' ' : *c;
    }
    name[n] = '\0';
    gcm__export_printf(out, "{pid=\"%lld\",role=\"%s\",capture=\"%s\"%s%s}",
                       (long long)p->snap->pid, p->child ? "child" : "main", name,
                       extra[0] != '\0' ? "," : "", extra);
}

static void family(export_buf *out, const char *name, const char *type, const char *help)
{
    gcm__export_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Which per-generation figure a counter family shows. */
enum { FIG_COUNT, FIG_COLLECTED, FIG_UNCOLLECTABLE, FIG_TOTAL, FIG_MAX };

static void per_generation(const export_state *st, export_buf *out, const char *name, int fig)
{
    char extra[32];
    char secs[48];

    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        if (!p->have_snap)
            continue;
        for (int g = 0; g < GCM_GENERATIONS; g++) {
            const gcm_gen_snapshot *gs = &p->snap->gen[g];
            (void)snprintf(extra, sizeof extra, "generation=\"%s\"", gen_names[g]);
            gcm__export_printf(out, "%s", name);
            labels(out, p, extra);
            switch (fig) {
            case FIG_COUNT:
                gcm__export_printf(out, " %llu\n", (unsigned long long)gs->count);
                break;
            case FIG_COLLECTED:
                gcm__export_printf(out, " %llu\n", (unsigned long long)gs->collected);
                break;
            case FIG_UNCOLLECTABLE:
                gcm__export_printf(out, " %llu\n", (unsigned long long)gs->uncollectable);
                break;
            case FIG_TOTAL:
                seconds_text(gs->total_ns, secs, sizeof secs);
                gcm__export_printf(out, " %s\n", secs);
                break;
            default:
                seconds_text(gs->max_ns, secs, sizeof secs);
                gcm__export_printf(out, " %s\n", secs);
                break;
            }
        }
    }
}

static void histograms(const export_state *st, export_buf *out)
{
    static const char name[] = "pygcprofiler_gc_pause_seconds";
    char extra[96];
    char secs[48];

    family(out, name, "histogram",
           "Garbage collection pauses, per generation, from the exact histogram of every pause.");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        if (!p->have_snap)
            continue;
        for (int g = 0; g < GCM_GENERATIONS; g++) {
            const gcm_gen_snapshot *gs = &p->snap->gen[g];
            uint64_t cumulative[GCM_METRIC_BUCKETS];
            uint64_t all = gcm_metric_buckets(gs, cumulative);

            for (uint32_t b = 0; b < GCM_METRIC_BUCKETS; b++) {
                seconds_text(gcm_metric_bound_ns(b), secs, sizeof secs);
                (void)snprintf(extra, sizeof extra, "generation=\"%s\",le=\"%s\"", gen_names[g],
                               secs);
                gcm__export_printf(out, "%s_bucket", name);
                labels(out, p, extra);
                gcm__export_printf(out, " %llu\n", (unsigned long long)cumulative[b]);
            }
            (void)snprintf(extra, sizeof extra, "generation=\"%s\",le=\"+Inf\"", gen_names[g]);
            gcm__export_printf(out, "%s_bucket", name);
            labels(out, p, extra);
            gcm__export_printf(out, " %llu\n", (unsigned long long)all);
            (void)snprintf(extra, sizeof extra, "generation=\"%s\"", gen_names[g]);
            seconds_text(gs->total_ns, secs, sizeof secs);
            gcm__export_printf(out, "%s_sum", name);
            labels(out, p, extra);
            gcm__export_printf(out, " %s\n%s_count", secs, name);
            labels(out, p, extra);
            gcm__export_printf(out, " %llu\n", (unsigned long long)all);
        }
    }
}

static void causes(const export_state *st, export_buf *out)
{
    static const char name[] = "pygcprofiler_gc_collections_by_cause_total";
    char extra[96];

    family(out, name, "counter",
           "Garbage collections by cause (automatic, explicit, shutdown), per generation.");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        if (!p->have_snap || !p->snap->causes_known)
            continue;
        for (uint32_t c = 0; c < GCM_CAUSES; c++) {
            const char *cause = gcm_cause_name(c);
            if (cause == NULL)
                continue;
            for (int g = 0; g < GCM_GENERATIONS; g++) {
                (void)snprintf(extra, sizeof extra, "generation=\"%s\",cause=\"%s\"", gen_names[g],
                               cause);
                gcm__export_printf(out, "%s", name);
                labels(out, p, extra);
                gcm__export_printf(out, " %llu\n",
                                   (unsigned long long)p->snap->cause[c].gen_count[g]);
            }
        }
    }
}

/* The per-request GC time of the web middlewares (gc_monitor.asgi,
 * gc_monitor.wsgi), for every capture of layout version 3 on: zeros where
 * no middleware ran, so a counter exists from the process's start. */
static void requests(const export_state *st, export_buf *out)
{
    static const char name[] = "pygcprofiler_request_gc_seconds";
    static const char full[] = "pygcprofiler_requests_full_collection_total";
    char extra[64];
    char secs[48];

    family(out, name, "histogram",
           "GC pause time while each request was in flight (gc_monitor.asgi, gc_monitor.wsgi).");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        const gcm_gen_snapshot *q;
        uint64_t cumulative[GCM_METRIC_BUCKETS];
        uint64_t all;

        if (!p->have_snap || p->snap->layout_version < 3u)
            continue;
        q = &p->snap->requests;
        all = gcm_metric_buckets(q, cumulative);
        for (uint32_t b = 0; b < GCM_METRIC_BUCKETS; b++) {
            seconds_text(gcm_metric_bound_ns(b), secs, sizeof secs);
            (void)snprintf(extra, sizeof extra, "le=\"%s\"", secs);
            gcm__export_printf(out, "%s_bucket", name);
            labels(out, p, extra);
            gcm__export_printf(out, " %llu\n", (unsigned long long)cumulative[b]);
        }
        gcm__export_printf(out, "%s_bucket", name);
        labels(out, p, "le=\"+Inf\"");
        gcm__export_printf(out, " %llu\n", (unsigned long long)all);
        seconds_text(q->total_ns, secs, sizeof secs);
        gcm__export_printf(out, "%s_sum", name);
        labels(out, p, "");
        gcm__export_printf(out, " %s\n%s_count", secs, name);
        labels(out, p, "");
        gcm__export_printf(out, " %llu\n", (unsigned long long)all);
    }
    family(out, full, "counter", "Requests during which a full (generation 2) collection ran.");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];

        if (!p->have_snap || p->snap->layout_version < 3u)
            continue;
        gcm__export_printf(out, "%s", full);
        labels(out, p, "");
        gcm__export_printf(out, " %llu\n", (unsigned long long)p->snap->requests_full);
    }
}

void gcm__export_metrics(const export_state *st, export_buf *out)
{
    family(out, "pygcprofiler_gc_collections_total", "counter",
           "Garbage collections, per generation.");
    per_generation(st, out, "pygcprofiler_gc_collections_total", FIG_COUNT);
    family(out, "pygcprofiler_gc_collected_objects_total", "counter",
           "Objects the collections freed, per generation.");
    per_generation(st, out, "pygcprofiler_gc_collected_objects_total", FIG_COLLECTED);
    family(out, "pygcprofiler_gc_uncollectable_objects_total", "counter",
           "Uncollectable objects the collections found, per generation.");
    per_generation(st, out, "pygcprofiler_gc_uncollectable_objects_total", FIG_UNCOLLECTABLE);
    family(out, "pygcprofiler_gc_pause_time_seconds_total", "counter",
           "Time spent in garbage collection pauses, per generation.");
    per_generation(st, out, "pygcprofiler_gc_pause_time_seconds_total", FIG_TOTAL);
    family(out, "pygcprofiler_gc_pause_max_seconds", "gauge",
           "The longest pause since the process started, per generation.");
    per_generation(st, out, "pygcprofiler_gc_pause_max_seconds", FIG_MAX);
    histograms(st, out);
    causes(st, out);
    family(out, "pygcprofiler_gc_share_ratio", "gauge",
           "Share of wall time spent in garbage collection since the previous scrape.");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        if (!p->have_snap)
            continue;
        gcm__export_printf(out, "pygcprofiler_gc_share_ratio");
        labels(out, p, "");
        gcm__export_printf(out, " %.9g\n", p->share);
    }
    family(out, "pygcprofiler_process_running", "gauge",
           "1 while the process runs, 0 once it ended (shown until --keep-ended runs out).");
    for (size_t i = 0; i < st->proc_count; i++) {
        const export_proc *p = st->procs[i];
        if (!p->have_snap)
            continue;
        gcm__export_printf(out, "pygcprofiler_process_running");
        labels(out, p, "");
        gcm__export_printf(out, " %d\n", p->snap->state == GCM_STATE_RUNNING);
    }
    requests(st, out);
    family(out, "pygcprofiler_export_captures_skipped", "gauge",
           "Captures found at this scrape but not watched because the table was full.");
    gcm__export_printf(out, "pygcprofiler_export_captures_skipped %llu\n",
                       (unsigned long long)st->skipped);
}

void gcm__export_free(export_state *st)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        proc_free(st->procs[i]);
        st->procs[i] = NULL;
    }
    st->proc_count = 0;
    free(st->gone);
    st->gone = NULL;
    st->gone_count = st->gone_cap = 0;
}
