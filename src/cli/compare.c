/* src/cli/compare.c: `pygcprofiler compare BASE NEW [--max-regression PCT] [--metric M ...]`.
 *
 * Compares the GC figures of two runs, for a CI job that keeps a baseline:
 * each input is a --json report (its last `summary` object, so a JSON Lines
 * stream with events, several processes' reports appended to one log file,
 * or a lone pretty-printed summary all work) or a capture file from
 * `run -o FILE` (its block, summarized exactly as the exit report would).
 * Metrics are named as --fail-on names them (src/config/budget.c), so "p99"
 * and "gen2.max" mean the same figure in both places.
 *
 * The table goes to stdout.  Exit status: 0 when no chosen metric grew by
 * more than the limit, 3 when one did, 2 for bad usage or for an input that
 * cannot be compared (unreadable, no summary, another schema_version, a
 * figure missing), with one line on stderr that names the file.
 */
#include <float.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "gc_monitor/budget.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"
#include "gc_monitor/report.h"

#define EXIT_REGRESSED 3
#define MAX_METRICS 32
/* Room for compare's option table. */
#define COMPARE_ROWS 8

typedef struct metric_choice {
    int generation;
    gcm_metric metric;
} metric_choice;

typedef struct compare_args {
    const char *files[2];
    size_t file_count;
    double max_regression;
    metric_choice metrics[MAX_METRICS];
    size_t metric_count;
    int help;
} compare_args;

static const char usage_text[] =
    "usage: pygcprofiler compare BASE NEW [--max-regression PCT] [--metric M ...]\n";

static const char help_head[] =
    "\n"
    "Compares the GC figures of two runs and exits 3 when one grew by more than\n"
    "the allowed regression.  BASE and NEW are --json reports (the last summary\n"
    "object is used) or capture files from 'pygcprofiler run -o FILE'.\n";

static const char help_tail[] =
    "\n"
    "Exit status: 0 no regression, 2 bad usage or input, 3 a metric regressed.\n";

/* Adds the comma-separated metric names of `value` (a --metric, or the
 * default list when none was given). */
static int add_metrics(void *store, const char *value, char *msg, size_t msg_size)
{
    compare_args *args = (compare_args *)store;
    const char *p = value;
    int status = GCM_EINVAL;

    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char name[64];
        char why[256];
        char shown[GCM__SHOWN_MAX];
        metric_choice c;

        if (len == 0 || len >= sizeof name) {
            (void)snprintf(msg, msg_size, "invalid value '%s' for '--metric': %s",
                           gcm__subject(shown, value),
                           len == 0 ? "has an empty name" : "is not a metric");
            goto done;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        if (gcm_budget_parse_metric(name, &c.generation, &c.metric, why, sizeof why) != 0) {
            (void)snprintf(msg, msg_size, "invalid value '%s' for '--metric': %s",
                           gcm__subject(shown, value), why);
            goto done;
        }
        if (args->metric_count == MAX_METRICS) {
            (void)snprintf(msg, msg_size, "at most %d metrics can be compared", MAX_METRICS);
            goto done;
        }
        args->metrics[args->metric_count++] = c;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    status = 0;
done:
    return status;
}

/* Fills `rows` with compare's options, stored into `args`; parsing and
 * --help both read it.  Returns the number of rows. */
static size_t compare_options(compare_args *args, gcm__opt rows[COMPARE_ROWS])
{
    const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_PERCENT,
         .name = "max-regression",
         .metavar = "PCT",
         .store = &args->max_regression,
         .min = 0.0,
         .max = DBL_MAX,
         .default_text = "10",
         .refusal = "must be a percentage of 0 or more, such as 10",
         .help = "largest allowed growth of a metric, in percent"},
        {.kind = GCM__OPT_LIST,
         .name = "metric",
         .metavar = "M",
         .store = args,
         .add = add_metrics,
         .default_text = "count,total,mean,p50,p99,max",
         .help = "a metric to compare, as --fail-on names it: count, total, mean, min, max, "
                 "p50, p90, p99, p999, collected, uncollectable, share, wall, alerts, bursts, "
                 "each also as gen0. to gen2. for the first eleven; repeatable or "
                 "comma-separated"},
        GCM__OPT_HELP_ROW,
    };
    _Static_assert(sizeof table / sizeof table[0] <= COMPARE_ROWS, "COMPARE_ROWS is too small");

    memcpy(rows, table, sizeof table);
    return sizeof table / sizeof table[0];
}

size_t gcm__compare_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static compare_args unused;
    gcm__opt all[COMPARE_ROWS];

    return gcm__opts_lend(rows, size, all, compare_options(&unused, all));
}

/* Takes BASE, then NEW. */
static int add_file(void *ctx, const char *word, char *msg, size_t msg_size)
{
    compare_args *args = (compare_args *)ctx;
    char shown[GCM__SHOWN_MAX];

    if (args->file_count == 2) {
        (void)snprintf(msg, msg_size, "unexpected argument '%s': give BASE and NEW only",
                       gcm__subject(shown, word));
        return GCM_EINVAL;
    }
    args->files[args->file_count++] = word;
    return 0;
}

static int parse_args(compare_args *args, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    gcm__opt rows[COMPARE_ROWS];
    gcm__opt_spec spec;

    memset(args, 0, sizeof *args);
    spec = (gcm__opt_spec){
        .rows = rows, .count = compare_options(args, rows), .ctx = args, .operand = add_file};
    if (gcm__opts_parse_verb(&spec, argc, argv, &args->help, msg, msg_size) != 0)
        goto done;
    if (args->help) {
        status = 0;
        goto done;
    }
    if (args->file_count != 2) {
        (void)snprintf(msg, msg_size, "%s",
                       args->file_count == 0 ? "missing BASE and NEW files"
                                             : "missing the NEW file");
        goto done;
    }
    status = 0;
done:
    return status;
}

