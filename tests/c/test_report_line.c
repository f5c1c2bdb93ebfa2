/* test_report_line.c: the hand-written number formatting of the renderers.
 *
 * Event lines are formatted without printf for speed, so these checks pin
 * the edges printf would have handled for us: rounding at every unit
 * boundary, the largest and smallest 64-bit values, zero padding of
 * decimals, the JSON clamp, and a line that outgrows its buffer.
 */
#include "gcm_test.h"
#include "../../src/report/report_internal.h"

#include "gc_monitor/errors.h"

static gcm__line line;

static const char *text(void)
{
    GCM_CHECK(!line.overflow);
    GCM_CHECK(line.len < GCM__LINE_CAP);
    line.buf[line.len] = '\0';
    return line.buf;
}

static const char *duration(uint64_t ns)
{
    gcm__line_reset(&line);
    gcm__line_duration(&line, ns);
    return text();
}

static void test_duration_units(void)
{
    GCM_CHECK_STREQ(duration(0), "0.000ms");
    GCM_CHECK_STREQ(duration(499), "0.000ms");
    GCM_CHECK_STREQ(duration(500), "0.001ms"); /* half rounds up */
    GCM_CHECK_STREQ(duration(156000), "0.156ms");
    GCM_CHECK_STREQ(duration(999499), "0.999ms");
    GCM_CHECK_STREQ(duration(999500), "1.000ms"); /* still under 1 ms, so three decimals */
    GCM_CHECK_STREQ(duration(1000000), "1.0ms");
    GCM_CHECK_STREQ(duration(1049999), "1.0ms");
    GCM_CHECK_STREQ(duration(1050000), "1.1ms");
    GCM_CHECK_STREQ(duration(52300000), "52.3ms");
    GCM_CHECK_STREQ(duration(999949999), "999.9ms");
    GCM_CHECK_STREQ(duration(999950000), "1000.0ms");
    GCM_CHECK_STREQ(duration(1000000000), "1.00s");
    GCM_CHECK_STREQ(duration(2504999999u), "2.50s");
    GCM_CHECK_STREQ(duration(2505000000u), "2.51s");
    GCM_CHECK_STREQ(duration(UINT64_MAX), "18446744073.71s");
}

static void test_integers(void)
{
    gcm__line_reset(&line);
    gcm__line_u64(&line, 0);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, 7);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, 10);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, 99);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, 100);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, 1234567);
    GCM__LINE_LIT(&line, " ");
    gcm__line_u64(&line, UINT64_MAX);
    GCM_CHECK_STREQ(text(), "0 7 10 99 100 1234567 18446744073709551615");

    gcm__line_reset(&line);
    gcm__line_i64(&line, -1);
    GCM__LINE_LIT(&line, " ");
    gcm__line_i64(&line, INT64_MIN);
    GCM__LINE_LIT(&line, " ");
    gcm__line_i64(&line, INT64_MAX);
    GCM_CHECK_STREQ(text(), "-1 -9223372036854775808 9223372036854775807");

    /* JSON integers stop at 2^53 - 1, the last one a double holds exactly. */
    gcm__line_reset(&line);
    gcm__line_json_u64(&line, (UINT64_C(1) << 53) - 1u);
    GCM__LINE_LIT(&line, " ");
    gcm__line_json_u64(&line, UINT64_C(1) << 53);
    GCM__LINE_LIT(&line, " ");
    gcm__line_json_u64(&line, UINT64_MAX);
    GCM_CHECK_STREQ(text(), "9007199254740991 9007199254740991 9007199254740991");
}

