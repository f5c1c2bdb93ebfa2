/* gc_monitor/config.h: the one parser and validator of pygcprofiler's options.
 *
 * Every way of configuring the monitor goes through here: the launcher's
 * command-line flags, the keywords of gc_monitor.GCMonitor, and the single
 * environment variable (GCM_ENV_CONFIG) that carries the launcher's settings
 * into the bootstrap.  The option table below drives parsing, validation and
 * the launcher's --help, so an option is added in exactly one place.
 *
 * Ownership: gcm_config is a pointer-free value the caller owns; paths are
 * stored inline.  The option table is static and read-only.  Nothing here
 * allocates, prints or exits, and every function is safe to call from any
 * thread on distinct gcm_config values.
 */
#ifndef GC_MONITOR_CONFIG_H
#define GC_MONITOR_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/block.h"
#include "gc_monitor/budget.h"
#include "gc_monitor/envvars.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GCM_PATH_MAX 4096

typedef struct gcm_config {
    double interval_s;                           /* --interval: timeline bucket width, > 0 */
    int json;                                    /* --json */
    int stats_only;                              /* --stats-only */
    int dump_objects;                            /* --dump-objects */
    int dump_garbage;                            /* --dump-garbage */
    char log_file[GCM_PATH_MAX];                 /* --log-file, "" for stderr */
    double alert_threshold_ms;                   /* --alert-threshold-ms, >= 0 */
    double slo_ms;                               /* --slo-ms, >= 0; 0: the alert threshold */
    char flamegraph_file[GCM_PATH_MAX];          /* --flamegraph-file, "" for none */
    char html_file[GCM_PATH_MAX];                /* --html-file, "" for none */
    char speedscope_file[GCM_PATH_MAX];          /* --speedscope-file, "" for none */
    double flamegraph_bucket_s;                  /* --flamegraph-bucket, > 0 */
    int terminal_flamegraph;                     /* --terminal-flamegraph */
    uint32_t terminal_flamegraph_width;          /* --terminal-flamegraph-width, >= 20 */
    int terminal_flamegraph_color;               /* --terminal-flamegraph-color */
    uint32_t bucket_count;                       /* --duration-buckets: how many bounds */
    double duration_buckets_ms[GCM_MAX_BUCKETS]; /* strictly increasing, > 0, finite */
    int prompt;                                  /* --prompt */
    uint64_t buffer_events;                      /* --buffer-events, rounded up to a power of two */
    char python[GCM_PATH_MAX];                   /* --python (launcher only), "" to search */
    char output[GCM_PATH_MAX]; /* -o/--output (launcher only): the capture file, "" for none */
    uint32_t fail_on_count;    /* --fail-on: how many rules */
    gcm_budget_rule fail_on[GCM_MAX_RULES]; /* --fail-on (launcher only), in the order given */
    int follow_children;  /* --follow-children (launcher only): new interpreters too */
    int stacks;           /* --stacks: the call stack that triggered each collection */
    uint32_t stack_depth; /* --stack-depth: innermost frames kept, 1..GCM_STACK_MAX_DEPTH */
    char stacks_file[GCM_PATH_MAX]; /* --stacks-file: folded stacks of --stacks, "" for none */
} gcm_config;

/* How an option takes its value. */
typedef enum gcm_option_kind {
    GCM_OPT_FLAG,    /* no value on the command line; "1"/"0"/"true"/"false" elsewhere */
    GCM_OPT_NUMBER,  /* a finite decimal number */
    GCM_OPT_INTEGER, /* a positive whole number */
    GCM_OPT_PATH,    /* a non-empty path */
    GCM_OPT_LIST,    /* comma-separated numbers */
    GCM_OPT_RULES    /* budget rules (budget.h), comma-separated; each use appends */
} gcm_option_kind;

/* Where an option may be given. */
#define GCM_SCOPE_CLI 0x1u /* a launcher flag */
#define GCM_SCOPE_API 0x2u /* a GCMonitor keyword */

typedef struct gcm_option {
    const char *flag;    /* command-line name without "--", e.g. "alert-threshold-ms" */
    const char *keyword; /* GCMonitor keyword, e.g. "alert_threshold_ms"; NULL if none */
    gcm_option_kind kind;
    unsigned scope;           /* GCM_SCOPE_* bits */
    const char *metavar;      /* value placeholder for --help, NULL for flags */
    const char *default_text; /* default as shown in --help, NULL for none */
    const char *help;         /* one line for --help with the unit; --help adds default_text */
} gcm_option;

/* Why a value was refused.  `option` is NULL for an unknown name; then `name`
 * holds the name as given. */
