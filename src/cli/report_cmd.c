/* src/cli/report_cmd.c: `pygcprofiler report FILE [--format F] [options]`.
 *
 * Renders a capture file (pygcprofiler run -o FILE) with the same C
 * renderers the exit report uses, without starting Python: after a clean
 * exit, while the writer still runs (from a consistent snapshot), or after
 * the writer was killed.  The file is untrusted input: it is mapped
 * read-only, checked by gcm_block_check, and read only through the block's
 * snapshot and copy functions; anything that cannot be read gives one line
 * on stderr and exit 2, anything that can be partly read gives a report and
 * a warning.
 *
 * The report goes to stdout.  It starts with what the capture says about
 * its writer and how it ended: "Capture ..." lines in text, one
 * {"type": "capture"} object in JSON, "# " comment lines in folded output.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* Space for the metadata text and for each value taken out of it. */
#define META_MAX (GCM_META_SIZE + 1)
#define VALUE_MAX 4096
#define WARNINGS_MAX 8
#define FILES_MAX 4096            /* captures in one merged report */

typedef enum report_format {
    FORMAT_TEXT,
    FORMAT_JSON,
    FORMAT_FOLDED,
    FORMAT_TERMINAL
} report_format;

/* The options `report` accepts besides --format: only those that change how
 * a report is rendered.  The others describe how to record, which a capture
 * already did. */
static const char *const report_flags[] = {
    "interval",           "json",
    "stats-only",         "alert-threshold-ms",
    "flamegraph-file",    "flamegraph-bucket",
    "terminal-flamegraph", "terminal-flamegraph-width",
    "terminal-flamegraph-color", "duration-buckets",
    "prompt",
};

typedef struct report_args {
    const char *file;        /* the capture being rendered */
    const char *files[FILES_MAX]; /* every capture named, in tree order once merged */
    size_t file_count;
    report_format format;
    int format_given;
    int help;
    int alert_given;
    int buckets_given;
    gcm_config cli;          /* the options given on this command line, over defaults */
    const char *given[32];   /* flags given, to apply over the recorded ones */
    size_t given_count;
} report_args;

/* Everything the report found out beyond the renderers' input. */
typedef struct report_facts {
    int torn;
    int gone;
    int recomputed;          /* report-time limits differ from the recorded ones */
    int approximate;         /* ... and some pause could not be placed exactly */
    uint64_t damaged_events;
    uint64_t recorded_alert_ns;
    const char *warnings[WARNINGS_MAX];
    size_t warning_count;
} report_facts;


static void warn(const char *msg)
{
    char line[GCM__MSG_MAX + 64];
    int n = snprintf(line, sizeof line, "warning: %s\n", msg);
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int print_report_help(void)
{
    static const char text[] =
        "usage: pygcprofiler report [options] FILE [FILE...]\n"
        "\n"
        "Renders the capture FILE that 'pygcprofiler run -o FILE' recorded, without\n"
        "starting Python: after the program exited, while it still runs, or after it\n"
        "was killed.  The report goes to stdout and says how the program ended.\n"
        "Several captures of a process tree (FILE FILE.<pid>..., as 'report FILE*'\n"
        "names them) give one merged report: a table of the processes and totals\n"
        "across the tree, then each process's section (JSON: a 'tree' object last).\n"
        "\n"
        "options:\n"
        "  --format FORMAT       text (default), json (JSON Lines), folded (flame graph\n"
        "                        input) or terminal (text with the terminal flame graph)\n"
        "  --json                the same as --format json\n"
        "  --stats-only          only the summary, not each collection\n"
        "  --interval SECONDS    width of a timeline bucket\n"
        "  --alert-threshold-ms MS\n"
        "                        count alerts for this threshold instead of the recorded\n"
        "                        one (recomputed from the histogram: approximate)\n"
        "  --duration-buckets MS,MS,...\n"
        "                        bucket bounds instead of the recorded ones (recomputed\n"
        "                        from the histogram: approximate)\n"
        "  --flamegraph-file PATH, --flamegraph-bucket SECONDS,\n"
        "  --terminal-flamegraph, --terminal-flamegraph-width COLUMNS,\n"
        "  --terminal-flamegraph-color, --prompt\n"
        "                        as for 'pygcprofiler run'\n"
        "  -h, --help            show this help\n"
        "\n"
        "Exit status: 0 when the report was written, 2 for bad input (a missing,\n"
        "truncated, corrupted or newer-format file, or a bad option).\n";
    return gcm__write_all(1, text, sizeof text - 1);
}

static int is_report_flag(const char *flag)
{
    for (size_t i = 0; i < sizeof report_flags / sizeof report_flags[0]; i++) {
        if (strcmp(report_flags[i], flag) == 0)
            return 1;
    }
    return 0;
}

static int parse_format(const char *value, report_format *out)
{
    static const struct {
        const char *name;
        report_format format;
    } formats[] = {{"text", FORMAT_TEXT},
                   {"json", FORMAT_JSON},
                   {"folded", FORMAT_FOLDED},
                   {"terminal", FORMAT_TERMINAL}};

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i].name, value) == 0) {
            *out = formats[i].format;
            return 0;
        }
    }
    return GCM_EINVAL;
}

