/* gc_monitor/budget.h: GC budgets, the rules of `--fail-on` and `compare`.
 *
 * A rule such as "gen2.p99>20ms" names a figure of the summary (a metric,
 * optionally of one generation), a comparison and a limit.  The rule states
 * the failure: it is *broken* when the measured figure satisfies the
 * comparison, so `max>50ms` fails a run whose longest pause exceeded 50 ms.
 * Rules are checked once, against the final aggregates (a gcm_summary, or the
 * JSON summary object that `--json` writes), never on the recording path.
 *
 * Metrics are the summary's keys: count, total, mean, min, max, p50, p90,
 * p99, p999, collected and uncollectable, each also per generation as
 * "gen0." to "gen2."; share (GC time as a percentage of wall time), wall,
 * alerts and bursts only overall; and the verdict's figures: rate
 * (collections a second), window (the worst one-second window's share) and
 * verdict (its level, "verdict>=noticeable").  window and verdict need a
 * summary that gcm_verdict_fill (report.h) completed.  Durations take ns, us, ms or s and mean ms
 * without a unit; share takes % (or nothing); counts take no unit.
 *
 * Ownership: gcm_budget_rule is a pointer-free value the caller owns (the
 * config keeps up to GCM_MAX_RULES of them inline).  Nothing here allocates
 * except gcm_budget_render's transient cJSON tree, prints or exits; every
 * function is pure and safe from any thread on distinct values.
 */
#ifndef GC_MONITOR_BUDGET_H
#define GC_MONITOR_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GCM_MAX_RULES 16     /* --fail-on rules one run keeps */
#define GCM_RULE_TEXT_MAX 64 /* a rule's canonical text, NUL included */

/* The figures a rule can name, in the summary's key order. */
typedef enum gcm_metric {
    GCM_METRIC_COUNT,
    GCM_METRIC_TOTAL,
    GCM_METRIC_MEAN,
    GCM_METRIC_MIN,
    GCM_METRIC_MAX,
    GCM_METRIC_P50,
    GCM_METRIC_P90,
    GCM_METRIC_P99,
    GCM_METRIC_P999,
    GCM_METRIC_COLLECTED,
    GCM_METRIC_UNCOLLECTABLE,
    GCM_METRIC_SHARE,   /* overall only */
    GCM_METRIC_WALL,    /* overall only */
    GCM_METRIC_ALERTS,  /* overall only */
    GCM_METRIC_BURSTS,  /* overall only */
    GCM_METRIC_RATE,    /* collections per second of wall time; overall only */
    GCM_METRIC_WINDOW,  /* the worst one-second window's GC share (the verdict's); overall only */
    GCM_METRIC_VERDICT, /* the verdict's level, compared as words (fine < noticeable < hurting) */
    GCM_METRIC_COUNT_OF /* how many metrics there are; not a metric */
} gcm_metric;

/* What a metric's values are, which decides the units it takes. */
typedef enum gcm_metric_kind {
    GCM_KIND_DURATION, /* nanoseconds; written in ns, us, ms (the default) or s */
    GCM_KIND_PERCENT,  /* a percentage; written with % or nothing */
    GCM_KIND_COUNT,    /* a whole count; written without a unit */
    GCM_KIND_RATE,     /* a number per second; written without a unit */
    GCM_KIND_LEVEL     /* a verdict level, written as its word: not-enough-data, fine, ... */
} gcm_metric_kind;

/* The comparison that breaks a rule. */
typedef enum gcm_budget_op {
    GCM_OP_GT, /* > */
    GCM_OP_GE, /* >= */
    GCM_OP_LT, /* < */
    GCM_OP_LE  /* <= */
} gcm_budget_op;

/* How a limit was written, so that messages show it the same way. */
typedef enum gcm_budget_unit {
    GCM_UNIT_NONE, /* a count */
    GCM_UNIT_NS,
    GCM_UNIT_US,
    GCM_UNIT_MS,
    GCM_UNIT_S,
    GCM_UNIT_PCT
} gcm_budget_unit;

typedef struct gcm_budget_rule {
    int generation; /* -1 for all collections, else 0..2 */
    gcm_metric metric;
    gcm_budget_op op;
    gcm_budget_unit unit; /* the unit the limit was written in (ms when none was) */
    double limit;         /* in base units: ns, percent or a count */
    char text
        [GCM_RULE_TEXT_MAX]; /* canonical text, e.g. "gen2.p99>20ms"; parses back to this rule */
} gcm_budget_rule;

