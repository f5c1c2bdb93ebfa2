/* src/capture/report.c: the report of one capture file.
 *
 * Renders a capture (pygcprofiler run -o FILE) with the same C renderers the
 * exit report uses, without Python: after a clean exit, while the writer
 * still runs (from a consistent snapshot), or after the writer was killed.
 * The report starts with what the capture says about its writer and how it
 * ended: "Capture ..." lines in text, one {"type": "capture"} object in
 * JSON; folded output, like the trace and speedscope files, has nothing but
 * its own lines.  With --stacks the capture's trigger table, copied and
 * checked, is part of the input.  Options the writer recorded
 * apply unless the request gives others; other alert or bucket limits are
 * recomputed from the histogram (reclassify.c) and the report says so.
 */
#include "gc_monitor/reader.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "report/report_internal.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* Space for the metadata text and for each value taken out of it. */
#define META_MAX (GCM_META_SIZE + 1)
#define VALUE_MAX 4096
#define WARNINGS_MAX 8

/* Everything the report found out beyond the renderers' input. */
typedef struct report_facts {
    int torn;
    int gone;
    int recomputed;  /* report-time limits differ from the recorded ones */
    int approximate; /* ... and some pause could not be placed exactly */
    uint64_t damaged_events;
    uint64_t recorded_alert_ns;
    int remote; /* recorded from outside (`watch`, metadata source=remote) */
    const char *warnings[WARNINGS_MAX];
    size_t warning_count;
} report_facts;

void gcm_capture_open_error(const char *file, int code, int err, char *msg, size_t msg_size)
{
    char why[128];
    struct stat st;
    /* The path as quoted: a very long one is cut there (ending in "..."),
     * so the reason after it always fits in the line. */
    char path[1024];

    gcm__copy_shown(path, sizeof path, file, strlen(file), GCM__SHOWN_UTF8);
    switch (code) {
    case GCM_EIO:
        (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", path,
                       gcm__path_error_text(path, err, why, sizeof why));
        break;
    case GCM_EBADMAGIC:
        (void)snprintf(msg, msg_size, "'%s' is not a pygcprofiler capture file", path);
        break;
    case GCM_ETRUNCATED:
        if (stat(file, &st) == 0 && st.st_size == 0)
            (void)snprintf(msg, msg_size, "capture '%s' is empty", path);
        else
            (void)snprintf(msg, msg_size, "capture '%s' is truncated: shorter than its header says",
                           path);
        break;
    case GCM_EVERSION:
        (void)snprintf(msg, msg_size,
                       "capture '%s' has a format version this pygcprofiler cannot read "
                       "(it reads layout versions %u to %u): use a newer pygcprofiler",
                       path, GCM_LAYOUT_VERSION_MIN, GCM_LAYOUT_VERSION);
        break;
    case GCM_EBYTEORDER:
        (void)snprintf(msg, msg_size,
                       "capture '%s' was written on a machine of the other byte order", path);
        break;
    default:
        (void)snprintf(msg, msg_size, "capture '%s' is corrupted: %s", path, gcm_strerror(code));
        break;
    }
}

/* Returns 1 when the request gives option `flag` itself. */
static int was_given(const gcm_capture_request *req, const char *flag)
{
    for (size_t i = 0; i < req->given_count; i++) {
        if (strcmp(req->given_flags[i], flag) == 0)
            return 1;
    }
    return 0;
}

/* Applies the recorded options (the writer's "options" metadata line) to
 * `cfg`, leaving out the paths, which name files of the recording run, and
 * --json, since the report's format is chosen here.  Returns 0, or
 * GCM_ECONFIG when the line is missing or cannot be read. */
