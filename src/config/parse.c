/* src/config/parse.c: reading one option value of each kind against its rule.
 *
 * Numbers go through strtod() only after a strict grammar check, because
 * strtod() alone would also take whitespace, hex, "inf" and "nan"; and
 * numbers are read and written with '.' whatever LC_NUMERIC the program has
 * chosen.  A refused value fills a gcm_config_error that messages.c turns
 * into one line.
 */
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

/* ---- small helpers ------------------------------------------------------ */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive ASCII comparison of two strings: 1 when equal. */
static int equals_ignore_case(const char *a, const char *b)
{
    while (*a != '\0' && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* Formats a limit for a message: whole numbers without a decimal point or an
 * exponent, so users read "1000000" rather than "1e+06". */
static void format_limit(char *buf, size_t size, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        (void)snprintf(buf, size, "%.0f", v);
    } else {
        (void)snprintf(buf, size, "%g", v);
    }
}

void gcm__format_double(char *buf, size_t size, double v)
{
    char radix[8];
    char *at;
    int precision;

    /* %g would write 50 as "5e+01" at the precision that suffices. */
    if (v == floor(v) && fabs(v) < 1e15) {
        (void)snprintf(buf, size, "%.0f", v);
        return;
    }
    for (precision = 1; precision <= 17; precision++) {
        (void)snprintf(buf, size, "%.*g", precision, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    gcm__locale_radix(radix, sizeof radix);
    at = strstr(buf, radix);
    if (at != NULL && strcmp(radix, ".") != 0) {
        size_t radix_len = strlen(radix);
        *at = '.';
        memmove(at + 1, at + radix_len, strlen(at + radix_len) + 1);
    }
}

int gcm__config_refuse(gcm_config_error *err, const gcm_option *opt, const char *value,
                       const char *reason)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->code = GCM_ECONFIG;
        err->option = opt;
        gcm__copy_cut(err->name, sizeof err->name, opt->flag);
        err->missing = value == NULL;
        value = value != NULL ? value : "";
        gcm__copy_shown(err->value, sizeof err->value, value, strlen(value), GCM__SHOWN_UTF8);
        gcm__copy_cut(err->reason, sizeof err->reason, reason);
    }
    return GCM_ECONFIG;
}

/* Fills `err` for a name no option has.  A leading "--" is dropped so the
 * formatter can put it back only where the user's spelling had one. */
int gcm__config_refuse_unknown(gcm_config_error *err, const char *name, size_t name_len)
{
    if (err != NULL) {
        char shown[sizeof err->name];
        size_t len = name_len < sizeof shown - 1 ? name_len : sizeof shown - 1;

        memset(err, 0, sizeof *err);
        err->code = GCM_EUNKNOWN;
        if (len >= 2 && name[0] == '-' && name[1] == '-') {
            name += 2;
            len -= 2;
        }
        memcpy(shown, name, len);
        shown[len] = '\0';
        gcm__copy_shown(err->name, sizeof err->name, shown, strlen(shown), GCM__SHOWN_UTF8);
    }
    return GCM_EUNKNOWN;
}

/* ---- parsing one value of each kind -------------------------------------- */

/* Accepts exactly [+-]digits[.digits][(e|E)[+-]digits] with at least one
 * mantissa digit: a sign, then the shared decimal grammar, and nothing more. */
static int is_decimal(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    return *s != '\0' && gcm__decimal_length(s) == strlen(s);
}

/* Parses a number and checks it against `rule`.  On refusal writes the reason
 * (without any subject) into `why` and returns GCM_ECONFIG; the other parsers
 * below follow the same convention. */
static int parse_number(const char *s, const option_rule *rule, double *out, char *why,
                        size_t why_size)
{
    char limit[32];
    int end_ok = 0;
    double v;
    int status = GCM_ECONFIG;

    if (*s == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (strlen(s) >= NUMBER_TEXT_MAX || !is_decimal(s)) {
        gcm__copy_cut(why, why_size, "is not a number");
        goto done;
    }
    v = gcm__strtod_c(s, strlen(s), &end_ok);
    if (!end_ok) {
        /* The grammar check above makes this unreachable in practice. */
        gcm__copy_cut(why, why_size, "is not a number");
        goto done;
    }
    if (errno == ERANGE || !isfinite(v)) {
        gcm__copy_cut(why, why_size, "is out of range");
        goto done;
    }
    format_limit(limit, sizeof limit, rule->min);
    if (rule->min_exclusive && v <= rule->min) {
        (void)snprintf(why, why_size, "must be greater than %s", limit);
        goto done;
    }
    if (!rule->min_exclusive && v < rule->min) {
        (void)snprintf(why, why_size, "must be at least %s", limit);
        goto done;
    }
    if (v > rule->max) {
        format_limit(limit, sizeof limit, rule->max);
        (void)snprintf(why, why_size, "must be at most %s", limit);
        goto done;
    }
    /* A duration that rounds to 0 ns would be silently replaced by whoever
     * converts it (a zero width would mean "no buckets"): refuse it instead. */
    if (rule->ns_per_unit > 0.0 && v * rule->ns_per_unit + 0.5 < 1.0) {
        gcm__copy_cut(why, why_size, "is shorter than 1 ns");
        goto done;
    }
    /* "-0" passes ">= 0"; store it as plain zero so it prints as "0". */
    *out = v == 0.0 ? 0.0 : v;
    status = 0;
done:
    return status;
}

/* Parses a whole number of digits only.  A negative number still gets the
 * helpful "must be at least" rather than "is not a whole number". */
static int parse_integer(const char *s, const option_rule *rule, uint64_t *out, char *why,
                         size_t why_size)
{
    char limit[32];
    const char *p = s;
    uint64_t v = 0;
    int negative = 0;
    int status = GCM_ECONFIG;

    if (*s == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (*p == '\0') {
        gcm__copy_cut(why, why_size, "is not a whole number");
        goto done;
    }
    for (; *p != '\0'; p++) {
        if (!is_digit(*p)) {
            gcm__copy_cut(why, why_size, "is not a whole number");
            goto done;
        }
        /* Saturate instead of wrapping: anything this big is over the max. */
        if (v > (UINT64_MAX - 9) / 10) {
            v = UINT64_MAX;
        } else {
            v = v * 10 + (uint64_t)(*p - '0');
        }
    }
    if ((negative && v != 0) || (double)v < rule->min) {
        format_limit(limit, sizeof limit, rule->min);
        (void)snprintf(why, why_size, "must be at least %s", limit);
        goto done;
    }
    if ((double)v > rule->max) {
        format_limit(limit, sizeof limit, rule->max);
        (void)snprintf(why, why_size, "must be at most %s", limit);
        goto done;
    }
    *out = v;
    status = 0;
done:
    return status;
}

static int parse_flag(const char *s, int *out, char *why, size_t why_size)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    size_t i;
    int status = GCM_ECONFIG;

    if (s == NULL) {
        *out = 1;
        status = 0;
        goto done;
    }
    if (*s == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (equals_ignore_case(s, yes[i]) || equals_ignore_case(s, no[i])) {
            *out = equals_ignore_case(s, yes[i]);
            status = 0;
            goto done;
        }
    }
    gcm__copy_cut(why, why_size, "must be true or false");
done:
    return status;
}

/* Parses comma-separated bucket bounds in ms.  Strictness is checked on the
 * nanosecond values the block will hold, so a list accepted here can never
 * fail later in gcm_config_block_params. */
static int parse_list(const char *s, const option_rule *rule, double *values, uint32_t *count,
                      char *why, size_t why_size)
{
    const char *p = s;
    uint32_t n = 0;
    uint64_t prev_ns = 0;
    int status = GCM_ECONFIG;

    if (*s == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char item[NUMBER_TEXT_MAX + 1];
        char shown[24];
        char item_why[96];
        double v = 0.0;
        uint64_t ns;

        if (len == 0) {
            gcm__copy_cut(why, why_size, "has an empty item");
            goto done;
        }
        if (n == GCM_MAX_BUCKETS) {
            (void)snprintf(why, why_size, "has more than %d items", GCM_MAX_BUCKETS);
            goto done;
        }
        if (len > NUMBER_TEXT_MAX) {
            /* Keep exactly NUMBER_TEXT_MAX bytes: parse_number refuses that
             * length, where a shorter cut could read as another number. */
            len = NUMBER_TEXT_MAX;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        gcm__copy_shown(shown, sizeof shown, item, strlen(item), GCM__SHOWN_UTF8);
        if (parse_number(item, rule, &v, item_why, sizeof item_why) != 0) {
            (void)snprintf(why, why_size, "item '%s' %s", shown, item_why);
            goto done;
        }
        ns = gcm__ms_to_ns(v);
        if (n > 0 && ns <= prev_ns) {
            gcm__copy_cut(why, why_size, "must be strictly increasing");
            goto done;
        }
        prev_ns = ns;
        values[n++] = v;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    *count = n;
    status = 0;
done:
    return status;
}

/* Checks that a path could be created: non-empty, short enough, not a
 * directory, and inside a directory that exists.  Opening it is left to the
 * user of the path, so nothing is created by merely parsing options.  A path
 * that is only read (`read_only`) is checked for its length alone: whoever
 * reads it refuses it in one message whatever is missing (--python:
 * src/cli/interp.c). */
static int parse_path(const char *s, int read_only, char *why, size_t why_size)
{
    char dir[GCM_PATH_MAX];
    char shown[64];
    struct stat st;
    size_t len = strlen(s);
    char *slash;
    int status = GCM_ECONFIG;

    if (len == 0) {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (len >= GCM_PATH_MAX) {
        (void)snprintf(why, why_size, "is longer than %d bytes", GCM_PATH_MAX - 1);
        goto done;
    }
    if (read_only) {
        status = 0;
        goto done;
    }
    if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
        gcm__copy_cut(why, why_size, "is a directory");
        goto done;
    }
    memcpy(dir, s, len + 1);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (slash == dir) {
        dir[1] = '\0';
    } else {
        *slash = '\0';
    }
    gcm__copy_shown(shown, sizeof shown, dir, strlen(dir), GCM__SHOWN_UTF8);
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            (void)snprintf(why, why_size, "directory '%s' does not exist", shown);
        } else {
            (void)snprintf(why, why_size, "cannot access directory '%s'", shown);
        }
        goto done;
    }
    if (!S_ISDIR(st.st_mode)) {
        (void)snprintf(why, why_size, "'%s' is not a directory", shown);
        goto done;
    }
    status = 0;
done:
    return status;
}

/* Appends the comma-separated budget rules of `s` to gcm__rules[0..*count),
 * all or none.  A rule without an operator is what an unquoted
 * `--fail-on max>50ms` leaves after the shell took "> 50ms" as a redirection,
 * so that refusal shows the quoted form. */
static int parse_rules(const char *s, const char *flag, gcm_budget_rule *rules_out, uint32_t *count,
                       char *why, size_t why_size)
{
    gcm_budget_rule parsed[GCM_MAX_RULES];
    uint32_t n = *count;
    uint32_t added = 0;
    const char *p = s;
    int several = strchr(s, ',') != NULL;
    int status = GCM_ECONFIG;

    if (*s == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        char item[GCM_RULE_TEXT_MAX * 2];
        char item_why[128];
        char shown[GCM_RULE_TEXT_MAX];

        if (n + added >= GCM_MAX_RULES) {
            (void)snprintf(why, why_size, "is one rule too many: at most %d are kept",
                           GCM_MAX_RULES);
            goto done;
        }
        if (len >= sizeof item) {
            /* Keep a prefix that is still too long to be a rule's text. */
            len = sizeof item - 1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        gcm__copy_shown(shown, sizeof shown, item, strlen(item), GCM__SHOWN_UTF8);
        if (gcm_budget_lacks_operator(item)) {
            char example[GCM_RULE_TEXT_MAX];
            char hint[GCM_RULE_TEXT_MAX * 4];
            (void)gcm_budget_example(item, example, sizeof example);
            (void)snprintf(
                hint, sizeof hint, "%s%s%shas no operator: quote the whole rule, as in --%s '%s'",
                several ? "rule '" : "", several ? shown : "", several ? "' " : "", flag, example);
            gcm__copy_cut(why, why_size, hint);
            goto done;
        }
        if (gcm_budget_parse(item, &parsed[added], item_why, sizeof item_why) != 0) {
            if (several) {
                char both[GCM_RULE_TEXT_MAX + sizeof item_why + 16];
                (void)snprintf(both, sizeof both, "rule '%s' %s", shown, item_why);
                gcm__copy_cut(why, why_size, both);
            } else {
                gcm__copy_cut(why, why_size, item_why);
            }
            goto done;
        }
        added++;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    memcpy(rules_out + n, parsed, added * sizeof parsed[0]);
    *count = n + added;
    status = 0;
done:
    return status;
}

/* Returns the row of `opt` in gcm__options, or -1 when it is not one of its
 * rows. */
static ptrdiff_t option_index(const gcm_option *opt)
{
    if (opt < gcm__options || opt >= gcm__options + gcm__option_count) {
        return -1;
    }
    return opt - gcm__options;
}

/* Checks that a rule's field has the type its option's kind writes. */
static int rule_fits(gcm_option_kind kind, const option_rule *rule)
{
    switch (kind) {
    case GCM_OPT_FLAG:
        return rule->size == sizeof(int);
    case GCM_OPT_NUMBER:
        return rule->size == sizeof(double);
    case GCM_OPT_INTEGER:
        return rule->size == sizeof(uint32_t) || rule->size == sizeof(uint64_t);
    case GCM_OPT_PATH:
        return rule->size == GCM_PATH_MAX;
    case GCM_OPT_LIST:
        return rule->size == GCM_MAX_BUCKETS * sizeof(double);
    case GCM_OPT_RULES:
        return rule->size == GCM_MAX_RULES * sizeof(gcm_budget_rule);
    default:
        return 0;
    }
}

int gcm__config_set_value(gcm_config *cfg, const gcm_option *opt, const char *value,
                          int empty_path_ok, gcm_config_error *err)
{
    char why[sizeof err->reason] = "";
    ptrdiff_t index = option_index(opt);
    const option_rule *rule;
    char *field;
    int status = GCM_EINVAL;

    if (cfg == NULL || index < 0) {
        goto done;
    }
    rule = &gcm__rules[index];
    field = (char *)cfg + rule->offset;
    if (!rule_fits(opt->kind, rule)) {
        /* A table row that names a field of the wrong type: refuse rather
         * than write past it.  The unit tests set every option, so this
         * never ships. */
        goto done;
    }
    if (value == NULL && opt->kind != GCM_OPT_FLAG) {
        gcm__copy_cut(why, sizeof why, "requires a value");
        goto refused;
    }
    switch (opt->kind) {
    case GCM_OPT_FLAG: {
        int v = 0;
        if (parse_flag(value, &v, why, sizeof why) != 0) {
            goto refused;
        }
        memcpy(field, &v, sizeof v);
        break;
    }
    case GCM_OPT_NUMBER: {
        double v = 0.0;
        if (parse_number(value, rule, &v, why, sizeof why) != 0) {
            goto refused;
        }
        memcpy(field, &v, sizeof v);
        break;
    }
    case GCM_OPT_INTEGER: {
        uint64_t v = 0;
        if (parse_integer(value, rule, &v, why, sizeof why) != 0) {
            goto refused;
        }
        if (rule->flags & RULE_POW2) {
            v = gcm_block_capacity_for(v);
        }
        if (rule->size == sizeof(uint32_t)) {
            uint32_t v32 = (uint32_t)v;
            memcpy(field, &v32, sizeof v32);
        } else {
            memcpy(field, &v, sizeof v);
        }
        break;
    }
    case GCM_OPT_PATH:
        if (!(empty_path_ok && *value == '\0') &&
            parse_path(value, (rule->flags & RULE_READ) != 0, why, sizeof why) != 0) {
            goto refused;
        }
        /* Zero the whole field so equal settings are equal bytes. */
        memset(field, 0, rule->size);
        memcpy(field, value, strlen(value));
        break;
    case GCM_OPT_LIST: {
        double values[GCM_MAX_BUCKETS] = {0};
        uint32_t count = 0;
        if (parse_list(value, rule, values, &count, why, sizeof why) != 0) {
            goto refused;
        }
        memcpy(field, values, sizeof values);
        memcpy((char *)cfg + rule->count_offset, &count, sizeof count);
        break;
    }
    case GCM_OPT_RULES: {
        uint32_t count;
        memcpy(&count, (char *)cfg + rule->count_offset, sizeof count);
        if (count > GCM_MAX_RULES) {
            goto done;
        }
        /* The decoder restores "no rules" from an empty value. */
        if (!(empty_path_ok && *value == '\0') &&
            parse_rules(value, opt->flag, (gcm_budget_rule *)(void *)field, &count, why,
                        sizeof why) != 0) {
            goto refused;
        }
        memcpy((char *)cfg + rule->count_offset, &count, sizeof count);
        break;
    }
    default:
        goto done;
    }
    status = 0;
    goto done;
refused:
    status = gcm__config_refuse(err, opt, value, why);
done:
    return status;
}
