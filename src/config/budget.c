/* src/config/budget.c: parsing and checking GC budget rules (`--fail-on`).
 *
 * A rule is parsed once, before the target starts, into a pointer-free
 * gcm_budget_rule whose limit is already in base units (ns, percent or a
 * count), so checking it at exit is one comparison.  The rule also keeps a
 * canonical text that parses back to the same bytes: that text is what the
 * launcher's environment encoding carries into the bootstrap.
 *
 * Numbers use the same strict grammar as the option parser (no hex, "inf" or
 * "nan", whatever strtod() would add) and are read and written with '.'
 * whatever LC_NUMERIC the program chose, because the extension also parses
 * rules inside programs that may have called setlocale().
 */
#include "gc_monitor/budget.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "base/base.h"

/* Longest limit text we accept; anything longer is not a sensible number, and
 * the bound keeps every canonical text within GCM_RULE_TEXT_MAX. */
#define NUMBER_TEXT_MAX 24
#define NAME_TEXT_MAX 32

/* The largest duration limit: a day, as for --alert-threshold-ms. */
#define MAX_LIMIT_NS 86400e9
/* The largest count limit: what a JSON summary holds exactly (2^53 - 1). */
#define MAX_LIMIT_COUNT 9007199254740991.0

typedef struct metric_info {
    const char *name;
    gcm_metric_kind kind;
    int per_generation; /* 1 when gen0. .. gen2. may prefix it */
    const char *json_key;
} metric_info;

/* Row i describes gcm_metric i; the assertion keeps the two in step. */
static const metric_info metrics[] = {
    {"count", GCM_KIND_COUNT, 1, "count"},
    {"total", GCM_KIND_DURATION, 1, "total_ms"},
    {"mean", GCM_KIND_DURATION, 1, "mean_ms"},
    {"min", GCM_KIND_DURATION, 1, "min_ms"},
    {"max", GCM_KIND_DURATION, 1, "max_ms"},
    {"p50", GCM_KIND_DURATION, 1, "p50_ms"},
    {"p90", GCM_KIND_DURATION, 1, "p90_ms"},
    {"p99", GCM_KIND_DURATION, 1, "p99_ms"},
    {"p999", GCM_KIND_DURATION, 1, "p999_ms"},
    {"collected", GCM_KIND_COUNT, 1, "collected"},
    {"uncollectable", GCM_KIND_COUNT, 1, "uncollectable"},
    {"share", GCM_KIND_PERCENT, 0, "share"},
    {"wall", GCM_KIND_DURATION, 0, "wall_ms"},
    {"alerts", GCM_KIND_COUNT, 0, "alerts"},
    {"bursts", GCM_KIND_COUNT, 0, "bursts"},
    /* The verdict's figures are not keys of the summary object: `compare`
     * cannot read them, and a JSON report carries them in its verdict line. */
    {"rate", GCM_KIND_RATE, 0, NULL},
    {"window", GCM_KIND_PERCENT, 0, NULL},
    {"verdict", GCM_KIND_LEVEL, 0, NULL},
};

_Static_assert(sizeof metrics / sizeof metrics[0] == GCM_METRIC_COUNT_OF,
               "every metric needs exactly one row");

static const char *const op_texts[] = {">", ">=", "<", "<="};
static const char *const unit_texts[] = {"", "ns", "us", "ms", "s", "%"};
static const double unit_scale[] = {1.0, 1.0, 1e3, 1e6, 1e9, 1.0};

/* ---- small helpers ------------------------------------------------------ */

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '_';
}

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* strtod() of a decimal text (already checked) with '.' as the point, in any
 * locale.  *ok says it was read whole and is finite. */
static double parse_decimal(const char *text, size_t len, int *ok)
{
    double v = gcm__strtod_c(text, len, ok);

    *ok = *ok && errno != ERANGE && isfinite(v);
    return v;
}