/* Reads one "--name", "--name=value" or "--name value" at argv[*i]. */
static int parse_option(report_args *a, int argc, char **argv, int *i, char *msg,
                        size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const char *value = eq != NULL ? eq + 1 : NULL;
    char flag[64];
    const gcm_option *opt;
    gcm_config_error err;

    if (name_len >= sizeof flag) {
        (void)snprintf(msg, msg_size, "unknown option '--%.40s...'", name);
        goto done;
    }
    memcpy(flag, name, name_len);
    flag[name_len] = '\0';
    if (strcmp(flag, "format") == 0) {
        if (value == NULL) {
            if (*i + 1 >= argc) {
                (void)snprintf(msg, msg_size,
                               "option '--format' needs a value (text, json, folded or terminal)");
                goto done;
            }
            value = argv[++*i];
        }
        if (parse_format(value, &a->format) != 0) {
            (void)snprintf(msg, msg_size,
                           "invalid value '%.100s' for '--format': must be text, json, folded "
                           "or terminal",
                           value);
            goto done;
        }
        a->format_given = 1;
        status = 0;
        goto done;
    }
    opt = gcm_config_find_in(flag, GCM_SCOPE_CLI);
    if (opt == NULL) {
        (void)snprintf(msg, msg_size, "unknown option '--%s'", flag);
        goto done;
    }
    if (!is_report_flag(opt->flag)) {
        (void)snprintf(msg, msg_size,
                       "option '--%s' is for 'pygcprofiler run', not for 'report'", opt->flag);
        goto done;
    }
    if (opt->kind == GCM_OPT_FLAG) {
        if (value != NULL) {
            (void)snprintf(msg, msg_size, "option '--%s' takes no value, got '%.100s'", opt->flag,
                           value);
            goto done;
        }
    } else if (value == NULL) {
        if (*i + 1 >= argc) {
            (void)snprintf(msg, msg_size, "option '--%s' needs a value (%s)", opt->flag,
                           opt->metavar != NULL ? opt->metavar : "VALUE");
            goto done;
        }
        value = argv[++*i];
    }
    memset(&err, 0, sizeof err);
    if (gcm_config_set(&a->cli, opt, value, &err) != 0) {
        (void)gcm_config_error_format(&err, 0, msg, msg_size);
        goto done;
    }
    if (strcmp(opt->flag, "json") == 0) {
        a->format = FORMAT_JSON;
        a->format_given = 1;
    }
    if (strcmp(opt->flag, "alert-threshold-ms") == 0)
        a->alert_given = 1;
    if (strcmp(opt->flag, "duration-buckets") == 0)
        a->buckets_given = 1;
    if (a->given_count < sizeof a->given / sizeof a->given[0])
        a->given[a->given_count++] = opt->flag;
    status = 0;
done:
    return status;
}

