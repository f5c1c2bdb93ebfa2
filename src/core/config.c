/* config.c: the option table and the one parser of pygcprofiler's options.
 *
 * The public table (gcm_option) says what an option is called and how --help
 * shows it; a private table of the same length, row for row, says where its
 * value lives in gcm_config and which range it must fall in.  Parsing,
 * validation, the environment encoding and the block parameters are all
 * driven by those two tables, so a new option of an existing kind is one row
 * in each plus a field in gcm_config.
 *
 * Nothing here keeps mutable state, so every function is thread-safe on
 * distinct gcm_config values.  Numbers go through strtod() only after a
 * strict grammar check, because strtod() alone would also take whitespace,
 * hex, "inf" and "nan"; and numbers are read and written with '.' whatever
 * LC_NUMERIC the program has chosen.
 */
#include "gc_monitor/config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gc_monitor/block.h"
#include "gc_monitor/errors.h"
#include "internal.h"

/* Limits that keep every value convertible to nanoseconds in 64 bits, with
 * plenty of room: a day for a pause, a million seconds for a time bucket. */
#define MAX_SECONDS 1e6
#define MAX_PAUSE_MS 86400000.0
#define MAX_WIDTH 1000.0

/* Longest number text we parse; anything longer is not a sensible number. */
#define NUMBER_TEXT_MAX 64

enum { RULE_POW2 = 0x1u }; /* round an integer up to a valid ring capacity */

#define BOTH (GCM_SCOPE_CLI | GCM_SCOPE_API)

