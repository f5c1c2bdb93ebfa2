/* src/capture/tree.c: the process tree of `pygcprofiler report FILE FILE...`.
 *
 * A program run with `-o FILE` leaves one capture per process: FILE for the
 * process the launcher started, FILE.<pid> (or FILE.<pid>.<n>) for each fork
 * child and, with --follow-children, for each interpreter it started.  Given
 * several captures, `report` orders them parents first (by the pid and parent
 * pid each capture records), writes one table of the processes and totals
 * across the tree, and then each process's own section (report.c).  In
 * JSON the sections come first and one {"type": "tree"} object last, so a
 * reader that wants the tree finds it at the end of the stream.
 *
 * The captures are untrusted input like any other: they are read only through
 * gcm_capture_open and gcm_capture_snapshot, and their metadata only through
 * the bounded copies of capture.h.  Nothing here prints except to the
 * descriptor it is given.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/reader.h"
#include "report/report_internal.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "gc_monitor/stats.h"

/* The command column is cut to this many bytes; the section says it whole. */
#define COMMAND_MAX 512

/* One capture's figures for the table and the tree object. */
typedef struct proc {
    const char *file;
    int64_t pid;
    int64_t ppid;
    int64_t start_ns; /* CLOCK_REALTIME when its recording started */
    uint32_t state;   /* GCM_STATE_* as resolved by the reader */
    int32_t exit_status;
    int torn;
    gcm_summary sum;
    char command[COMMAND_MAX];
    size_t parent; /* index of the parent in the array, or SIZE_MAX */
    size_t depth;
    gcm_capture cap; /* kept open for the process's own section */
    int verdict;     /* GCM_VERDICT_* of its section, by judge() */
    char why[GCM__LINE_CAP + 1];
} proc;

/* Reads one capture into `p`, which keeps it open (the caller closes
 * p->cap, also on failure), and adds its pauses to `all`.  Returns 0 or a
 * negative GCM_E* code (the caller has already opened each file once, so a
 * failure here means it changed in between). */