/* One rule checked against one summary. */
typedef struct gcm_budget_verdict {
    double measured; /* the figure, in the rule's base units */
    int broken;      /* 1 when the figure satisfies the rule's comparison */
} gcm_budget_verdict;

/* Parses `text` (spaces around the parts allowed) into `out`, zeroing it
 * first so equal rules are equal bytes.  Returns 0, or GCM_ECONFIG with a
 * lowercase reason without subject in `why` (e.g. "unknown metric 'p98'"),
 * or GCM_EINVAL for NULL arguments.  `out` is unchanged on error. */
int gcm_budget_parse(const char *text, gcm_budget_rule *out, char *why, size_t why_size);

/* Returns 1 when `text` has no comparison operator at all, the shape an
 * unquoted `--fail-on max>50ms` takes in a shell (the value "max"). */
int gcm_budget_lacks_operator(const char *text);

/* Writes an example rule for the metric `text` starts with (e.g. "max>50ms",
 * "gen2.count>5", "share>2%"), or "max>50ms" when it names none; for hints.
 * Returns the length written (truncated to fit `size`). */
size_t gcm_budget_example(const char *text, char *buf, size_t size);

/* Parses a metric name alone ("p99", "gen2.max") into *generation and
 * *metric.  Returns 0, or GCM_ECONFIG with the reason in `why`. */
int gcm_budget_parse_metric(const char *text, int *generation, gcm_metric *metric, char *why,
                            size_t why_size);

/* Returns the metric's name as rules spell it ("p99"), or "?" if unknown. */
const char *gcm_budget_metric_name(gcm_metric metric);

/* Returns the kind of values `metric` has. */
gcm_metric_kind gcm_budget_metric_kind(gcm_metric metric);

/* Returns the operator's text (">", ">=", "<", "<="). */
const char *gcm_budget_op_text(gcm_budget_op op);

/* Returns the unit's text ("ms", "%", "" for none). */
const char *gcm_budget_unit_text(gcm_budget_unit unit);

/* Sets *out to the figure of `sum` a metric and generation name, in base
 * units.  Returns 0, or GCM_EINVAL for NULL arguments or a metric that has
 * no figure per generation. */
int gcm_budget_measure(const gcm_summary *sum, int generation, gcm_metric metric, double *out);

struct cJSON;

/* Like gcm_budget_measure, but reads a JSON summary object (the `summary`
 * line of a --json report): durations come from the "_ms" keys and become
 * ns.  Returns 0, GCM_ECORRUPT when the key is absent or not a number, or
 * GCM_EINVAL for NULL arguments or an impossible metric. */
int gcm_budget_measure_json(const struct cJSON *summary, int generation, gcm_metric metric,
                            double *out);

/* Returns 1 when `measured` (base units) breaks `rule`, 0 otherwise. */
int gcm_budget_broken(const gcm_budget_rule *rule, double measured);

/* Checks `count` rules against `sum`, filling verdicts[0..count).  Returns
 * the number of broken rules, or GCM_EINVAL for NULL arguments. */
int gcm_budget_evaluate(const gcm_budget_rule *rules, size_t count, const gcm_summary *sum,
                        gcm_budget_verdict *verdicts);

/* Writes `value` (base units of `metric`) in `unit` with at most three
 * decimals and no trailing zeros: "12.4ms", "3", "2.5%".  Returns the length
 * written (truncated to fit `size`). */
size_t gcm_budget_format_value(gcm_metric metric, gcm_budget_unit unit, double value, char *buf,
                               size_t size);

/* Writes the verdict line of `rule` without a prefix: "p99 12.4ms > 10ms"
 * when broken, "p99 3.1ms, not > 10ms" when it held.  Returns the length
 * written (truncated to fit `size`). */
size_t gcm_budget_describe(const gcm_budget_rule *rule, const gcm_budget_verdict *verdict,
                           char *buf, size_t size);

struct gcm_sink;

/* Renders the verdict of `count` rules against `sum` into `sink`: with
 * `json`, one {"type": "budget", ...} object line; otherwise one
 * "GMEM BUDGET | ..." line per rule, broken ones first.  Writes nothing when
 * `count` is 0.  Returns 0 or the sink's first negative GCM_E* code
 * (GCM_ENOMEM when the JSON tree cannot be built). */
int gcm_budget_render(const gcm_budget_rule *rules, size_t count, const gcm_summary *sum, int json,
                      const struct gcm_sink *sink);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_BUDGET_H */
