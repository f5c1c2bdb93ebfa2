/* src/ext/report_state.c: one report per process, whichever way out comes first.
 *
 * Recorder.report_begin() and report_end() keep the report's state in one
 * atomic word moved by compare-and-swap (docs/architecture.md, "The report's
 * state machine"): no lock that a signal handler could already hold, nothing
 * a fork child could inherit as held.
 */
#include "ext.h"
#include "recorder.h"

#include <unistd.h>

/* A recorder's report is written once per process, whichever way out comes
 * first: the bootstrap's end of the program, a signal, an atexit hook, a
 * multiprocessing finalizer or the library's stop_monitoring().  Those ways
 * may interrupt each other (a signal handler runs between any two bytecodes
 * of the main thread) and may race (two threads), so the state lives here,
 * in one atomic word moved by compare-and-swap: no lock that a signal
 * handler could already hold, nothing a fork child could inherit as held.
 *
 *   bits 0-1    GCM__REPORT_IDLE, _BUSY (being written) or _DONE
 *   bits 2-31   the token of the thread writing it (this_thread_token)
 *   bits 32-63  the pid the state belongs to
 *
 * A fork child inherits the word with its parent's pid: a report that was
 * being written there is not the child's, which starts afresh (revive). */
enum { GCM__REPORT_IDLE = 0, GCM__REPORT_BUSY = 1, GCM__REPORT_DONE = 2 };

/* What Recorder.report_begin() tells its caller (python/gc_monitor/monitor.py). */
enum { GCM__TURN_WRITE = 0, GCM__TURN_REENTERED = 1, GCM__TURN_DONE = 2 };

#define GCM__TOKEN_MASK 0x3fffffffu

static uint64_t
report_word(uint32_t pid, uint32_t token, unsigned state)
{
    return ((uint64_t)pid << 32) | ((uint64_t)(token & GCM__TOKEN_MASK) << 2) | state;
}

static unsigned
report_state(uint64_t word)
{
    return (unsigned)(word & 3u);
}

static uint32_t
report_token(uint64_t word)
{
    return (uint32_t)((word >> 2) & GCM__TOKEN_MASK);
}

static uint32_t
report_pid(uint64_t word)
{
    return (uint32_t)(word >> 32);
}

static _Atomic uint32_t thread_tokens = 0;
static _Thread_local uint32_t thread_token = 0;

/* A small number that names this thread in the report word; never 0.  A
 * fork child's only thread keeps its token, but the pid tells it apart. */
static uint32_t
this_thread_token(void)
{
    uint32_t token = thread_token;

    while (token == 0)
        token = (atomic_fetch_add_explicit(&thread_tokens, 1, memory_order_relaxed) + 1u) &
                GCM__TOKEN_MASK;
    thread_token = token;
    return token;
}

/* In a fork child of a process that was writing `r`'s report (another
 * thread forked meanwhile), makes the report the child's again: it records
 * its own collections and will write a report of its own.  The parent had
 * already stopped the recorder, and may have taken its callable out of
 * gc.callbacks: returns 1 when the caller must make sure it is back there. */
int
gcm__report_revive(gcm__recorder *r)
{
    uint32_t pid = (uint32_t)getpid();
    uint64_t word = atomic_load_explicit(&r->report_word, memory_order_acquire);

    if (report_state(word) != GCM__REPORT_BUSY || report_pid(word) == pid)
        return 0;
    if (!atomic_compare_exchange_strong(&r->report_word, &word,
                                        report_word(pid, 0, GCM__REPORT_IDLE)))
        return 0;
    r->stopped = 0;
    return 1;
}

/* Recorder.report_begin(): claims the report for this thread.  Returns
 * GCM__TURN_WRITE (write it, then call report_end), GCM__TURN_REENTERED (this
 * thread is writing it already: a signal handler or a finalizer interrupted
 * it; do not wait) or GCM__TURN_DONE.  When another thread of this process
 * is writing it, waits until it is done, with the GIL released.  The caller
 * has made sure the recorder owns this process's block. */
PyObject *
gcm__recorder_report_begin(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    uint32_t pid = (uint32_t)getpid();
    uint32_t me = this_thread_token();
    int turn = -1;

    while (turn < 0) {
        uint64_t word = atomic_load_explicit(&self->report_word, memory_order_acquire);
        unsigned state = report_state(word);

        if (state == GCM__REPORT_IDLE || (state == GCM__REPORT_BUSY && report_pid(word) != pid)) {
            if (atomic_compare_exchange_strong(&self->report_word, &word,
                                               report_word(pid, me, GCM__REPORT_BUSY)))
                turn = GCM__TURN_WRITE;
        } else if (state == GCM__REPORT_DONE) {
            turn = GCM__TURN_DONE;
        } else if (report_token(word) == me) {
            turn = GCM__TURN_REENTERED;
        } else {
            struct timespec pause = {0, 1000000};

            Py_BEGIN_ALLOW_THREADS(void) nanosleep(&pause, NULL);
            Py_END_ALLOW_THREADS
        }
    }
    return PyLong_FromLong(turn);
}

/* Recorder.report_end(): the report claimed by report_begin() is written. */
PyObject *
gcm__recorder_report_end(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;

    atomic_store_explicit(&self->report_word,
                          report_word((uint32_t)getpid(), this_thread_token(), GCM__REPORT_DONE),
                          memory_order_release);
    Py_RETURN_NONE;
}