static int apply_recorded(gcm_config *cfg, const char *meta)
{
    char recorded[VALUE_MAX];
    char kept[VALUE_MAX];
    size_t n = 0;
    const char *p = recorded;
    gcm_config tmp;
    int status = GCM_ECONFIG;

    if (gcm_capture_meta_get(meta, "options", recorded, sizeof recorded) != 0)
        goto done;
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char name[64];
        size_t name_len = eq != NULL ? (size_t)(eq - p) : len;
        const gcm_option *opt = NULL;

        if (name_len < sizeof name) {
            memcpy(name, p, name_len);
            name[name_len] = '\0';
            opt = gcm_config_find_in(name, GCM_SCOPE_CLI);
        }
        if (opt != NULL && opt->kind != GCM_OPT_PATH && strcmp(opt->flag, "json") != 0 &&
            n + len + 2 < sizeof kept) {
            if (n > 0)
                kept[n++] = ';';
            memcpy(kept + n, p, len);
            n += len;
        }
        p += len;
        if (*p == ';')
            p++;
    }
    kept[n] = '\0';
    if (gcm_config_decode(&tmp, kept, NULL) != 0)
        goto done;
    *cfg = tmp;
    status = 0;
done:
    return status;
}

/* Re-applies the options given on the command line over the recorded ones. */
static void apply_given(gcm_config *cfg, const gcm_capture_request *req)
{
    gcm_config tmp = *cfg;
    const gcm_config *src = req->given;

    for (size_t i = 0; i < req->given_count; i++) {
        const char *flag = req->given_flags[i];
        if (strcmp(flag, "interval") == 0)
            tmp.interval_s = src->interval_s;
        else if (strcmp(flag, "stats-only") == 0)
            tmp.stats_only = src->stats_only;
        else if (strcmp(flag, "alert-threshold-ms") == 0)
            tmp.alert_threshold_ms = src->alert_threshold_ms;
        else if (strcmp(flag, "slo-ms") == 0)
            tmp.slo_ms = src->slo_ms;
        else if (strcmp(flag, "flamegraph-file") == 0)
            memcpy(tmp.flamegraph_file, src->flamegraph_file, sizeof tmp.flamegraph_file);
        else if (strcmp(flag, "html-file") == 0)
            memcpy(tmp.html_file, src->html_file, sizeof tmp.html_file);
        else if (strcmp(flag, "flamegraph-bucket") == 0)
            tmp.flamegraph_bucket_s = src->flamegraph_bucket_s;
        else if (strcmp(flag, "terminal-flamegraph") == 0)
            tmp.terminal_flamegraph = src->terminal_flamegraph;
        else if (strcmp(flag, "terminal-flamegraph-width") == 0)
            tmp.terminal_flamegraph_width = src->terminal_flamegraph_width;
        else if (strcmp(flag, "terminal-flamegraph-color") == 0)
            tmp.terminal_flamegraph_color = src->terminal_flamegraph_color;
        else if (strcmp(flag, "duration-buckets") == 0) {
            tmp.bucket_count = src->bucket_count;
            memcpy(tmp.duration_buckets_ms, src->duration_buckets_ms,
                   sizeof tmp.duration_buckets_ms);
        } else if (strcmp(flag, "prompt") == 0)
            tmp.prompt = src->prompt;
    }
    *cfg = tmp;
}

/* Makes the snapshot's threshold and buckets agree with `cfg`: recomputed
 * from the histogram where the command line asked for other ones, and
 * otherwise written back into `cfg` as recorded, so that renderers reading
 * either one see the same limits. */
