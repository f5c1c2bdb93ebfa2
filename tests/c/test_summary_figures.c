/* test_summary_figures.c: every figure of the text summary, checked against
 * values this test computes itself from the events it recorded.
 *
 * The goldens (test_report_golden.c) pin the bytes, but GCM_UPDATE_GOLDEN=1
 * rewrites them from the same renderer: a renderer that put the p99 figure
 * under the p90 heading would pass them.  Here the report is parsed as a
 * reader would (columns found by their headings, durations read back with
 * their units) and each figure is compared with an independent computation:
 * sums, means, nearest-rank percentiles of a sorted copy, the GC share,
 * bucket counts and percentages, and the per-interval timeline.  Durations
 * are compared within 2%: the histogram's 0.78% and the three significant
 * digits of the text.
 */
#include "test_report_fixture.h"

#include <ctype.h>
#include <math.h>

#define EVENTS 600
#define WALL_MS 25000.0
#define THRESHOLD_NS 30000000u
#define INTERVAL_NS 5000000000u

static const uint64_t bucket_bounds[] = {1000000u, 5000000u, 20000000u, 50000000u, 100000000u};
#define BUCKETS 6 /* five bounds and the overflow bucket */

typedef struct recorded {
    double offset_ms;
    uint32_t gen;
    uint64_t duration_ns;
    uint64_t collected;
    uint64_t uncollectable;
} recorded;

static recorded events[EVENTS];

/* A fixed pseudo-random sequence (a 64-bit LCG): the same events everywhere. */
static uint64_t lcg_state = 0x9e3779b97f4a7c15u;

static double next_unit(void)
{
    lcg_state = lcg_state * 6364136223846793005u + 1442695040888963407u;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}

/* Log-uniform between lo and hi nanoseconds. */
static uint64_t log_uniform(double lo, double hi)
{
    return (uint64_t)exp(log(lo) + (log(hi) - log(lo)) * next_unit());
}

static void make_events(fixture *f)
{
    double at = 5.0;

    for (size_t i = 0; i < EVENTS; i++) {
        recorded *e = &events[i];
        double pick = next_unit();

        if (pick < 0.75) {
            e->gen = 0;
            e->duration_ns = log_uniform(20e3, 2e6);
        } else if (pick < 0.95) {
            e->gen = 1;
            e->duration_ns = log_uniform(0.5e6, 15e6);
        } else {
            e->gen = 2;
            e->duration_ns = log_uniform(5e6, 120e6);
        }
        e->offset_ms = at;
        e->collected = (uint64_t)(next_unit() * 5000.0);
        e->uncollectable = next_unit() < 0.02 ? 1u : 0u;
        fixture_add(f, e->offset_ms, e->gen, e->duration_ns, e->collected, e->uncollectable);
        at += (double)e->duration_ns / 1e6 + 1.0 + next_unit() * 60.0;
    }
    GCM_CHECK(at < WALL_MS);
}

/* ---- reading the text back ------------------------------------------------------- */

/* The line of `text` that starts with `prefix`, copied into `line`; fails the
 * test when there is none. */
static void line_starting(const char *text, const char *prefix, char *line, size_t size)
{
    const char *p = text;
    size_t plen = strlen(prefix);

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, plen) == 0) {
            const char *end = strchr(p, '\n');
            size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
            GCM_CHECK(len < size);
            memcpy(line, p, len);
            line[len] = '\0';
            return;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    fprintf(stderr, "no line starting with '%s'\n", prefix);
    GCM_CHECK(0);
}

/* Splits `line` at white space in place; returns the number of words. */
static size_t split_words(char *line, char **words, size_t max)
{
    size_t n = 0;
    char *save = NULL;

    for (char *w = strtok_r(line, " \t", &save); w != NULL && n < max;
         w = strtok_r(NULL, " \t", &save))
        words[n++] = w;
    return n;
}

/* Reads a duration such as "0.303ms", "52.3ms", "2.50s" or "14.6us" as ns. */
static double duration_of(const char *word)
{
    char *end;
    double value = strtod(word, &end);

    GCM_CHECK(end != word);
    if (strcmp(end, "ns") == 0)
        return value;
    if (strcmp(end, "us") == 0 || strcmp(end, "\xc2\xb5s") == 0)
        return value * 1e3;
    if (strcmp(end, "ms") == 0)
        return value * 1e6;
    if (strcmp(end, "s") == 0)
        return value * 1e9;
    fprintf(stderr, "not a duration: '%s'\n", word);
    GCM_CHECK(0);
    return 0.0;
}

static void check_close(const char *what, double got, double expected, double relative)
{
    double slack = fabs(expected) * relative;

    if (fabs(got - expected) > slack) {
        fprintf(stderr, "%s: got %.6g, expected %.6g (within %.1f%%)\n", what, got, expected,
                relative * 100.0);
        GCM_CHECK(0);
    }
}

/* ---- the independent figures ----------------------------------------------------- */

