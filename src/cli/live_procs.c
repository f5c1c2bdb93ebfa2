/* src/cli/live_procs.c: the processes `pygcprofiler live` watches.
 *
 * Each is a capture mapped read-only, with its latest snapshot and the one
 * before (for the interval columns); the FILE.<pid> captures of children
 * that appear beside a watched FILE are added as they come.  A PID argument
 * is resolved to the capture it writes (src/capture/find.c).
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
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "live.h"

void gcm__live_proc_free(live_proc *p)
{
    if (p == NULL)
        return;
    if (p->remote != NULL) {
        gcm__remote_stop(p->remote);
        free(p->remote);
    }
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
    gcm__live_proc_free(p);
    return status;
}

/* Adds the captures of children that appeared next to each watched FILE
 * since the last look.  A file that does not open yet (a child still
 * formatting it) is simply tried again at the next refresh. */
void gcm__live_scan_children(live_state *st)
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

/* Brings the block of a process read from outside up to date.  When the
 * process has ended, everything its reader wrote before it noticed is
 * taken first, then the block says the process is gone: an outside reader
 * never learns an exit status. */
static void remote_refresh(live_proc *p)
{
    int done = gcm__remote_pump(p->remote, p->cap.block, 0);

    if (!done && !gcm_capture_writer_alive(p->remote->pid, p->remote->start_ticks))
        done = gcm__remote_pump(p->remote, p->cap.block, 2000);
    if (done)
        gcm_block_set_state(p->cap.block, GCM_STATE_GONE, 0, gcm_clock_realtime_ns());
}

void gcm__live_pump(live_state *st)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        live_proc *p = st->procs[i];
        if (p->remote != NULL && p->remote->fd >= 0)
            (void)gcm__remote_pump(p->remote, p->cap.block, 0);
    }
}

int gcm__live_has_remote(const live_state *st)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        if (st->procs[i]->remote != NULL)
            return 1;
    }
    return 0;
}

/* Starts reading process `pid`, which has no capture, from outside
 * (remote.c) into a block in this process's memory.  Returns 0, or
 * GCM_EINVAL with one line in `msg`. */
static int remote_add(live_state *st, int64_t pid, char *msg, size_t msg_size)
{
    live_proc *p = NULL;
    int status = GCM_EINVAL;

    for (size_t i = 0; i < st->proc_count; i++) {
        if (st->procs[i]->remote != NULL && st->procs[i]->remote->pid == pid) {
            status = 0;
            goto done;
        }
    }
    if (st->proc_count >= LIVE_MAX_PROCS) {
        (void)snprintf(msg, msg_size, "cannot watch pid %lld: at most %d processes", (long long)pid,
                       LIVE_MAX_PROCS);
        goto done;
    }
    p = calloc(1, sizeof *p);
    if (p != NULL) {
        p->snap = malloc(sizeof *p->snap);
        p->remote = calloc(1, sizeof *p->remote);
    }
    if (p != NULL && p->remote != NULL) {
        /* Nothing to stop or close yet, whatever fails next. */
        p->remote->reader = -1;
        p->remote->fd = -1;
    }
    if (p == NULL || p->snap == NULL || p->remote == NULL) {
        (void)snprintf(msg, msg_size, "cannot watch pid %lld: out of memory", (long long)pid);
        goto done;
    }
    if (gcm__remote_start(p->remote, pid, msg, msg_size) != 0)
        goto done;
    if (gcm__remote_block(p->remote, NULL, &p->cap) != 0) {
        (void)snprintf(msg, msg_size, "cannot watch pid %lld: out of memory", (long long)pid);
        goto done;
    }
    (void)snprintf(p->path, sizeof p->path, "pid %lld from outside", (long long)pid);
    (void)snprintf(p->command, sizeof p->command, "%s", p->remote->command);
    (void)snprintf(p->version, sizeof p->version, "%s", p->remote->version);
    st->procs[st->proc_count++] = p;
    p = NULL;
    status = 0;
done:
    gcm__live_proc_free(p);
    return status;
}

/* The top line of the trigger table of a capture made with --stacks, from a
 * checked copy; a table that fails the check or is missing shows nothing. */
static void refresh_top_trigger(live_proc *p)
{
    gcm_stack_table *stacks = NULL;

    p->top_trigger[0] = '\0';
    if (gcm_capture_stacks_copy(&p->cap, &stacks) == 0 && stacks != NULL)
        (void)gcm_report_top_trigger(stacks, p->top_trigger, sizeof p->top_trigger,
                                     &p->top_trigger_count, &p->top_trigger_share);
    free(stacks);
}

/* Takes a new snapshot of one process, keeping the previous figures for the
 * interval columns.  A process that had already ended is not read again. */
void gcm__live_proc_refresh(live_proc *p)
{
    int gone = 0;
    int rc;
    size_t kept = 0;
    uint64_t first = 0;

    if (p->have_now && p->snap->state != GCM_STATE_RUNNING)
        return;
    if (p->remote != NULL)
        remote_refresh(p);
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
    refresh_top_trigger(p);
}