static void settle_limits(gcm_config *cfg, gcm_snapshot *snap, const gcm_capture_request *req,
                          report_facts *facts)
{
    gcm_block_params want;
    uint32_t i;
    int differs = 0;

    int alert_given = was_given(req, "alert-threshold-ms");
    int buckets_given = was_given(req, "duration-buckets");

    facts->recorded_alert_ns = snap->alert_threshold_ns;
    memset(&want, 0, sizeof want);
    if ((alert_given || buckets_given) && gcm_config_block_params(cfg, &want) == 0) {
        uint64_t threshold = alert_given ? want.alert_threshold_ns : snap->alert_threshold_ns;
        uint32_t count = buckets_given ? want.bucket_count : snap->bucket_count;
        const uint64_t *bounds = buckets_given ? want.bucket_bounds_ns : snap->bucket_bounds_ns;

        differs = threshold != snap->alert_threshold_ns || count != snap->bucket_count;
        for (i = 0; !differs && i < count; i++)
            differs = bounds[i] != snap->bucket_bounds_ns[i];
        if (differs) {
            uint64_t copy[GCM_MAX_BUCKETS];
            memcpy(copy, bounds, count * sizeof copy[0]);
            /* Refused only for bounds that are not increasing, which the
             * option parser and the block check both rule out. */
            if (gcm_capture_reclassify(snap, threshold, count, copy, &facts->approximate) == 0)
                facts->recomputed = 1;
        }
    }
    cfg->alert_threshold_ms = (double)snap->alert_threshold_ns / 1e6;
    cfg->bucket_count = snap->bucket_count;
    for (i = 0; i < GCM_MAX_BUCKETS; i++)
        cfg->duration_buckets_ms[i] =
            i < snap->bucket_count ? (double)snap->bucket_bounds_ns[i] / 1e6 : 0.0;
}

/* A decimal count of at most 19 digits (what the writer prints for a
 * uint64_t it got from gc.get_freeze_count()), else -1: the bytes may be
 * hostile. */
static int parse_count(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;
    int status = -1;

    for (i = 0; text[i] != '\0'; i++) {
        if (text[i] < '0' || text[i] > '9' || i >= 19)
            goto done;
        v = v * 10u + (uint64_t)(text[i] - '0');
    }
    if (i == 0)
        goto done;
    *out = v;
    status = 0;
done:
    return status;
}

/* The freeze count a writer keeps at its exit report (src/ext/report.c):
 * with it, the advice knows a program that froze, as the exit report
 * does.  Captures without it (killed before the report, or of earlier
 * writers) leave have_freeze_count 0, and so does a value that is not a
 * count.  The count may be below the baseline: gc.unfreeze(). */
static void read_freeze_count(const char *meta, gcm_report_input *in)
{
    char text[24];
    uint64_t now;
    uint64_t at_start;

    if (gcm_capture_meta_get(meta, "freeze_at_start", text, sizeof text) != 0 ||
        parse_count(text, &at_start) != 0)
        return;
    if (gcm_capture_meta_get(meta, "freeze_count", text, sizeof text) != 0 ||
        parse_count(text, &now) != 0)
        return;
    in->have_freeze_count = 1;
    in->freeze_count = now;
    in->freeze_at_start = at_start;
}

/* Drops records whose generation no renderer can index: only a damaged
 * file has them.  Returns how many were dropped. */
static uint64_t drop_damaged(gcm_event *events, size_t *count)
{
    size_t kept = 0;
    uint64_t dropped = 0;

    for (size_t i = 0; i < *count; i++) {
        if (events[i].generation < GCM_GENERATIONS)
            events[kept++] = events[i];
        else
            dropped++;
    }
    *count = kept;
    return dropped;
}

/* Formats Unix time `ns` as UTC "YYYY-MM-DD HH:MM:SS". */
static void format_utc(int64_t ns, char *buf, size_t size)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    if (ns <= 0 || gmtime_r(&secs, &tm) == NULL ||
        strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        (void)snprintf(buf, size, "an unknown time");
}

