/* src/ext/exit.c: how a capture learns the way its process ended.
 *
 * A capture's readers need to know whether the program exited, with which
 * status, or died.  Only the C library sees the status python really exits
 * with: atexit handlers, and the bootstrap's last Python lines, run before
 * the program's own atexit handlers and interpreter finalisation have had
 * their say (a handler may still sleep, be killed, or call os._exit).  So:
 *
 * - glibc's on_exit(3) hands its handlers the status given to exit(3), which
 *   is python's own exit status; the handler below stores it in the capture.
 * - a death by a signal after the report (the bootstrap's SIGTERM and SIGHUP,
 *   gcm__exit_die_by_signal, or the C handlers gcm__exit_arm_signals installs
 *   once the report is written) stores "killed by that signal" first.
 * - a capture marked detached keeps that state: it stopped recording while
 *   the process ran on.
 * - os._exit, SIGKILL and crashes store nothing: the capture stays "running"
 *   and readers find the writer gone, which is the truth.
 *
 * One capture per process is marked this way: the one registered last (the
 * launcher's, a followed interpreter's, or a fork child's own FILE.<pid>).
 * The handlers run after Python is finalised, when its recorder may be freed:
 * the mapping is therefore kept until the process ends (gcm__exit_keeps).
 * They only touch it in the process that registered it, since a fork child
 * inherits both the handlers and, until its own capture replaces it, a view of
 * its parent's file.
 */
#include "ext.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Written with the GIL held, read by exit and signal handlers: a signal
 * handler only reads them, and a store of a pointer or a pid is atomic. */
static gcm_block *volatile exit_block = NULL;
static volatile pid_t exit_pid = 0;

/* Returns the capture to mark, or NULL when this process registered none. */
static gcm_block *
own_exit_block(void)
{
    gcm_block *block = exit_block;

    if (block == NULL || getpid() != exit_pid || block->header.pid != (int64_t)exit_pid)
        return NULL;
    /* A detached capture (`pygcprofiler detach`) ended its story there: how
     * the process ends later is none of its business. */
    if (atomic_load_explicit(&block->header.state, memory_order_acquire) == GCM_STATE_DETACHED)
        return NULL;
    return block;
}

static void
on_process_exit(int status, void *arg)
{
    gcm_block *block = own_exit_block();

    (void)arg;
    if (block != NULL)
        gcm_block_set_state(block, GCM_STATE_EXITED, (int32_t)(status & 0xff),
                            gcm_clock_realtime_ns());
}

int
gcm__exit_watch_block(gcm_block *block)
{
    /* A fork child inherits the registration along with this flag. */
    static int registered = 0;
    int status = GCM_ENOMEM;

    exit_block = block;
    exit_pid = getpid();
    if (!registered) {
        if (on_exit(on_process_exit, NULL) != 0)
            goto done;
        registered = 1;
    }
    status = 0;
done:
    return status;
}

int
gcm__exit_watch_block_or_raise(gcm_block *block)
{
    int status = -1;

    if (gcm__exit_watch_block(block) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gc_monitor: cannot register the exit handler");
        goto done;
    }
    status = 0;
done:
    return status;
}

int
gcm__exit_keeps(const gcm_block *block)
{
    return block != NULL && block == exit_block;
}

/* Marks this process's watched capture "killed by `signum`" now.
 * Async-signal-safe. */
static void
note_signal(int signum)
{
    gcm_block *block = own_exit_block();

    /* Async-signal-safe: atomic stores and clock_gettime(2). */
    if (block != NULL)
        gcm_block_set_state(block, GCM_STATE_KILLED, (int32_t)signum, gcm_clock_realtime_ns());
}

/* Ends the process by `signum` with its default action.  Called from Python
 * and from a signal handler, so it only makes async-signal-safe calls. */