static int load_proc(const char *file, proc *p, gcm_gen_snapshot *all, gcm_cause_totals *causes)
{
    static char meta[GCM_META_SIZE + 1];
    gcm_capture *cap = &p->cap;
    gcm_snapshot *snap = NULL;
    int gone = 0;
    int rc;
    int status;

    memset(p, 0, sizeof *p);
    p->file = file;
    p->parent = SIZE_MAX;
    snap = malloc(sizeof *snap);
    if (snap == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    status = gcm_capture_open(cap, file);
    if (status != 0)
        goto done;
    rc = gcm_capture_snapshot(cap, snap, 1, &gone);
    if (rc != 0 && rc != GCM_EBUSY) {
        status = rc;
        goto done;
    }
    p->torn = rc == GCM_EBUSY || snap->torn;
    (void)gcm_summarize(snap, &p->sum);
    p->pid = snap->pid;
    p->ppid = snap->ppid;
    p->start_ns = snap->init_realtime_ns;
    p->state = snap->state;
    p->exit_status = snap->exit_status;
    gcm_capture_meta_copy(cap->block, meta, sizeof meta);
    (void)gcm_capture_meta_get(meta, "command", p->command, sizeof p->command);

    /* Summing the histograms gives the tree's percentiles, as if every
     * pause had been recorded by one process. */
    gcm_gen_snapshot_add(all, &snap->all);
    gcm_cause_totals_add(causes, snap);
    status = 0;
done:
    free(snap);
    return status;
}

/* The pause budget the run of `meta` recorded (its --slo-ms), 0 for none. */
static double recorded_slo(const char *meta)
{
    static char options[GCM_META_SIZE + 1];
    gcm_config cfg;
    const char *at;
    char value[32];
    size_t len;

    if (gcm_capture_meta_get(meta, "options", options, sizeof options) != 0)
        return 0.0;
    at = strstr(options, "slo-ms=");
    if (at == NULL || (at != options && at[-1] != ';'))
        return 0.0;
    at += strlen("slo-ms=");
    len = strcspn(at, ";");
    if (len >= sizeof value)
        return 0.0;
    memcpy(value, at, len);
    value[len] = '\0';
    gcm_config_init(&cfg);
    if (gcm_config_set_name(&cfg, "slo-ms", value, NULL) != 0)
        return 0.0;
    return cfg.slo_ms;
}

/* Sets p->verdict and p->why as the process's own section judges it: from
 * its aggregates and the ring records its file holds (as report.c reads
 * them), with the pause budget `slo_ms` given to `report`, else the one
 * its run recorded.  What cannot be read leaves NOT ENOUGH DATA. */
static void judge(proc *p, double slo_ms)
{
    static char meta[GCM_META_SIZE + 1];
    const gcm_capture *cap = &p->cap;
    gcm_snapshot *snap = malloc(sizeof *snap);
    gcm_event *events = NULL;
    gcm_report_input in;
    gcm_config cfg;
    gcm_summary sum;
    gcm__verdict v;
    uint64_t want, first = 0;
    size_t count = 0, kept = 0;
    int gone = 0;
    int rc;

    p->verdict = GCM_VERDICT_NOT_ENOUGH_DATA;
    p->why[0] = '\0';
    if (snap == NULL)
        goto done;
    rc = gcm_capture_snapshot(cap, snap, 1, &gone);
    if ((rc != 0 && rc != GCM_EBUSY) || gcm_summarize(snap, &sum) != 0)
        goto done;
    want = snap->events_total < snap->capacity ? snap->events_total : snap->capacity;
    if (!cap->writable && cap->held_slots < want)
        want = cap->held_slots;
    if (want > GCM_READER_MAX_EVENTS)
        want = GCM_READER_MAX_EVENTS;
    events = want > 0 ? malloc((size_t)want * sizeof *events) : NULL;
    if (events != NULL) {
        (void)gcm_block_copy_events(cap->block, events, (size_t)want, &count, &first);
        /* Records of no generation come only from a damaged file. */
        for (size_t i = 0; i < count; i++)
            if (events[i].generation < GCM_GENERATIONS)
                events[kept++] = events[i];
    }
    gcm_config_init(&cfg);
    gcm_capture_meta_copy(cap->block, meta, sizeof meta);
    cfg.slo_ms = slo_ms > 0.0 ? slo_ms : recorded_slo(meta);
    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = kept;
    in.first_event_index = first;
    in.config = &cfg;
    gcm__verdict_compute(&in, &sum, &v);
    p->verdict = v.level;
    memcpy(p->why, v.why.buf, v.why.len);
    p->why[v.why.len] = '\0';
done:
    free(events);
    free(snap);
}

/* Links each process to its parent among the captures: the latest-started
 * capture of that pid that started before it, since a pid may come back.
 * Quadratic, but trees have tens of processes. */
static void link_tree(proc *procs, size_t count)
{
    size_t i;
    size_t j;

    for (i = 0; i < count; i++) {
        for (j = 0; j < count; j++) {
            if (j == i || procs[j].pid != procs[i].ppid || procs[j].start_ns > procs[i].start_ns)
                continue;
            if (procs[i].parent == SIZE_MAX || procs[j].start_ns > procs[procs[i].parent].start_ns)
                procs[i].parent = j;
        }
        /* A process that exec'd keeps its pid: its later capture
         * (FILE.<pid>.<n>) hangs below the earlier one. */
        for (j = 0; j < count; j++) {
            if (j != i && procs[j].pid == procs[i].pid && procs[j].start_ns < procs[i].start_ns &&
                (procs[i].parent == SIZE_MAX || procs[i].parent == j ||
                 procs[j].start_ns > procs[procs[i].parent].start_ns))
                procs[i].parent = j;
        }
    }
}

/* Appends the subtree of `at` to `order`, children by start time. */
static void walk(const proc *procs, size_t count, size_t at, size_t *order, size_t *n,
                 unsigned char *seen)
{
    size_t next;

    if (seen[at])
        return;
    seen[at] = 1;
    order[(*n)++] = at;
    for (;;) {
        next = SIZE_MAX;
        for (size_t j = 0; j < count; j++) {
            if (seen[j] || procs[j].parent != at)
                continue;
            if (next == SIZE_MAX || procs[j].start_ns < procs[next].start_ns)
                next = j;
        }
        if (next == SIZE_MAX)
            break;
        walk(procs, count, next, order, n, seen);
    }
}

/* Puts `procs` in tree order: each root (a process whose parent has no
 * capture) by start time, each followed by its subtree. */
static int order_tree(proc *procs, size_t count)
{
    /* At least one element each: calloc(0) may return NULL, which would read
     * as running out of memory. */
    size_t room = count > 0 ? count : 1;
    size_t *order = calloc(room, sizeof *order);
    size_t *pos = calloc(room, sizeof *pos);
    unsigned char *seen = calloc(room, 1);
    proc *copy = malloc(room * sizeof *copy);
    size_t n = 0;
    size_t i;
    int status = GCM_ENOMEM;

    if (order == NULL || pos == NULL || seen == NULL || copy == NULL)
        goto done;
    link_tree(procs, count);
    while (n < count) {
        size_t root = SIZE_MAX;

        for (i = 0; i < count; i++) {
            if (!seen[i] && procs[i].parent == SIZE_MAX &&
                (root == SIZE_MAX || procs[i].start_ns < procs[root].start_ns))
                root = i;
        }
        /* Only a cycle (hostile pids) is left without a root: its earliest
         * member stands in for one. */
        for (i = 0; root == SIZE_MAX && i < count; i++) {
            if (!seen[i])
                root = i;
        }
        walk(procs, count, root, order, &n, seen);
    }
    memcpy(copy, procs, count * sizeof *copy);
    /* `order` maps new positions to old ones, `pos` old ones to new. */
    for (i = 0; i < count; i++)
        pos[order[i]] = i;
    for (i = 0; i < count; i++) {
        procs[i] = copy[order[i]];
        if (procs[i].parent != SIZE_MAX)
            procs[i].parent = pos[procs[i].parent];
    }
    /* In tree order every parent comes before its children, except around
     * a cycle (hostile pids): the member listed first becomes a root, so
     * the table and the JSON always describe a tree. */
    for (i = 0; i < count; i++) {
        if (procs[i].parent != SIZE_MAX && procs[i].parent >= i)
            procs[i].parent = SIZE_MAX;
        procs[i].depth = procs[i].parent == SIZE_MAX ? 0 : procs[procs[i].parent].depth + 1;
    }
    status = 0;
done:
    free(copy);
    free(seen);
    free(pos);
    free(order);
    return status;
}

/* Formats a duration in ns the way the reports do: ms below a second. */
static void fmt_duration(uint64_t ns, char *buf, size_t size)
{
    double ms = (double)ns / 1e6;

    if (ns == 0)
        (void)snprintf(buf, size, "-");
    else if (ms < 1000.0)
        (void)snprintf(buf, size, "%.3gms", ms);
    else
        (void)snprintf(buf, size, "%.3gs", ms / 1000.0);
}

/* How a process ended, in a few words. */
static void fmt_end(const proc *p, char *buf, size_t size)
{
    if (p->sum.events_total == 0 && p->state == GCM_STATE_RUNNING)
        (void)snprintf(buf, size, "recorded nothing (running)");
    else if (p->sum.events_total == 0 && p->state == GCM_STATE_GONE)
        (void)snprintf(buf, size, "recorded nothing");
    else if (p->state == GCM_STATE_GONE)
        /* Killed without a word, crashed, or os._exit without the
         * bootstrap's: the capture cannot tell them apart. */
        (void)snprintf(buf, size, "gone, no status");
    else
        gcm_capture_ending_text(p->state, p->exit_status, buf, size);
}

static const char *end_name(const proc *p)
{
    if (p->sum.events_total == 0 && (p->state == GCM_STATE_RUNNING || p->state == GCM_STATE_GONE))
        return "recorded_nothing";
    return gcm_capture_state_word(p->state);
}

static int put(int fd, const char *fmt_buf, int n, size_t size)
{
    if (n < 0)
        return GCM_EIO;
    return gcm__write_all(fd, fmt_buf, (size_t)n < size ? (size_t)n : size - 1);
}

/* Writes the text table: one row per process, indented by depth, then totals. */
static int write_text(int fd, const proc *procs, size_t count, const gcm_gen_snapshot *all,
                      uint64_t proc_ns)
{
    char line[COMMAND_MAX + 256];
    char life[32];
    char p99[32];
    char max[32];
    char gc[32];
    char ended[48];
    char pid[48];
    double share = proc_ns > 0 ? 100.0 * (double)all->total_ns / (double)proc_ns : 0.0;
    int status;
    int n;

    n = snprintf(line, sizeof line,
                 "=== PROCESS TREE: %zu processes ===\n"
                 "%-14s %8s %10s %11s %8s %9s %9s  %-18s %s\n",
                 count, "PID", "PPID", "LIFETIME", "COLLECTIONS", "GC SHARE", "P99", "MAX", "ENDED",
                 "COMMAND");
    status = put(fd, line, n, sizeof line);
    for (size_t i = 0; status == 0 && i < count; i++) {
        const proc *p = &procs[i];
        size_t indent = p->depth < 6 ? p->depth : 6;

        fmt_duration(p->sum.wall_ns, life, sizeof life);
        fmt_duration(p->sum.all.p99_ns, p99, sizeof p99);
        fmt_duration(p->sum.all.max_ns, max, sizeof max);
        fmt_end(p, ended, sizeof ended);
        (void)snprintf(pid, sizeof pid, "%*s%lld", (int)(2 * indent), "", (long long)p->pid);
        n = snprintf(line, sizeof line, "%-14s %8lld %10s %11llu %7.2f%% %9s %9s  %-18s %s\n", pid,
                     (long long)p->ppid, life, (unsigned long long)p->sum.events_total,
                     p->sum.share_pct, p99, max, ended,
                     p->command[0] != '\0' ? p->command : "(unknown)");
        status = put(fd, line, n, sizeof line);
    }
    if (status == 0) {
        fmt_duration(all->total_ns, gc, sizeof gc);
        fmt_duration(proc_ns, life, sizeof life);
        fmt_duration(gcm_percentile_ns(all, 0.99), p99, sizeof p99);
        fmt_duration(all->max_ns, max, sizeof max);
        n = snprintf(line, sizeof line,
                     "Totals across the tree: %llu collections, GC time %s of %s process time "
                     "(%.2f%%), p99 %s, max %s\n",
                     (unsigned long long)all->count, gc, life, share, p99, max);
        status = put(fd, line, n, sizeof line);
    }
    if (status == 0 && count > 0) {
        /* The worst verdict of the processes, the first in tree order among equals:
         * each section below has its own. */
        const proc *worst = &procs[0];
        for (size_t i = 1; i < count; i++)
            if (procs[i].verdict > worst->verdict)
                worst = &procs[i];
        n = snprintf(line, sizeof line, "Worst GC verdict in the tree: %s (pid %lld: %s)\n\n",
                     gcm_verdict_name(worst->verdict), (long long)worst->pid, worst->why);
        status = put(fd, line, n, sizeof line);
    } else if (status == 0) {
        status = put(fd, "\n", 1, 2);
    }
    return status;
}

/* The causes across the tree, one line under the totals, merged by cause
 * over every process that recorded them. */
static int write_causes_text(int fd, const gcm_cause_totals *causes)
{
    gcm_cause_summary sum[GCM_CAUSES];
    char line[512];
    size_t len;
    uint32_t c;
    int n;

    if (causes->known == 0) {
        n = snprintf(line, sizeof line,
                     "Causes across the tree: not recorded (these captures' format predates "
                     "them)\n");
        return put(fd, line, n, sizeof line);
    }
    gcm_cause_totals_summarize(causes, sum);
    n = snprintf(line, sizeof line, "Causes across the tree:");
    len = n > 0 ? (size_t)n : 0;
    for (c = 0; c < GCM_CAUSES && len < sizeof line; c++) {
        n = snprintf(line + len, sizeof line - len, "%s %s %llu (%.1f%% of GC time)",
                     c == 0 ? "" : ",", gcm_cause_name(c), (unsigned long long)sum[c].count,
                     sum[c].share_pct);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len < sizeof line && causes->known < causes->processes) {
        n = snprintf(line + len, sizeof line - len,
                     "; from the %llu of %llu processes whose captures record causes",
                     (unsigned long long)causes->known, (unsigned long long)causes->processes);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len < sizeof line) {
        n = snprintf(line + len, sizeof line - len, "\n");
        len += n > 0 ? (size_t)n : 0;
    }
    return put(fd, line, (int)len, sizeof line);
}

/* Milliseconds rounded half up to the microsecond, as every duration of
 * the JSON reports is (docs/json.md). */
static cJSON *add_ms(cJSON *obj, const char *key, uint64_t ns)
{
    uint64_t us = ns / 1000u + (ns % 1000u >= 500u ? 1u : 0u);
    return cJSON_AddNumberToObject(obj, key, (double)us / 1e3);
}

/* A percentage rounded half up to three decimals, as the summary's share. */
static cJSON *add_pct(cJSON *obj, const char *key, double pct)
{
    return cJSON_AddNumberToObject(obj, key, floor(pct * 1000.0 + 0.5) / 1000.0);
}

/* Adds "causes" to the tree's totals: the summary's object, over the
 * processes that recorded causes (null when none did), and
 * "causes_processes", how many those were. */
static int add_causes_json(cJSON *totals, const gcm_cause_totals *causes)
{
    gcm_summary sum;
    int status = -1;

    memset(&sum, 0, sizeof sum);
    sum.causes_known = causes->known > 0;
    if (sum.causes_known)
        gcm_cause_totals_summarize(causes, sum.cause);
    if (gcm__add_causes_json(totals, &sum) != 0 ||
        cJSON_AddNumberToObject(totals, "causes_processes", (double)causes->known) == NULL)
        goto done;
    status = 0;
done:
    return status;
}

/* Writes the {"type": "tree"} object as one JSON line.  Every addition is
 * checked: a tree missing a key for want of memory is no report. */
static int write_json(int fd, const proc *procs, size_t count, const gcm_gen_snapshot *all,
                      const gcm_cause_totals *causes, uint64_t proc_ns,
                      const gcm_stack_table *stacks)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *list;
    cJSON *totals;
    int status = GCM_ENOMEM;

    if (root == NULL)
        goto done;
    GCM__JSON_ADD(cJSON_AddStringToObject(root, "type", "tree"));
    GCM__JSON_ADD(cJSON_AddNumberToObject(root, "schema_version", GCM_JSON_SCHEMA_VERSION));
    GCM__JSON_ADD(list = cJSON_AddArrayToObject(root, "processes"));
    for (size_t i = 0; i < count; i++) {
        const proc *p = &procs[i];
        cJSON *obj = cJSON_CreateObject();
        cJSON *kids;
        char shown[4 * GCM_PATH_MAX];

        if (obj == NULL)
            goto done;
        if (!cJSON_AddItemToArray(list, obj)) {
            cJSON_Delete(obj);
            goto done;
        }
        /* The path is the user's bytes: U+FFFD for what is not UTF-8. */
        (void)gcm__copy_path_shown(shown, sizeof shown, p->file, 1);
        GCM__JSON_ADD(cJSON_AddStringToObject(obj, "file", shown));
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "pid", (double)p->pid));
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "ppid", (double)p->ppid));
        if (p->parent != SIZE_MAX)
            GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "parent_index", (double)p->parent));
        else
            GCM__JSON_ADD(cJSON_AddNullToObject(obj, "parent_index"));
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "depth", (double)p->depth));
        GCM__JSON_ADD(cJSON_AddStringToObject(obj, "command", p->command));
        GCM__JSON_ADD(cJSON_AddStringToObject(obj, "ended", end_name(p)));
        if (p->state == GCM_STATE_EXITED && p->exit_status != GCM_EXIT_STATUS_UNKNOWN)
            GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "exit_status", p->exit_status));
        else
            GCM__JSON_ADD(cJSON_AddNullToObject(obj, "exit_status"));
        if (p->state == GCM_STATE_KILLED)
            GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "signal", p->exit_status));
        else
            GCM__JSON_ADD(cJSON_AddNullToObject(obj, "signal"));
        GCM__JSON_ADD(gcm__json_add_unix_seconds(obj, "start_ts", p->start_ns));
        GCM__JSON_ADD(add_ms(obj, "lifetime_ms", p->sum.wall_ns));
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "collections", (double)p->sum.events_total));
        GCM__JSON_ADD(add_ms(obj, "gc_ms", p->sum.gc_ns));
        GCM__JSON_ADD(add_pct(obj, "share", p->sum.share_pct));
        GCM__JSON_ADD(add_ms(obj, "p99_ms", p->sum.all.p99_ns));
        GCM__JSON_ADD(add_ms(obj, "max_ms", p->sum.all.max_ns));
        GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "died_mid_record", p->torn));
        GCM__JSON_ADD(cJSON_AddStringToObject(obj, "verdict", gcm_verdict_name(p->verdict)));
        GCM__JSON_ADD(kids = cJSON_AddArrayToObject(obj, "children"));
        for (size_t j = 0; j < count; j++) {
            if (procs[j].parent == i &&
                !cJSON_AddItemToArray(kids, cJSON_CreateNumber((double)procs[j].pid)))
                goto done;
        }
    }
    GCM__JSON_ADD(totals = cJSON_AddObjectToObject(root, "totals"));
    GCM__JSON_ADD(cJSON_AddNumberToObject(totals, "processes", (double)count));
    GCM__JSON_ADD(cJSON_AddNumberToObject(totals, "collections", (double)all->count));
    GCM__JSON_ADD(add_ms(totals, "gc_ms", all->total_ns));
    GCM__JSON_ADD(add_ms(totals, "process_ms", proc_ns));
    GCM__JSON_ADD(add_pct(totals, "share",
                          proc_ns > 0 ? 100.0 * (double)all->total_ns / (double)proc_ns : 0.0));
    GCM__JSON_ADD(add_ms(totals, "p99_ms", gcm_percentile_ns(all, 0.99)));
    GCM__JSON_ADD(add_ms(totals, "max_ms", all->max_ns));
    GCM__JSON_ADD(cJSON_AddNumberToObject(totals, "collected", (double)all->collected));
    GCM__JSON_ADD(cJSON_AddNumberToObject(totals, "uncollectable", (double)all->uncollectable));
    if (add_causes_json(totals, causes) != 0)
        goto done;
    if (stacks != NULL) {
        cJSON *triggers;

        GCM__JSON_ADD(triggers = cJSON_AddObjectToObject(totals, "triggers"));
        if (gcm__triggers_json(stacks, triggers) != 0)
            goto done;
    } else {
        GCM__JSON_ADD(cJSON_AddNullToObject(totals, "triggers"));
    }
    status = gcm__write_json_line(fd, root);
