/* src/cli/live_term.c: the terminal and the signals of `pygcprofiler live`.
 *
 * Keys are read in non-canonical mode (termios) and the terminal's settings
 * are put back on every way out: `q`, Ctrl-C, SIGTERM, SIGHUP, a crash, the
 * file shrinking under us (SIGBUS), Ctrl-Z (restored while stopped, raw
 * again on resume).  Signal handlers only write to a pipe that the refresh
 * loop polls, so no signal slips in between a check and a wait.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"
#include "live.h"

/* The signal handlers only write the signal's number into this pipe; the
 * main loop polls it, so no signal can slip in between a check and a wait. */
static int wake_pipe[2] = {-1, -1};
/* The terminal's settings before raw mode, and whether they must be put
 * back.  Read by the handlers, so only set before they are installed or
 * with them unable to run in between (a single store of an int). */
static struct termios saved_tio;
static struct termios raw_tio;
static volatile sig_atomic_t tio_active;
static volatile sig_atomic_t screen_active;

static const char show_cursor[] = "\033[?25h\033[0m";
static const char hide_cursor[] = "\033[?25l";

/* Puts the terminal back as it was.  Async-signal-safe: handlers call it. */
static void term_restore(void)
{
    if (tio_active)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
    if (screen_active)
        (void)!write(STDOUT_FILENO, show_cursor, sizeof show_cursor - 1);
}

static void on_wake_signal(int sig)
{
    int saved = errno;
    unsigned char byte = (unsigned char)sig;

    if (wake_pipe[1] >= 0)
        (void)!write(wake_pipe[1], &byte, 1);
    errno = saved;
}

/* Ctrl-Z: give the shell its terminal back while we are stopped, take it
 * again on resume, and ask the main loop to redraw. */
static void on_tstp(int sig)
{
    int saved = errno;

    (void)sig;
    term_restore();
    (void)raise(SIGSTOP);
    if (tio_active)
        (void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio);
    if (screen_active)
        (void)!write(STDOUT_FILENO, hide_cursor, sizeof hide_cursor - 1);
    on_wake_signal(SIGCONT);
    errno = saved;
}

static void on_sigbus(int sig)
{
    term_restore();
    gcm__on_sigbus(sig);
}

/* A crash must not leave the user's terminal in raw mode either. */
static void on_fatal(int sig)
{
    term_restore();
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

static int install_handler(int sig, void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    (void)sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: poll() must return at once to let the loop react. */
    return sigaction(sig, &sa, NULL) == 0 ? 0 : GCM_EIO;
}

static int make_wake_pipe(void)
{
    int status = GCM_EIO;

    if (pipe(wake_pipe) != 0)
        goto done;
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(wake_pipe[i], F_GETFL);
        if (flags < 0 || fcntl(wake_pipe[i], F_SETFL, flags | O_NONBLOCK) != 0 ||
            fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}

int gcm__live_install_signals(void)
{
    static const int wake[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
    static const int fatal[] = {SIGSEGV, SIGABRT, SIGFPE, SIGILL};
    int status = make_wake_pipe();

    for (size_t i = 0; status == 0 && i < sizeof wake / sizeof wake[0]; i++)
        status = install_handler(wake[i], on_wake_signal);
    for (size_t i = 0; status == 0 && i < sizeof fatal / sizeof fatal[0]; i++)
        status = install_handler(fatal[i], on_fatal);
    if (status == 0)
        status = install_handler(SIGBUS, on_sigbus);
    if (status == 0)
        status = install_handler(SIGTSTP, on_tstp);
    /* A closed stdout (`live F | head`) must end us with a status, not kill us. */
    if (status == 0 && signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        status = GCM_EIO;
    return status;
}

/* Enters non-canonical, no-echo mode on a terminal stdin, keeping ISIG so
 * that Ctrl-C still arrives as SIGINT, and hides the cursor. */
void gcm__live_term_enter(int keys)
{
    if (keys && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        raw_tio = saved_tio;
        raw_tio.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw_tio.c_cc[VMIN] = 0;
        raw_tio.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio) == 0)
            tio_active = 1;
    }
    screen_active = 1;
    (void)gcm__write_all(STDOUT_FILENO, hide_cursor, sizeof hide_cursor - 1);
    (void)gcm__write_all(STDOUT_FILENO, "\033[H\033[2J", 7);
}

void gcm__live_term_leave(void)
{
    term_restore();
    tio_active = 0;
    screen_active = 0;
}

/* Waits until `deadline_ns` (CLOCK_MONOTONIC) or until a key or a signal
 * asks for something.  Returns END_NONE to refresh, END_QUIT, END_SIGNAL
 * (with *sig set), or 1 for "redraw now without a new snapshot". */
int gcm__live_wait_for(uint64_t deadline_ns, int keys, int *sig)
{
    struct pollfd fds[2];
    nfds_t nfds = 1;

    for (;;) {
        uint64_t now = gcm_clock_monotonic_ns();
        int timeout;
        int rc;

        if (now >= deadline_ns)
            return END_NONE;
        timeout = (int)((deadline_ns - now + 999999u) / 1000000u);
        fds[0].fd = wake_pipe[0];
        fds[0].events = POLLIN;
        nfds = 1;
        if (keys) {
            fds[1].fd = STDIN_FILENO;
            fds[1].events = POLLIN;
            nfds = 2;
        }
        rc = poll(fds, nfds, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            return END_NONE;
        if (fds[0].revents & POLLIN) {
            unsigned char buf[16];
            ssize_t n = read(wake_pipe[0], buf, sizeof buf);
            int redraw = 0;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == SIGINT) {
                    *sig = SIGINT;
                    return END_QUIT;
                }
                if (buf[i] == SIGWINCH || buf[i] == SIGCONT) {
                    redraw = 1;
                    continue;
                }
                *sig = buf[i];
                return END_SIGNAL;
            }
            if (redraw)
                return 1;
        }
        if (nfds == 2 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[64];
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            /* End of input on a terminal means it hung up: nobody is watching. */
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return END_QUIT;
            for (ssize_t i = 0; i < n; i++) {
                if (buf[i] == 'q' || buf[i] == 'Q' || buf[i] == 3)
                    return END_QUIT;
            }
        }
    }
}

void gcm__live_close_signals(void)
{
    if (wake_pipe[0] >= 0) {
        (void)close(wake_pipe[0]);
        (void)close(wake_pipe[1]);
        wake_pipe[0] = wake_pipe[1] = -1;
    }
}
