/* tests/python/helpers/gcm_allocount.c: counts allocations around forced collections.
 *
 * Test-only.  A session fixture compiles it with the interpreter's own
 * compiler and headers.  It wraps the RAW, MEM and OBJ allocator domains with
 * PyMem_SetAllocator and counts every malloc, calloc and realloc, then runs N
 * collections from C (so no Python bytecode runs between them) and returns the
 * count (count_calls does the same for calls of a Python callable, such as
 * gc.collect).  It also provides the two reference callbacks the test compares ours
 * with: one that does nothing, and one that allocates, to prove that the
 * comparison can fail.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>

static _Atomic unsigned long long allocations;
static PyMemAllocatorEx saved[3];
static const PyMemAllocatorDomain domains[3] = {PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM,
                                                PYMEM_DOMAIN_OBJ};

static void *
counting_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *inner = ctx;

    atomic_fetch_add(&allocations, 1);
    return inner->malloc(inner->ctx, size);
}

static void *
counting_calloc(void *ctx, size_t nelem, size_t elsize)
{
    PyMemAllocatorEx *inner = ctx;

    atomic_fetch_add(&allocations, 1);
    return inner->calloc(inner->ctx, nelem, elsize);
}

static void *
counting_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *inner = ctx;

    atomic_fetch_add(&allocations, 1);
    return inner->realloc(inner->ctx, ptr, size);
}

static void
counting_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *inner = ctx;

    inner->free(inner->ctx, ptr);
}

/* count_collections(n) -> allocations made while running n full collections. */
static PyObject *
count_collections(PyObject *module, PyObject *arg)
{
    long n = PyLong_AsLong(arg);
    unsigned long long total;
    int i;

    (void)module;
    if (n < 0 && PyErr_Occurred())
        return NULL;
    for (i = 0; i < 3; i++) {
        PyMemAllocatorEx wrapper = {&saved[i], counting_malloc, counting_calloc,
                                    counting_realloc, counting_free};

        PyMem_GetAllocator(domains[i], &saved[i]);
        PyMem_SetAllocator(domains[i], &wrapper);
    }
    atomic_store(&allocations, 0);
    for (long k = 0; k < n; k++)
        (void)PyGC_Collect();
    total = atomic_load(&allocations);
    for (i = 0; i < 3; i++)
        PyMem_SetAllocator(domains[i], &saved[i]);
    return PyLong_FromUnsignedLongLong(total);
}

/* count_calls(fn, n) -> allocations made while calling fn() n times from C
 * (gc.collect, wrapped by the monitor or not). */
static PyObject *
count_calls(PyObject *module, PyObject *args)
{
    PyObject *fn;
    long n;
    unsigned long long total;
    int i;
    int failed = 0;

    (void)module;
    if (!PyArg_ParseTuple(args, "Ol:count_calls", &fn, &n))
        return NULL;
    for (i = 0; i < 3; i++) {
        PyMemAllocatorEx wrapper = {&saved[i], counting_malloc, counting_calloc,
                                    counting_realloc, counting_free};

        PyMem_GetAllocator(domains[i], &saved[i]);
        PyMem_SetAllocator(domains[i], &wrapper);
    }
    atomic_store(&allocations, 0);
    for (long k = 0; k < n && !failed; k++) {
        PyObject *r = PyObject_CallNoArgs(fn);

        failed = r == NULL;
        Py_XDECREF(r);
    }
    total = atomic_load(&allocations);
    for (i = 0; i < 3; i++)
        PyMem_SetAllocator(domains[i], &saved[i]);
    if (failed)
        return NULL;
    return PyLong_FromUnsignedLongLong(total);
}

static PyObject *
empty_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    (void)args;
    (void)nargs;
    Py_RETURN_NONE;
}

/* Allocates one object per call that is too large to be a cached int. */
static PyObject *
allocating_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *big;

    (void)self;
    (void)args;
    (void)nargs;
    big = PyLong_FromLongLong(1LL << 40);
    Py_XDECREF(big);
    PyErr_Clear();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"count_collections", count_collections, METH_O, NULL},
    {"count_calls", count_calls, METH_VARARGS, NULL},
    {"empty_callback", (PyCFunction)(void (*)(void))empty_callback, METH_FASTCALL, NULL},
    {"allocating_callback", (PyCFunction)(void (*)(void))allocating_callback, METH_FASTCALL,
     NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gcm_allocount", NULL, 0, methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit_gcm_allocount(void);

PyMODINIT_FUNC
PyInit_gcm_allocount(void)
{
    return PyModuleDef_Init(&module_def);
}