done:
    cJSON_Delete(root);
    return status;
}

/* The captures of one tree, read once for the order, the table and each
 * process's section; each stays mapped until the tree is freed. */
struct gcm_capture_tree {
    proc *procs;
    size_t count;
    uint64_t proc_ns;        /* the processes' lifetimes summed */
    gcm_gen_snapshot all;    /* every process's pauses together */
    gcm_cause_totals causes; /* and their causes */
    gcm_stack_table *stacks; /* and their --stacks tables merged by call site, or NULL */
};

/* Merges the --stacks tables of the tree's captures (those that hold one
 * that passes the check; a damaged one is said in its own section) into
 * tree->stacks, big enough for every stack of every process.  Returns 0 or
 * GCM_ENOMEM. */
static int merge_stacks(gcm_capture_tree *tree)
{
    gcm_stack_table **tables = calloc(tree->count, sizeof(gcm_stack_table *));
    uint64_t entries = 1, sites = 1;
    uint32_t depth = 0;
    size_t size, i;
    int status = GCM_ENOMEM;

    if (tables == NULL)
        goto done;
    for (i = 0; i < tree->count; i++) {
        if (gcm_capture_stacks_copy(&tree->procs[i].cap, &tables[i]) != 0 || tables[i] == NULL)
            continue;
        entries += tables[i]->used;
        sites += tables[i]->sites_used;
        if (tables[i]->depth > depth)
            depth = tables[i]->depth;
    }
    status = 0;
    if (depth == 0)
        goto done;
    /* Past the largest table allowed, stacks go to the "other" row, and
     * names to "(unknown)": the totals stay exact. */
    entries = entries > (1u << 20) ? (1u << 20) : entries;
    sites = sites > (1u << 20) ? (1u << 20) : sites;
    status = GCM_ENOMEM;
    size = gcm_stacks_size((uint32_t)entries, depth, (uint32_t)sites);
    tree->stacks = size != 0 ? malloc(size) : NULL;
    if (tree->stacks == NULL ||
        gcm_stacks_init(tree->stacks, size, (uint32_t)entries, depth, (uint32_t)sites) != 0)
        goto done;
    for (i = 0; i < tree->count; i++) {
        if (tables[i] != NULL && gcm_stacks_merge(tree->stacks, tables[i]) != 0)
            goto done;
    }
    status = 0;
done:
    for (i = 0; tables != NULL && i < tree->count; i++)
        free(tables[i]);
    free(tables);
    return status;
}