/* Looks the metric name up, with or without its JSON "_ms" suffix. */
static int find_metric(const char *name, size_t len, gcm_metric *out)
{
    size_t i;

    for (i = 0; i < GCM_METRIC_COUNT_OF; i++) {
        size_t n = strlen(metrics[i].name);
        if ((len == n && strncmp(name, metrics[i].name, n) == 0) ||
            (metrics[i].kind == GCM_KIND_DURATION && len == n + 3 &&
             strncmp(name, metrics[i].name, n) == 0 && strncmp(name + n, "_ms", 3) == 0)) {
            *out = (gcm_metric)i;
            return 1;
        }
    }
    return 0;
}

/* Parses "name" or "genN.name" of `len` bytes. */
static int parse_name(const char *text, size_t len, int *generation, gcm_metric *metric, char *why,
                      size_t why_size)
{
    char shown[NAME_TEXT_MAX + 4];
    const char *name = text;
    size_t name_len = len;
    int gen = -1;
    int status = GCM_ECONFIG;

    gcm__copy_shown(shown, sizeof shown, text, len, GCM__SHOWN_ASCII);
    if (len == 0) {
        gcm__copy_cut(why, why_size, "has no metric (such as max, p99 or gen2.count)");
        goto done;
    }
    if (len > NAME_TEXT_MAX) {
        (void)snprintf(why, why_size, "unknown metric '%s'", shown);
        goto done;
    }
    if (len > 3 && strncmp(text, "gen", 3) == 0 && memchr(text, '.', len) != NULL) {
        const char *dot = memchr(text, '.', len);
        if (dot != text + 4 || text[3] < '0' || text[3] > '2') {
            char gen_shown[NAME_TEXT_MAX + 4];
            gcm__copy_shown(gen_shown, sizeof gen_shown, text, (size_t)(dot - text),
                            GCM__SHOWN_ASCII);
            (void)snprintf(why, why_size, "unknown generation '%s' (gen0, gen1 or gen2)",
                           gen_shown);
            goto done;
        }
        gen = text[3] - '0';
        name = dot + 1;
        name_len = len - (size_t)(name - text);
    }
    if (!find_metric(name, name_len, metric)) {
        (void)snprintf(why, why_size,
                       "unknown metric '%s' (count, total, mean, min, max, p50, p90, p99, "
                       "p999, collected, uncollectable, share, wall, alerts, bursts, rate, "
                       "window, verdict)",
                       shown);
        goto done;
    }
    if (gen >= 0 && !metrics[*metric].per_generation) {
        (void)snprintf(why, why_size, "'%s' has no per-generation figure", metrics[*metric].name);
        goto done;
    }
    *generation = gen;
    status = 0;
done:
    return status;
}

/* Parses the unit word `u` (`len` bytes) for a metric of `kind`. */
static int parse_unit(const char *u, size_t len, gcm_metric_kind kind, const char *metric_name,
                      gcm_budget_unit *out, char *why, size_t why_size)
{
    char shown[16];
    size_t i;
    int status = GCM_ECONFIG;

    gcm__copy_shown(shown, sizeof shown, u, len, GCM__SHOWN_ASCII);
    if (len == 0) {
        /* Durations are read in ms, the report's unit; share in percent. */
        *out = kind == GCM_KIND_DURATION  ? GCM_UNIT_MS
               : kind == GCM_KIND_PERCENT ? GCM_UNIT_PCT
                                          : GCM_UNIT_NONE;
        status = 0;
        goto done;
    }
    for (i = 1; i < sizeof unit_texts / sizeof unit_texts[0]; i++) {
        if (strlen(unit_texts[i]) == len && strncmp(u, unit_texts[i], len) == 0)
            break;
    }
    if (i == sizeof unit_texts / sizeof unit_texts[0]) {
        (void)snprintf(why, why_size, "unknown unit '%s' (ns, us, ms, s or %%)", shown);
        goto done;
    }
    if (kind == GCM_KIND_DURATION && i == GCM_UNIT_PCT) {
        (void)snprintf(why, why_size, "'%s' is a duration: use ns, us, ms or s", metric_name);
        goto done;
    }
    if (kind == GCM_KIND_PERCENT && i != GCM_UNIT_PCT) {
        (void)snprintf(why, why_size, "'%s' is a percentage: use %% or no unit", metric_name);
        goto done;
    }
    if (kind == GCM_KIND_COUNT || kind == GCM_KIND_RATE) {
        (void)snprintf(why, why_size, "'%s' is a %s: it takes no unit, got '%s'", metric_name,
                       kind == GCM_KIND_COUNT ? "count" : "rate a second", shown);
        goto done;
    }
    *out = (gcm_budget_unit)i;
    status = 0;
done:
    return status;
}

