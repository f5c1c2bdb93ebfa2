/* src/ext/metrics.c: Recorder.metrics(), the exact figures the Python
 * collectors for Prometheus and OpenTelemetry export, and
 * Recorder.pauses_since(), the ring drained in order for OpenTelemetry's
 * histogram, which has no asynchronous form.
 *
 * One seqlock snapshot of the block, as snapshot() takes: the callback
 * takes no lock and does no work for it.  The histogram's cumulative
 * counts at the fixed bounds of gc_monitor/metrics.h come from the core, so
 * the collectors and `pygcprofiler export` give the same numbers; Python
 * only turns nanoseconds into seconds and builds its library's objects.
 */
#include "ext.h"
#include "recorder.h"
#include "gc_monitor/metrics.h"

/* Sets d[key] = an int of `v`.  Returns 0, or -1 with an exception. */
static int
put_u64(PyObject *d, const char *key, uint64_t v)
{
    PyObject *o = PyLong_FromUnsignedLongLong((unsigned long long)v);
    int rc = -1;

    if (o == NULL)
        goto done;
    rc = PyDict_SetItemString(d, key, o);
done:
    Py_XDECREF(o);
    return rc;
}

/* A list of `n` ints from `v`, or NULL with an exception. */
static PyObject *
u64_list(const uint64_t *v, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);

    if (list == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        PyObject *o = PyLong_FromUnsignedLongLong((unsigned long long)v[i]);
        if (o == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, o);
    }
    return list;
}

/* Sets d["buckets"] to the cumulative counts at the metric bounds and
 * returns `d`, or releases it and returns NULL with an exception; NULL in
 * (a failed put before) stays NULL. */
static PyObject *
with_buckets(PyObject *d, const uint64_t cumulative[GCM_METRIC_BUCKETS])
{
    PyObject *buckets;
    int rc;

    if (d == NULL)
        return NULL;
    buckets = u64_list(cumulative, GCM_METRIC_BUCKETS);
    rc = buckets == NULL ? -1 : PyDict_SetItemString(d, "buckets", buckets);
    Py_XDECREF(buckets);
    if (rc != 0)
        Py_CLEAR(d);
    return d;
}

/* The figures of one generation as a dict, or NULL with an exception. */
static PyObject *
generation_dict(const gcm_gen_snapshot *g)
{
    uint64_t cumulative[GCM_METRIC_BUCKETS];
    uint64_t pauses = gcm_metric_buckets(g, cumulative);
    PyObject *d = PyDict_New();

    if (d != NULL &&
        (put_u64(d, "count", g->count) != 0 || put_u64(d, "total_ns", g->total_ns) != 0 ||
         put_u64(d, "max_ns", g->max_ns) != 0 || put_u64(d, "collected", g->collected) != 0 ||
         put_u64(d, "uncollectable", g->uncollectable) != 0 || put_u64(d, "pauses", pauses) != 0))
        Py_CLEAR(d);
    return with_buckets(d, cumulative);
}

/* Sets d["causes"] = {cause name: [collections of each generation]}, or
 * leaves it out for a block that does not record causes.  Returns 0, or -1
 * with an exception. */
static int
put_causes(PyObject *d, const gcm_snapshot *snap)
{
    PyObject *causes = NULL;
    int status = -1;

    if (!snap->causes_known)
        return 0;
    causes = PyDict_New();
    if (causes == NULL)
        goto done;
    for (uint32_t c = 0; c < GCM_CAUSES; c++) {
        PyObject *counts = u64_list(snap->cause[c].gen_count, GCM_GENERATIONS);
        int rc;

        if (counts == NULL)
            goto done;
        rc = PyDict_SetItemString(causes, gcm_cause_name(c), counts);
        Py_DECREF(counts);
        if (rc != 0)
            goto done;
    }
    status = PyDict_SetItemString(d, "causes", causes);
done:
    Py_XDECREF(causes);
    return status;
}

/* The request figures of a web middleware as a dict, or NULL with an
 * exception: the histogram of per-request GC time at the same bounds as
 * the pauses', and the requests that overlapped a full collection. */
static PyObject *
requests_dict(const gcm_snapshot *snap)
{
    const gcm_gen_snapshot *q = &snap->requests;
    uint64_t cumulative[GCM_METRIC_BUCKETS];
    uint64_t count = gcm_metric_buckets(q, cumulative);
    PyObject *d = PyDict_New();

    if (d != NULL &&
        (put_u64(d, "count", count) != 0 || put_u64(d, "with_gc", q->collected) != 0 ||
         put_u64(d, "full", snap->requests_full) != 0 || put_u64(d, "gc_ns", q->total_ns) != 0 ||
         put_u64(d, "max_ns", q->max_ns) != 0))
        Py_CLEAR(d);
    return with_buckets(d, cumulative);
}

