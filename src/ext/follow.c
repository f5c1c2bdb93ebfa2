/* src/ext/follow.c: how a followed child's capture learns its exit status.
 *
 * An interpreter that --follow-children reached was not started by the
 * launcher's bootstrap, so nothing in Python knows the status it exits with:
 * atexit handlers run before python has decided it.  The C library does know:
 * glibc's on_exit(3) hands its handlers the status given to exit(3), which is
 * python's own exit status.  The handler below stores it in the capture's
 * header, the way the bootstrap's mark_exited does for the first process.  A
 * process that ends by os._exit or a signal never runs it, so its capture
 * stays "running" and readers find it gone, which is what happened.
 *
 * A fork child that got a capture of its own (FILE.<pid>) is marked the same
 * way when it calls exit(3): the child of a followed interpreter has no
 * bootstrap on its stack to do it.
 *
 * The handler runs after Python is finalised, when the recorder may be
 * freed: the capture's mapping is therefore kept until the process ends
 * (gcm__follow_keeps), and the handler only touches it in the process that
 * registered it, since a fork child inherits both the handler and, until its
 * own capture replaces it, a view of its parent's file.
 */
#include "ext.h"

#include <stdlib.h>
#include <unistd.h>

static gcm_block *exit_block = NULL;
static pid_t exit_pid = 0;

static void
on_process_exit(int status, void *arg)
{
    (void)arg;
    if (exit_block == NULL || getpid() != exit_pid || exit_block->header.pid != (int64_t)exit_pid)
        return;
    gcm_block_set_state(exit_block, GCM_STATE_EXITED, (int32_t)(status & 0xff),
                        gcm_clock_realtime_ns());
}

int
gcm__follow_exit_block(gcm_block *block)
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
gcm__follow_mark_on_exit(gcm_block *block)
{
    int status = -1;

    if (gcm__follow_exit_block(block) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gc_monitor: cannot register the exit handler");
        goto done;
    }
    status = 0;
done:
    return status;
}

int
gcm__follow_keeps(const gcm_block *block)
{
    return block != NULL && block == exit_block;
}
