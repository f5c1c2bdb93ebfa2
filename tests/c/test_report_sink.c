/* test_report_sink.c: the fd sink writes whole lines and fails quietly.
 *
 * The reports share stderr and log files with the program and its children,
 * so a line must reach the descriptor in one write(2): the checks below read
 * the pipe after every line handed to the buffer and require that what has
 * arrived so far always ends at a line boundary.  A closed pipe or descriptor
 * must turn into GCM_EIO, never a signal or a crash.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include "test_report_fixture.h"
#include "../../src/report/report_internal.h"

/* Reads everything the pipe holds right now into `acc`, returns the new length. */
static size_t drain(int fd, char *acc, size_t len, size_t cap)
{
    for (;;) {
        ssize_t n = read(fd, acc + len, cap - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    return len;
}

static void test_lines_never_split(void)
{
    static char acc[1 << 16];
    static char want[1 << 16];
    char buf[64];
    char line[200];
    gcm__fdbuf fb;
    size_t acc_len = 0, want_len = 0;
    int fds[2];
    int i;

    GCM_CHECK(pipe(fds) == 0);
    GCM_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    gcm__fdbuf_init(&fb, fds[1], buf, sizeof buf);
    /* Lengths from 1 to 150 bytes cross the 64-byte buffer's edge in every way,
     * including lines that can never fit and must go out alone. */
    for (i = 0; i < 150; i++) {
        size_t n = (size_t)(i * 37 % 150) + 1;
        memset(line, 'a' + i % 26, n - 1);
        line[n - 1] = '\n';
        GCM_CHECK_EQ_INT(gcm__fdbuf_write(&fb, line, n), 0);
        memcpy(want + want_len, line, n);
        want_len += n;
        acc_len = drain(fds[0], acc, acc_len, sizeof acc);
        GCM_CHECK(acc_len == 0 || acc[acc_len - 1] == '\n');
        GCM_CHECK(acc_len <= want_len);
    }
    GCM_CHECK_EQ_INT(gcm__fdbuf_flush(&fb), 0);
    acc_len = drain(fds[0], acc, acc_len, sizeof acc);
    GCM_CHECK_EQ_U64(acc_len, want_len);
    GCM_CHECK(memcmp(acc, want, want_len) == 0);
    close(fds[0]);
    close(fds[1]);
}

static void test_broken_pipe_is_eio(void)
{
    char buf[64];
    gcm__fdbuf fb;
    int fds[2];

    GCM_CHECK(pipe(fds) == 0);
    close(fds[0]);
    /* CPython ignores SIGPIPE, and so must a caller of these writers. */
    GCM_CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR);
    GCM_CHECK_EQ_INT(gcm_sink_write_fd(&fds[1], "x\n", 2), GCM_EIO);
    gcm__fdbuf_init(&fb, fds[1], buf, sizeof buf);
    GCM_CHECK_EQ_INT(gcm__fdbuf_write(&fb, "buffered\n", 9), 0);
    GCM_CHECK_EQ_INT(gcm__fdbuf_flush(&fb), GCM_EIO);
    /* The failure is sticky: later lines are dropped, not retried. */
    GCM_CHECK_EQ_INT(gcm__fdbuf_write(&fb, "more\n", 5), GCM_EIO);
    GCM_CHECK_EQ_INT(gcm__fdbuf_flush(&fb), GCM_EIO);
    close(fds[1]);
}

static void test_render_to_closed_fd(void)
{
    fixture f;
    int fds[2];
    int i;

    fixture_init(&f, 16, 1000000u);
    for (i = 0; i < 10; i++)
        fixture_add(&f, (double)i, 0, 2000000u, 1, 0);
    fixture_finish(&f, 100.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(gcm_report_render_fd(&f.in, -1), GCM_EIO);
    GCM_CHECK(pipe(fds) == 0);
    close(fds[0]);
    GCM_CHECK_EQ_INT(gcm_report_render_fd(&f.in, fds[1]), GCM_EIO);
    GCM_CHECK_EQ_INT(gcm_report_start_fd(&f.config, "python x.py", FIX_PID, fds[1]), GCM_EIO);
    close(fds[1]);
    fixture_release(&f);
}

/* What gcm_report_render_fd writes is exactly what the renderer produces. */
static void test_render_fd_matches_render(void)
{
    static char acc[1 << 16];
    fixture f;
    memsink m;
    gcm_sink s = memsink_sink(&m);
    size_t len;
    int fds[2];
    int i;

    fixture_init(&f, 64, 1000000u);
    for (i = 0; i < 50; i++)
        fixture_add(&f, 3.0 * i, (uint32_t)(i % 3), 100000u * (uint64_t)(i + 1), (uint64_t)i, 0);
    fixture_finish(&f, 200.0, "3.12.1", 0);
    GCM_CHECK_EQ_INT(gcm_report_render(&f.in, &s), 0);
    GCM_CHECK(pipe(fds) == 0);
    GCM_CHECK(fcntl(fds[0], F_SETFL, O_NONBLOCK) == 0);
    GCM_CHECK(m.len < 60000);
    GCM_CHECK_EQ_INT(gcm_report_render_fd(&f.in, fds[1]), 0);
    len = drain(fds[0], acc, 0, sizeof acc);
    GCM_CHECK_EQ_U64(len, m.len);
    GCM_CHECK(memcmp(acc, m.buf, len) == 0);
    close(fds[0]);
    close(fds[1]);
    free(m.buf);
    fixture_release(&f);
}

/* Pipes get writes no larger than PIPE_BUF, the size the kernel keeps whole
 * when several processes write to one pipe; files get the whole buffer. */
static void test_capacity_by_kind_of_fd(void)
{
    char path[] = "/tmp/gcm-test-sink-XXXXXX";
    int fds[2];
    int file;

    GCM_CHECK(pipe(fds) == 0);
    GCM_CHECK_EQ_U64(gcm__fdbuf_capacity_for(fds[1], 1u << 18), PIPE_BUF);
    GCM_CHECK_EQ_U64(gcm__fdbuf_capacity_for(fds[1], 100), 100);
    close(fds[0]);
    close(fds[1]);
    file = mkstemp(path);
    GCM_CHECK(file >= 0);
    GCM_CHECK_EQ_U64(gcm__fdbuf_capacity_for(file, 1u << 18), 1u << 18);
    close(file);
    unlink(path);
    GCM_CHECK_EQ_U64(gcm__fdbuf_capacity_for(-1, 1u << 18), PIPE_BUF);
}

int main(void)
{
    GCM_RUN(test_capacity_by_kind_of_fd);
    GCM_RUN(test_lines_never_split);
    GCM_RUN(test_broken_pipe_is_eio);
    GCM_RUN(test_render_to_closed_fd);
    GCM_RUN(test_render_fd_matches_render);
    return 0;
}
