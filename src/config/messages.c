/* src/config/messages.c: a refused option value as one lowercase line, with a
 * "did you mean" for a misspelt name. */
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

/* Returns the closest name of the same style (flag or keyword) within two
 * edits, or NULL. */
static const char *closest_name(const char *name, int as_keyword)
{
    const char *best = NULL;
    size_t best_distance = 3;
    size_t len = strlen(name);
    size_t i;

    for (i = 0; i < gcm__option_count; i++) {
        const char *candidate = as_keyword ? gcm__options[i].keyword : gcm__options[i].flag;
        unsigned scope = as_keyword ? GCM_SCOPE_API : GCM_SCOPE_CLI;
        size_t d;
        if (candidate == NULL || !(gcm__options[i].scope & scope)) {
            continue;
        }
        d = gcm__edit_distance(name, len, candidate, 2);
        /* Zero means the name exists in the other style (a keyword given as
         * a flag or the reverse), and suggesting it back would be nonsense; a
         * distance as long as the name itself means nothing was shared. */
        if (d > 0 && d < best_distance && d < len) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

size_t gcm_config_error_format(const gcm_config_error *err, int as_keyword, char *buf, size_t size)
{
    char suggestion[96] = "";
    const char *dashes = as_keyword ? "" : "--";
    const char *name;
    int n;

    if (buf == NULL || size == 0) {
        return 0;
    }
    if (err == NULL) {
        buf[0] = '\0';
        return 0;
    }
    if (err->option == NULL) {
        const char *close = closest_name(err->name, as_keyword);
        /* A name that already starts with '-' (like "-j") is shown as given. */
        if (err->name[0] == '-') {
            dashes = "";
        }
        if (close != NULL) {
            (void)snprintf(suggestion, sizeof suggestion, " (did you mean '%s%s'?)",
                           as_keyword ? "" : "--", close);
        }
        n = snprintf(buf, size, "unknown option '%s%s'%s", dashes, err->name, suggestion);
    } else {
        name = err->option->flag;
        if (as_keyword && err->option->keyword != NULL) {
            name = err->option->keyword;
        } else {
            /* An option without a keyword is only ever a flag. */
            dashes = "--";
        }
        if (err->needs != NULL) {
            /* A keyword flag is switched on with True, not on its own. */
            int flag = err->needs->kind == GCM_OPT_FLAG;
            const char *needed = err->needs->flag;

            if (as_keyword && err->needs->keyword != NULL)
                needed = err->needs->keyword;
            n = snprintf(buf, size, "option '%s%s' needs '%s%s%s': %s", dashes, name,
                         as_keyword ? "" : "--", needed, as_keyword && flag ? "=True" : "",
                         err->reason);
        } else if (err->missing) {
            n = snprintf(buf, size, "option '%s%s' requires a value", dashes, name);
        } else {
            n = snprintf(buf, size, "invalid value '%s' for '%s%s': %s", err->value, dashes, name,
                         err->reason);
        }
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
}
