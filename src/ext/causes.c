/* src/ext/causes.c: why a collection ran: explicit (gc.collect()), shutdown, or automatic.
 *
 * CPython's info dict does not say why a collection started, and before 3.12
 * the interpreter does not even know.  So the monitor marks the two causes it
 * can see coming and calls every other collection automatic:
 *
 * - explicit: GCMonitor replaces gc.collect with a C function (below) that
 *   notes the calling thread, calls the real gc.collect, and clears the note.
 *   A collection whose "stop" callback runs in the noted thread is the one
 *   that call started.  The note and the shutdown mark share one word, so
 *   the callback pays one load and one branch for both; only when the word
 *   is set does it ask for its own thread state.  Code that
 *   took `from gc import collect` before monitoring started holds the real
 *   function, and C code that calls PyGC_Collect() goes around it too: those
 *   collections count as automatic (docs/reports.md says so).
 * - shutdown: the bootstrap sets a process-wide mark once the program's main
 *   code is over (before it joins the non-daemon threads, as Py_FinalizeEx
 *   does first), and the monitor's atexit hook sets it before its report.
 *
 * Nothing here allocates on the recording path; the wrapper itself runs in
 * the program's own call of gc.collect() and adds one compare-and-swap.
 */
#include "ext.h"

_Atomic uintptr_t gcm__cause_word = 0;

uint32_t
gcm__cause_marked(uintptr_t word)
{
    /* A gc.collect() call comes first: it is the program's choice, even
     * during shutdown. */
    if ((word & ~GCM__SHUTDOWN_BIT) == (uintptr_t)PyThreadState_Get())
        return GCM_CAUSE_EXPLICIT;
    if (word & GCM__SHUTDOWN_BIT)
        return GCM_CAUSE_SHUTDOWN;
    return GCM_CAUSE_AUTOMATIC;
}

/* gc.collect as the monitor installs it: `orig` is the function it replaced. */
static PyObject *
collect_wrapper(PyObject *orig, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    uintptr_t me = (uintptr_t)PyThreadState_Get();
    uintptr_t expected;
    int owned;
    PyObject *result;

    /* Only one thread's call is noted at a time.  Under the GIL a second
     * call can only come while the first one's collection runs (from a
     * finalizer), and then it collects nothing; on a free-threaded build two
     * threads may race, and the loser's collection, if it runs at all, counts
     * as automatic: rare, and never the other way round.  The shutdown bit
     * is kept whatever happens to the thread part. */
    expected = atomic_load_explicit(&gcm__cause_word, memory_order_relaxed) & GCM__SHUTDOWN_BIT;
    owned = atomic_compare_exchange_strong_explicit(&gcm__cause_word, &expected, expected | me,
                                                    memory_order_relaxed, memory_order_relaxed);
    result = PyObject_Vectorcall(orig, args, (size_t)nargs, kwnames);
    if (owned)
        atomic_fetch_and_explicit(&gcm__cause_word, GCM__SHUTDOWN_BIT, memory_order_relaxed);
    return result;
}

static PyMethodDef collect_def = {
    "collect", (PyCFunction)(void (*)(void))collect_wrapper, METH_FASTCALL | METH_KEYWORDS,
    "collect(generation=2)\n--\n\nRuns a garbage collection, as gc.collect does (it calls the "
    "original, its __self__); pygcprofiler's monitor put it here to tell explicit collections "
    "from automatic ones."};

/* Returns 1 when `obj` is a wrapper made by collect_wrapper's definition. */
static int
is_wrapper(PyObject *obj)
{
    return PyCFunction_Check(obj) &&
           PyCFunction_GET_FUNCTION(obj) == (PyCFunction)(void (*)(void))collect_wrapper;
}

PyObject *
gcm__wrap_gc_collect_py(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    PyObject *gc = NULL;
    PyObject *orig = NULL;
    PyObject *name = NULL;
    PyObject *wrapper = NULL;
    PyObject *result = NULL;

    (void)module;
    gc = PyImport_ImportModule("gc");
    if (gc == NULL)
        goto done;
    orig = PyObject_GetAttrString(gc, "collect");
    if (orig == NULL)
        goto done;
    /* Once per interpreter: a second monitor finds its own wrapper there. */
    if (is_wrapper(orig)) {
        result = Py_False;
        Py_INCREF(result);
        goto done;
    }
    name = PyUnicode_FromString("gc");
    if (name == NULL)
        goto done;
    wrapper = PyCFunction_NewEx(&collect_def, orig, name);
    if (wrapper == NULL)
        goto done;
    if (PyObject_SetAttrString(gc, "collect", wrapper) != 0)
        goto done;
    result = Py_True;
    Py_INCREF(result);
done:
    Py_XDECREF(wrapper);
    Py_XDECREF(name);
    Py_XDECREF(orig);
    Py_XDECREF(gc);
    return result;
}

PyObject *
gcm__mark_shutdown_py(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    atomic_fetch_or_explicit(&gcm__cause_word, GCM__SHUTDOWN_BIT, memory_order_relaxed);
    Py_RETURN_NONE;
}

void
gcm__causes_after_fork(void)
{
    /* The child runs its own code from here: neither a parent thread's
     * pending gc.collect() nor the parent's shutdown is the child's. */
    atomic_store_explicit(&gcm__cause_word, 0, memory_order_relaxed);
}