static int parse_args(report_args *a, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    int only_files = 0;

    memset(a, 0, sizeof *a);
    gcm_config_init(&a->cli);
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (!only_files && (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)) {
            a->help = 1;
            status = 0;
            goto done;
        }
        if (!only_files && strcmp(word, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (!only_files && word[0] == '-' && word[1] == '-') {
            if (parse_option(a, argc, argv, &i, msg, msg_size) != 0)
                goto done;
            continue;
        }
        if (!only_files && word[0] == '-' && word[1] != '\0') {
            (void)snprintf(msg, msg_size, "unknown option '%.100s'", word);
            goto done;
        }
        if (a->file_count == FILES_MAX) {
            (void)snprintf(msg, msg_size, "too many capture files: at most %d at a time",
                           FILES_MAX);
            goto done;
        }
        a->files[a->file_count++] = word;
        a->file = a->files[0];
    }
    if (a->file_count > 1 && a->cli.flamegraph_file[0] != '\0') {
        (void)snprintf(msg, msg_size,
                       "option '--flamegraph-file' takes one capture file, got %zu",
                       a->file_count);
        goto done;
    }
    if (a->file == NULL) {
        (void)snprintf(msg, msg_size, "missing capture file: give the FILE of 'run -o FILE'");
        goto done;
    }
    status = 0;
done:
    return status;
}

/* Explains a gcm_capture_open failure in one line. */
static void open_error(const char *path, int code, int err, char *msg, size_t msg_size)
{
    char why[128];
    struct stat st;

    switch (code) {
    case GCM_EIO:
        (void)snprintf(msg, msg_size, "cannot read capture '%s': %s", path,
                       err == EINVAL ? "not a regular file" : gcm__errno_text(err, why, sizeof why));
        break;
    case GCM_EBADMAGIC:
        (void)snprintf(msg, msg_size, "'%s' is not a pygcprofiler capture file", path);
        break;
    case GCM_ETRUNCATED:
        if (stat(path, &st) == 0 && st.st_size == 0)
            (void)snprintf(msg, msg_size, "capture '%s' is empty", path);
        else
            (void)snprintf(msg, msg_size,
                           "capture '%s' is truncated: shorter than its header says", path);
        break;
    case GCM_EVERSION:
        (void)snprintf(msg, msg_size,
                       "capture '%s' has a format version this pygcprofiler cannot read "
                       "(it reads layout version %u): use a newer pygcprofiler",
                       path, GCM_LAYOUT_VERSION);
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

/* Applies the recorded options (the writer's "options" metadata line) to
 * `cfg`, leaving out the paths, which name files of the recording run, and
 * --json, since the report's format is chosen here.  Returns 0, or
 * GCM_ECONFIG when the line is missing or cannot be read. */
static int apply_recorded(gcm_config *cfg, const char *meta)
{
    static char recorded[VALUE_MAX];
    static char kept[VALUE_MAX];
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
static void apply_given(gcm_config *cfg, const report_args *a)
{
    gcm_config tmp = *cfg;
    const gcm_config *src = &a->cli;

    for (size_t i = 0; i < a->given_count; i++) {
        const char *flag = a->given[i];
        if (strcmp(flag, "interval") == 0)
            tmp.interval_s = src->interval_s;
        else if (strcmp(flag, "stats-only") == 0)
            tmp.stats_only = src->stats_only;
        else if (strcmp(flag, "alert-threshold-ms") == 0)
            tmp.alert_threshold_ms = src->alert_threshold_ms;
        else if (strcmp(flag, "flamegraph-file") == 0)
            memcpy(tmp.flamegraph_file, src->flamegraph_file, sizeof tmp.flamegraph_file);
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
static void settle_limits(gcm_config *cfg, gcm_snapshot *snap, const report_args *a,
                          report_facts *facts)
{
    gcm_block_params want;
    uint32_t i;
    int differs = 0;

    facts->recorded_alert_ns = snap->alert_threshold_ns;
    memset(&want, 0, sizeof want);
    if ((a->alert_given || a->buckets_given) && gcm_config_block_params(cfg, &want) == 0) {
        uint64_t threshold = a->alert_given ? want.alert_threshold_ns : snap->alert_threshold_ns;
        uint32_t count = a->buckets_given ? want.bucket_count : snap->bucket_count;
        const uint64_t *bounds = a->buckets_given ? want.bucket_bounds_ns : snap->bucket_bounds_ns;

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

/* Writes the "Capture ..." lines of a text report (or "# " comments of a
 * folded one) to `fd`. */
static int write_text_head(int fd, const char *prefix, const char *file, const gcm_snapshot *snap,
                           const report_facts *facts, const char *command, const char *version)
{
    char line[GCM__MSG_MAX + VALUE_MAX];
    char when[64];
    int n;
    int status = 0;

    n = snprintf(line, sizeof line, "%sCapture: %s\n%sWriter: pid %lld (parent %lld), python %s\n",
                 prefix, file, prefix, (long long)snap->pid, (long long)snap->ppid,
                 version[0] != '\0' ? version : "unknown");
    if (n > 0)
        status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (status == 0 && command[0] != '\0') {
        n = snprintf(line, sizeof line, "%sCommand: %s\n", prefix, command);
        if (n > 0)
            status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    }
    format_utc(snap->end_realtime_ns, when, sizeof when);
    if (snap->state == GCM_STATE_EXITED && snap->exit_status == GCM_EXIT_STATUS_UNKNOWN)
        n = snprintf(line, sizeof line,
                     "%sState: exited by os._exit after its finalizers (status unknown) at %s\n",
                     prefix, when);
    else if (snap->state == GCM_STATE_EXITED)
        n = snprintf(line, sizeof line, "%sState: exited with status %d at %s\n", prefix,
                     (int)snap->exit_status, when);
    else if (snap->state == GCM_STATE_KILLED) {
        char ending[48];

        gcm__ending_text(snap->state, snap->exit_status, ending, sizeof ending);
        n = snprintf(line, sizeof line, "%sState: reported, then %s at %s\n", prefix, ending,
                     when);
    } else if (snap->state == GCM_STATE_GONE)
        n = snprintf(line, sizeof line,
                     "%sState: gone without a clean exit (killed or crashed); last collection "
                     "recorded at %s\n",
                     prefix, when);
    else
        n = snprintf(line, sizeof line, "%sState: running (a snapshot taken now)\n", prefix);
    if (status == 0 && n > 0)
        status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    for (size_t i = 0; status == 0 && i < facts->warning_count; i++) {
        n = snprintf(line, sizeof line, "%sWarning: %s\n", prefix, facts->warnings[i]);
        if (n > 0)
            status = gcm__write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
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
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "layout_version", GCM_LAYOUT_VERSION));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "pid", (double)snap->pid));
    GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "ppid", (double)snap->ppid));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "python_version", version));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "command", command));
    GCM__JSON_ADD(cJSON_AddStringToObject(obj, "state", gcm__state_word(snap->state)));
    if (snap->state == GCM_STATE_EXITED && snap->exit_status != GCM_EXIT_STATUS_UNKNOWN)
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "exit_status", snap->exit_status));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "exit_status"));
    if (snap->state == GCM_STATE_KILLED)
        GCM__JSON_ADD(cJSON_AddNumberToObject(obj, "signal", snap->exit_status));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "signal"));
    if (snap->state != GCM_STATE_RUNNING && snap->end_realtime_ns > 0)
        GCM__JSON_ADD(
            cJSON_AddNumberToObject(obj, "end_ts", (double)snap->end_realtime_ns / 1e9));
    else
        GCM__JSON_ADD(cJSON_AddNullToObject(obj, "end_ts"));
    GCM__JSON_ADD(cJSON_AddBoolToObject(obj, "died_mid_record", facts->torn));
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

