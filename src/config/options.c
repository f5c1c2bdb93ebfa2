/* src/config/options.c: the option table, looking options up, and the block
 * parameters a configuration asks for.
 *
 * The tables themselves are in table.c; parsing (parse.c), validation, the
 * environment encoding (envcode.c) and the block parameters are all driven
 * by them, so a new option of an existing kind is one row in each plus a
 * field in gcm_config.
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
#include "gc_monitor/stacks.h"

/* The default --duration-buckets, in ms: the table's "1,5,20,50,100". */
static const double default_buckets_ms[] = {1.0, 5.0, 20.0, 50.0, 100.0};

void gcm_config_init(gcm_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->interval_s = 5.0;
    cfg->alert_threshold_ms = 50.0;
    cfg->flamegraph_bucket_s = 5.0;
    cfg->terminal_flamegraph_width = 80;
    cfg->bucket_count = (uint32_t)(sizeof default_buckets_ms / sizeof default_buckets_ms[0]);
    memcpy(cfg->duration_buckets_ms, default_buckets_ms, sizeof default_buckets_ms);
    cfg->buffer_events = GCM_DEFAULT_CAPACITY;
    cfg->stack_depth = GCM_STACK_DEFAULT_DEPTH;
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

int gcm_config_set(gcm_config *cfg, const gcm_option *opt, const char *value, gcm_config_error *err)
{
    return gcm__config_set_value(cfg, opt, value, 0, err);
}

int gcm_config_set_name_in(gcm_config *cfg, const char *name, const char *value, unsigned scope,
                           gcm_config_error *err)
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

int gcm_config_set_name(gcm_config *cfg, const char *name, const char *value, gcm_config_error *err)
{
    return gcm_config_set_name_in(cfg, name, value, GCM_SCOPE_CLI | GCM_SCOPE_API, err);
}

int gcm_config_check(const gcm_config *cfg, gcm_config_error *err)
{
    const gcm_option *file = gcm_config_find("stacks-file");
    int status = GCM_EINVAL;

    if (cfg == NULL || file == NULL)
        goto done;
    status = 0;
    /* Without --stacks nothing records the stacks the file would hold: an
     * empty file would look like a program that never collected. */
    if (cfg->stacks_file[0] != '\0' && !cfg->stacks) {
        status = gcm__config_refuse(err, file, cfg->stacks_file,
                                    "it writes the call stacks that one records");
        if (err != NULL)
            err->needs = gcm_config_find("stacks");
    }
done:
    return status;
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
    if (cfg->stacks) {
        size_t stacks =
            gcm_stacks_size(GCM_STACK_DEFAULT_ENTRIES, cfg->stack_depth, GCM_STACK_DEFAULT_SITES);

        if (stacks == 0 || stacks > UINT32_MAX)
            goto done;
        p.stacks_size = (uint32_t)stacks;
    }
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