static void
die_by_signal(int signum)
{
    struct sigaction dfl;
    sigset_t set;

    note_signal(signum);
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    (void)sigemptyset(&dfl.sa_mask);
    (void)sigaction(signum, &dfl, NULL);
    /* raise() sends the signal to this thread; unblocked, its default action
     * ends the process before raise() returns. */
    (void)raise(signum);
    (void)sigemptyset(&set);
    (void)sigaddset(&set, signum);
    (void)pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    /* Still here: the default action does not end a process (a caller made
     * the signal harmless in a way nothing here can undo).  Exit the way a
     * shell reports a death by that signal. */
    _exit(128 + signum);
}

/* The handler gcm__exit_arm_signals installs: marks the capture, then lets
 * the signal's default action end the process, as it would have without us. */
static void
on_fatal_signal(int signum)
{
    die_by_signal(signum);
}

int
gcm__signal_arg(PyObject *obj, int *out)
{
    long signum = PyLong_AsLong(obj);

    if (signum == -1 && PyErr_Occurred())
        return -1;
    if (signum < 1 || signum >= NSIG || signum == SIGKILL || signum == SIGSTOP) {
        PyErr_Format(PyExc_ValueError, "not a signal a handler can take: %ld", signum);
        return -1;
    }
    *out = (int)signum;
    return 0;
}

PyObject *
gcm__exit_die_by_signal(PyObject *module, PyObject *arg)
{
    int signum;

    (void)module;
    if (gcm__signal_arg(arg, &signum) != 0)
        return NULL;
    /* Buffered Python output dies with the process, as it would without us:
     * the report has flushed what was there when it started. */
    die_by_signal(signum);
    Py_RETURN_NONE; /* not reached */
}

PyObject *
gcm__exit_note_signal_py(PyObject *module, PyObject *arg)
{
    int signum;

    (void)module;
    if (gcm__signal_arg(arg, &signum) != 0)
        return NULL;
    note_signal(signum);
    Py_RETURN_NONE;
}

/* Hands `signum` back to its default action in Python's table
 * (signal.signal(signum, SIG_DFL)) and installs on_fatal_signal beneath it,
 * with the signal blocked in this thread meanwhile: a SIGTERM that lands
 * between the two steps then waits for the second.  Returns 0 or -1 with an
 * exception set. */
static int
arm_one(PyObject *signal_module, PyObject *dfl, int signum)
{
    struct sigaction act;
    sigset_t block;
    sigset_t old;
    PyObject *previous;
    int status = -1;

    (void)sigemptyset(&block);
    (void)sigaddset(&block, signum);
    if (pthread_sigmask(SIG_BLOCK, &block, &old) != 0) {
        PyErr_SetString(PyExc_OSError, "cannot block the signal");
        return -1;
    }
    previous = PyObject_CallMethod(signal_module, "signal", "iO", signum, dfl);
    if (previous == NULL)
        goto done;
    Py_DECREF(previous);
    memset(&act, 0, sizeof act);
    act.sa_handler = on_fatal_signal;
    (void)sigemptyset(&act.sa_mask);
    /* One shot: the default action is back once it has run. */
    act.sa_flags = SA_RESETHAND;
    if (sigaction(signum, &act, NULL) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    status = 0;
done:
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    return status;
}

PyObject *
gcm__exit_arm_signals(PyObject *module, PyObject *arg)
{
    PyObject *seq = NULL;
    PyObject *signal_module = NULL;
    PyObject *dfl = NULL;
    PyObject *result = NULL;
    Py_ssize_t i;

    (void)module;
    seq = PySequence_Fast(arg, "arm_exit_signals() takes a sequence of signal numbers");
    if (seq == NULL)
        goto done;
    signal_module = PyImport_ImportModule("_signal");
    if (signal_module == NULL)
        goto done;
    dfl = PyObject_GetAttrString(signal_module, "SIG_DFL");
    if (dfl == NULL)
        goto done;
    for (i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        int signum;

        if (gcm__signal_arg(PySequence_Fast_GET_ITEM(seq, i), &signum) != 0)
            goto done;
        if (arm_one(signal_module, dfl, signum) != 0)
            goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(dfl);
    Py_XDECREF(signal_module);
    Py_XDECREF(seq);
    return result;
}

/* The body of a callable made by gcm__exit_reraising: `self` is the Python
 * function it wraps.  Calls it; when it returns an exception instance,
 * raises that instance.  Being C, it adds no frame of ours to the
 * exception's traceback, so atexit and multiprocessing show what a signal
 * handler raised after a report with the program's frames alone. */
static PyObject *
reraising_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *returned = PyObject_Vectorcall(self, args, (size_t)nargs, NULL);
    PyObject *tb;

    if (returned == NULL || returned == Py_None)
        return returned;
    if (!PyExceptionInstance_Check(returned)) {
        Py_DECREF(returned);
        PyErr_SetString(PyExc_TypeError, "a reraising callable returned neither None nor an "
                                         "exception");
        return NULL;
    }
    tb = PyException_GetTraceback(returned);
    Py_INCREF(Py_TYPE(returned));
    PyErr_Restore((PyObject *)Py_TYPE(returned), returned, tb);
    return NULL;
}

static PyMethodDef reraising_def = {
    "reraising",
    (PyCFunction)(void (*)(void))reraising_call,
    METH_FASTCALL,
    "Calls the wrapped function and raises the exception it returns, if any.",
};

PyObject *
gcm__exit_reraising(PyObject *module, PyObject *fn)
{
    (void)module;
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "reraising() takes a callable");
        return NULL;
    }
    return PyCFunction_NewEx(&reraising_def, fn, NULL);
}

