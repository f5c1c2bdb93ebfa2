/* src/config/options.c: the option table, looking options up, and the block
 * parameters a configuration asks for.
 *
 * The public table (gcm_option) says what an option is called and how --help
 * shows it; a private table of the same length, row for row, says where its
 * value lives in gcm_config and which range it must fall in.  Parsing
 * (parse.c), validation, the environment encoding (envcode.c) and the block
 * parameters are all driven by those two tables, so a new option of an
 * existing kind is one row in each plus a field in gcm_config.
 *
 * Nothing here keeps mutable state, so every function is thread-safe on
 * distinct gcm_config values.
 */
#include "gc_monitor/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "config_internal.h"
#include "gc_monitor/block.h"
#include "gc_monitor/budget.h"
#include "gc_monitor/errors.h"

#define BOTH (GCM_SCOPE_CLI | GCM_SCOPE_API)

const gcm_option gcm__options[] = {
    {"interval", "interval", GCM_OPT_NUMBER, BOTH, "SECONDS", "5.0",
     "width of a timeline bucket in the report, in seconds"},
    {"json", "json_output", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "write the report as JSON"},
    {"stats-only", "stats_only", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "show only the summary, not each collection"},
    {"dump-objects", "dump_objects", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "count live objects by type at exit"},
    {"dump-garbage", "dump_garbage", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "keep all garbage alive (gc.DEBUG_SAVEALL) and show object contents at exit"},
    {"log-file", "log_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write the report to PATH instead of stderr"},
    {"alert-threshold-ms", "alert_threshold_ms", GCM_OPT_NUMBER, BOTH, "MS", "50",
     "alert on pauses at least this long, in ms (0 alerts on every pause)"},
    {"flamegraph-file", "flamegraph_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write flame graph data to PATH"},
    {"flamegraph-bucket", "flamegraph_bucket", GCM_OPT_NUMBER, BOTH, "SECONDS", "5.0",
     "width of a flame graph time bucket, in seconds"},
    {"terminal-flamegraph", "terminal_flamegraph", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "draw a flame graph of pauses in the report"},
    {"terminal-flamegraph-width", "terminal_flamegraph_width", GCM_OPT_INTEGER, BOTH,
     "COLUMNS", "80", "width of the terminal flame graph, in columns (20 to 1000)"},
    {"terminal-flamegraph-color", "terminal_flamegraph_color", GCM_OPT_FLAG, BOTH, NULL,
     NULL, "color the terminal flame graph with ANSI escapes"},
    {"duration-buckets", "duration_buckets", GCM_OPT_LIST, BOTH, "MS,MS,...",
     "1,5,20,50,100", "upper bounds of the pause duration buckets, in ms (1 to 32, increasing)"},
    {"prompt", "enable_prompt", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "print an optimization prompt for an AI assistant at exit"},
    {"buffer-events", "buffer_events", GCM_OPT_INTEGER, BOTH, "N", "65536",
     "collections kept in memory, rounded up to a power of two"},
    {"python", NULL, GCM_OPT_PATH, GCM_SCOPE_CLI, "PATH", NULL,
     "Python interpreter to run the target with"},
    {"output", NULL, GCM_OPT_PATH, GCM_SCOPE_CLI, "PATH", NULL,
     "record into a new crash-safe capture file at PATH (-o); read it with 'report'"},
    {"fail-on", NULL, GCM_OPT_RULES, GCM_SCOPE_CLI, "RULE", NULL,
     "exit 3 if the run breaks RULE, such as 'p99>10ms' (repeatable)"},
    {"follow-children", NULL, GCM_OPT_FLAG, GCM_SCOPE_CLI, NULL, NULL,
     "monitor the Python processes the program starts too (spawn, subprocess)"},
};

const size_t gcm__option_count = sizeof gcm__options / sizeof gcm__options[0];


#define FIELD(f) .offset = offsetof(gcm_config, f), .size = sizeof(((gcm_config *)0)->f)

/* Row i describes options[i]; the static assertion below keeps the lengths
 * equal and the unit tests check each row against its field. */
const option_rule gcm__rules[] = {
    {FIELD(interval_s), .min_exclusive = 1, .max = MAX_SECONDS, .ns_per_unit = 1e9},
    {FIELD(json)},
    {FIELD(stats_only)},
    {FIELD(dump_objects)},
    {FIELD(dump_garbage)},
    {FIELD(log_file)},
    {FIELD(alert_threshold_ms), .max = MAX_PAUSE_MS},
    {FIELD(flamegraph_file)},
    {FIELD(flamegraph_bucket_s), .min_exclusive = 1, .max = MAX_SECONDS, .ns_per_unit = 1e9},
    {FIELD(terminal_flamegraph)},
    {FIELD(terminal_flamegraph_width), .min = 20.0, .max = MAX_WIDTH},
    {FIELD(terminal_flamegraph_color)},
    {FIELD(duration_buckets_ms), .count_offset = offsetof(gcm_config, bucket_count),
     .min_exclusive = 1, .max = MAX_PAUSE_MS, .ns_per_unit = 1e6},
    {FIELD(prompt)},
    {FIELD(buffer_events), .min = 1.0, .max = (double)GCM_MAX_CAPACITY, .flags = RULE_POW2},
    {FIELD(python)},
    {FIELD(output)},
    {FIELD(fail_on), .count_offset = offsetof(gcm_config, fail_on_count)},
    {FIELD(follow_children)},
};