int gcm_capture_tree_load(const char **files, size_t count, gcm_capture_tree **out)
{
    gcm_capture_tree *tree = calloc(1, sizeof *tree);
    int status = GCM_ENOMEM;
    size_t i;

    *out = NULL;
    if (tree == NULL)
        goto done;
    tree->procs = calloc(count > 0 ? count : 1, sizeof *tree->procs);
    if (tree->procs == NULL)
        goto done;
    tree->count = count;
    for (i = 0; i < count; i++) {
        status = load_proc(files[i], &tree->procs[i], &tree->all, &tree->causes);
        if (status != 0)
            goto done;
        tree->proc_ns += tree->procs[i].sum.wall_ns;
    }
    status = order_tree(tree->procs, count);
    if (status == 0)
        status = merge_stacks(tree);
    if (status != 0)
        goto done;
    for (i = 0; i < count; i++)
        files[i] = tree->procs[i].file;
    *out = tree;
    tree = NULL;
done:
    gcm_capture_tree_free(tree);
    return status;
}

const gcm_capture *gcm_capture_tree_capture(const gcm_capture_tree *tree, size_t index)
{
    return &tree->procs[index].cap;
}

int gcm_capture_tree_write(int fd, gcm_capture_tree *tree, double slo_ms, int json)
{
    int status;

    for (size_t i = 0; i < tree->count; i++)
        judge(&tree->procs[i], slo_ms);
    if (json)
        return write_json(fd, tree->procs, tree->count, &tree->all, &tree->causes, tree->proc_ns,
                          tree->stacks);
    status = write_text(fd, tree->procs, tree->count, &tree->all, tree->proc_ns);
    if (status == 0)
        status = write_causes_text(fd, &tree->causes);
    if (status == 0 && tree->stacks != NULL) {
        gcm_sink sink = {gcm_sink_write_fd, &fd};

        status = gcm__render_tree_triggers_text(tree->stacks, &sink);
    }
    if (status == 0)
        status = put(fd, "\n", 1, 2);
    return status;
}

void gcm_capture_tree_free(gcm_capture_tree *tree)
{
    if (tree == NULL)
        return;
    for (size_t i = 0; tree->procs != NULL && i < tree->count; i++)
        gcm_capture_close(&tree->procs[i].cap);
    free(tree->procs);
    free(tree->stacks);
    free(tree);
}