/* Writes the "Capture ..." lines of a text report to `fd`. */
static int write_text_head(int fd, const char *file, const gcm_snapshot *snap,
                           const report_facts *facts, const char *command, const char *version)
{
    char line[GCM_READER_MSG_MAX + VALUE_MAX];
    char when[64];
    int n;
    int status = 0;

    n = snprintf(line, sizeof line, "Capture: %s\nWriter: pid %lld (parent %lld), python %s\n",
                 file, (long long)snap->pid, (long long)snap->ppid,
                 version[0] != '\0' ? version : "unknown");
    if (n > 0)
        status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (status == 0 && command[0] != '\0') {
        n = snprintf(line, sizeof line, "Command: %s\n", command);
        if (n > 0)
            status =
                gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    format_utc(snap->end_realtime_ns, when, sizeof when);
    if (snap->state == GCM_STATE_EXITED && snap->exit_status == GCM_EXIT_STATUS_UNKNOWN)
        n = snprintf(line, sizeof line,
                     "State: exited by os._exit after its finalizers (status unknown) at %s\n",
                     when);
    else if (snap->state == GCM_STATE_EXITED)
        n = snprintf(line, sizeof line, "State: exited with status %d at %s\n",
                     (int)snap->exit_status, when);
    else if (snap->state == GCM_STATE_KILLED) {
        char ending[48];

        gcm_capture_ending_text(snap->state, snap->exit_status, ending, sizeof ending);
        n = snprintf(line, sizeof line, "State: reported, then %s at %s\n", ending, when);
    } else if (snap->state == GCM_STATE_GONE && facts->remote)
        n = snprintf(line, sizeof line,
                     "State: watched from outside until %s (no exit status is visible there)\n",
                     when);
    else if (snap->state == GCM_STATE_DETACHED)
        n = snprintf(line, sizeof line,
                     "State: detached at %s (recording stopped; the process ran on)\n", when);
    else if (snap->state == GCM_STATE_GONE)
        /* Only what leaves no chance to report ends here: a signal that
         * cannot be caught (a reloader's subprocess.call kills its child
         * with SIGKILL), os._exit, or a crash.  Naming them tells the user
         * which of their own commands did it. */
        n = snprintf(line, sizeof line,
                     "State: gone without a clean exit or a report (SIGKILL, os._exit or a "
                     "crash); last collection recorded at %s\n",
                     when);
    else
        n = snprintf(line, sizeof line, "State: running (a snapshot taken now)\n");
    if (status == 0 && n > 0)
        status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    for (size_t i = 0; status == 0 && i < facts->warning_count; i++) {
        n = snprintf(line, sizeof line, "Warning: %s\n", facts->warnings[i]);
        if (n > 0)
            status =
                gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    return status;
}

/* Writes the {"type": "capture"} object of a JSON report to `fd`. */
static int write_json_head(int fd, const char *file, const gcm_snapshot *snap,
                           const report_facts *facts, const char *command, const char *version)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *warnings = NULL;
    int status = GCM_ENOMEM;

    if (obj == NULL)
        goto done;
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "type", "capture"));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "schema_version", GCM_JSON_SCHEMA_VERSION));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "version", GCM_VERSION));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "file", file));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "layout_version", snap->layout_version));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "pid", (double)snap->pid));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "ppid", (double)snap->ppid));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "python_version", version));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "command", command));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "state", gcm_capture_state_word(snap->state)));
    if (snap->state == GCM_STATE_EXITED && snap->exit_status != GCM_EXIT_STATUS_UNKNOWN)
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "exit_status", snap->exit_status));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "exit_status"));
    if (snap->state == GCM_STATE_KILLED)
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "signal", snap->exit_status));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "signal"));
    if (snap->state != GCM_STATE_RUNNING && snap->end_realtime_ns > 0)
        GCM__JSON_ADD(gcm__json_add_unix_seconds(obj, "end_ts", (int64_t)snap->end_realtime_ns));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "end_ts"));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "died_mid_record", facts->torn));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "source", facts->remote ? "remote" : "inside"));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "missed_pauses", (double)snap->missed));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "recomputed", facts->recomputed));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "approximate", facts->approximate));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "recorded_alert_threshold_ms",
                                          (double)facts->recorded_alert_ns / 1e6));
    GCM__JSON_ADD(warnings = cJSON_AddArrayToObject(obj, "warnings"));
    for (size_t i = 0; i < facts->warning_count; i++) {
        if (!cJSON_AddItemToArray(warnings, cJSON_CreateString(facts->warnings[i])))
            goto done;
    }
    status = gcm__write_json_line(fd, obj);