typedef struct gcm_config_error {
    int code; /* GCM_ECONFIG or GCM_EUNKNOWN */
    const gcm_option *option;
    char name[64];           /* the option name as the caller spelled it */
    char value[128];         /* the offending value, cut to fit */
    char reason[160];        /* lowercase, e.g. "must be greater than 0" */
    int missing;             /* 1 when a value-taking option got none (value NULL) */
    const gcm_option *needs; /* gcm_config_check: the option `option` is useless without */
} gcm_config_error;

/* Sets every field of `cfg` to its default (the documented defaults,
 * docs/cli.md). */
void gcm_config_init(gcm_config *cfg);

/* Returns the option table and sets *count to its length. */
const gcm_option *gcm_config_options(size_t *count);

/* Returns the option whose flag or keyword is `name` (leading "--" allowed), or NULL. */
const gcm_option *gcm_config_find(const char *name);

/* Returns the option named `name` among those of `scope`: GCM_SCOPE_CLI matches
 * flags (leading "--" allowed), GCM_SCOPE_API matches keywords; NULL if none. */
const gcm_option *gcm_config_find_in(const char *name, unsigned scope);

/* Validates `value` (NULL means "set" for a flag, "missing" for the others,
 * reported with err->missing = 1) and stores it in `cfg`.  Returns 0, or
 * GCM_ECONFIG with `err` (which may be NULL) filled; `cfg` is unchanged on error.
 * GCM_EINVAL (err untouched) if `cfg` is NULL or `opt` is not from the table. */
int gcm_config_set(gcm_config *cfg, const gcm_option *opt, const char *value,
                   gcm_config_error *err);

/* Looks `name` up and sets it.  Returns 0, GCM_EUNKNOWN or GCM_ECONFIG
 * (GCM_EINVAL for NULL arguments). */
int gcm_config_set_name(gcm_config *cfg, const char *name, const char *value,
                        gcm_config_error *err);

/* Like gcm_config_set_name, but finds `name` only among `scope` as
 * gcm_config_find_in does: the launcher passes GCM_SCOPE_CLI, GCMonitor
 * GCM_SCOPE_API, so "python" is no keyword and "json" no GCMonitor argument. */
int gcm_config_set_name_in(gcm_config *cfg, const char *name, const char *value, unsigned scope,
                           gcm_config_error *err);

/* Checks the options of `cfg` against each other, which no single value can
 * be refused for: --stacks-file needs --stacks.  Returns 0, or GCM_ECONFIG
 * with `err` (which may be NULL) naming the option and the one it needs
 * (err->needs), or GCM_EINVAL if `cfg` is NULL. */
int gcm_config_check(const gcm_config *cfg, gcm_config_error *err);

/* Writes `cfg` as one line of text for GCM_ENV_CONFIG into `buf`: every
 * option in table order as "flag=value", joined by ';', with '%', ';', '=' and
 * control bytes of values written as %XX.  Sets *needed to the length it
 * requires (without the NUL).  Returns 0, or GCM_ENOMEM if `size` is too small
 * (`buf` may then be NULL with `size` 0), or GCM_EINVAL if `cfg` is NULL. */
int gcm_config_encode(const gcm_config *cfg, char *buf, size_t size, size_t *needed);

/* Parses text made by gcm_config_encode into `cfg` (starting from defaults;
 * empty items are skipped, a repeated name keeps the last value, and an empty
 * path means unset).  Returns 0, GCM_EUNKNOWN or GCM_ECONFIG with `err` filled
 * and `cfg` unchanged, or GCM_EINVAL for NULL arguments. */
int gcm_config_decode(gcm_config *cfg, const char *text, gcm_config_error *err);

/* Formats `err` as one lowercase line without a newline, naming the option the
 * way the user wrote it: "--interval" when `as_keyword` is 0, "interval" as a
 * keyword otherwise.  Examples: "invalid value '0' for '--interval': must be
 * greater than 0", "option '--interval' requires a value", "unknown option
 * '--jsn' (did you mean '--json'?)", "option '--stacks-file' needs '--stacks':
 * it writes the call stacks that one records" (as a keyword, 'stacks_file'
 * needs 'stacks=True').  Returns the length written (truncated to
 * fit `size`). */
size_t gcm_config_error_format(const gcm_config_error *err, int as_keyword, char *buf, size_t size);

/* Fills block parameters from `cfg` (capacity, alert threshold and buckets in
 * ns); the caller adds pid, ppid and start ticks.  Returns 0 or GCM_EINVAL. */
int gcm_config_block_params(const gcm_config *cfg, gcm_block_params *params);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_CONFIG_H */