/* Reads the verdict word after the operator of `rule` ("noticeable") as its
 * level, and writes the rule's canonical text. */
static int parse_level(const char *p, gcm_budget_rule *rule, char *why, size_t why_size)
{
    char shown[NAME_TEXT_MAX + 4];
    size_t len = strcspn(p, " \t");
    int level;
    int status = GCM_ECONFIG;

    gcm__copy_shown(shown, sizeof shown, p, len < NAME_TEXT_MAX ? len : NAME_TEXT_MAX,
                    GCM__SHOWN_ASCII);
    if (len == 0) {
        gcm__copy_cut(why, why_size, "has no limit after the operator");
        goto done;
    }
    if (*skip_spaces(p + len) != '\0') {
        gcm__copy_cut(why, why_size, "has text after the limit");
        goto done;
    }
    for (level = GCM_VERDICT_NOT_ENOUGH_DATA; level <= GCM_VERDICT_HURTING; level++) {
        const char *word = gcm_verdict_word(level);
        if (strlen(word) == len && strncmp(p, word, len) == 0)
            break;
    }
    if (level > GCM_VERDICT_HURTING) {
        (void)snprintf(why, why_size,
                       "unknown verdict '%s' (not-enough-data, fine, noticeable or hurting)",
                       shown);
        goto done;
    }
    rule->unit = GCM_UNIT_NONE;
    rule->limit = (double)level;
    (void)snprintf(rule->text, sizeof rule->text, "%s%s%s", metrics[rule->metric].name,
                   op_texts[rule->op], gcm_verdict_word(level));
    status = 0;
done:
    return status;
}

/* ---- public API ---------------------------------------------------------- */

const char *gcm_budget_metric_name(gcm_metric metric)
{
    return (unsigned)metric < GCM_METRIC_COUNT_OF ? metrics[metric].name : "?";
}

gcm_metric_kind gcm_budget_metric_kind(gcm_metric metric)
{
    return (unsigned)metric < GCM_METRIC_COUNT_OF ? metrics[metric].kind : GCM_KIND_COUNT;
}

const char *gcm_budget_op_text(gcm_budget_op op)
{
    return (unsigned)op < sizeof op_texts / sizeof op_texts[0] ? op_texts[op] : "?";
}

const char *gcm_budget_unit_text(gcm_budget_unit unit)
{
    return (unsigned)unit < sizeof unit_texts / sizeof unit_texts[0] ? unit_texts[unit] : "";
}

int gcm_budget_lacks_operator(const char *text)
{
    return text != NULL && strpbrk(text, "<>=!") == NULL;
}