void gcm__live_interval_of(const live_proc *p, interval_figures *out)
{
    const gcm_summary *now = &p->now;
    const gcm_summary *prev = p->have_prev ? &p->prev : NULL;

    memset(out, 0, sizeof *out);
    /* Counters only grow; a difference that would go negative can only come
     * from a damaged file and is shown as 0. */
#define DIFF(field)                                                                                \
    (prev == NULL ? now->field : (now->field > prev->field ? now->field - prev->field : 0))
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
    /* The interval's longest pause, from the records: the aggregates keep
     * the run's maximum only.  The copy holds the newest LIVE_EVENTS
     * records, more than an interval has unless it collects over a
     * thousand times. */
    for (size_t i = p->event_count; i > 0; i--) {
        const gcm_event *e = &p->events[i - 1];

        if (prev != NULL && e->start_ns < p->prev_taken_ns)
            break;
        if (e->duration_ns > out->max_ns)
            out->max_ns = e->duration_ns;
    }
}

double gcm__live_per_second(uint64_t n, uint64_t ns)
{
    return ns > 0 ? (double)n * 1e9 / (double)ns : 0.0;
}

int gcm__live_all_ended(const live_state *st)
{
    for (size_t i = 0; i < st->proc_count; i++) {
        const live_proc *p = st->procs[i];
        if (!p->have_now || p->snap->state == GCM_STATE_RUNNING)
            return 0;
    }
    return 1;
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

/* Returns 1 when the file at `path` is empty or starts with a zero byte:
 * a capture its writer is still creating (gcm_capture_create makes the
 * file, allocates it, then formats the header). */
static int being_created(const char *path)
{
    unsigned char first = 0;
    ssize_t n;
    int fd = -1;

    /* The one input policy (src/base/files.c): only a regular file is read. */
    if (gcm__open_input(path, 0, &fd, NULL) != 0)
        return 0;
    n = gcm__read_full(fd, &first, 1);
    (void)close(fd);
    return n == 0 || (n == 1 && first == 0);
}

/* Returns 1 when a capture that could not be opened may still be on its
 * way: the file does not exist yet (`run -o F & live F` starts the reader
 * before python has created F) or is still being formatted. */
static int not_ready_yet(const char *path, int rc, int err)
{
    if (rc == GCM_EIO && err == ENOENT)
        return 1;
    return (rc == GCM_ETRUNCATED || rc == GCM_EBADMAGIC) && being_created(path);
}

/* Resolves one argument to a capture path and adds it (and remembers it as
 * a base whose children's captures are watched too). */
int gcm__live_add_target(live_state *st, const char *word, char *msg, size_t msg_size)
{
    char path[GCM_PATH_MAX];
    int err = 0;
    int64_t pid = 0;
    int rc;
    int status = GCM_EINVAL;

    if (is_pid_word(word, &pid)) {
        uint64_t ticks = 0;

        /* A live process without a capture of ours may still be read from
         * outside (CPython 3.15+, remote.c). */
        if (gcm_capture_find_pid(pid, path, sizeof path, msg, msg_size) != 0) {
            /* find.c's words: no capture mapped, or maps we may not read
             * (then the reader says what it needs); a deleted capture keeps
             * its own refusal. */
            if ((strncmp(msg, "no capture for pid", 18) == 0 ||
                 strncmp(msg, "cannot read the mappings", 24) == 0) &&
                gcm_capture_start_ticks(pid, &ticks) == 0 && gcm_capture_writer_alive(pid, ticks))
                status = remote_add(st, pid, msg, msg_size);
            goto done;
        }
    } else if (strlen(word) < sizeof path) {
        memcpy(path, word, strlen(word) + 1);
    } else {
        (void)snprintf(msg, msg_size, "path too long: '%.100s...'", word);
        goto done;
    }
    rc = proc_add(st, path);
    err = errno;
    /* `run -o F & live F` may find no F yet, or F before its header: wait
     * for it a little rather than refuse a capture that is a moment from
     * ready.  The bound is docs/live.md's. */
    for (int tries = 0; tries < CREATE_WAIT_TRIES && not_ready_yet(path, rc, err); tries++) {
        struct timespec pause = {0, CREATE_WAIT_NS};
        (void)nanosleep(&pause, NULL);
        rc = proc_add(st, path);
        err = errno;
    }
    if (rc < 0) {
        /* The same words as `report` for every capture it cannot read. */
        if (rc == GCM_ENOMEM)
            (void)snprintf(msg, msg_size,
                           "cannot watch '%s': at most %d processes, or out of memory", path,
                           LIVE_MAX_PROCS);
        else if (rc == GCM_ETRUNCATED && being_created(path))
            (void)snprintf(msg, msg_size, "capture '%s' is empty", path);
        else
            gcm_capture_open_error(path, rc, err, msg, msg_size);
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