/* Renders the mapped, checked capture `cap` as `a` asks.  Returns the exit
 * status. */
static int render_capture(const report_args *a, const gcm_capture *cap)
{
    static char meta[META_MAX];
    static char command[VALUE_MAX];
    static char version[64];
    static char build[512];
    static char free_threaded[8];
    static char damaged_text[128];
    static char approx_text[256];
    gcm_snapshot *snap = NULL;
    gcm_event *events = NULL;
    gcm_config *cfg = NULL;
    gcm_report_input in;
    report_facts facts;
    size_t count = 0;
    uint64_t first = 0;
    int status = 1;
    int rc;

    memset(&facts, 0, sizeof facts);
    snap = malloc(sizeof *snap);
    cfg = malloc(sizeof *cfg);
    if (snap == NULL || cfg == NULL) {
        gcm__complain("report", "out of memory");
        goto done;
    }
    /* GCM_EBUSY still fills the snapshot: a writer that died holding the
     * sequence counter odd left one collection partly counted. */
    rc = gcm_capture_snapshot(cap, snap, 1, &facts.gone);
    if (rc != 0 && rc != GCM_EBUSY) {
        gcm__complain("report", gcm_strerror(rc));
        goto done;
    }
    facts.torn = rc == GCM_EBUSY || snap->torn;
    if (facts.torn)
        add_warning(&facts, snap->state == GCM_STATE_RUNNING
                                ? "the writer is in the middle of recording a collection; its "
                                  "figures may be partly counted"
                                : "the writer died in the middle of recording a collection; "
                                  "that collection may be partly counted");

    /* The ring can be as large as the capture allows; without the memory
     * for a copy, the summary (all from the aggregates) still comes out. */
    events = malloc((size_t)snap->capacity * sizeof *events);
    if (events != NULL) {
        (void)gcm_block_copy_events(cap->block, events, (size_t)snap->capacity, &count, &first);
        facts.damaged_events = drop_damaged(events, &count);
    } else {
        add_warning(&facts, "not enough memory to copy the collections: summary only");
    }
    if (facts.damaged_events > 0) {
        (void)snprintf(damaged_text, sizeof damaged_text,
                       "%llu damaged collection records were left out",
                       (unsigned long long)facts.damaged_events);
        add_warning(&facts, damaged_text);
    }

    gcm_capture_meta_copy(cap->block, meta, sizeof meta);
    (void)gcm_capture_meta_get(meta, "command", command, sizeof command);
    (void)gcm_capture_meta_get(meta, "python_version", version, sizeof version);
    (void)gcm_capture_meta_get(meta, "python_build", build, sizeof build);
    (void)gcm_capture_meta_get(meta, "free_threaded", free_threaded, sizeof free_threaded);

    gcm_config_init(cfg);
    if (apply_recorded(cfg, meta) != 0) {
        gcm_config_init(cfg);
        add_warning(&facts, "the recorded options cannot be read; defaults are used");
    }
    apply_given(cfg, a);
    cfg->json = a->format == FORMAT_JSON;
    if (a->format == FORMAT_TERMINAL)
        cfg->terminal_flamegraph = 1;
    settle_limits(cfg, snap, a, &facts);
    if (facts.recomputed) {
        /* Said even when exact: the figures are not the recorded ones. */
        (void)snprintf(approx_text, sizeof approx_text,
                       "alert counts and duration buckets were recomputed from the histogram "
                       "for limits other than the recorded ones (alert threshold %.6g ms): %s",
                       (double)facts.recorded_alert_ns / 1e6,
                       facts.approximate ? "approximate"
                                         : "exact, every pause lies clearly on one side of "
                                           "the new limits");
        add_warning(&facts, approx_text);
    }

    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = cfg;
    in.python_version = version[0] != '\0' ? version : NULL;
    in.python_build = build[0] != '\0' ? build : NULL;
    in.free_threaded = strcmp(free_threaded, "1") == 0;

    switch (a->format) {
    case FORMAT_JSON:
        rc = write_json_head(1, a->file, snap, &facts, command, version);
        if (rc == 0)
            rc = gcm_report_render_fd(&in, 1);
        break;
    case FORMAT_FOLDED:
        rc = write_text_head(1, "# ", a->file, snap, &facts, command, version);
        if (rc == 0)
            rc = gcm_flamegraph_render_fd(&in, 1);
        break;
    default:
        rc = write_text_head(1, "", a->file, snap, &facts, command, version);
        if (rc == 0)
            rc = gcm_report_render_fd(&in, 1);
        break;
    }
    if (rc == 0 && cfg->flamegraph_file[0] != '\0') {
        rc = gcm_report_write_flamegraph(&in);
        if (rc != 0) {
            char msg[GCM__MSG_MAX];
            (void)snprintf(msg, sizeof msg, "cannot write '--flamegraph-file' '%s': %s",
                           cfg->flamegraph_file, gcm_strerror(rc));
            gcm__complain("report", msg);
            status = GCM__EXIT_USAGE;
            goto done;
        }
    }
    if (rc != 0) {
        /* stdout closed or full: the report could not be delivered. */
        if (rc != GCM_EIO)
            warn(gcm_strerror(rc));
        goto done;
    }
    status = 0;
done:
    free(events);
    free(cfg);
    free(snap);
    return status;
}