typedef struct figures {
    uint64_t count;
    double total_ns;
    double max_ns;
    uint64_t sorted[EVENTS];
} figures;

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The figures of generation `gen`, or of all generations for gen < 0. */
static void figures_of(int gen, figures *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < EVENTS; i++) {
        if (gen >= 0 && events[i].gen != (uint32_t)gen)
            continue;
        out->sorted[out->count++] = events[i].duration_ns;
        out->total_ns += (double)events[i].duration_ns;
        if ((double)events[i].duration_ns > out->max_ns)
            out->max_ns = (double)events[i].duration_ns;
    }
    qsort(out->sorted, (size_t)out->count, sizeof out->sorted[0], compare_u64);
}

/* Nearest rank: the value of rank ceil(q * n). */
static double percentile(const figures *f, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)f->count - 1e-9);

    if (rank < 1)
        rank = 1;
    return (double)f->sorted[rank - 1];
}

/* ---- the checks ------------------------------------------------------------------- */

static char *render(fixture *f)
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm_report_render(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

static void check_headline(const char *text)
{
    figures all;
    char line[512];
    char *words[16];

    figures_of(-1, &all);
    line_starting(text, "Total GC collections: ", line, sizeof line);
    GCM_CHECK_EQ_U64(strtoull(line + strlen("Total GC collections: "), NULL, 10), EVENTS);
    line_starting(text, "Total GC time: ", line, sizeof line);
    check_close("total", duration_of(line + strlen("Total GC time: ")), all.total_ns, 0.02);
    line_starting(text, "Average GC duration: ", line, sizeof line);
    check_close("mean", duration_of(line + strlen("Average GC duration: ")), all.total_ns / EVENTS,
                0.02);
    line_starting(text, "Maximum GC duration: ", line, sizeof line);
    check_close("max", duration_of(line + strlen("Maximum GC duration: ")), all.max_ns, 0.02);
    for (int g = 0; g < 3; g++) {
        char prefix[32];
        figures gen;

        figures_of(g, &gen);
        (void)snprintf(prefix, sizeof prefix, "Generation %d: ", g);
        line_starting(text, prefix, line, sizeof line);
        GCM_CHECK_EQ_U64(strtoull(line + strlen(prefix), NULL, 10), gen.count);
    }
    /* "GC share of wall time: 2.62% (65.6ms of 2.50s)" */
    line_starting(text, "GC share of wall time: ", line, sizeof line);
    GCM_CHECK_EQ_U64(split_words(line, words, 16), 9);
    check_close("share", strtod(words[5], NULL), 100.0 * all.total_ns / (WALL_MS * 1e6), 0.02);
    check_close("share's GC time", duration_of(words[6] + 1), all.total_ns, 0.02);
    GCM_CHECK(words[8][strlen(words[8]) - 1] == ')');
    words[8][strlen(words[8]) - 1] = '\0';
    check_close("share's wall time", duration_of(words[8]), WALL_MS * 1e6, 0.01);
}

static void check_collected_and_alerts(const char *text)
{
    uint64_t collected = 0, uncollectable = 0, alerts = 0;
    char line[512];
    char *words[16];
    size_t n;

    for (size_t i = 0; i < EVENTS; i++) {
        collected += events[i].collected;
        uncollectable += events[i].uncollectable;
        alerts += events[i].duration_ns >= THRESHOLD_NS;
    }
    /* "Objects collected: 23241, uncollectable: 3" */
    line_starting(text, "Objects collected: ", line, sizeof line);
    n = split_words(line, words, 16);
    GCM_CHECK_EQ_U64(n, 5);
    GCM_CHECK_EQ_U64(strtoull(words[2], NULL, 10), collected);
    GCM_CHECK_EQ_U64(strtoull(words[4], NULL, 10), uncollectable);
    /* "Pauses at or over the 30.0ms alert threshold: 1" */
    line_starting(text, "Pauses at or over the ", line, sizeof line);
    n = split_words(line, words, 16);
    GCM_CHECK(n == 9);
    check_close("threshold", duration_of(words[5]), THRESHOLD_NS, 0.001);
    GCM_CHECK_EQ_U64(strtoull(words[8], NULL, 10), alerts);
    GCM_CHECK(alerts > 0);
}

static void check_pause_table(const char *text)
{
    static const char *const rows[] = {"  gen 0 ", "  gen 1 ", "  gen 2 ", "  all "};
    char header[512];
    char *heads[16];
    size_t columns;
    const char *table = strstr(text, "Pause times:\n");

    GCM_CHECK(table != NULL);
    line_starting(table + strlen("Pause times:\n"), " ", header, sizeof header);
    columns = split_words(header, heads, 16);
    GCM_CHECK_EQ_U64(columns, 8);
    for (int r = 0; r < 4; r++) {
        char line[512];
        char *cells[16];
        figures f;
        size_t n;

        figures_of(r < 3 ? r : -1, &f);
        /* The expectations must tell the columns apart for the test to mean anything. */
        GCM_CHECK(percentile(&f, 0.99) > percentile(&f, 0.90) * 1.1);
        GCM_CHECK(percentile(&f, 0.90) > percentile(&f, 0.50) * 1.1);
        line_starting(table, rows[r], line, sizeof line);
        n = split_words(line, cells, 16);
        /* The label is one word ("all") or two ("gen 0"). */
        GCM_CHECK(n == columns + (r < 3 ? 2 : 1));
        char **values = cells + (n - columns);
        for (size_t c = 0; c < columns; c++) {
            char what[64];
            double expected;

            (void)snprintf(what, sizeof what, "row %d column %s", r, heads[c]);
            if (strcmp(heads[c], "collections") == 0) {
                GCM_CHECK_EQ_U64(strtoull(values[c], NULL, 10), f.count);
                continue;
            }
            if (strcmp(heads[c], "total") == 0)
                expected = f.total_ns;
            else if (strcmp(heads[c], "mean") == 0)
                expected = f.total_ns / (double)f.count;
            else if (strcmp(heads[c], "max") == 0)
                expected = f.max_ns;
            else if (heads[c][0] == 'p')
                expected = percentile(&f, strtod(heads[c] + 1, NULL) / 100.0);
            else {
                fprintf(stderr, "unknown column '%s'\n", heads[c]);
                GCM_CHECK(0);
                continue;
            }
            check_close(what, duration_of(values[c]), expected, 0.02);
        }
    }
}

static void check_buckets(const char *text)
{
    uint64_t counts[BUCKETS] = {0};
    const char *p = strstr(text, "Pause durations (--duration-buckets):\n");

    GCM_CHECK(p != NULL);
    for (size_t i = 0; i < EVENTS; i++) {
        size_t b = 0;
        while (b < BUCKETS - 1 && events[i].duration_ns > bucket_bounds[b])
            b++;
        counts[b]++;
    }
    p = strchr(p, '\n') + 1;
    for (size_t b = 0; b < BUCKETS; b++) {
        char line[512];
        char *words[24];
        const char *end = strchr(p, '\n');
        size_t n, pct;

        GCM_CHECK(end != NULL && (size_t)(end - p) < sizeof line);
        memcpy(line, p, (size_t)(end - p));
        line[end - p] = '\0';
        n = split_words(line, words, 24);
        for (pct = 0; pct < n && words[pct][strlen(words[pct]) - 1] != '%'; pct++)
            ;
        GCM_CHECK(pct > 0 && pct < n);
        GCM_CHECK_EQ_U64(strtoull(words[pct - 1], NULL, 10), counts[b]);
        /* One decimal: within half of its last digit. */
        GCM_CHECK(fabs(strtod(words[pct], NULL) - 100.0 * (double)counts[b] / EVENTS) <= 0.0501);
        p = end + 1;
    }
}

static void check_timeline(const char *text)
{
    const char *p = strstr(text, "GC activity over time (--interval 5s");
    /* One row per interval up to the last collection's. */
    size_t intervals =
        (size_t)((uint64_t)(events[EVENTS - 1].offset_ms * 1e6 + 0.5) / INTERVAL_NS) + 1;

    GCM_CHECK(p != NULL);
    p = strchr(p, '\n') + 1; /* the column headings */
    p = strchr(p, '\n') + 1;
    for (size_t k = 0; k < intervals; k++) {
        uint64_t count = 0, gens[3] = {0};
        double total = 0.0, max = 0.0;
        char line[512], split[32];
        char *words[16];
        const char *end = strchr(p, '\n');
        size_t n;

        for (size_t i = 0; i < EVENTS; i++) {
            uint64_t at = (uint64_t)(events[i].offset_ms * 1e6 + 0.5);
            if (at / INTERVAL_NS != k)
                continue;
            count++;
            gens[events[i].gen]++;
            total += (double)events[i].duration_ns;
            if ((double)events[i].duration_ns > max)
                max = (double)events[i].duration_ns;
        }
        GCM_CHECK(end != NULL && (size_t)(end - p) < sizeof line);
        memcpy(line, p, (size_t)(end - p));
        line[end - p] = '\0';
        /* "T+0s to T+5s  12  65.6ms  52.3ms  8/2/2" */
        n = split_words(line, words, 16);
        GCM_CHECK_EQ_U64(n, 7);
        GCM_CHECK_EQ_U64(strtoull(words[0] + 2, NULL, 10), k * 5);
        GCM_CHECK_EQ_U64(strtoull(words[3], NULL, 10), count);
        if (count > 0) {
            check_close("interval GC time", duration_of(words[4]), total, 0.02);
            check_close("interval max", duration_of(words[5]), max, 0.02);
        }
        (void)snprintf(split, sizeof split, "%llu/%llu/%llu", (unsigned long long)gens[0],
                       (unsigned long long)gens[1], (unsigned long long)gens[2]);
        GCM_CHECK_STREQ(words[6], split);
        p = end + 1;
    }
    GCM_CHECK(strncmp(p, "  T+", 4) != 0);
}

static void test_every_figure_of_the_text_summary(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 1024, THRESHOLD_NS);
    f.config.interval_s = 5.0;
    make_events(&f);
    fixture_finish(&f, WALL_MS, "3.12.1", 0);
    out = render(&f);
    check_headline(out);
    check_collected_and_alerts(out);
    check_pause_table(out);
    check_buckets(out);
    check_timeline(out);
    free(out);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_every_figure_of_the_text_summary);
    return 0;
}