PyObject *
gcm__recorder_metrics(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    gcm_summary sum;
    uint64_t bounds[GCM_METRIC_BUCKETS];
    PyObject *d = NULL;
    PyObject *list = NULL;
    PyObject *result = NULL;

    if (gcm__recorder_own_block(self) != 0)
        goto done;
    snap = gcm__take_snapshot(self);
    if (snap == NULL)
        goto done;
    if (gcm_summarize(snap, &sum) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot summarize the snapshot");
        goto done;
    }
    for (uint32_t i = 0; i < GCM_METRIC_BUCKETS; i++)
        bounds[i] = gcm_metric_bound_ns(i);
    d = PyDict_New();
    if (d == NULL)
        goto done;
    if (put_u64(d, "pid", (uint64_t)snap->pid) != 0 || put_u64(d, "gc_ns", sum.gc_ns) != 0 ||
        put_u64(d, "wall_ns", sum.wall_ns) != 0)
        goto done;
    list = u64_list(bounds, GCM_METRIC_BUCKETS);
    if (list == NULL || PyDict_SetItemString(d, "bounds_ns", list) != 0)
        goto done;
    Py_CLEAR(list);
    list = PyList_New(GCM_GENERATIONS);
    if (list == NULL)
        goto done;
    for (int g = 0; g < GCM_GENERATIONS; g++) {
        PyObject *gd = generation_dict(&snap->gen[g]);
        if (gd == NULL)
            goto done;
        PyList_SET_ITEM(list, g, gd);
    }
    if (PyDict_SetItemString(d, "generations", list) != 0 || put_causes(d, snap) != 0)
        goto done;
    Py_CLEAR(list);
    list = requests_dict(snap);
    if (list == NULL || PyDict_SetItemString(d, "requests", list) != 0)
        goto done;
    result = d;
    d = NULL;
done:
    Py_XDECREF(list);
    Py_XDECREF(d);
    PyMem_Free(snap);
    return result;
}

/* Records drained per copy: small enough for the heap buffer to stay cheap,
 * large enough that a drain after a busy minute takes few copies. */
#define DRAIN_CHUNK 512u

/* Appends (generation, duration_ns) of every event in `ev[0 .. n-1]` to
 * `list`.  Returns 0, or -1 with an exception. */
static int
append_pauses(PyObject *list, const gcm_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        PyObject *t = Py_BuildValue("(IK)", (unsigned int)ev[i].generation,
                                    (unsigned long long)ev[i].duration_ns);
        int rc;

        if (t == NULL)
            return -1;
        rc = PyList_Append(list, t);
        Py_DECREF(t);
        if (rc != 0)
            return -1;
    }
    return 0;
}

PyObject *
gcm__recorder_pauses_since(PyObject *op, PyObject *arg)
{
    gcm__recorder *self = (gcm__recorder *)op;
    unsigned long long from = PyLong_AsUnsignedLongLong(arg);
    gcm_event *buf = NULL;
    PyObject *list = NULL;
    PyObject *result = NULL;
    uint64_t cursor;
    uint64_t lost = 0;
    uint64_t rounds;

    if (from == (unsigned long long)-1 && PyErr_Occurred())
        goto done;
    if (gcm__recorder_own_block(self) != 0)
        goto done;
    buf = PyMem_Malloc(DRAIN_CHUNK * sizeof *buf);
    if (buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    list = PyList_New(0);
    if (list == NULL)
        goto done;
    cursor = (uint64_t)from;
    /* Building the list allocates, so collections may add records while it
     * drains: it stops after one ring's worth (and a chunk), and the next
     * drain takes the rest. */
    rounds = self->block->header.capacity / DRAIN_CHUNK + 2u;
    for (uint64_t r = 0; r < rounds; r++) {
        size_t count = 0;
        uint64_t first = 0;
        int rc = gcm_block_copy_events_from(self->block, cursor, buf, DRAIN_CHUNK, &count, &first);

        if (rc != 0) {
            PyErr_Format(PyExc_ValueError, "record %llu is beyond this recorder's records", from);
            goto done;
        }
        lost += first - cursor;
        cursor = first + count;
        if (append_pauses(list, buf, count) != 0)
            goto done;
        if (count < DRAIN_CHUNK)
            break;
    }
    result = Py_BuildValue("(KKO)", (unsigned long long)lost, (unsigned long long)cursor, list);
done:
    Py_XDECREF(list);
    PyMem_Free(buf);
    return result;
}