done:
    cJSON_Delete(obj);
    return status;
}

static void add_warning(report_facts *facts, const char *text)
{
    if (facts->warning_count < WARNINGS_MAX)
        facts->warnings[facts->warning_count++] = text;
}

/* What one report needs besides the renderers' input, in one allocation:
 * the capture's figures and texts can be large, and nothing here may be
 * static, since a library may render two captures at once. */
typedef struct report_work {
    gcm_snapshot snap;
    gcm_config cfg;
    report_facts facts;
    char meta[META_MAX];
    char command[VALUE_MAX];
    char version[64];
    char build[512];
    char free_threaded[8];
    char damaged_text[128];
    char approx_text[256];
    char remote_text[384];
    char poll_ms[16];
    char limit_text[256];
    char shown_file[4 * GCM_PATH_MAX];
    gcm_event *events;       /* the retained collections copied out of the ring */
    gcm_stack_table *stacks; /* the checked copy of its --stacks table, or NULL */
    gcm_report_input in;     /* the renderers' input over the fields above */
} report_work;

/* How many of the ring's newest records a report copies: those the ring
 * retains (at most its capacity, at most the records ever written), cut to
 * the slots that lie in the file's data and to GCM_READER_MAX_EVENTS.  Says
 * in `why` (else "") when records the ring claims are left out. */
static uint64_t ring_records_to_copy(const gcm_capture *cap, const gcm_snapshot *snap, char *why,
                                     size_t why_size)
{
    uint64_t retained = snap->events_total < snap->capacity ? snap->events_total : snap->capacity;
    uint64_t want = retained;

    why[0] = '\0';
    if (!cap->writable && cap->held_slots < want) {
        want = cap->held_slots;
        (void)snprintf(why, why_size,
                       "the ring claims %llu collection records but the file holds data for "
                       "only %llu (a sparse file): only those were read",
                       (unsigned long long)retained, (unsigned long long)want);
    }
    if (want > GCM_READER_MAX_EVENTS) {
        want = GCM_READER_MAX_EVENTS;
        (void)snprintf(why, why_size,
                       "only the newest %llu of the %llu collections in the ring are shown "
                       "(a report reads at most %llu)",
                       (unsigned long long)want, (unsigned long long)retained,
                       (unsigned long long)GCM_READER_MAX_EVENTS);
    }
    return want;
}

static void problem_set(gcm_capture_problem *problem, int bad_input, int warning, const char *text)
{
    problem->bad_input = bad_input;
    problem->warning = warning;
    gcm__copy_cut(problem->text, sizeof problem->text, text);
}

/* Reads `cap` into a new report_work in *out: the snapshot, the retained
 * collections, the metadata and the options that apply, and the renderers'
 * input over them.  Returns 0, or a negative GCM_E* code with `problem`
 * saying why (*out NULL then).  Free it with work_free. */