/* The body of a callable made by gcm__exit_called_after: `self` is the
 * tuple (before, real).  Calls before(*args), then real(*args).  Being C, it
 * adds no frame: what a signal handler raises inside real() (raise_signal
 * runs the handler before it returns) shows the program's frames alone. */
static PyObject *
called_after_call(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *before = PyTuple_GET_ITEM(self, 0);
    PyObject *real = PyTuple_GET_ITEM(self, 1);
    PyObject *returned = PyObject_Vectorcall(before, args, (size_t)nargs, NULL);

    if (returned == NULL)
        return NULL;
    Py_DECREF(returned);
    return PyObject_Vectorcall(real, args, (size_t)nargs, NULL);
}

/* One definition per name: a builtin's __name__ is its definition's. */
static PyMethodDef called_after_defs[] = {
    {"kill", (PyCFunction)(void (*)(void))called_after_call, METH_FASTCALL,
     "Send a signal to a process."},
    {"killpg", (PyCFunction)(void (*)(void))called_after_call, METH_FASTCALL,
     "Send a signal to a process group."},
    {"raise_signal", (PyCFunction)(void (*)(void))called_after_call, METH_FASTCALL,
     "Send a signal to the executing process."},
};

PyObject *
gcm__exit_called_after(PyObject *module, PyObject *args)
{
    const char *name;
    PyObject *before;
    PyObject *real;
    PyObject *pair;
    PyObject *modname;
    PyObject *result;
    size_t i;

    (void)module;
    if (!PyArg_ParseTuple(args, "sOO:called_after", &name, &before, &real))
        return NULL;
    if (!PyCallable_Check(before) || !PyCallable_Check(real)) {
        PyErr_SetString(PyExc_TypeError, "called_after() takes two callables");
        return NULL;
    }
    for (i = 0; i < sizeof called_after_defs / sizeof called_after_defs[0]; i++) {
        if (strcmp(called_after_defs[i].ml_name, name) == 0)
            break;
    }
    if (i == sizeof called_after_defs / sizeof called_after_defs[0]) {
        PyErr_Format(PyExc_ValueError, "called_after(): no definition named %s", name);
        return NULL;
    }
    pair = PyTuple_Pack(2, before, real);
    if (pair == NULL)
        return NULL;
    /* The module the real function says it comes from, as its __module__. */
    modname = PyObject_GetAttrString(real, "__module__");
    if (modname == NULL)
        PyErr_Clear();
    result = PyCFunction_NewEx(&called_after_defs[i], pair, modname);
    Py_XDECREF(modname);
    Py_DECREF(pair);
    return result;
}