static const gcm_option options[] = {
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

#define OPTION_COUNT (sizeof options / sizeof options[0])

/* Where an option's value lives and which values it accepts.  For a list,
 * `offset` is the array of doubles and `count_offset` its uint32_t length. */
typedef struct option_rule {
    size_t offset;
    size_t size;          /* of the field, so integers may be 32 or 64 bits wide */
    size_t count_offset;  /* lists only */
    double min;
    int min_exclusive;    /* 1 when `min` itself is refused: "greater than" */
    double max;
    unsigned flags;       /* RULE_* */
    double ns_per_unit;   /* for durations: a value below 1 ns after rounding is refused */
} option_rule;

#define FIELD(f) .offset = offsetof(gcm_config, f), .size = sizeof(((gcm_config *)0)->f)

/* Row i describes options[i]; the static assertion below keeps the lengths
 * equal and the unit tests check each row against its field. */
static const option_rule rules[] = {
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

_Static_assert(sizeof rules / sizeof rules[0] == OPTION_COUNT,
               "every option needs exactly one rule row");

static const double default_buckets_ms[] = {1.0, 5.0, 20.0, 50.0, 100.0};

/* ---- small helpers ------------------------------------------------------ */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int equals_ignore_case(const char *a, const char *b)
{
    while (*a != '\0' && lower(*a) == lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* Returns the length of the well-formed UTF-8 sequence at `s` (1 to 4), or 0
 * if it is not one: the same bytes Python's strict decoder refuses, since the
 * extension turns our messages into str. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t n;
    size_t k;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = s[0] == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0;
    }
    /* A NUL fails the test, so this never reads past the string. */
    for (k = 2; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return n;
}

/* Copies `src` into `dst` as one line of valid UTF-8: control bytes and
 * malformed sequences become '?', so an error message stays one line and
 * converts to a Python str; a value too long is cut between characters and
 * ends in "..." so the reader knows it was cut.  `size` is at least 4. */
static void copy_shown(char *dst, size_t size, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t total = 0;
    size_t limit;
    size_t i;
    size_t o = 0;

    for (i = 0; s[i] != '\0';) {
        size_t n = utf8_length(s + i);
        total += n == 0 ? 1 : n;
        i += n == 0 ? 1 : n;
    }
    limit = total < size ? total : size - 4;
    for (i = 0; s[i] != '\0';) {
        size_t n = utf8_length(s + i);
        size_t width = n == 0 ? 1 : n;
        if (o + width > limit) {
            break;
        }
        if (n <= 1) {
            dst[o] = (n == 0 || s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
        } else {
            memcpy(dst + o, s + i, n);
        }
        o += width;
        i += width;
    }
    if (total >= size) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* Copies a string that is known to fit, or cuts it without decoration. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (len >= size) {
        len = size - 1;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
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

/* Formats `v` with the fewest digits that read back as exactly `v`, so the
 * environment encoding round-trips and stays readable ("0.1", not
 * "0.10000000000000001"), always with '.' as the decimal point. */
static void format_double(char *buf, size_t size, double v)
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

/* Milliseconds to nanoseconds, rounded to nearest; callers keep ms within
 * [0, MAX_PAUSE_MS] so the result fits easily. */
static uint64_t ms_to_ns(double ms)
{
    return (uint64_t)(ms * 1e6 + 0.5);
}

/* Fills `err` (if any) and returns GCM_ECONFIG. */
static int refuse(gcm_config_error *err, const gcm_option *opt, const char *value,
                  const char *reason)
{
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        err->code = GCM_ECONFIG;
        err->option = opt;
        copy_cut(err->name, sizeof err->name, opt->flag);
        copy_shown(err->value, sizeof err->value, value != NULL ? value : "");
        copy_cut(err->reason, sizeof err->reason, reason);
        err->missing = value == NULL;
    }
    return GCM_ECONFIG;
}

/* Fills `err` for a name no option has.  A leading "--" is dropped so the
 * formatter can put it back only where the user's spelling had one. */
static int refuse_unknown(gcm_config_error *err, const char *name, size_t name_len)
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
        copy_shown(err->name, sizeof err->name, shown);
    }
    return GCM_EUNKNOWN;
}

/* ---- parsing one value of each kind -------------------------------------- */

/* Accepts exactly [+-]digits[.digits][(e|E)[+-]digits] with at least one
 * mantissa digit: plain decimal, nothing strtod() would add to it. */
static int is_decimal(const char *s)
{
    int digits = 0;

    if (*s == '+' || *s == '-') {
        s++;
    }
    for (; is_digit(*s); s++) {
        digits++;
    }
    if (*s == '.') {
        for (s++; is_digit(*s); s++) {
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            s++;
        }
        if (!is_digit(*s)) {
            return 0;
        }
        while (is_digit(*s)) {
            s++;
        }
    }
    return *s == '\0';
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
        copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (strlen(s) >= NUMBER_TEXT_MAX || !is_decimal(s)) {
        copy_cut(why, why_size, "is not a number");
        goto done;
    }
    v = gcm__strtod_c(s, strlen(s), &end_ok);
    if (!end_ok) {
        /* The grammar check above makes this unreachable in practice. */
        copy_cut(why, why_size, "is not a number");
        goto done;
    }
    if (errno == ERANGE || !isfinite(v)) {
        copy_cut(why, why_size, "is out of range");
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
     * converts it, the very thing the original tool did with zero. */
    if (rule->ns_per_unit > 0.0 && v * rule->ns_per_unit + 0.5 < 1.0) {
        copy_cut(why, why_size, "is shorter than 1 ns");
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
        copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (*p == '\0') {
        copy_cut(why, why_size, "is not a whole number");
        goto done;
    }
    for (; *p != '\0'; p++) {
        if (!is_digit(*p)) {
            copy_cut(why, why_size, "is not a whole number");
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
        copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (equals_ignore_case(s, yes[i]) || equals_ignore_case(s, no[i])) {
            *out = equals_ignore_case(s, yes[i]);
            status = 0;
            goto done;
        }
    }
    copy_cut(why, why_size, "must be true or false");
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
        copy_cut(why, why_size, "must not be empty");
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
            copy_cut(why, why_size, "has an empty item");
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
        copy_shown(shown, sizeof shown, item);
        if (parse_number(item, rule, &v, item_why, sizeof item_why) != 0) {
            (void)snprintf(why, why_size, "item '%s' %s", shown, item_why);
            goto done;
        }
        ns = ms_to_ns(v);
        if (n > 0 && ns <= prev_ns) {
            copy_cut(why, why_size, "must be strictly increasing");
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
 * user of the path, so nothing is created by merely parsing options. */
static int parse_path(const char *s, char *why, size_t why_size)
{
    char dir[GCM_PATH_MAX];
    char shown[64];
    struct stat st;
    size_t len = strlen(s);
    char *slash;
    int status = GCM_ECONFIG;

    if (len == 0) {
        copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    if (len >= GCM_PATH_MAX) {
        (void)snprintf(why, why_size, "is longer than %d bytes", GCM_PATH_MAX - 1);
        goto done;
    }
    if (stat(s, &st) == 0 && S_ISDIR(st.st_mode)) {
        copy_cut(why, why_size, "is a directory");
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
    copy_shown(shown, sizeof shown, dir);
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

/* Appends the comma-separated budget rules of `s` to rules[0..*count),
 * all or none.  A rule without an operator is what an unquoted
 * `--fail-on max>50ms` leaves after the shell took "> 50ms" as a redirection,
 * so that refusal shows the quoted form. */
static int parse_rules(const char *s, const char *flag, gcm_budget_rule *rules_out,
                       uint32_t *count, char *why, size_t why_size)
{
    gcm_budget_rule parsed[GCM_MAX_RULES];
    uint32_t n = *count;
    uint32_t added = 0;
    const char *p = s;
    int several = strchr(s, ',') != NULL;
    int status = GCM_ECONFIG;

    if (*s == '\0') {
        copy_cut(why, why_size, "must not be empty");
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
        copy_shown(shown, sizeof shown, item);
        if (gcm_budget_lacks_operator(item)) {
            char example[GCM_RULE_TEXT_MAX];
            char hint[GCM_RULE_TEXT_MAX * 4];
            (void)gcm_budget_example(item, example, sizeof example);
            (void)snprintf(hint, sizeof hint,
                           "%s%s%shas no operator: quote the whole rule, as in --%s '%s'",
                           several ? "rule '" : "", several ? shown : "", several ? "' " : "",
                           flag, example);
            copy_cut(why, why_size, hint);
            goto done;
        }
        if (gcm_budget_parse(item, &parsed[added], item_why, sizeof item_why) != 0) {
            if (several) {
                char both[GCM_RULE_TEXT_MAX + sizeof item_why + 16];
                (void)snprintf(both, sizeof both, "rule '%s' %s", shown, item_why);
                copy_cut(why, why_size, both);
            } else {
                copy_cut(why, why_size, item_why);
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

static ptrdiff_t option_index(const gcm_option *opt)
{
    if (opt < options || opt >= options + OPTION_COUNT) {
        return -1;
    }
    return opt - options;
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

/* Validates and stores one value.  `empty_path_ok` lets the environment
 * decoder restore an unset path, which a user may not give explicitly. */
static int set_value(gcm_config *cfg, const gcm_option *opt, const char *value,
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
    rule = &rules[index];
    field = (char *)cfg + rule->offset;
    if (!rule_fits(opt->kind, rule)) {
        /* A table row that names a field of the wrong type: refuse rather
         * than write past it.  The unit tests set every option, so this
         * never ships. */
        goto done;
    }
    if (value == NULL && opt->kind != GCM_OPT_FLAG) {
        copy_cut(why, sizeof why, "requires a value");
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
        if (!(empty_path_ok && *value == '\0') && parse_path(value, why, sizeof why) != 0) {
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
    status = refuse(err, opt, value, why);
done:
    return status;
}

/* ---- public API ---------------------------------------------------------- */

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
}

const gcm_option *gcm_config_options(size_t *count)
{
    if (count != NULL) {
        *count = OPTION_COUNT;
    }
    return options;
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
    for (i = 0; i < OPTION_COUNT; i++) {
        const gcm_option *opt = &options[i];
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
    return set_value(cfg, opt, value, 0, err);
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
        return refuse_unknown(err, name, strlen(name));
    }
    return set_value(cfg, opt, value, 0, err);
}

int gcm_config_set_name(gcm_config *cfg, const char *name, const char *value,
                        gcm_config_error *err)
{
    return gcm_config_set_name_in(cfg, name, value, GCM_SCOPE_CLI | GCM_SCOPE_API, err);
}

/* ---- the environment encoding --------------------------------------------- */

/* An output cursor that counts every byte but stores only what fits, so one
 * pass both fills the buffer and measures what it would need. */
typedef struct out_text {
    char *buf;
    size_t size;
    size_t len;
} out_text;

static void put_byte(out_text *out, char c)
{
    if (out->len + 1 < out->size) {
        out->buf[out->len] = c;
    }
    out->len++;
}

static void put_raw(out_text *out, const char *s)
{
    for (; *s != '\0'; s++) {
        put_byte(out, *s);
    }
}

static int needs_escape(unsigned char c)
{
    return c == '%' || c == ';' || c == '=' || c < 0x20 || c == 0x7f;
}

static void put_escaped(out_text *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (needs_escape(c)) {
            put_byte(out, '%');
            put_byte(out, hex[c >> 4]);
            put_byte(out, hex[c & 0xf]);
        } else {
            put_byte(out, (char)c);
        }
    }
}

/* Writes one option's current value as text the parser accepts back. */
static void put_value(out_text *out, const gcm_config *cfg, size_t index)
{
    const option_rule *rule = &rules[index];
    const char *field = (const char *)cfg + rule->offset;
    char text[NUMBER_TEXT_MAX];

    switch (options[index].kind) {
    case GCM_OPT_FLAG: {
        int v;
        memcpy(&v, field, sizeof v);
        put_raw(out, v ? "1" : "0");
        break;
    }
    case GCM_OPT_NUMBER: {
        double v;
        memcpy(&v, field, sizeof v);
        format_double(text, sizeof text, v);
        put_raw(out, text);
        break;
    }
    case GCM_OPT_INTEGER: {
        uint64_t v;
        if (rule->size == sizeof(uint32_t)) {
            uint32_t v32;
            memcpy(&v32, field, sizeof v32);
            v = v32;
        } else {
            memcpy(&v, field, sizeof v);
        }
        (void)snprintf(text, sizeof text, "%llu", (unsigned long long)v);
        put_raw(out, text);
        break;
    }
    case GCM_OPT_PATH: {
        /* The field is a fixed array; never read past it even if a caller
         * filled it without a terminator. */
        char path[GCM_PATH_MAX];
        memcpy(path, field, sizeof path);
        path[sizeof path - 1] = '\0';
        put_escaped(out, path);
        break;
    }
    case GCM_OPT_LIST: {
        const double *values = (const double *)(const void *)field;
        uint32_t count;
        uint32_t i;
        memcpy(&count, (const char *)cfg + rule->count_offset, sizeof count);
        if (count > GCM_MAX_BUCKETS) {
            count = GCM_MAX_BUCKETS;
        }
        for (i = 0; i < count; i++) {
            if (i > 0) {
                put_byte(out, ',');
            }
            format_double(text, sizeof text, values[i]);
            put_raw(out, text);
        }
        break;
    }
    case GCM_OPT_RULES: {
        /* Each rule's canonical text parses back to the same bytes; a rule
         * holds no ',' so the texts join like a list. */
        const gcm_budget_rule *list = (const gcm_budget_rule *)(const void *)field;
        char rule_text[GCM_RULE_TEXT_MAX];
        uint32_t count;
        uint32_t i;
        memcpy(&count, (const char *)cfg + rule->count_offset, sizeof count);
        if (count > GCM_MAX_RULES) {
            count = GCM_MAX_RULES;
        }
        for (i = 0; i < count; i++) {
            if (i > 0) {
                put_byte(out, ',');
            }
            memcpy(rule_text, list[i].text, sizeof rule_text);
            rule_text[sizeof rule_text - 1] = '\0';
            put_escaped(out, rule_text);
        }
        break;
    }
    default:
        break;
    }
}

int gcm_config_encode(const gcm_config *cfg, char *buf, size_t size, size_t *needed)
{
    out_text out = {buf, size, 0};
    size_t i;

    if (cfg == NULL || (buf == NULL && size != 0)) {
        return GCM_EINVAL;
    }
    for (i = 0; i < OPTION_COUNT; i++) {
        if (i > 0) {
            put_byte(&out, ';');
        }
        put_raw(&out, options[i].flag);
        put_byte(&out, '=');
        put_value(&out, cfg, i);
    }
    if (needed != NULL) {
        *needed = out.len;
    }
    if (size > 0) {
        buf[out.len < size ? out.len : size - 1] = '\0';
    }
    return out.len < size ? 0 : GCM_ENOMEM;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Undoes put_escaped on `len` bytes of `src`.  Returns 0, or GCM_ECONFIG
 * with the reason in `why`. */
static int unescape(const char *src, size_t len, char *dst, size_t dst_size, char *why,
                    size_t why_size)
{
    size_t i;
    size_t n = 0;
    int status = GCM_ECONFIG;

    for (i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(src[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                copy_cut(why, why_size, "has a bad %-escape");
                goto done;
            }
            c = hi * 16 + lo;
            if (c == 0) {
                copy_cut(why, why_size, "contains a NUL byte");
                goto done;
            }
            i += 2;
        }
        if (n + 1 >= dst_size) {
            (void)snprintf(why, why_size, "is longer than %zu bytes", dst_size - 2);
            goto done;
        }
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    status = 0;
done:
    return status;
}

int gcm_config_decode(gcm_config *cfg, const char *text, gcm_config_error *err)
{
    /* Work on a copy so a refused string leaves the caller's settings alone.
     * The value buffer holds one byte more than any valid path, so an
     * over-long path reaches the path check and gets its usual message. */
    gcm_config tmp;
    char value[GCM_PATH_MAX + 1];
    const char *p = text;
    int status = GCM_EINVAL;

    if (cfg == NULL || text == NULL) {
        goto done;
    }
    gcm_config_init(&tmp);
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t item_len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', item_len);
        size_t name_len = eq != NULL ? (size_t)(eq - p) : item_len;
        const gcm_option *opt = NULL;
        size_t i;

        /* The encoder names options by flag only, so that is all we accept. */
        for (i = 0; i < OPTION_COUNT; i++) {
            if (strlen(options[i].flag) == name_len &&
                strncmp(options[i].flag, p, name_len) == 0) {
                opt = &options[i];
                break;
            }
        }
        if (item_len == 0) {
            /* An empty item (";;") carries nothing; skip it. */
        } else if (opt == NULL) {
            status = refuse_unknown(err, p, name_len);
            goto done;
        } else if (eq == NULL) {
            status = refuse(err, opt, NULL, "requires a value");
            goto done;
        } else {
            char why[sizeof err->reason];
            size_t raw_len = item_len - name_len - 1;
            if (unescape(eq + 1, raw_len, value, sizeof value, why, sizeof why) != 0) {
                /* Show the text as it came, since it could not be decoded. */
                char raw[sizeof err->value];
                if (raw_len >= sizeof raw) {
                    raw_len = sizeof raw - 1;
                }
                memcpy(raw, eq + 1, raw_len);
                raw[raw_len] = '\0';
                status = refuse(err, opt, raw, why);
                goto done;
            }
            status = set_value(&tmp, opt, value, 1, err);
            if (status != 0) {
                goto done;
            }
        }
        p += item_len;
        if (*p == ';') {
            p++;
        }
    }
    memcpy(cfg, &tmp, sizeof tmp);
    status = 0;
done:
    return status;
}

/* ---- messages ------------------------------------------------------------ */

/* Edit distance between two short names, for "did you mean".  Names longer
 * than the row are never close to anything, so they get a large distance. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t row[64];
    size_t la = strlen(a);
    size_t lb = strlen(b);
    size_t i;
    size_t j;

    if (la >= sizeof row / sizeof row[0] || lb >= sizeof row / sizeof row[0]) {
        return (size_t)-1;
    }
    for (j = 0; j <= lb; j++) {
        row[j] = j;
    }
    for (i = 1; i <= la; i++) {
        size_t diagonal = row[0];
        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t above = row[j];
            size_t best = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (above + 1 < best) {
                best = above + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            diagonal = above;
            row[j] = best;
        }
    }
    return row[lb];
}

/* Returns the closest name of the same style (flag or keyword) within two
 * edits, or NULL. */
static const char *closest_name(const char *name, int as_keyword)
{
    const char *best = NULL;
    size_t best_distance = 3;
    size_t len = strlen(name);
    size_t i;

    for (i = 0; i < OPTION_COUNT; i++) {
        const char *candidate = as_keyword ? options[i].keyword : options[i].flag;
        unsigned scope = as_keyword ? GCM_SCOPE_API : GCM_SCOPE_CLI;
        size_t d;
        if (candidate == NULL || !(options[i].scope & scope)) {
            continue;
        }
        d = edit_distance(name, candidate);
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

size_t gcm_config_error_format(const gcm_config_error *err, int as_keyword, char *buf,
                               size_t size)
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
        if (err->missing) {
            n = snprintf(buf, size, "option '%s%s' requires a value", dashes, name);
        } else {
            n = snprintf(buf, size, "invalid value '%s' for '%s%s': %s", err->value, dashes,
                         name, err->reason);
        }
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
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
    p.alert_threshold_ns = ms_to_ns(cfg->alert_threshold_ms);
    p.bucket_count = cfg->bucket_count;
    for (i = 0; i < cfg->bucket_count; i++) {
        double ms = cfg->duration_buckets_ms[i];
        if (!(ms > 0.0 && ms <= MAX_PAUSE_MS)) {
            goto done;
        }
        p.bucket_bounds_ns[i] = ms_to_ns(ms);
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
