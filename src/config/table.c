/* src/config/table.c: every option of pygcprofiler, in two tables.
 *
 * The public table (gcm_option) says what an option is called and how --help
 * shows it; a private table of the same length, row for row, says where its
 * value lives in gcm_config and which range it must fall in.  This file
 * holds data only: every other file of the option engine reads it, and it
 * calls nothing.
 */
#include <stddef.h>
#include <stdint.h>

#include "config_internal.h"
#include "gc_monitor/block.h"
#include "gc_monitor/config.h"
#include "gc_monitor/stacks.h"

#define BOTH (GCM_SCOPE_CLI | GCM_SCOPE_API)

const gcm_option gcm__options[] = {
    {"interval", "interval", GCM_OPT_NUMBER, BOTH, "SECONDS", "5.0",
     "width of a timeline bucket in the report, in seconds"},
    {"json", "json_output", GCM_OPT_FLAG, BOTH, NULL, NULL, "write the report as JSON"},
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
    {"slo-ms", "slo_ms", GCM_OPT_NUMBER, BOTH, "MS", NULL,
     "the verdict's pause budget, in ms (0 or none: the alert threshold)"},
    {"flamegraph-file", "flamegraph_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write flame graph data to PATH"},
    {"html-file", "html_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write a self-contained HTML report (timeline, histograms) to PATH"},
    {"speedscope-file", "speedscope_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write speedscope profiles of the pauses (and of --stacks) to PATH"},
    {"flamegraph-bucket", "flamegraph_bucket", GCM_OPT_NUMBER, BOTH, "SECONDS", "5.0",
     "width of a flame graph time bucket, in seconds"},
    {"terminal-flamegraph", "terminal_flamegraph", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "draw a flame graph of pauses in the report"},
    {"terminal-flamegraph-width", "terminal_flamegraph_width", GCM_OPT_INTEGER, BOTH, "COLUMNS",
     "80", "width of the terminal flame graph, in columns (20 to 1000)"},
    {"terminal-flamegraph-color", "terminal_flamegraph_color", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "color the terminal flame graph with ANSI escapes"},
    {"duration-buckets", "duration_buckets", GCM_OPT_LIST, BOTH, "MS,MS,...", "1,5,20,50,100",
     "upper bounds of the pause duration buckets, in ms (1 to 32, increasing)"},
    {"prompt", "enable_prompt", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "print an optimization prompt for an AI assistant at exit"},
    {"buffer-events", "buffer_events", GCM_OPT_INTEGER, BOTH, "N", "65536",
     "collections kept in memory, rounded up to a power of two"},
    {"stacks", "stacks", GCM_OPT_FLAG, BOTH, NULL, NULL,
     "record the call stack that triggered each collection (\"Top GC triggers\")"},
    {"stack-depth", "stack_depth", GCM_OPT_INTEGER, BOTH, "N", "32",
     "innermost frames kept per stack with --stacks (1 to 128)"},
    {"stacks-file", "stacks_file", GCM_OPT_PATH, BOTH, "PATH", NULL,
     "write the --stacks stacks to PATH as folded stacks (flamegraph.pl, speedscope)"},
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
    {FIELD(slo_ms), .max = MAX_PAUSE_MS},
    {FIELD(flamegraph_file)},
    {FIELD(html_file)},
    {FIELD(speedscope_file)},
    {FIELD(flamegraph_bucket_s), .min_exclusive = 1, .max = MAX_SECONDS, .ns_per_unit = 1e9},
    {FIELD(terminal_flamegraph)},
    {FIELD(terminal_flamegraph_width), .min = 20.0, .max = MAX_WIDTH},
    {FIELD(terminal_flamegraph_color)},
    {FIELD(duration_buckets_ms), .count_offset = offsetof(gcm_config, bucket_count),
     .min_exclusive = 1, .max = MAX_PAUSE_MS, .ns_per_unit = 1e6},
    {FIELD(prompt)},
    {FIELD(buffer_events), .min = 1.0, .max = (double)GCM_MAX_CAPACITY, .flags = RULE_POW2},
    {FIELD(stacks)},
    {FIELD(stack_depth), .min = 1.0, .max = (double)GCM_STACK_MAX_DEPTH},
    {FIELD(stacks_file)},
    {FIELD(python), .flags = RULE_READ},
    {FIELD(output)},
    {FIELD(fail_on), .count_offset = offsetof(gcm_config, fail_on_count)},
    {FIELD(follow_children)},
};

_Static_assert(sizeof gcm__rules / sizeof gcm__rules[0] ==
                   sizeof gcm__options / sizeof gcm__options[0],
               "every option needs exactly one rule row");