size_t gcm_budget_example(const char *text, char *buf, size_t size)
{
    const char *s = text != NULL ? skip_spaces(text) : "";
    size_t len = 0;
    int generation = -1;
    gcm_metric metric = GCM_METRIC_MAX;
    char name[NAME_TEXT_MAX + 8] = "max";
    char why[8];
    int n;

    if (buf == NULL || size == 0)
        return 0;
    while (is_name_char(s[len]))
        len++;
    if (parse_name(s, len, &generation, &metric, why, sizeof why) == 0) {
        if (generation >= 0)
            (void)snprintf(name, sizeof name, "gen%d.%s", generation, metrics[metric].name);
        else
            gcm__copy_cut(name, sizeof name, metrics[metric].name);
    } else {
        metric = GCM_METRIC_MAX;
    }
    switch (metrics[metric].kind) {
    case GCM_KIND_DURATION:
        n = snprintf(buf, size, "%s>50ms", name);
        break;
    case GCM_KIND_PERCENT:
        n = snprintf(buf, size, "%s>2%%", name);
        break;
    case GCM_KIND_RATE:
        n = snprintf(buf, size, "%s>100", name);
        break;
    case GCM_KIND_LEVEL:
        n = snprintf(buf, size, "%s>=noticeable", name);
        break;
    default:
        n = snprintf(buf, size, "%s>%d", name, metric == GCM_METRIC_UNCOLLECTABLE ? 0 : 5);
        break;
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
}

int gcm_budget_parse_metric(const char *text, int *generation, gcm_metric *metric, char *why,
                            size_t why_size)
{
    const char *s;
    size_t len;
    int gen = -1;
    gcm_metric m = GCM_METRIC_COUNT;
    int status = GCM_EINVAL;

    if (text == NULL || generation == NULL || metric == NULL || why == NULL)
        goto done;
    s = skip_spaces(text);
    len = strlen(s);
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    status = parse_name(s, len, &gen, &m, why, why_size);
    if (status != 0)
        goto done;
    *generation = gen;
    *metric = m;
done:
    return status;
}

int gcm_budget_parse(const char *text, gcm_budget_rule *out, char *why, size_t why_size)
{
    gcm_budget_rule rule;
    const char *p;
    const char *name;
    size_t name_len = 0;
    const char *number;
    size_t number_len;
    const char *unit;
    size_t unit_len = 0;
    double v;
    double limit;
    int ok = 0;
    int status = GCM_EINVAL;

    if (text == NULL || out == NULL || why == NULL)
        goto done;
    status = GCM_ECONFIG;
    memset(&rule, 0, sizeof rule);
    p = skip_spaces(text);
    if (*p == '\0') {
        gcm__copy_cut(why, why_size, "must not be empty");
        goto done;
    }
    name = p;
    while (is_name_char(p[name_len]))
        name_len++;
    if (parse_name(name, name_len, &rule.generation, &rule.metric, why, why_size) != 0)
        goto done;
    p = skip_spaces(p + name_len);

    if (p[0] == '>' || p[0] == '<') {
        int ge = p[1] == '=';
        rule.op = p[0] == '>' ? (ge ? GCM_OP_GE : GCM_OP_GT) : (ge ? GCM_OP_LE : GCM_OP_LT);
        p += ge ? 2 : 1;
    } else if (*p == '\0') {
        gcm__copy_cut(why, why_size, "has no operator (>, >=, < or <=)");
        goto done;
    } else {
        char shown[8];
        size_t len = strspn(p, "=!<>");
        gcm__copy_shown(shown, sizeof shown, p, len > 0 ? len : 1, GCM__SHOWN_ASCII);
        (void)snprintf(why, why_size, "unknown operator '%s' (use >, >=, < or <=)", shown);
        goto done;
    }
    p = skip_spaces(p);

    if (metrics[rule.metric].kind == GCM_KIND_LEVEL) {
        status = parse_level(p, &rule, why, why_size);
        if (status == 0)
            memcpy(out, &rule, sizeof rule);
        goto done;
    }
    if (*p == '-') {
        gcm__copy_cut(why, why_size, "limit must not be negative");
        goto done;
    }
    number = p;
    number_len = gcm__decimal_length(number);
    if (number_len == 0) {
        gcm__copy_cut(why, why_size,
                      *p == '\0' ? "has no limit after the operator" : "limit is not a number");
        goto done;
    }
    if (number_len > NUMBER_TEXT_MAX) {
        gcm__copy_cut(why, why_size, "limit is too long");
        goto done;
    }
    v = parse_decimal(number, number_len, &ok);
    if (!ok) {
        gcm__copy_cut(why, why_size, "limit is out of range");
        goto done;
    }
    p = skip_spaces(number + number_len);
    unit = p;
    while (unit[unit_len] != '\0' && unit[unit_len] != ' ' && unit[unit_len] != '\t')
        unit_len++;
    if (*skip_spaces(unit + unit_len) != '\0') {
        gcm__copy_cut(why, why_size, "has text after the limit");
        goto done;
    }
    if (parse_unit(unit, unit_len, metrics[rule.metric].kind, metrics[rule.metric].name, &rule.unit,
                   why, why_size) != 0)
        goto done;

    limit = v * unit_scale[rule.unit];
    switch (metrics[rule.metric].kind) {
    case GCM_KIND_DURATION:
        if (limit > MAX_LIMIT_NS) {
            gcm__copy_cut(why, why_size, "limit must be at most a day");
            goto done;
        }
        break;
    case GCM_KIND_PERCENT:
        if (limit > 100.0) {
            gcm__copy_cut(why, why_size, "limit must be at most 100%");
            goto done;
        }
        break;
    case GCM_KIND_RATE:
        if (limit > MAX_LIMIT_COUNT) {
            gcm__copy_cut(why, why_size, "limit is out of range");
            goto done;
        }
        break;
    default:
        if (limit != floor(limit)) {
            gcm__copy_cut(why, why_size, "a count limit must be a whole number");
            goto done;
        }
        if (limit > MAX_LIMIT_COUNT) {
            gcm__copy_cut(why, why_size, "limit is out of range");
            goto done;
        }
        break;
    }
    /* "-0" cannot get here, but "0e5" and "0.0" store as plain zero. */
    rule.limit = limit == 0.0 ? 0.0 : limit;

    /* The canonical text names the metric as rules spell it and always
     * states the unit, so it reads back to exactly these bytes. */
    {
        char number_text[NUMBER_TEXT_MAX + 1];
        memcpy(number_text, number, number_len);
        number_text[number_len] = '\0';
        if (rule.generation >= 0)
            (void)snprintf(rule.text, sizeof rule.text, "gen%d.%s%s%s%s", rule.generation,
                           metrics[rule.metric].name, op_texts[rule.op], number_text,
                           unit_texts[rule.unit]);
        else
            (void)snprintf(rule.text, sizeof rule.text, "%s%s%s%s", metrics[rule.metric].name,
                           op_texts[rule.op], number_text, unit_texts[rule.unit]);
    }
    memcpy(out, &rule, sizeof rule);
    status = 0;
done:
    return status;
}

int gcm_budget_measure(const gcm_summary *sum, int generation, gcm_metric metric, double *out)
{
    const gcm_gen_summary *g;
    double v;
    int status = GCM_EINVAL;

    if (sum == NULL || out == NULL || (unsigned)metric >= GCM_METRIC_COUNT_OF || generation < -1 ||
        generation >= GCM_GENERATIONS || (generation >= 0 && !metrics[metric].per_generation))
        goto done;
    g = generation < 0 ? &sum->all : &sum->gen[generation];
    switch (metric) {
    case GCM_METRIC_COUNT:
        v = (double)g->count;
        break;
    case GCM_METRIC_TOTAL:
        v = (double)g->total_ns;
        break;
    case GCM_METRIC_MEAN:
        v = g->mean_ns;
        break;
    case GCM_METRIC_MIN:
        v = (double)g->min_ns;
        break;
    case GCM_METRIC_MAX:
        v = (double)g->max_ns;
        break;
    case GCM_METRIC_P50:
        v = (double)g->p50_ns;
        break;
    case GCM_METRIC_P90:
        v = (double)g->p90_ns;
        break;
    case GCM_METRIC_P99:
        v = (double)g->p99_ns;
        break;
    case GCM_METRIC_P999:
        v = (double)g->p999_ns;
        break;
    case GCM_METRIC_COLLECTED:
        v = (double)g->collected;
        break;
    case GCM_METRIC_UNCOLLECTABLE:
        v = (double)g->uncollectable;
        break;
    case GCM_METRIC_SHARE:
        v = sum->share_pct;
        break;
    case GCM_METRIC_WALL:
        v = (double)sum->wall_ns;
        break;
    case GCM_METRIC_ALERTS:
        v = (double)sum->all.alerts;
        break;
    case GCM_METRIC_BURSTS:
        v = (double)sum->bursts;
        break;
    case GCM_METRIC_RATE:
        v = sum->rate_per_s;
        break;
    case GCM_METRIC_WINDOW:
    case GCM_METRIC_VERDICT:
        /* Only a summary whose verdict was filled in has these. */
        if (!sum->verdict_known)
            goto done;
        v = metric == GCM_METRIC_WINDOW ? sum->window_pct : (double)sum->verdict;
        break;
    default:
        goto done;
    }
    *out = v;
    status = 0;
done:
    return status;
}

int gcm_budget_measure_json(const struct cJSON *summary, int generation, gcm_metric metric,
                            double *out)
{
    const cJSON *obj = summary;
    const cJSON *item;
    double v;
    int status = GCM_EINVAL;

    if (summary == NULL || out == NULL || (unsigned)metric >= GCM_METRIC_COUNT_OF ||
        generation < -1 || generation >= GCM_GENERATIONS ||
        (generation >= 0 && !metrics[metric].per_generation))
        goto done;
    status = GCM_ECORRUPT;
    if (generation >= 0) {
        char key[8];
        (void)snprintf(key, sizeof key, "gen%d", generation);
        obj = cJSON_GetObjectItemCaseSensitive(summary, key);
        if (!cJSON_IsObject(obj))
            goto done;
    }
    if (metrics[metric].json_key == NULL)
        goto done;
    item = cJSON_GetObjectItemCaseSensitive(obj, metrics[metric].json_key);
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) || item->valuedouble < 0.0)
        goto done;
    v = item->valuedouble;
    /* The JSON summary gives durations in ms; rules hold ns. */
    if (metrics[metric].kind == GCM_KIND_DURATION)
        v *= 1e6;
    *out = v;
    status = 0;
