/* test_flame.c: the folded flame graph file and the terminal chart.
 *
 * Goldens hold the bytes; the checks below hold what a golden could hide:
 * folded weights add up to the pauses, sub-second buckets keep distinct
 * labels, every chart line is exactly the configured width (colour codes
 * aside), colour appears only when asked for on a terminal, and the file is
 * written mode 0600 without following a symlink at its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

#define MS(x) ((uint64_t)((x)*1e6 + 0.5))

static void add_run(fixture *f)
{
    fixture_add(f, 100.0, 0, MS(0.2), 100, 0);
    fixture_add(f, 200.0, 0, MS(0.3), 100, 0);
    fixture_add(f, 300.0, 0, MS(2.5), 100, 0);
    fixture_add(f, 600.0, 1, MS(1.5), 300, 0);
    fixture_add(f, 1300.0, 2, MS(12.25), 900, 0);
    fixture_add(f, 6200.0, 0, MS(0.4), 100, 0);
    fixture_add(f, 6300.0, 1, MS(3), 100, 0);
    fixture_add(f, 21400.0, 2, MS(150), 50000, 2);
}

static char *folded(fixture *f)
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm__render_folded(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

static char *chart(fixture *f)
{
    memsink m;
    gcm_sink s = memsink_sink(&m);

    GCM_CHECK_EQ_INT(gcm__render_terminal_flamegraph(&f->in, &s), 0);
    GCM_CHECK(m.buf != NULL);
    return m.buf;
}

/* Sums the weights of the folded lines and checks their shape: every line,
 * the first included, is a stack, one space and a whole number (no comment
 * line, which not every flame graph tool skips). */
static uint64_t folded_weight(const char *text, size_t *lines)
{
    const char *p = text;
    uint64_t total = 0;

    *lines = 0;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        const char *sp = nl;
        const char *d;
        GCM_CHECK(nl != NULL);
        while (sp > p && sp[-1] != ' ')
            sp--;
        GCM_CHECK(p[0] != '#' && p[0] != ' ');
        GCM_CHECK(strncmp(p, "T+", 2) == 0);
        GCM_CHECK(strstr(p, "s;Gen ") != NULL && strstr(p, "s;Gen ") < nl);
        GCM_CHECK(sp > p + 1 && sp < nl);
        for (d = sp; d < nl; d++)
            GCM_CHECK(*d >= '0' && *d <= '9');
        total += strtoull(sp, NULL, 10);
        (*lines)++;
        p = nl + 1;
    }
    return total;
}

static void test_folded_5s(void)
{
    fixture f;
    size_t lines;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.flamegraph_bucket_s = 5.0;
    out = folded(&f);
    check_golden("flame_5s.folded", out, strlen(out));
    /* 0.2+0.3+2.5+1.5+12.25+0.4+3+150 ms, in microseconds. */
    GCM_CHECK_EQ_U64(folded_weight(out, &lines), 170150);
    GCM_CHECK(strstr(out, "T+0s;Gen 0;<=1ms 500\n") != NULL);
    GCM_CHECK(strstr(out, "T+0s;Gen 0;1-5ms 2500\n") != NULL);
    GCM_CHECK(strstr(out, "T+20s;Gen 2;100-") == NULL);
    GCM_CHECK(strstr(out, "T+20s;Gen 2;>100ms 150000\n") != NULL);
    /* The first line is already a stack: the span is the report's to state. */
    GCM_CHECK(strncmp(out, "T+0s;Gen 0;<=1ms 500\n", 21) == 0);
    GCM_CHECK_EQ_U64(lines, 7);
    free(out);
    fixture_release(&f);
}

static void test_folded_sub_second(void)
{
    fixture f;
    size_t lines;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.flamegraph_bucket_s = 0.25;
    out = folded(&f);
    check_golden("flame_250ms.folded", out, strlen(out));
    GCM_CHECK_EQ_U64(folded_weight(out, &lines), 170150);
    /* 0.1 s and 0.2 s share the first bucket; 0.3 s is in the second. */
    GCM_CHECK(strstr(out, "T+0s;Gen 0;<=1ms 500\n") != NULL);
    GCM_CHECK(strstr(out, "T+0.25s;Gen 0;1-5ms 2500\n") != NULL);
    GCM_CHECK(strstr(out, "T+0.5s;Gen 1;1-5ms 1500\n") != NULL);
    GCM_CHECK(strstr(out, "T+1.25s;Gen 2;5-20ms 12250\n") != NULL);
    GCM_CHECK(strstr(out, "T+6.25s;Gen 1;1-5ms 3000\n") != NULL);
    free(out);
    fixture_release(&f);
}