static int print_compare_help(compare_args *args)
{
    gcm__opt rows[COMPARE_ROWS];
    size_t count = compare_options(args, rows);

    if (gcm__write_all(1, usage_text, sizeof usage_text - 1) != 0)
        return GCM_EIO;
    return gcm__opts_help(1, help_head, rows, count, help_tail);
}

/* ---- the table ---------------------------------------------------------- */

static void metric_label(const metric_choice *c, char *buf, size_t size)
{
    if (c->generation >= 0)
        (void)snprintf(buf, size, "gen%d.%s", c->generation, gcm_budget_metric_name(c->metric));
    else
        (void)snprintf(buf, size, "%s", gcm_budget_metric_name(c->metric));
}

static gcm_budget_unit display_unit(gcm_metric metric)
{
    switch (gcm_budget_metric_kind(metric)) {
    case GCM_KIND_DURATION:
        return GCM_UNIT_MS;
    case GCM_KIND_PERCENT:
        return GCM_UNIT_PCT;
    default:
        return GCM_UNIT_NONE;
    }
}

/* Writes the change column; returns 1 when it is a regression over `limit`. */
static int format_change(double base, double now, double limit, char *buf, size_t size)
{
    double pct;

    if (base == 0.0) {
        (void)snprintf(buf, size, "%s", now == 0.0 ? "0.0%" : "from 0");
        return now > 0.0;
    }
    pct = 100.0 * (now - base) / base;
    (void)snprintf(buf, size, "%+.1f%%", pct);
    return pct > limit;
}

static int compare(const compare_args *args, const cJSON *base, const cJSON *now, char *msg,
                   size_t msg_size)
{
    char line[256];
    size_t i;
    size_t regressed = 0;
    int n;
    int status = GCM__EXIT_USAGE;

    /* Every figure must exist in both before anything is printed. */
    for (i = 0; i < args->metric_count; i++) {
        const metric_choice *c = &args->metrics[i];
        double v;
        size_t f;
        for (f = 0; f < 2; f++) {
            if (gcm_budget_measure_json(f == 0 ? base : now, c->generation, c->metric, &v) != 0) {
                char label[48];
                metric_label(c, label, sizeof label);
                (void)snprintf(msg, msg_size, "'%s' has no figure for '%s'", args->files[f], label);
                goto done;
            }
        }
        if (c->metric == GCM_METRIC_ALERTS) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(base, "alert_threshold_ms");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(now, "alert_threshold_ms");
            if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || a->valuedouble != b->valuedouble) {
                (void)snprintf(msg, msg_size,
                               "'alerts' differ in meaning: '%s' and '%s' were recorded with "
                               "different --alert-threshold-ms",
                               args->files[0], args->files[1]);
                goto done;
            }
        }
    }

    status = 1;
    n = snprintf(line, sizeof line, "%-20s %14s %14s %9s\n", "metric", "base", "new", "change");
    if (gcm__write_all(1, line, (size_t)n) != 0)
        goto done;
    for (i = 0; i < args->metric_count; i++) {
        const metric_choice *c = &args->metrics[i];
        gcm_budget_unit unit = display_unit(c->metric);
        char label[48];
        char a[48];
        char b[48];
        char change[32];
        double va = 0.0;
        double vb = 0.0;
        int worse;

        (void)gcm_budget_measure_json(base, c->generation, c->metric, &va);
        (void)gcm_budget_measure_json(now, c->generation, c->metric, &vb);
        metric_label(c, label, sizeof label);
        (void)gcm_budget_format_value(c->metric, unit, va, a, sizeof a);
        (void)gcm_budget_format_value(c->metric, unit, vb, b, sizeof b);
        worse = format_change(va, vb, args->max_regression, change, sizeof change);
        regressed += (size_t)worse;
        n = snprintf(line, sizeof line, "%-20s %14s %14s %9s%s\n", label, a, b, change,
                     worse ? "  REGRESSED" : "");
        if (n < 0 ||
            gcm__write_all(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) != 0)
            goto done;
    }
    if (regressed > 0)
        n = snprintf(line, sizeof line, "%zu of %zu metrics regressed by more than %g%%\n",
                     regressed, args->metric_count, args->max_regression);
    else
        n = snprintf(line, sizeof line, "no metric regressed by more than %g%%\n",
                     args->max_regression);
    if (n < 0 || gcm__write_all(1, line, (size_t)n) != 0)
        goto done;
    status = regressed > 0 ? EXIT_REGRESSED : 0;
done:
    return status;
}

int gcm__compare_main(int argc, char **argv)
{
    compare_args args;
    char msg[GCM__MSG_MAX];
    cJSON *base = NULL;
    cJSON *now = NULL;
    int status = GCM__EXIT_USAGE;

    msg[0] = '\0';
    if (parse_args(&args, argc, argv, msg, sizeof msg) != 0) {
        gcm__complain("compare", msg);
        goto done;
    }
    if (args.help) {
        status = print_compare_help(&args) == 0 ? 0 : 1;
        goto done;
    }
    base = gcm_capture_load_summary(args.files[0], msg, sizeof msg);
    if (base == NULL) {
        gcm__complain("compare", msg);
        goto done;
    }
    now = gcm_capture_load_summary(args.files[1], msg, sizeof msg);
    if (now == NULL) {
        gcm__complain("compare", msg);
        goto done;
    }
    status = compare(&args, base, now, msg, sizeof msg);
    if (status == GCM__EXIT_USAGE)
        gcm__complain("compare", msg);
done:
    cJSON_Delete(base);
    cJSON_Delete(now);
    return status;
}