static int prepare(const gcm_capture *cap, const gcm_capture_request *req, report_work **out,
                   gcm_capture_problem *problem)
{
    report_work *w = NULL;
    gcm_snapshot *snap;
    gcm_config *cfg;
    report_facts *facts;
    gcm_event *events = NULL;
    gcm_report_input in;
    size_t count = 0;
    uint64_t first = 0;
    uint64_t want;
    int status = GCM_ENOMEM;
    int rc;

    *out = NULL;
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        problem_set(problem, 0, 0, "out of memory");
        goto done;
    }
    snap = &w->snap;
    cfg = &w->cfg;
    facts = &w->facts;
    /* GCM_EBUSY still fills the snapshot: a writer that died holding the
     * sequence counter odd left one collection partly counted. */
    rc = gcm_capture_snapshot(cap, snap, 1, &facts->gone);
    if (rc != 0 && rc != GCM_EBUSY) {
        status = rc;
        problem_set(problem, 0, 0, gcm_strerror(rc));
        goto done;
    }
    facts->torn = rc == GCM_EBUSY || snap->torn;
    if (facts->torn)
        add_warning(facts, snap->state == GCM_STATE_RUNNING
                               ? "the writer is in the middle of recording a collection; its "
                                 "figures may be partly counted"
                               : "the writer died in the middle of recording a collection; "
                                 "that collection may be partly counted");

    /* Only the records the file really holds are copied: the newest ones
     * the ring retains, no more than the file's data (not its holes) can
     * hold, and no more than GCM_READER_MAX_EVENTS.  A header that claims a
     * huge ring in a sparse file costs nothing then; the summary comes
     * from the aggregates alone, whatever the ring holds. */
    want = ring_records_to_copy(cap, snap, w->limit_text, sizeof w->limit_text);
    if (w->limit_text[0] != '\0')
        add_warning(facts, w->limit_text);
    events = want > 0 ? malloc((size_t)want * sizeof *events) : NULL;
    if (events != NULL) {
        (void)gcm_block_copy_events(cap->block, events, (size_t)want, &count, &first);
        facts->damaged_events = drop_damaged(events, &count);
    } else if (want > 0) {
        add_warning(facts, "not enough memory to copy the collections: summary only");
    }
    if (facts->damaged_events > 0) {
        (void)snprintf(w->damaged_text, sizeof w->damaged_text,
                       "%llu damaged collection records were left out",
                       (unsigned long long)facts->damaged_events);
        add_warning(facts, w->damaged_text);
    }

    gcm_capture_meta_copy(cap->block, w->meta, sizeof w->meta);
    (void)gcm_capture_meta_get(w->meta, "command", w->command, sizeof w->command);
    (void)gcm_capture_meta_get(w->meta, "python_version", w->version, sizeof w->version);
    (void)gcm_capture_meta_get(w->meta, "python_build", w->build, sizeof w->build);
    (void)gcm_capture_meta_get(w->meta, "free_threaded", w->free_threaded, sizeof w->free_threaded);
    facts->remote = gcm_capture_meta_get(w->meta, "source", w->poll_ms, sizeof w->poll_ms) == 0 &&
                    strcmp(w->poll_ms, "remote") == 0;
    if (facts->remote) {
        /* What a capture read from outside cannot hold, said every time. */
        if (gcm_capture_meta_get(w->meta, "remote_poll_ms", w->poll_ms, sizeof w->poll_ms) != 0)
            (void)snprintf(w->poll_ms, sizeof w->poll_ms, "?");
        (void)snprintf(w->remote_text, sizeof w->remote_text,
                       "recorded from outside (CPython's _remote_debugging, polled every %s ms): "
                       "%llu collections left the interpreter's ring between two polls; they are "
                       "in the counts and pause totals, not in the percentiles, maximum, alerts "
                       "or the list of collections",
                       w->poll_ms, (unsigned long long)snap->missed);
        add_warning(facts, w->remote_text);
    }

    gcm_config_init(cfg);
    if (apply_recorded(cfg, w->meta) != 0) {
        gcm_config_init(cfg);
        add_warning(facts, "the recorded options cannot be read; defaults are used");
    }
    apply_given(cfg, req);
    cfg->json = req->format == GCM_CAPTURE_JSON;
    if (req->format == GCM_CAPTURE_TERMINAL)
        cfg->terminal_flamegraph = 1;
    settle_limits(cfg, snap, req, facts);
    if (facts->recomputed) {
        /* Said even when exact: the figures are not the recorded ones. */
        (void)snprintf(w->approx_text, sizeof w->approx_text,
                       "alert counts and duration buckets were recomputed from the histogram "
                       "for limits other than the recorded ones (alert threshold %.6g ms): %s",
                       (double)facts->recorded_alert_ns / 1e6,
                       facts->approximate ? "approximate"
                                          : "exact, every pause lies clearly on one side of "
                                            "the new limits");
        add_warning(facts, w->approx_text);
    }

    rc = gcm_capture_stacks_copy(cap, &w->stacks);
    if (rc == GCM_ENOMEM)
        add_warning(facts, "not enough memory to read the trigger table (--stacks): left out");
    else if (rc == GCM_ETRUNCATED)
        add_warning(facts, "the file ends before the trigger table (--stacks) its header names: "
                           "left out");
    else if (rc != 0)
        add_warning(facts, "the trigger table (--stacks) is damaged: left out");

    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = cfg;
    in.stacks = w->stacks;
    read_freeze_count(w->meta, &in);
    in.python_version = w->version[0] != '\0' ? w->version : NULL;
    in.python_build = w->build[0] != '\0' ? w->build : NULL;
    in.free_threaded = strcmp(w->free_threaded, "1") == 0;
    w->events = events;
    events = NULL;
    w->in = in;
    *out = w;
    w = NULL;
    status = 0;