/* Maps and renders one capture of `a` (a->file).  Returns the exit status. */
static int report_one(report_args *a)
{
    char msg[GCM__MSG_MAX];
    gcm_capture cap;
    int status = GCM__EXIT_USAGE;
    int rc;

    memset(&cap, 0, sizeof cap);
    /* Someone truncating the file while we read it would turn our next load
     * into SIGBUS: that is bad input too, said in one line. */
    (void)snprintf(msg, sizeof msg, "capture '%s' shrank while it was being read", a->file);
    gcm__sigbus_message(msg);
    rc = gcm_capture_open(&cap, a->file);
    if (rc != 0) {
        open_error(a->file, rc, errno, msg, sizeof msg);
        gcm__complain("report", msg);
        goto done;
    }
    status = render_capture(a, &cap);
done:
    gcm_capture_close(&cap);
    return status;
}

/* Several captures (src/cli/merge.c): checks that each can be read, orders
 * them parents first, and writes the tree's table before the sections (text)
 * or its object after them (JSON).  Returns the exit status. */
static int report_tree(report_args *a)
{
    char msg[GCM__MSG_MAX];
    gcm__tree *tree = NULL;
    int status = GCM__EXIT_USAGE;
    int json = a->format == FORMAT_JSON;
    int rc;

    for (size_t i = 0; i < a->file_count; i++) {
        gcm_capture cap;

        memset(&cap, 0, sizeof cap);
        rc = gcm_capture_open(&cap, a->files[i]);
        gcm_capture_close(&cap);
        if (rc != 0) {
            open_error(a->files[i], rc, errno, msg, sizeof msg);
            gcm__complain("report", msg);
            goto done;
        }
    }
    /* Read once: the JSON tree object, written last, describes the same
     * moment as the order of the sections. */
    gcm__sigbus_message("a capture shrank while it was being read");
    rc = gcm__tree_load(a->files, a->file_count, &tree);
    if (rc == 0 && !json && a->format != FORMAT_FOLDED)
        rc = gcm__tree_write(1, tree, 0);
    if (rc != 0) {
        status = 1;
        if (rc != GCM_EIO)
            warn(gcm_strerror(rc));
        goto done;
    }
    /* Each section renders the capture the tree already holds open. */
    for (size_t i = 0; i < a->file_count; i++) {
        a->file = a->files[i];
        (void)snprintf(msg, sizeof msg, "capture '%s' shrank while it was being read", a->file);
        gcm__sigbus_message(msg);
        status = render_capture(a, gcm__tree_capture(tree, i));
        if (status != 0)
            goto done;
    }
    if (json) {
        rc = gcm__tree_write(1, tree, 1);
        if (rc != 0) {
            status = 1;
            if (rc != GCM_EIO)
                warn(gcm_strerror(rc));
            goto done;
        }
    }
    status = 0;
done:
    gcm__tree_free(tree);
    return status;
}

int gcm__report_main(int argc, char **argv)
{
    static report_args args;
    char msg[GCM__MSG_MAX];
    struct sigaction sa;
    int status = GCM__EXIT_USAGE;

    if (parse_args(&args, argc, argv, msg, sizeof msg) != 0) {
        gcm__complain("report", msg);
        goto done;
    }
    if (args.help) {
        status = print_report_help() == 0 ? 0 : 1;
        goto done;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gcm__on_sigbus;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGBUS, &sa, NULL);
    /* A reader of a closed pipe (`report F | head`) ends the report; it
     * must not kill us before we can tell. */
    (void)signal(SIGPIPE, SIG_IGN);

    if (args.file_count > 1)
        status = report_tree(&args);
    else
        status = report_one(&args);
done:
    return status;
}
