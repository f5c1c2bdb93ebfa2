/* src/ext/reattach.c: after fork(2), each recorder reports its own process.
 *
 * A fork child inherits its parent's block.  The after-fork hook (or, for a
 * fork from C that runs no hooks, the first method that reads the block)
 * gives each live recorder a fresh block labelled with the child and puts
 * its callable back in gc.callbacks, so the child records and reports its
 * own collections.
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

/* Gives `r` a fresh block labelled with this process if its block still
 * belongs to another one (the parent, after a fork).  Returns 0 or a negative
 * GCM_E* code; on failure the recorder stays detached, counting what it
 * misses, and never writes into the parent's events.  Raises nothing, so the
 * after-fork hook may call it with the list of recorders locked. */
static int
recorder_reattach(gcm__recorder *r, int *revived)
{
    gcm_block *fresh = NULL;
    gcm_block *old;
    size_t old_size;
    size_t size = 0;
    uint64_t i;
    int mapped = 0;
    int status = 0;

    if (r->block->header.pid == (int64_t)getpid())
        return 0;
    /* A child never writes into its parent's capture file.  With -o it gets
     * a capture of its own, FILE.<pid>, labelled with the parent's metadata
     * (a fork runs the same command); without -o, or when that file cannot
     * be made (a full disk), anonymous memory that still gives the report. */
    if (r->mapped && r->config.output[0] != '\0') {
        char name[GCM_PATH_MAX];
        char *meta = PyMem_RawMalloc(GCM_META_SIZE);

        if (meta != NULL) {
            gcm_capture_meta_copy(r->block, meta, GCM_META_SIZE);
            if (gcm__child_capture_create(&r->config, meta, name, sizeof name, &fresh, &size) ==
                0) {
                mapped = 1;
                /* Marked exited by exit(3), like its parent's. */
                (void)gcm__exit_watch_block(fresh);
            }
            PyMem_RawFree(meta);
        }
    }
    if (!mapped) {
        status = gcm__block_new(&r->config, &fresh, &size);
        if (status != 0)
            goto done;
    }
    old = r->block;
    old_size = r->block_size;
    /* Before the parent's block goes: the child's table starts from it. */
    gcm__stacks_move(r->stacks, fresh, size);
    r->block = fresh;
    r->block_size = size;
    gcm__block_release(old, old_size, r->mapped);
    r->mapped = mapped;
    /* Collections between fork(2) and now really happened in this process,
     * but had no block to go to: they are reported as dropped. */
    for (i = 0; i < r->missed; i++)
        gcm_block_count_dropped_stop(fresh);
    r->missed = 0;
    /* The baseline counts the parent's collections: taken again once Python
     * may run (gcm__unseen_rebase), not here, under the lock. */
    if (r->gc_watch != GCM__GC_WATCH_OFF)
        r->gc_watch = GCM__GC_WATCH_REBASE;
    atomic_store(&r->start_ns, 0);
    if (gcm__report_revive(r) && revived != NULL)
        *revived = 1;
    /* Release: a callback that sees the new epoch also sees the new block. */
    if (!r->stopped)
        atomic_store_explicit(&r->epoch, atomic_load(&gcm__fork_epoch), memory_order_release);
done:
    return status;
}

/* Makes sure the recorder reports this process, not its parent, even when
 * fork(2) was called from C code that never ran the os.register_at_fork
 * hooks.  Returns 0 or -1 with an exception set. */
int
gcm__recorder_own_block(gcm__recorder *self)
{
    int rc = recorder_reattach(self, NULL);

    if (rc != 0) {
        gcm__raise_block_error(rc);
        return -1;
    }
    if (self->gc_watch == GCM__GC_WATCH_REBASE)
        gcm__unseen_rebase(self);
    return 0;
}

/* Puts `callback` back at the end of gc.callbacks unless it is there. */
static int
callback_restore(PyObject *callback)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *callbacks = NULL;
    int found;
    int status = -1;

    if (gc == NULL)
        goto done;
    callbacks = PyObject_GetAttrString(gc, "callbacks");
    if (callbacks == NULL)
        goto done;
    found = PySequence_Contains(callbacks, callback);
    if (found < 0)
        goto done;
    if (!found && PyList_Check(callbacks) && PyList_Append(callbacks, callback) != 0)
        goto done;
    status = 0;
done:
    Py_XDECREF(callbacks);
    Py_XDECREF(gc);
    return status;
}

/* How many revived recorders' callables the after-fork hook puts back; a
 * process with more recorders mid-report at a fork is not a real one. */
#define GCM__REVIVED_MAX 16

int
gcm__recorder_after_fork(PyObject *module)
{
    gcm__module_state *st = gcm__state(module);
    gcm__recorder *r;
    PyObject *revived[GCM__REVIVED_MAX];
    gcm__recorder *rebase[GCM__REVIVED_MAX];
    size_t revived_count = 0;
    size_t rebase_count = 0;
    size_t i;
    int failure = 0;
    int status = -1;

    gcm__live_lock(st);
    for (r = st->live; r != NULL; r = r->next) {
        int was_revived = 0;
        int rc = recorder_reattach(r, &was_revived);

        if (rc != 0)
            failure = rc;
        if (was_revived && r->callback != NULL && revived_count < GCM__REVIVED_MAX) {
            Py_INCREF(r->callback);
            revived[revived_count++] = r->callback;
        }
        if (r->gc_watch == GCM__GC_WATCH_REBASE && rebase_count < GCM__REVIVED_MAX) {
            Py_INCREF((PyObject *)r);
            rebase[rebase_count++] = r;
        }
    }
    gcm__live_unlock(st);
    /* Raised and called only now: creating an exception or touching
     * gc.callbacks may run a collection, and finalizers may free recorders,
     * which takes the lock. */
    for (i = 0; i < revived_count; i++) {
        if (failure == 0 && callback_restore(revived[i]) != 0)
            failure = GCM_ENOMEM;
        Py_DECREF(revived[i]);
    }
    /* After the callables are back, so that the baseline and the watch
     * start together; a recorder left out here rebases on its next read. */
    for (i = 0; i < rebase_count; i++) {
        if (rebase[i]->gc_watch == GCM__GC_WATCH_REBASE)
            gcm__unseen_rebase(rebase[i]);
        Py_DECREF((PyObject *)rebase[i]);
    }
    if (failure != 0) {
        if (!PyErr_Occurred())
            gcm__raise_block_error(failure);
        goto done;
    }
    status = 0;
done:
    return status;
}