done:
    free(events);
    if (w != NULL)
        free(w->stacks);
    free(w);
    return status;
}

static void work_free(report_work *w)
{
    if (w != NULL) {
        free(w->events);
        free(w->stacks);
    }
    free(w);
}

int gcm_capture_report(const gcm_capture *cap, const char *file, const gcm_capture_request *req,
                       int fd, gcm_capture_problem *problem)
{
    report_work *w = NULL;
    gcm_snapshot *snap;
    gcm_config *cfg;
    report_facts *facts;
    gcm_report_input in;
    int status;
    int rc;

    memset(problem, 0, sizeof *problem);
    status = prepare(cap, req, &w, problem);
    if (status != 0)
        goto done;
    snap = &w->snap;
    cfg = &w->cfg;
    facts = &w->facts;
    in = w->in;

    /* The capture's path is the user's bytes: shown escaped, never raw. */
    (void)gcm__copy_path_shown(w->shown_file, sizeof w->shown_file, file,
                               req->format == GCM_CAPTURE_JSON);
    switch (req->format) {
    case GCM_CAPTURE_JSON:
        rc = write_json_head(fd, w->shown_file, snap, facts, w->command, w->version);
        if (rc == 0)
            rc = gcm_report_render_fd(&in, fd);
        break;
    case GCM_CAPTURE_PERFETTO:
        /* The trace is one JSON object: nothing may come before it. */
        rc = gcm_trace_render_fd(&in, fd);
        break;
    case GCM_CAPTURE_SPEEDSCOPE:
        /* So is the speedscope file. */
        rc = gcm_speedscope_render_many_fd((const gcm_report_input *const[]){&in}, 1, fd);
        break;
    case GCM_CAPTURE_FOLDED:
        /* Stack lines only, as the trace: a "# " comment line is not
         * skipped by every flame graph tool, so the capture's facts are
         * left to the text report. */
        rc = gcm_flamegraph_render_fd(&in, fd);
        break;
    default:
        rc = write_text_head(fd, w->shown_file, snap, facts, w->command, w->version);
        if (rc == 0)
            rc = gcm_report_render_fd(&in, fd);
        break;
    }
    if (rc == 0 && cfg->flamegraph_file[0] != '\0') {
        rc = gcm_report_write_flamegraph(&in);
        if (rc != 0) {
            char why[160];
            int err = errno;

            status = rc;
            problem->bad_input = 1;
            (void)snprintf(problem->text, sizeof problem->text,
                           "cannot write '--flamegraph-file' '%s': %s", cfg->flamegraph_file,
                           rc == GCM_EIO
                               ? gcm__path_error_text(cfg->flamegraph_file, err, why, sizeof why)
                               : gcm_strerror(rc));
            goto done;
        }
    }
    if (rc == 0 && cfg->html_file[0] != '\0') {
        rc = gcm_report_write_html(&in);
        if (rc != 0) {
            char why[160];
            int err = errno;

            status = rc;
            problem->bad_input = 1;
            (void)snprintf(problem->text, sizeof problem->text,
                           "cannot write '--html-file' '%s': %s", cfg->html_file,
                           rc == GCM_EIO
                               ? gcm__path_error_text(cfg->html_file, err, why, sizeof why)
                               : gcm_strerror(rc));
            goto done;
        }
    }
    if (rc != 0) {
        /* The descriptor closed or full: the report could not be delivered. */
        status = rc;
        if (rc != GCM_EIO)
            problem_set(problem, 0, 1, gcm_strerror(rc));
        goto done;
    }
    status = 0;
done:
    work_free(w);
    return status;
}