_Static_assert(sizeof gcm__rules / sizeof gcm__rules[0] == sizeof gcm__options / sizeof gcm__options[0],
               "every option needs exactly one rule row");

const double gcm__default_buckets_ms[] = {1.0, 5.0, 20.0, 50.0, 100.0};
const uint32_t gcm__default_bucket_count =
    (uint32_t)(sizeof gcm__default_buckets_ms / sizeof gcm__default_buckets_ms[0]);

/* ---- public API ---------------------------------------------------------- */

void gcm_config_init(gcm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval_s = 5.0;
    cfg->alert_threshold_ms = 50.0;
    cfg->flamegraph_bucket_s = 5.0;
    cfg->terminal_flamegraph_width = 80;
    cfg->bucket_count = (uint32_t)(sizeof gcm__default_buckets_ms / sizeof gcm__default_buckets_ms[0]);
    memcpy(cfg->duration_buckets_ms, gcm__default_buckets_ms, sizeof gcm__default_buckets_ms);
    cfg->buffer_events = GCM_DEFAULT_CAPACITY;
}

const gcm_option *gcm_config_options(size_t *count)
{
    if (count != NULL) {
        *count = gcm__option_count;
    }
    return gcm__options;
}

const gcm_option *gcm_config_find_in(const char *name, unsigned scope)
{
    const char *flag_name = name;
    size_t i;

    if (name == NULL) {
        return NULL;
    }
    if (strncmp(name, "--", 2) == 0) {
        /* A dashed name is always a flag, never a keyword. */
        flag_name = name + 2;
        scope &= GCM_SCOPE_CLI;
    }
    for (i = 0; i < gcm__option_count; i++) {
        const gcm_option *opt = &gcm__options[i];
        if ((scope & GCM_SCOPE_CLI) && (opt->scope & GCM_SCOPE_CLI) &&
            strcmp(flag_name, opt->flag) == 0) {
            return opt;
        }
        if ((scope & GCM_SCOPE_API) && (opt->scope & GCM_SCOPE_API) && opt->keyword != NULL &&
            strcmp(name, opt->keyword) == 0) {
            return opt;
        }
    }
    return NULL;
}

const gcm_option *gcm_config_find(const char *name)
{
    return gcm_config_find_in(name, GCM_SCOPE_CLI | GCM_SCOPE_API);
}

int gcm_config_set(gcm_config *cfg, const gcm_option *opt, const char *value,
                   gcm_config_error *err)
{
    return gcm__config_set_value(cfg, opt, value, 0, err);
}

int gcm_config_set_name_in(gcm_config *cfg, const char *name, const char *value,
                           unsigned scope, gcm_config_error *err)
{
    const gcm_option *opt;

    if (cfg == NULL || name == NULL) {
        return GCM_EINVAL;
    }
    opt = gcm_config_find_in(name, scope);
    if (opt == NULL) {
        return gcm__config_refuse_unknown(err, name, strlen(name));
    }
    return gcm__config_set_value(cfg, opt, value, 0, err);
}

int gcm_config_set_name(gcm_config *cfg, const char *name, const char *value,
                        gcm_config_error *err)
{
    return gcm_config_set_name_in(cfg, name, value, GCM_SCOPE_CLI | GCM_SCOPE_API, err);
}

int gcm_config_block_params(const gcm_config *cfg, gcm_block_params *params)
{
    gcm_block_params p;
    uint32_t i;
    int status = GCM_EINVAL;

    if (cfg == NULL || params == NULL) {
        goto done;
    }
    memset(&p, 0, sizeof p);
    /* The config may have been filled by hand, so check again what the
     * parser guarantees. */
    if (gcm_block_size(cfg->buffer_events) == 0) {
        goto done;
    }
    if (!(cfg->alert_threshold_ms >= 0.0 && cfg->alert_threshold_ms <= MAX_PAUSE_MS)) {
        goto done;
    }
    if (cfg->bucket_count < 1 || cfg->bucket_count > GCM_MAX_BUCKETS) {
        goto done;
    }
    p.capacity = cfg->buffer_events;
    p.alert_threshold_ns = gcm__ms_to_ns(cfg->alert_threshold_ms);
    p.bucket_count = cfg->bucket_count;
    for (i = 0; i < cfg->bucket_count; i++) {
        double ms = cfg->duration_buckets_ms[i];
        if (!(ms > 0.0 && ms <= MAX_PAUSE_MS)) {
            goto done;
        }
        p.bucket_bounds_ns[i] = gcm__ms_to_ns(ms);
        /* Bounds distinct in ms may round to the same nanosecond. */
        if (p.bucket_bounds_ns[i] == 0 ||
            (i > 0 && p.bucket_bounds_ns[i] <= p.bucket_bounds_ns[i - 1])) {
            goto done;
        }
    }
    memcpy(params, &p, sizeof p);
    status = 0;
done:
    return status;
}
