/* src/ext/unseen.c: collections the callback never saw.
 *
 * A program may take our callable out of gc.callbacks (gc.callbacks.clear(),
 * a framework that resets the list); the recorder then sees nothing more,
 * and a report of its figures alone would call a busy program idle.  The
 * interpreter counts every collection in gc.get_stats(), so the recorder
 * notes that count once its callable is in place (Recorder.watch_gc_stats),
 * and when it stops it stores in the block how many collections the count
 * grew by beyond those the callback saw.  Everything here runs with the GIL,
 * outside the recording path, and never raises.
 */
#include "ext.h"
#include "recorder.h"

/* Sums "collections" over gc.get_stats() into `out`.  Returns 0, or -1 (no
 * exception left set) when the interpreter's figures cannot be read. */
static int
gc_collections_total(uint64_t *out)
{
    PyObject *gc = NULL;
    PyObject *stats = NULL;
    PyObject *fast = NULL;
    uint64_t total = 0;
    Py_ssize_t i;
    int status = -1;

    gc = PyImport_ImportModule("gc");
    if (gc == NULL)
        goto done;
    stats = PyObject_CallMethod(gc, "get_stats", NULL);
    if (stats == NULL)
        goto done;
    fast = PySequence_Fast(stats, "gc.get_stats() is not a sequence");
    if (fast == NULL)
        goto done;
    for (i = 0; i < PySequence_Fast_GET_SIZE(fast); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i);
        PyObject *value;
        unsigned long long n;

        if (!PyDict_Check(item))
            goto done;
        value = PyDict_GetItemString(item, "collections"); /* borrowed */
        if (value == NULL || !PyLong_Check(value))
            goto done;
        n = PyLong_AsUnsignedLongLong(value);
        if (n == (unsigned long long)-1 && PyErr_Occurred())
            goto done;
        total += (uint64_t)n;
    }
    *out = total;
    status = 0;
done:
    Py_XDECREF(fast);
    Py_XDECREF(stats);
    Py_XDECREF(gc);
    if (status != 0)
        PyErr_Clear();
    return status;
}

/* The collections the callback has accounted for in `block`: recorded,
 * plus those whose end or info it could not use (seen all the same). */
static uint64_t
seen_in_block(const gcm_block *block)
{
    const gcm_aggregates *a = &block->agg;
    uint64_t seen = 0;
    int g;

    for (g = 0; g < GCM_GENERATIONS; g++)
        seen += atomic_load_explicit(&a->gen[g].count, memory_order_relaxed);
    seen += atomic_load_explicit(&a->dropped_stops, memory_order_relaxed);
    seen += atomic_load_explicit(&a->unusable_info, memory_order_relaxed);
    return seen;
}

void
gcm__unseen_rebase(gcm__recorder *self)
{
    uint64_t seen;
    uint64_t total;

    /* The block's figures are read before the interpreter's: a collection
     * that runs inside gc.get_stats() can then only make the later count
     * look smaller, never invent a missed collection. */
    seen = seen_in_block(self->block);
    if (gc_collections_total(&total) != 0) {
        self->gc_watch = GCM__GC_WATCH_OFF;
        return;
    }
    self->gc_baseline = total - seen;
    self->gc_watch = GCM__GC_WATCH_ON;
}

void
gcm__unseen_update(gcm__recorder *self)
{
    uint64_t total;
    uint64_t seen;
    uint64_t grown;

    if (self->gc_watch != GCM__GC_WATCH_ON || self->stopped ||
        self->block->header.pid != (int64_t)getpid())
        return;
    /* Read while the callable still records: a collection inside
     * gc.get_stats() is then counted as seen too. */
    if (gc_collections_total(&total) != 0)
        return;
    seen = seen_in_block(self->block);
    grown = total > self->gc_baseline ? total - self->gc_baseline : 0;
    gcm_block_set_unseen(self->block, grown > seen ? grown - seen : 0);
}
