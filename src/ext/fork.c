/* src/ext/fork.c: detaching recorders from their parent's block in a fork child.
 *
 * After fork(2) the child holds a copy of every recorder and of its block,
 * full of the parent's events.  Before any Python code runs in the child, the
 * pthread_atfork child handler below bumps a process-wide epoch; each
 * recorder's callback compares its own epoch with it and, while they differ,
 * only counts the collections it misses.  The module's os.register_at_fork
 * hook (recorder.c) then gives each recorder a fresh block labelled with the
 * child's pid; a snapshot or report does the same if a fork(2) from C code
 * skipped that hook.  So the parent's events are never reported by a child, and no
 * child collection is written into a block that is not its own.
 */
#include "ext.h"

#include <pthread.h>

/* Lock-free on every platform CPython supports with threads; the handler
 * relies on that to be async-signal-safe. */
_Atomic uint64_t gcm__fork_epoch = 0;

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_status = 0;

/* Runs in the child right after fork(2), possibly in a process whose other
 * threads vanished mid-operation: atomic stores are all it may do. */
static void
fork_child_handler(void)
{
    atomic_fetch_add_explicit(&gcm__fork_epoch, 1, memory_order_relaxed);
    gcm__causes_after_fork();
}

static void
install(void)
{
    install_status = pthread_atfork(NULL, NULL, fork_child_handler);
}

int
gcm__fork_install(void)
{
    int status = -1;

    /* A module may be created more than once (sub-interpreters, reloads),
     * but the handler must run exactly once per fork. */
    if (pthread_once(&install_once, install) != 0 || install_status != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gc_monitor: cannot register the fork handler");
        goto done;
    }
    status = 0;
done:
    return status;
}
