/* src/ext/recorder.h: what the files of the Recorder type share.
 *
 * The Recorder (recorder.c) owns one recording block.  Its block is made in
 * blocks.c (in memory, or in a capture file with the metadata of meta.c),
 * its configuration comes from config.c, its report is claimed and written
 * once per process by report.c, and a fork child takes a block of its own in
 * reattach.c.  Nothing here is public API.
 */
#ifndef GCM_EXT_RECORDER_H
#define GCM_EXT_RECORDER_H

#include "ext.h"

/* ---- config.c: configurations from Python values ---- */

/* Applies the GCMonitor keywords in `options` (a dict of str to str) to `cfg`. */
int gcm__config_from_options(gcm_config *cfg, PyObject *options);

/* ---- meta.c: the capture metadata ---- */

/* Builds the capture file's metadata (docs/capture-format.md) into `buf`:
 * the interpreter, the command the launcher ran (sys.executable and
 * sys.argv[1:], since the bootstrap creates the recorder while sys.argv is
 * still python's ['-c', <target words>]), and the options.  A followed child
 * passes NULL for `argv_name`: its start-up hook runs before python has put
 * the script's path in sys.argv (and 3.9 has no sys.orig_argv), so its words
 * come from the kernel's copy, /proc/self/cmdline.  Never fails: a value that
 * cannot be read is left out. */
void gcm__capture_meta(const gcm_config *cfg, const char *argv_name, char *buf, size_t size);

/* ---- blocks.c: blocks, captures and the list of live recorders ---- */

/* Takes and releases the lock of the list of live recorders (free-threaded
 * builds only; with the GIL, the GIL guards it). */
void gcm__live_lock(gcm__module_state *st);
void gcm__live_unlock(gcm__module_state *st);

/* Allocates and formats a block for `cfg` labelled with this process.
 * Returns 0 or a negative GCM_E* code.  It touches no Python object, so the
 * after-fork hook may call it with the list of recorders locked: nothing in
 * it can start a collection that runs finalizers. */
int gcm__block_new(const gcm_config *cfg, gcm_block **out, size_t *out_size);

/* Creates this process's capture beside `cfg->output`, at the first free
 * name of FILE.<pid>, FILE.<pid>.1, ...: a name is taken when the process
 * that had this pid before (or this very process before an exec) left its
 * capture there.  `meta` is stored as given.  Returns 0 or a negative GCM_E*
 * code (GCM_EIO with errno set); raises nothing and touches no Python
 * object, so the after-fork hook may call it with the recorders locked. */
int gcm__child_capture_create(const gcm_config *cfg, const char *meta, char *name, size_t name_size,
                              gcm_block **out, size_t *out_size);

/* Frees a recorder's block the way it was made. */
void gcm__block_release(gcm_block *block, size_t size, int mapped);

/* Raises the exception for a gcm__block_new() failure. */
void gcm__raise_block_error(int code);

/* Makes a Recorder of `type` for `cfg`, with its block (in a capture file
 * for -o, FILE.<pid> for a `followed` interpreter) and its callable, and
 * links it into the module's list.  Returns it, or NULL with an exception. */
PyObject *gcm__recorder_create(PyTypeObject *type, const gcm_config *cfg, int followed);

/* Takes a consistent snapshot into heap storage (about 100 KB).  Returns NULL
 * with an exception set on failure. */
gcm_snapshot *gcm__take_snapshot(gcm__recorder *self);

/* Takes the recorder out of the fork hook's list and drops its module
 * reference.  Safe to call twice (tp_clear, then dealloc). */
void gcm__recorder_unlink(gcm__recorder *self);

/* ---- report_state.c: one report per process ---- */

/* In a fork child of a process that was writing `r`'s report (another
 * thread forked meanwhile), makes the report the child's again: it records
 * its own collections and will write a report of its own.  The parent had
 * already stopped the recorder, and may have taken its callable out of
 * gc.callbacks: returns 1 when the caller must make sure it is back there. */
int gcm__report_revive(gcm__recorder *r);

/* Recorder.report_begin(): claims the report for this thread.  Returns
 * GCM__TURN_WRITE (write it, then call report_end), GCM__TURN_REENTERED (this
 * thread is writing it already: a signal handler or a finalizer interrupted
 * it; do not wait) or GCM__TURN_DONE.  When another thread of this process
 * is writing it, waits until it is done, with the GIL released.  The caller
 * has made sure the recorder owns this process's block. */
PyObject *gcm__recorder_report_begin(PyObject *op, PyObject *Py_UNUSED(ignored));

/* Recorder.report_end(): the report claimed by report_begin() is written. */
PyObject *gcm__recorder_report_end(PyObject *op, PyObject *Py_UNUSED(ignored));

/* ---- metrics.c: the figures the metrics collectors export ---- */

/* Recorder.metrics(): counts, totals, maxima and the histogram's cumulative
 * counts at the fixed bounds of gc_monitor/metrics.h, per generation. */
PyObject *gcm__recorder_metrics(PyObject *op, PyObject *Py_UNUSED(ignored));

/* Recorder.pauses_since(record): the pauses of the records numbered
 * `record` on, oldest first, as (lost, next, [(generation, duration_ns),
 * ...]): `lost` records had left the ring unread, and `next` is where the
 * following call starts.  ValueError for a record beyond those written. */
PyObject *gcm__recorder_pauses_since(PyObject *op, PyObject *arg);

/* ---- report.c: the exit report ---- */

/* Recorder.mark_exited(status): the capture says how the process ended. */
PyObject *gcm__recorder_mark_exited(PyObject *op, PyObject *arg);

/* Recorder.mark_detached(): the capture says its process stopped recording
 * and runs on (`pygcprofiler detach`). */
PyObject *gcm__recorder_mark_detached(PyObject *op, PyObject *Py_UNUSED(arg));

/* Recorder.write_report(...): renders the exit report (GIL released). */
PyObject *gcm__recorder_write_report(PyObject *op, PyObject *args, PyObject *kwargs);

/* ---- unseen.c: collections the callback never saw ---- */

/* Notes gc.get_stats()'s count of collections, less those the block has
 * seen, as the baseline of the watch.  Never raises; the watch is off when
 * the count cannot be read. */
void gcm__unseen_rebase(gcm__recorder *self);

/* With the watch on, stores in the block how many collections the
 * interpreter counted beyond those the callback saw.  Call before the
 * recorder stops.  Never raises. */
void gcm__unseen_update(gcm__recorder *self);

#endif /* GCM_EXT_RECORDER_H */
