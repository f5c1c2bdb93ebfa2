/* src/cli/spawn.c: running a helper program with its output into a pipe.
 *
 * The launcher runs small Python programs with another interpreter than
 * its own (the reader of `live PID`, the injector and the import probe of
 * `attach`): each reads /dev/null and writes its stdout and stderr into one
 * pipe, which the launcher reads.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addchdir_np */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

int gcm__spawn_actions_to(posix_spawn_file_actions_t *actions, int fd)
{
    if (posix_spawn_file_actions_init(actions) != 0)
        return -1;
    if (posix_spawn_file_actions_adddup2(actions, fd, 1) != 0 ||
        posix_spawn_file_actions_adddup2(actions, fd, 2) != 0 ||
        posix_spawn_file_actions_addopen(actions, 0, "/dev/null", O_RDONLY, 0) != 0) {
        posix_spawn_file_actions_destroy(actions);
        return -1;
    }
    return 0;
}

static long long elapsed_ms(const struct timespec *since)
{
    struct timespec now;

    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Reads the child's output until it closes it or `timeout_ms` passed (<= 0:
 * no limit), keeping the end.  Returns 0, or -1 on timeout. */
static int read_output(int fd, int timeout_ms, char *buf, size_t size, size_t *len)
{
    struct timespec start;

    (void)clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int wait_ms = -1;
        ssize_t got;

        if (timeout_ms > 0) {
            long long left = timeout_ms - elapsed_ms(&start);
            if (left <= 0)
                return -1;
            wait_ms = (int)left;
        }
        if (poll(&p, 1, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (p.revents == 0)
            continue;
        got = read(fd, buf + *len, size - 1 - *len);
        if (got > 0) {
            *len += (size_t)got;
            if (*len == size - 1) {
                /* Only the end matters: keep the second half. */
                memmove(buf, buf + *len / 2, *len - *len / 2);
                *len -= *len / 2;
            }
        } else if (got == 0 || errno != EINTR) {
            return 0;
        }
    }
}

int gcm__spawn_answer(const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int timeout_ms, char *line, size_t line_size)
{
    char buf[4096];
    size_t len = 0;
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t actions;
    int have_actions = 0;
    pid_t child = -1;
    int wstatus = 0;
    int timed_out;
    int status = -1;

    line[0] = '\0';
    if (pipe2(fds, O_CLOEXEC) != 0)
        goto done;
    if (gcm__spawn_actions_to(&actions, fds[1]) != 0)
        goto done;
    have_actions = 1;
    if (cwd != NULL && posix_spawn_file_actions_addchdir_np(&actions, cwd) != 0)
        goto done;
    if (posix_spawn(&child, path, &actions, NULL, argv, envp) != 0) {
        child = -1;
        goto done;
    }
    (void)close(fds[1]);
    fds[1] = -1;
    timed_out = read_output(fds[0], timeout_ms, buf, sizeof buf, &len) != 0;
    if (timed_out)
        (void)kill(child, SIGKILL);
    while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
        ;
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    {
        char *last = strrchr(buf, '\n');
        gcm__copy_printable(line, line_size, last != NULL ? last + 1 : buf);
    }
    status = !timed_out && WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 ? 0 : 1;
done:
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (fds[0] >= 0)
        (void)close(fds[0]);
    if (fds[1] >= 0)
        (void)close(fds[1]);
    return status;
}