/* The files made of several captures at once. */
typedef enum many_kind { MANY_TRACE, MANY_SPEEDSCOPE, MANY_HTML } many_kind;

/* Writes the page of `count` inputs to `path` by the one output policy
 * (src/base/files.c): a regular file there is replaced whole, atomically. */
static int write_html_file(const gcm_report_input *const *ins, size_t count, const char *path)
{
    gcm__output out;
    int status;

    status = gcm__create_output(&out, path, GCM__OUTPUT_REPLACE, O_WRONLY | O_CLOEXEC);
    if (status != 0)
        return status;
    status = gcm_html_render_many_fd(ins, count, out.fd);
    if (status == 0)
        status = gcm__output_commit(&out);
    else
        gcm__output_discard(&out);
    return status;
}

/* Reads every capture of `caps` and renders them together as `kind`: into
 * `fd`, or for MANY_HTML into the file `path`. */
static int render_many(const gcm_capture *const *caps, size_t count, const gcm_capture_request *req,
                       many_kind kind, int fd, const char *path, gcm_capture_problem *problem)
{
    report_work **works = NULL;
    const gcm_report_input **ins = NULL;
    int status = GCM_ENOMEM;

    works = calloc(count, sizeof(report_work *));
    ins = calloc(count, sizeof(const gcm_report_input *));
    if (works == NULL || ins == NULL) {
        problem_set(problem, 0, 0, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        status = prepare(caps[i], req, &works[i], problem);
        if (status != 0)
            goto done;
        ins[i] = &works[i]->in;
    }
    if (kind == MANY_HTML) {
        status = write_html_file(ins, count, path);
        if (status != 0) {
            char why[160];
            int err = errno;

            problem->bad_input = 1;
            (void)snprintf(problem->text, sizeof problem->text,
                           "cannot write '--html-file' '%s': %s", path,
                           status == GCM_EIO ? gcm__path_error_text(path, err, why, sizeof why)
                                             : gcm_strerror(status));
        }
        goto done;
    }
    status = kind == MANY_TRACE ? gcm_trace_render_many_fd(ins, count, fd)
                                : gcm_speedscope_render_many_fd(ins, count, fd);
    if (status != 0 && status != GCM_EIO)
        problem_set(problem, 0, 1, gcm_strerror(status));
done:
    for (size_t i = 0; works != NULL && i < count; i++)
        work_free(works[i]);
    free(works);
    free(ins);
    return status;
}

int gcm_capture_reports_render(const gcm_capture *const *caps, size_t count,
                               const gcm_capture_request *req, int fd, gcm_capture_problem *problem)
{
    memset(problem, 0, sizeof *problem);
    if (count == 0 ||
        (req->format != GCM_CAPTURE_PERFETTO && req->format != GCM_CAPTURE_SPEEDSCOPE)) {
        problem_set(problem, 0, 0, gcm_strerror(GCM_EINVAL));
        return GCM_EINVAL;
    }
    return render_many(caps, count, req,
                       req->format == GCM_CAPTURE_PERFETTO ? MANY_TRACE : MANY_SPEEDSCOPE, fd, NULL,
                       problem);
}

int gcm_capture_tree_html(const gcm_capture *const *caps, size_t count,
                          const gcm_capture_request *req, const char *path,
                          gcm_capture_problem *problem)
{
    memset(problem, 0, sizeof *problem);
    if (count == 0 || path == NULL || path[0] == '\0') {
        problem_set(problem, 0, 0, gcm_strerror(GCM_EINVAL));
        return GCM_EINVAL;
    }
    return render_many(caps, count, req, MANY_HTML, -1, path, problem);
}
