/* src/ext/requests.c: the per-request GC time of the web middlewares
 * (gc_monitor.asgi, gc_monitor.wsgi).
 *
 * A middleware reads the running totals of this process's recorder when a
 * request starts (request_clock) and when it ends (request_done): the pause
 * time recorded in between is the GC time of the request, and a change in
 * the count of generation 2 collections says a full collection ran during
 * it.  Reading the totals is a few relaxed loads of the block: the GC
 * callback does no work and takes no lock for it.  The finished request goes
 * into the block's request aggregates (gcm_block_add_request), so the report
 * and a capture file have the same figures as the metrics.
 *
 * "This process's recorder" is the newest live one whose block belongs to
 * this process and that still records: none before a monitor starts, after
 * it stopped (its report is written), or in a fork child until the child has
 * its own block.  Then the functions answer None or 0 and record nothing,
 * which the middlewares document as passing the request through.
 */
#include "ext.h"
#include "recorder.h"

/* The block of the running recorder of this process, or NULL.  The caller
 * holds the list lock, which keeps the block alive while it is read. */
static gcm_block *
running_block(gcm__module_state *st)
{
    uint64_t now = atomic_load_explicit(&gcm__fork_epoch, memory_order_relaxed);

    for (gcm__recorder *r = st->live; r != NULL; r = r->next) {
        if (atomic_load_explicit(&r->epoch, memory_order_acquire) == now && r->block != NULL)
            return r->block;
    }
    return NULL;
}

/* Reads the running totals into *gc_ns and *full.  Returns 1, or 0 when no
 * recorder runs in this process. */
static int
read_clock(PyObject *module, uint64_t *gc_ns, uint64_t *full)
{
    gcm__module_state *st = gcm__state(module);
    gcm_block *b;
    int found = 0;

    gcm__live_lock(st);
    b = running_block(st);
    if (b != NULL) {
        gcm_block_gc_clock(b, gc_ns, full);
        found = 1;
    }
    gcm__live_unlock(st);
    return found;
}

/* Parses a start token, the (gc_ns, full) pair request_clock returned.
 * Returns 0, or -1 with TypeError or OverflowError. */
static int
parse_start(PyObject *start, uint64_t *gc_ns, uint64_t *full)
{
    unsigned long long a;
    unsigned long long b;

    if (!PyTuple_Check(start) || PyTuple_GET_SIZE(start) != 2) {
        PyErr_SetString(PyExc_TypeError,
                        "expected the (gc_ns, full_collections) pair request_clock() returned");
        return -1;
    }
    a = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(start, 0));
    if (a == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    b = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(start, 1));
    if (b == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *gc_ns = (uint64_t)a;
    *full = (uint64_t)b;
    return 0;
}

PyObject *
gcm__request_clock_py(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    uint64_t gc_ns = 0;
    uint64_t full = 0;

    if (!read_clock(module, &gc_ns, &full))
        Py_RETURN_NONE;
    return Py_BuildValue("(KK)", (unsigned long long)gc_ns, (unsigned long long)full);
}

/* The GC time since `start` into *since and whether a full collection ran
 * into *full_ran.  Returns 1, 0 when nothing can be said (no recorder runs,
 * or the totals went back: a fork child's fresh block), or -1 with an
 * exception for a bad token. */
static int
since_start(PyObject *module, PyObject *start, uint64_t *since, int *full_ran)
{
    uint64_t ns0;
    uint64_t full0;
    uint64_t ns1 = 0;
    uint64_t full1 = 0;

    if (parse_start(start, &ns0, &full0) != 0)
        return -1;
    if (!read_clock(module, &ns1, &full1) || ns1 < ns0 || full1 < full0)
        return 0;
    *since = ns1 - ns0;
    *full_ran = full1 != full0;
    return 1;
}

PyObject *
gcm__request_gc_ns_py(PyObject *module, PyObject *start)
{
    uint64_t since = 0;
    int full_ran = 0;

    if (since_start(module, start, &since, &full_ran) < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong((unsigned long long)since);
}

PyObject *
gcm__request_done_py(PyObject *module, PyObject *start)
{
    gcm__module_state *st = gcm__state(module);
    uint64_t since = 0;
    int full_ran = 0;
    int rc = since_start(module, start, &since, &full_ran);
    gcm_block *b;

    if (rc < 0)
        return NULL;
    if (rc == 0)
        Py_RETURN_NONE;
    gcm__live_lock(st);
    b = running_block(st);
    if (b != NULL)
        gcm_block_add_request(b, since, full_ran);
    gcm__live_unlock(st);
    if (b == NULL)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLongLong((unsigned long long)since);
}
