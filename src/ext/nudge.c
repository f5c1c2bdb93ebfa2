/* src/ext/nudge.c: makes sure the launcher's SIGTERM and SIGHUP handlers run.
 *
 * CPython acts on a Python signal handler later, in the main thread, between
 * bytecodes: its C handler only notes the signal.  A signal noted just before
 * the main thread enters a blocking call (the sem_wait of a multiprocessing
 * queue, a lock, a read) does not interrupt that call, so the handler runs
 * when the call returns, which may be never: a pool worker sent SIGTERM by
 * Pool.terminate() while it went back for its next task waits forever, and
 * so does its parent's join().  Plain python has no such race for SIGTERM or
 * SIGHUP, whose default action acts at once; the launcher's handlers (which
 * write the report first) must not add one.
 *
 * So beneath CPython's C handler for each of these signals, start_nudging
 * puts one that calls it and then arms a timer that sends the same signal
 * to the main thread 20 ms later, which interrupts whatever call it blocks
 * in; it repeats until the Python handler says it runs (stop_nudging).
 * When the program installs a handler of its own, CPython's sigaction(2)
 * replaces ours, and the nudging stops with it.
 *
 * Timers are not inherited by a fork child: the after-fork hook makes new
 * ones aimed at the child's thread (gcm__nudge_after_fork).  It also sends
 * again a signal the child received before that hook: CPython's own
 * after-fork code, which runs first, forgets every signal noted so far (they
 * were meant for the parent), and so would forget one that was the child's.
 * A pool worker that has not run yet when Pool.terminate() signals it gets
 * its SIGTERM in just that window, on its first return from fork(2).
 */
#include "ext.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* How long a noted signal may wait for its Python handler before it is sent
 * again to the main thread. */
#define GCM__NUDGE_NS 20000000L

typedef struct nudge {
    struct sigaction python; /* CPython's own action, which ours calls first */
    timer_t timer;
    volatile sig_atomic_t timer_owner; /* the process whose timer it is, 0 for none */
    volatile sig_atomic_t noted_by;    /* the process that noted the signal, 0 once handled */
    volatile sig_atomic_t done;        /* the Python handler has run */
    int installed;
} nudge;

static nudge nudges[NSIG];

static void
on_signal(int signum)
{
    nudge *n = &nudges[signum];
    int saved_errno = errno;
    pid_t self = getpid(); /* async-signal-safe, and never cached since glibc 2.25 */

    if (n->python.sa_handler != SIG_DFL && n->python.sa_handler != SIG_IGN &&
        n->python.sa_handler != NULL)
        n->python.sa_handler(signum);
    n->noted_by = (sig_atomic_t)self;
    /* A fork child before its after-fork hook still holds the parent's
     * timer id, which names no timer here, or another one. */
    if (n->timer_owner == (sig_atomic_t)self && !n->done) {
        struct itimerspec again;

        memset(&again, 0, sizeof again);
        again.it_value.tv_nsec = GCM__NUDGE_NS;
        /* timer_settime is async-signal-safe. */
        (void)timer_settime(n->timer, 0, &again, NULL);
    }
    errno = saved_errno;
}

/* Makes the timer that sends `signum` to the calling thread.  Returns 0 or -1
 * with errno set. */
static int
make_timer(int signum, nudge *n)
{
    struct sigevent ev;

    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = signum;
#ifdef sigev_notify_thread_id
    ev.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
#else
    ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#endif
    if (timer_create(CLOCK_MONOTONIC, &ev, &n->timer) != 0)
        return -1;
    n->timer_owner = (sig_atomic_t)getpid();
    return 0;
}

/* Returns 1 when `signum`'s current action is ours. */
static int
ours(int signum)
{
    struct sigaction current;

    return sigaction(signum, NULL, &current) == 0 && current.sa_handler == on_signal;
}

/* Puts beneath CPython's C handler for `signum` one that calls it and then
 * sends the signal again to this (main) thread every 20 ms until
 * stop_nudging(signum).  Returns 0 or -1 with errno set. */
static int
start_nudging(int signum)
{
    nudge *n;
    struct sigaction mine;
    int status = -1;

    if (signum < 1 || signum >= NSIG) {
        errno = EINVAL;
        goto done;
    }
    n = &nudges[signum];
    if (ours(signum)) {
        status = 0;
        goto done;
    }
    if (sigaction(signum, NULL, &n->python) != 0)
        goto done;
    /* CPython installs a plain sa_handler; anything else is not ours to wrap. */
    if (n->python.sa_flags & SA_SIGINFO) {
        errno = ENOTSUP;
        goto done;
    }
    if (n->timer_owner != (sig_atomic_t)getpid() && make_timer(signum, n) != 0)
        goto done;
    n->done = 0;
    mine = n->python;
    mine.sa_handler = on_signal;
    if (sigaction(signum, &mine, NULL) != 0)
        goto done;
    n->installed = 1;
    status = 0;
done:
    return status;
}

/* The Python handler of `signum` runs: no more nudges.  Async-signal-safe. */
static void
stop_nudging(int signum)
{
    nudge *n;
    struct itimerspec off;

    if (signum < 1 || signum >= NSIG)
        return;
    n = &nudges[signum];
    n->done = 1;
    n->noted_by = 0;
    if (n->timer_owner == (sig_atomic_t)getpid()) {
        memset(&off, 0, sizeof off);
        (void)timer_settime(n->timer, 0, &off, NULL);
    }
}

void
gcm__nudge_after_fork(void)
{
    sig_atomic_t self = (sig_atomic_t)getpid();
    int signum;

    for (signum = 1; signum < NSIG; signum++) {
        nudge *n = &nudges[signum];
        int forgotten;

        if (!n->installed)
            continue;
        /* Noted by this process, not inherited from the parent's: CPython
         * has just forgotten it. */
        forgotten = n->noted_by == self;
        /* The parent's timer does not exist here. */
        n->timer_owner = 0;
        n->noted_by = 0;
        n->done = 0;
        if (ours(signum))
            (void)make_timer(signum, n);
        /* Delivered to this thread at once; our handler notes it again and
         * nudges as usual.  Nothing is left to do if raise fails. */
        if (forgotten)
            (void)raise(signum);
    }
}

PyObject *
gcm__nudge_signal_py(PyObject *module, PyObject *arg)
{
    int signum;

    (void)module;
    if (gcm__signal_arg(arg, &signum) != 0)
        return NULL;
    if (start_nudging(signum) != 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    Py_RETURN_NONE;
}

PyObject *
gcm__nudge_done_py(PyObject *module, PyObject *arg)
{
    int signum;

    (void)module;
    if (gcm__signal_arg(arg, &signum) != 0)
        return NULL;
    stop_nudging(signum);
    Py_RETURN_NONE;
}