static void test_folded_tiny_pause_weighs_one(void)
{
    fixture f;
    char *out;

    fixture_init(&f, 16, MS(50));
    fixture_add(&f, 10.0, 0, 300, 1, 0);
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    out = folded(&f);
    GCM_CHECK_STREQ(out, "T+0s;Gen 0;<=1ms 1\n");
    free(out);
    fixture_release(&f);
}

static void test_folded_empty(void)
{
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    /* Nothing retained is an empty file: a line saying so would be a
     * comment, or a stack with a made-up weight. */
    fixture_init(&f, 16, MS(50));
    fixture_finish(&f, 1000.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(gcm__render_folded(&f.in, &s), 0);
    GCM_CHECK_EQ_U64(m.len, 0);
    GCM_CHECK_EQ_U64(m.calls, 0);
    free(m.buf);
    fixture_release(&f);
}

/* Visible columns of one line: ANSI escape sequences take none. */
static size_t visible_width(const char *line, const char *end)
{
    size_t n = 0;

    while (line < end) {
        if (*line == '\033') {
            while (line < end && *line != 'm')
                line++;
            line++;
            continue;
        }
        n++;
        line++;
    }
    return n;
}

static void check_widths(const char *text, size_t width)
{
    const char *p = text;

    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        GCM_CHECK(nl != NULL);
        if (visible_width(p, nl) != width) {
            fprintf(stderr, "line of %zu columns, not %zu: %.*s\n", visible_width(p, nl), width,
                    (int)(nl - p), p);
            exit(1);
        }
        p = nl + 1;
    }
}

static void test_chart(void)
{
    static const uint32_t widths[] = {20, 21, 37, 80, 200, 1000};
    fixture f;
    size_t i;
    char *out;

    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.flamegraph_bucket_s = 5.0;
    f.config.terminal_flamegraph = 1;
    f.config.terminal_flamegraph_width = 60;
    out = chart(&f);
    check_golden("terminal_flame_60.txt", out, strlen(out));
    check_widths(out, 60);
    GCM_CHECK(strchr(out, '\033') == NULL);
    /* The peak bucket is a full bar of generation 2 marks, in correct units. */
    GCM_CHECK(strstr(out, "150.0ms\n") != NULL);
    GCM_CHECK(strstr(out, "full bar = 150.0ms") != NULL);
    free(out);
    for (i = 0; i < sizeof widths / sizeof widths[0]; i++) {
        f.config.terminal_flamegraph_width = widths[i];
        out = chart(&f);
        check_widths(out, widths[i]);
        free(out);
    }
    fixture_release(&f);
}

static void test_chart_color_only_on_a_terminal(void)
{
    fixture f;
    char *plain, *colored;

    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.flamegraph_bucket_s = 5.0;
    f.config.terminal_flamegraph_width = 60;
    f.config.terminal_flamegraph_color = 1;
    f.in.is_tty = 0;
    plain = chart(&f);
    GCM_CHECK(strchr(plain, '\033') == NULL);
    f.in.is_tty = 1;
    colored = chart(&f);
    check_golden("terminal_flame_60_color.txt", colored, strlen(colored));
    GCM_CHECK(strstr(colored, "\033[31m2") != NULL);
    GCM_CHECK(strstr(colored, "\033[0m") != NULL);
    check_widths(colored, 60);
    /* Without the escapes, the coloured chart is the plain one. */
    {
        char *p = colored, *q = colored;
        while (*p != '\0') {
            if (*p == '\033') {
                while (*p != 'm')
                    p++;
                p++;
                continue;
            }
            *q++ = *p++;
        }
        *q = '\0';
        GCM_CHECK_STREQ(colored, plain);
    }
    /* A terminal without the colour option gets no colour either. */
    f.config.terminal_flamegraph_color = 0;
    free(colored);
    colored = chart(&f);
    GCM_CHECK_STREQ(colored, plain);
    free(plain);
    free(colored);
    fixture_release(&f);
}

static void test_chart_in_report(void)
{
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);

    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);
    f.config.terminal_flamegraph = 1;
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    /* After the recommendations, in text reports only. */
    GCM_CHECK(strstr(m.buf, "=== GC THRESHOLD RECOMMENDATIONS ===") <
              strstr(m.buf, " GC time per 5s, by generation "));
    free(m.buf);
    f.config.json = 1;
    s = memsink_sink(&m);
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    GCM_CHECK(strstr(m.buf, "GC time per") == NULL);
    free(m.buf);
    fixture_release(&f);
}

/* The whole of a small file, as a C string the caller frees. */
static char *read_whole(const char *path)
{
    char *text = calloc(1, 4096);
    FILE *fp = fopen(path, "r");
    size_t n;

    GCM_CHECK(text != NULL && fp != NULL);
    n = fread(text, 1, 4095, fp);
    GCM_CHECK(feof(fp));
    fclose(fp);
    text[n] = '\0';
    return text;
}

