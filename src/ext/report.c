/* src/ext/report.c: a recorder's report, written once per process.
 *
 * Recorder.report_begin() and report_end() keep the report's state in one
 * atomic word (docs/architecture.md, "The report's state machine"); the
 * report itself is rendered by the core's renderers with the GIL released,
 * to stderr or the --log-file (a fork child's to its own derived name).
 */
#include "ext.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "gc_monitor/logfile.h"

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
 * is writing it, waits until it is done, with the GIL released. */
PyObject *
gcm__recorder_report_begin(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    uint32_t pid = (uint32_t)getpid();
    uint32_t me = this_thread_token();
    int turn = -1;

    if (gcm__recorder_own_block(self) != 0)
        return NULL;
    while (turn < 0) {
        uint64_t word = atomic_load_explicit(&self->report_word, memory_order_acquire);
        unsigned state = report_state(word);

        if (state == GCM__REPORT_IDLE ||
            (state == GCM__REPORT_BUSY && report_pid(word) != pid)) {
            if (atomic_compare_exchange_strong(&self->report_word, &word,
                                               report_word(pid, me, GCM__REPORT_BUSY)))
                turn = GCM__TURN_WRITE;
        } else if (state == GCM__REPORT_DONE) {
            turn = GCM__TURN_DONE;
        } else if (report_token(word) == me) {
            turn = GCM__TURN_REENTERED;
        } else {
            struct timespec pause = {0, 1000000};

            Py_BEGIN_ALLOW_THREADS
            (void)nanosleep(&pause, NULL);
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

PyObject *
gcm__recorder_mark_exited(PyObject *op, PyObject *arg)
{
    gcm__recorder *self = (gcm__recorder *)op;
    long status;
    int32_t recorded;

    /* None: the process ends by os._exit after its finalizers (a
     * multiprocessing fork worker), with a status nothing here can see. */
    if (arg == Py_None) {
        recorded = GCM_EXIT_STATUS_UNKNOWN;
        goto mark;
    }
    status = PyLong_AsLong(arg);
    if (status == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        /* Python itself exits with -1 (255) for a status too large for C. */
        PyErr_Clear();
    }
    recorded = (int32_t)((int)status & 0xff);
mark:
    /* Only a capture file has readers who need telling, and only the
     * process that wrote it may say how it ended. */
    if (self->mapped && self->block->header.pid == (int64_t)getpid())
        gcm_block_set_state(self->block, GCM_STATE_EXITED, recorded, gcm_clock_realtime_ns());
    Py_RETURN_NONE;
}

/* Opens the --log-file for the report: the process that created the
 * recorder appends to the file itself; a fork child creates its own derived
 * file (gc.<pid>.log), so that no process truncates or interleaves with
 * another's report.  Never through a symlink, and private to the user.
 * Returns the descriptor, or -1 when the file cannot be opened. */
static int
open_log_file(const gcm__recorder *self)
{
    int64_t pid = (int64_t)getpid();
    int fd = -1;
    int rc;

    if (pid == self->origin_pid)
        rc = gcm_logfile_open(self->config.log_file, &fd);
    else
        rc = gcm_logfile_open_child(self->config.log_file, pid, &fd, NULL, 0);
    return rc == 0 ? fd : -1;
}

/* Starts a fork child's text report with a line that says whose it is:
 * several processes' reports may share stderr, and the text format, unlike
 * JSON, names no pid.  A failed write is ignored, like the report's own. */
static void
write_child_label(const gcm__recorder *self, const gcm_snapshot *snap, int fd)
{
    char line[96];
        int len;

    if (self->config.json || (int64_t)getpid() == self->origin_pid)
        return;
    len = snprintf(line, sizeof line, "GMEM Report of pid %lld (%s pid %lld)\n",
                   (long long)snap->pid,
                   snap->pid == self->followed_pid ? "started by" : "forked from",
                   (long long)snap->ppid);
    if (len <= 0 || (size_t)len >= sizeof line)
        return;
    (void)gcm__write_all(fd, line, (size_t)len);
}

PyObject *
gcm__recorder_write_report(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"fd", NULL};
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    gcm_event *events = NULL;
    gcm_report_input in;
    size_t count = 0;
    uint64_t first = 0;
    uint64_t capacity;
    gcm__exit_facts facts;
    int fd = -1;
    int opened = -1;
    int rc = GCM_EIO;
    PyObject *result = NULL;

    memset(&facts, 0, sizeof facts);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i:write_report", kwlist, &fd))
        goto done;
    if (gcm__recorder_own_block(self) != 0)
        goto done;
    /* A followed interpreter's stderr may be a pipe its parent reads
     * (subprocess.run(capture_output=True), check_output): with -o its
     * figures are in its capture, so nothing is written there. */
    if (fd < 0 && self->followed_pid != 0 && self->config.log_file[0] == '\0' &&
        self->config.output[0] != '\0') {
        Py_INCREF(Py_True);
        result = Py_True;
        goto done;
    }
    snap = gcm__take_snapshot(self);
    if (snap == NULL)
        goto done;
    capacity = self->block->header.capacity;
    events = PyMem_RawMalloc((size_t)capacity * sizeof *events);
    if (events == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    (void)gcm_block_copy_events(self->block, events, (size_t)capacity, &count, &first);

    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = &self->config;
    in.python_version = gcm__python_version();
#ifdef Py_GIL_DISABLED
    in.free_threaded = 1;
#endif
    /* The interpreter's facts (thresholds, and the object census or
     * gc.garbage when asked for) are read now, with the GIL, and copied, so
     * that rendering can run without it.  Gathering never raises. */
    gcm__exit_facts_gather(&facts, &self->config);
    gcm__exit_facts_apply(&facts, &in);

    if (fd < 0) {
        if (self->config.log_file[0] != '\0') {
            opened = open_log_file(self);
            fd = opened;
        } else if (self->stderr_was_open) {
            fd = 2;
        }
    }
    /* A report that cannot be written (closed stderr, unwritable log file)
     * is given up silently: the program's own outcome matters more. */
    if (fd >= 0) {
        Py_BEGIN_ALLOW_THREADS
        write_child_label(self, snap, fd);
        rc = gcm_report_render_fd(&in, fd);
        Py_END_ALLOW_THREADS
    }
    /* The flame graph file is an output of its own: written whether or not
     * the report found somewhere to go. */
    gcm__write_flamegraph_file(self, &in);
    result = PyBool_FromLong(rc == 0);
done:
    gcm__exit_facts_release(&facts);
    if (opened >= 0)
        (void)close(opened);
    PyMem_RawFree(events);
    PyMem_Free(snap);
    return result;
}