static void test_fixed_point(void)
{
    static const struct {
        uint64_t units;
        unsigned decimals;
        const char *want;
    } cases[] = {
        {0, 0, "0"},
        {0, 3, "0.000"},
        {5, 3, "0.005"},
        {52300, 3, "52.300"},
        {1, 6, "0.000001"},
        {1764349200012000u, 6, "1764349200.012000"},
        {123, 1, "12.3"},
        {1000000000u, 9, "1.000000000"},
        {UINT64_MAX, 2, "184467440737095516.15"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcm__line_reset(&line);
        gcm__line_fixed(&line, cases[i].units, cases[i].decimals);
        GCM_CHECK_STREQ(text(), cases[i].want);
    }
}

static void test_unix_seconds(void)
{
    gcm__line_reset(&line);
    gcm__line_unix_seconds(&line, INT64_C(1764349200012000000));
    GCM__LINE_LIT(&line, " ");
    gcm__line_unix_seconds(&line, INT64_C(1764349200000000500)); /* half a microsecond rounds up */
    GCM__LINE_LIT(&line, " ");
    gcm__line_unix_seconds(&line, 0);
    GCM__LINE_LIT(&line, " ");
    gcm__line_unix_seconds(&line, -1500);
    GCM__LINE_LIT(&line, " ");
    gcm__line_unix_seconds(&line, INT64_MIN);
    GCM_CHECK_STREQ(text(), "1764349200.012000 1764349200.000001 0.000000 -0.000002 "
                            "-9223372036.854776");
}

static void test_exact_milliseconds(void)
{
    static const struct {
        uint64_t ns;
        const char *want;
    } cases[] = {
        {1000000u, "1ms"}, {500000u, "0.5ms"},       {100000000u, "100ms"},
        {1, "0.000001ms"}, {1234567u, "1.234567ms"}, {20000000000u, "20000ms"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcm__line_reset(&line);
        gcm__line_ms_exact(&line, cases[i].ns);
        GCM_CHECK_STREQ(text(), cases[i].want);
    }
}

static void test_rounding_division(void)
{
    GCM_CHECK_EQ_U64(gcm__div_round(0, 7), 0);
    GCM_CHECK_EQ_U64(gcm__div_round(14, 4), 4); /* 3.5 rounds up */
    GCM_CHECK_EQ_U64(gcm__div_round(13, 4), 3);
    GCM_CHECK_EQ_U64(gcm__div_round(15, 10), 2);
    GCM_CHECK_EQ_U64(gcm__div_round(UINT64_MAX, 2), UINT64_C(1) << 63);
    GCM_CHECK_EQ_U64(gcm__div_round(UINT64_MAX, 1000), UINT64_C(18446744073709552));
}

static void test_alignment(void)
{
    size_t from;

    gcm__line_reset(&line);
    GCM__LINE_LIT(&line, "|");
    from = line.len;
    GCM__LINE_LIT(&line, "42");
    gcm__line_align_right(&line, from, 6);
    GCM__LINE_LIT(&line, "|");
    from = line.len;
    GCM__LINE_LIT(&line, "ab");
    gcm__line_pad_to(&line, from, 5);
    GCM__LINE_LIT(&line, "|");
    from = line.len;
    GCM__LINE_LIT(&line, "toolong");
    gcm__line_align_right(&line, from, 3);
    GCM_CHECK_STREQ(text(), "|    42|ab   |toolong");
}

static int count_calls;

static int counting_write(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    count_calls++;
    return 0;
}

/* A line that outgrows its buffer is refused whole, never written cut short. */
static void test_overflow_is_refused(void)
{
    gcm_sink sink;
    size_t i;

    sink.write = counting_write;
    sink.ctx = NULL;
    gcm__line_reset(&line);
    for (i = 0; i < GCM__LINE_CAP / 10 + 1; i++)
        GCM__LINE_LIT(&line, "0123456789");
    GCM_CHECK(line.overflow);
    GCM_CHECK(line.len <= GCM__LINE_CAP);
    GCM_CHECK_EQ_INT(gcm__line_emit(&line, &sink), GCM_ERANGE);
    GCM_CHECK_EQ_INT(count_calls, 0);

    /* Exactly full but for the newline: the newline itself overflows. */
    gcm__line_reset(&line);
    gcm__line_fill(&line, 'x', GCM__LINE_CAP);
    GCM_CHECK(!line.overflow);
    GCM_CHECK_EQ_INT(gcm__line_emit(&line, &sink), GCM_ERANGE);
    GCM_CHECK_EQ_INT(count_calls, 0);

    gcm__line_reset(&line);
    gcm__line_fill(&line, 'x', GCM__LINE_CAP - 1);
    GCM_CHECK_EQ_INT(gcm__line_emit(&line, &sink), 0);
    GCM_CHECK_EQ_INT(count_calls, 1);
}

int main(void)
{
    GCM_RUN(test_duration_units);
    GCM_RUN(test_integers);
    GCM_RUN(test_fixed_point);
    GCM_RUN(test_unix_seconds);
    GCM_RUN(test_exact_milliseconds);
    GCM_RUN(test_rounding_division);
    GCM_RUN(test_alignment);
    GCM_RUN(test_overflow_is_refused);
    return 0;
}