static void test_write_file(void)
{
    char dir[] = "/tmp/gcm_flame_XXXXXX";
    char path[256], target[256], tmp[300];
    struct stat st;
    fixture f;
    FILE *fp;
    char buf[64];
    char *want, *got;

    GCM_CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/flame.txt", dir);
    snprintf(target, sizeof target, "%s/victim", dir);
    fixture_init(&f, 64, MS(50));
    add_run(&f);
    fixture_finish(&f, 30000.0, "3.12.1", 0);

    /* No file configured: nothing to do. */
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph(&f.in), 0);

    /* A symlink planted at the path is refused (the one output policy of
     * src/base/files.c): the link stays, its target is left alone, and no
     * temporary is left behind. */
    fp = fopen(target, "w");
    GCM_CHECK(fp != NULL);
    fputs("precious\n", fp);
    fclose(fp);
    GCM_CHECK(symlink(target, path) == 0);
    snprintf(f.config.flamegraph_file, sizeof f.config.flamegraph_file, "%s", path);
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph(&f.in), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ELOOP);
    GCM_CHECK(lstat(path, &st) == 0);
    GCM_CHECK(S_ISLNK(st.st_mode));
    fp = fopen(target, "r");
    GCM_CHECK(fp != NULL && fgets(buf, sizeof buf, fp) != NULL);
    fclose(fp);
    GCM_CHECK_STREQ(buf, "precious\n");
    snprintf(tmp, sizeof tmp, "%s.%lld.tmp", path, (long long)getpid());
    GCM_CHECK(access(tmp, F_OK) != 0);
    GCM_CHECK(unlink(path) == 0);

    /* A FIFO at the path is refused too, never opened (which would block)
     * nor replaced. */
    GCM_CHECK(mkfifo(path, 0600) == 0);
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph(&f.in), GCM_EIO);
    GCM_CHECK(lstat(path, &st) == 0);
    GCM_CHECK(S_ISFIFO(st.st_mode));
    GCM_CHECK(access(tmp, F_OK) != 0);
    GCM_CHECK(unlink(path) == 0);

    /* An existing regular file is replaced whole, by a new private file. */
    fp = fopen(path, "w");
    GCM_CHECK(fp != NULL);
    fputs("an older flame graph, longer than the new one will be\n", fp);
    fclose(fp);
    GCM_CHECK(chmod(path, 0644) == 0);
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph(&f.in), 0);
    GCM_CHECK(lstat(path, &st) == 0);
    GCM_CHECK(S_ISREG(st.st_mode));
    GCM_CHECK_EQ_INT(st.st_mode & 0777, 0600);
    /* The file holds exactly the folded lines, from the first byte. */
    want = folded(&f);
    got = read_whole(path);
    GCM_CHECK_STREQ(got, want);
    free(got);
    /* No temporary file is left behind. */
    snprintf(tmp, sizeof tmp, "%s.%lld.tmp", path, (long long)getpid());
    GCM_CHECK(access(tmp, F_OK) != 0);

    /* A directory that does not exist is an error, not a crash. */
    snprintf(f.config.flamegraph_file, sizeof f.config.flamegraph_file, "%s/no/such/f", dir);
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph(&f.in), GCM_EIO);

    /* A fork child leaves the parent's file alone and makes its own. */
    snprintf(f.config.flamegraph_file, sizeof f.config.flamegraph_file, "%s", path);
    GCM_CHECK(truncate(path, 0) == 0);
    GCM_CHECK_EQ_INT(gcm_report_write_flamegraph_child(&f.in), 0);
    GCM_CHECK(stat(path, &st) == 0 && st.st_size == 0);
    snprintf(tmp, sizeof tmp, "%s/flame.%lld.txt", dir, (long long)getpid());
    GCM_CHECK(lstat(tmp, &st) == 0);
    GCM_CHECK(S_ISREG(st.st_mode));
    GCM_CHECK_EQ_INT(st.st_mode & 0777, 0600);
    got = read_whole(tmp);
    GCM_CHECK_STREQ(got, want);
    free(got);
    free(want);
    unlink(tmp);

    unlink(path);
    unlink(target);
    rmdir(dir);
    fixture_release(&f);
}

int main(void)
{
    GCM_RUN(test_folded_5s);
    GCM_RUN(test_folded_sub_second);
    GCM_RUN(test_folded_tiny_pause_weighs_one);
    GCM_RUN(test_folded_empty);
    GCM_RUN(test_chart);
    GCM_RUN(test_chart_color_only_on_a_terminal);
    GCM_RUN(test_chart_in_report);
    GCM_RUN(test_write_file);
    return 0;
}
