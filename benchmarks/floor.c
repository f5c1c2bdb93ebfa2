/* benchmarks/floor.c: the cheapest possible gc.callbacks monitor, for the benchmark.
 *
 * CPython builds an info dict and a phase string and makes a vectorcall for
 * every entry of gc.callbacks, before and after every collection.  A callable
 * that does nothing at all therefore measures the least that any gc.callbacks
 * monitor can cost: the "floor" that benchmarks/run.py compares ours against.
 * It is a METH_FASTCALL builtin because that is the call CPython's
 * PyObject_Vectorcall reaches with the least work.
 *
 * benchmarks/run.py compiles this file with the running interpreter's own
 * sysconfig flags; it is not part of the pygcprofiler package.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* The callgrind client requests let the workload count only its timed loop,
 * so interpreter start-up and a monitor's exit report stay out of the
 * instructions-per-collection figure.  Outside valgrind they cost a few
 * instructions and do nothing; without valgrind's headers they are absent. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define FLOOR_HAVE_CALLGRIND 1
#endif
#endif
#ifndef FLOOR_HAVE_CALLGRIND
#define FLOOR_HAVE_CALLGRIND 0
#endif

/* Ignores its arguments: any work here would raise the floor. */
static PyObject *
floor_callback(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    (void)args;
    (void)nargs;
    Py_RETURN_NONE;
}

/* Starts counting instructions (callgrind run with --instr-atstart=no). */
static PyObject *
floor_callgrind_start(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#if FLOOR_HAVE_CALLGRIND
    CALLGRIND_START_INSTRUMENTATION;
#endif
    Py_RETURN_NONE;
}

/* Stops counting instructions. */
static PyObject *
floor_callgrind_stop(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#if FLOOR_HAVE_CALLGRIND
    CALLGRIND_STOP_INSTRUMENTATION;
#endif
    Py_RETURN_NONE;
}

/* Tells the workload whether the client requests were compiled in. */
static int
floor_exec(PyObject *module)
{
    return PyModule_AddIntConstant(module, "HAVE_CALLGRIND", FLOOR_HAVE_CALLGRIND);
}

static PyMethodDef floor_methods[] = {
    {"callback", (PyCFunction)(void (*)(void))floor_callback, METH_FASTCALL,
     "callback(phase, info): does nothing; the floor of a gc.callbacks monitor."},
    {"callgrind_start", floor_callgrind_start, METH_NOARGS,
     "Starts callgrind's instruction counting (a no-op outside valgrind)."},
    {"callgrind_stop", floor_callgrind_stop, METH_NOARGS,
     "Stops callgrind's instruction counting (a no-op outside valgrind)."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot floor_slots[] = {
    {Py_mod_exec, (void *)floor_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    /* The callable touches no state, so it is safe without the GIL. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef floor_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_gcm_bench_floor",
    .m_doc = "An empty C callable for gc.callbacks: the benchmark's floor.",
    .m_size = 0,
    .m_methods = floor_methods,
    .m_slots = floor_slots,
};

PyMODINIT_FUNC PyInit__gcm_bench_floor(void);

PyMODINIT_FUNC
PyInit__gcm_bench_floor(void)
{
    return PyModuleDef_Init(&floor_module);
}