done:
    return status;
}

int gcm_budget_broken(const gcm_budget_rule *rule, double measured)
{
    if (rule == NULL)
        return 0;
    switch (rule->op) {
    case GCM_OP_GT:
        return measured > rule->limit;
    case GCM_OP_GE:
        return measured >= rule->limit;
    case GCM_OP_LT:
        return measured < rule->limit;
    case GCM_OP_LE:
        return measured <= rule->limit;
    default:
        return 0;
    }
}

int gcm_budget_evaluate(const gcm_budget_rule *rules, size_t count, const gcm_summary *sum,
                        gcm_budget_verdict *verdicts)
{
    size_t i;
    int broken = 0;
    int status = GCM_EINVAL;

    if ((count > 0 && (rules == NULL || verdicts == NULL)) || sum == NULL)
        goto done;
    for (i = 0; i < count; i++) {
        double v = 0.0;
        if (gcm_budget_measure(sum, rules[i].generation, rules[i].metric, &v) != 0)
            goto done;
        verdicts[i].measured = v;
        verdicts[i].broken = gcm_budget_broken(&rules[i], v);
        broken += verdicts[i].broken;
    }
    status = broken;
done:
    return status;
}

size_t gcm_budget_format_value(gcm_metric metric, gcm_budget_unit unit, double value, char *buf,
                               size_t size)
{
    double scaled;
    int n;

    if (buf == NULL || size == 0)
        return 0;
    if ((unsigned)unit >= sizeof unit_scale / sizeof unit_scale[0])
        unit = GCM_UNIT_NONE;
    scaled = value / unit_scale[unit];
    if (gcm_budget_metric_kind(metric) == GCM_KIND_LEVEL) {
        const char *word = scaled >= 0.0 && scaled <= (double)GCM_VERDICT_HURTING
                               ? gcm_verdict_word((int)scaled)
                               : NULL;
        n = snprintf(buf, size, "%s", word != NULL ? word : "?");
    } else if (!isfinite(scaled) || scaled < 0.0) {
        n = snprintf(buf, size, "?%s", unit_texts[unit]);
    } else if (gcm_budget_metric_kind(metric) == GCM_KIND_COUNT || unit == GCM_UNIT_NS ||
               scaled >= 1e15) {
        /* Whole numbers need no point, and "%.0f" writes none in any locale. */
        n = snprintf(buf, size, "%.0f%s", scaled, unit_texts[unit]);
    } else {
        /* Thousandths as an integer, so no locale's decimal point appears. */
        unsigned long long milli = (unsigned long long)(scaled * 1000.0 + 0.5);
        unsigned long long whole = milli / 1000u;
        unsigned frac = (unsigned)(milli % 1000u);
        if (frac == 0)
            n = snprintf(buf, size, "%llu%s", whole, unit_texts[unit]);
        else if (frac % 100u == 0)
            n = snprintf(buf, size, "%llu.%u%s", whole, frac / 100u, unit_texts[unit]);
        else if (frac % 10u == 0)
            n = snprintf(buf, size, "%llu.%02u%s", whole, frac / 10u, unit_texts[unit]);
        else
            n = snprintf(buf, size, "%llu.%03u%s", whole, frac, unit_texts[unit]);
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
}

/* Whether `scaled` is shown exactly with three decimals. */
static int thousandths_exact(double scaled)
{
    double milli = scaled * 1000.0;

    return fabs(milli - round(milli)) <= 1e-6 * (1.0 + fabs(milli));
}

size_t gcm_budget_describe(const gcm_budget_rule *rule, const gcm_budget_verdict *verdict,
                           char *buf, size_t size)
{
    char name[NAME_TEXT_MAX + 8];
    char measured[48];
    char limit[48];
    int n;

    if (buf == NULL || size == 0)
        return 0;
    if (rule == NULL || verdict == NULL) {
        buf[0] = '\0';
        return 0;
    }
    if (rule->generation >= 0)
        (void)snprintf(name, sizeof name, "gen%d.%s", rule->generation,
                       gcm_budget_metric_name(rule->metric));
    else
        gcm__copy_cut(name, sizeof name, gcm_budget_metric_name(rule->metric));
    (void)gcm_budget_format_value(rule->metric, rule->unit, verdict->measured, measured,
                                  sizeof measured);
    (void)gcm_budget_format_value(rule->metric, rule->unit, rule->limit, limit, sizeof limit);
    /* "max 50ms > 50ms" would read as a contradiction: a pause just over the
     * limit is shown to the nanosecond instead; so is a limit finer than the
     * thousandths of its unit ("p99>0.0004ms" is not "> 0ms"). */
    if (gcm_budget_metric_kind(rule->metric) == GCM_KIND_DURATION &&
        ((strcmp(measured, limit) == 0 && verdict->measured != rule->limit) ||
         ((unsigned)rule->unit < sizeof unit_scale / sizeof unit_scale[0] &&
          !thousandths_exact(rule->limit / unit_scale[rule->unit])))) {
        (void)gcm_budget_format_value(rule->metric, GCM_UNIT_NS, verdict->measured, measured,
                                      sizeof measured);
        (void)gcm_budget_format_value(rule->metric, GCM_UNIT_NS, rule->limit, limit, sizeof limit);
    }
    n = snprintf(buf, size, "%s %s%s %s %s", name, measured, verdict->broken ? "" : ", not",
                 gcm_budget_op_text(rule->op), limit);
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < size ? (size_t)n : size - 1;
}
