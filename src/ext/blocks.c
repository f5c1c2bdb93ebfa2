/* src/ext/blocks.c: a recorder's block, in memory or in a capture file.
 *
 * A block is allocated and formatted once, when the recorder is made (or
 * when a fork child takes its own), so the callback never allocates.  With
 * -o FILE the block lives in a capture file (src/capture/writer.c); a fork
 * child's or a followed interpreter's capture is FILE.<pid>.  The module
 * keeps a list of the live recorders for the fork hook.
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

/* The callable CPython calls; its `self` is the recorder. */
static PyMethodDef callback_def = {
    "gc_callback",
    (PyCFunction)(void (*)(void))gcm__recorder_gc_callback,
    METH_FASTCALL,
    "gc_callback(phase, info)\n--\n\nRecords one garbage collection; never raises.",
};

void
gcm__live_lock(gcm__module_state *st)
{
#ifdef Py_GIL_DISABLED
    PyMutex_Lock(&st->live_lock);
#else
    (void)st;
#endif
}

void
gcm__live_unlock(gcm__module_state *st)
{
#ifdef Py_GIL_DISABLED
    PyMutex_Unlock(&st->live_lock);
#else
    (void)st;
#endif
}

/* Fills `params` for `cfg`, labelled with this process: its pid, its
 * parent's, and the start time that tells a reader this process from a
 * later one that got the same pid (0, "unknown", without /proc).  Returns 0
 * or a negative GCM_E* code; touches no Python object. */
static int
process_params(const gcm_config *cfg, gcm_block_params *params)
{
    uint64_t ticks = 0;
    int status;

    memset(params, 0, sizeof *params);
    status = gcm_config_block_params(cfg, params);
    if (status != 0)
        return status;
    params->pid = (int64_t)getpid();
    params->ppid = (int64_t)getppid();
    if (gcm_capture_start_ticks(params->pid, &ticks) == 0)
        params->process_start_ticks = ticks;
    return 0;
}

/* Allocates and formats a block for `cfg` labelled with this process.
 * Returns 0 or a negative GCM_E* code.  It touches no Python object, so the
 * after-fork hook may call it with the list of recorders locked: nothing in
 * it can start a collection that runs finalizers. */
int
gcm__block_new(const gcm_config *cfg, gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_block *block = NULL;
    size_t size;
    int status;

    status = process_params(cfg, &params);
    if (status != 0)
        goto done;
    size = gcm_block_alloc_size(&params);
    if (size == 0) {
        status = GCM_EINVAL;
        goto done;
    }
    /* Raw memory: the block is ours alone and never holds Python objects. */
    block = PyMem_RawMalloc(size);
    if (block == NULL) {
        status = GCM_ENOMEM;
        goto done;
    }
    status = gcm_block_init(block, size, &params);
    if (status != 0)
        goto done;
    *out = block;
    *out_size = size;
    block = NULL;
done:
    PyMem_RawFree(block);
    return status;
}

/* Raises `type` for a capture file that could not be created.  The path is
 * bytes: decoded as os.fsdecode() does, so the message keeps every byte
 * (the bootstrap shows one that is not UTF-8 as \xNN). */
static void
raise_create_error(PyObject *type, const char *path, const char *why, const char *tail)
{
    PyObject *shown = PyUnicode_DecodeFSDefault(path);

    if (shown == NULL)
        return;
    PyErr_Format(type, "cannot create the capture file '%U': %s%s", shown, why, tail);
    Py_DECREF(shown);
}

/* Creates the capture file of `cfg->output` and formats the block in it
 * (src/capture/writer.c).  Returns 0, or -1 with OSError or ValueError set: a
 * file that exists, a full disk, a file-size limit.  The launcher's
 * bootstrap turns that into one line and exit 2, before the target runs. */
static int
capture_new(const gcm_config *cfg, const char *path, gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_capture cap;
    char *meta = NULL;
    int rc;
    int err = 0;
    int status = -1;

    rc = process_params(cfg, &params);
    if (rc != 0) {
        PyErr_Format(PyExc_ValueError, "gc_monitor: cannot create the recording block: %s",
                     gcm_strerror(rc));
        goto done;
    }
    meta = PyMem_Malloc(GCM_META_SIZE);
    if (meta == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    gcm__capture_meta(cfg, "argv", meta, GCM_META_SIZE);
    /* Allocating and touching a large file takes a while: let other
     * threads run meanwhile. */
    Py_BEGIN_ALLOW_THREADS rc = gcm_capture_create(&cap, path, &params, meta);
    err = errno;
    Py_END_ALLOW_THREADS if (rc != 0)
    {
        char why[160];
        /* A refusal of the output policy names the kind of file found. */
        if (rc == GCM_EIO)
            (void)gcm__path_error_text(path, err, why, sizeof why);
        else
            (void)snprintf(why, sizeof why, "%s", gcm_strerror(rc));
        raise_create_error(rc == GCM_EIO ? PyExc_OSError : PyExc_ValueError, path, why,
                           err == EEXIST ? " (a capture is never overwritten)" : "");
        goto done;
    }
    *out = cap.block;
    *out_size = cap.size;
    status = 0;
done:
    PyMem_Free(meta);
    return status;
}

/* Creates this process's capture beside `cfg->output`, at the first free
 * name of FILE.<pid>, FILE.<pid>.1, ...: a name is taken when the process
 * that had this pid before (or this very process before an exec) left its
 * capture there.  `meta` is stored as given.  Returns 0 or a negative GCM_E*
 * code (GCM_EIO with errno set); raises nothing and touches no Python
 * object, so the after-fork hook may call it with the recorders locked. */
int
gcm__child_capture_create(const gcm_config *cfg, const char *meta, char *name, size_t name_size,
                          gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_capture cap;
    int status;

    status = process_params(cfg, &params);
    if (status != 0)
        goto done;
    status = gcm_capture_create_child(&cap, cfg->output, &params, meta, name, name_size);
    if (status == 0) {
        *out = cap.block;
        *out_size = cap.size;
    }
done:
    return status;
}

/* Frees a recorder's block the way it was made. */
void
gcm__block_release(gcm_block *block, size_t size, int mapped)
{
    if (mapped) {
        /* A followed child's exit handler still writes into it. */
        if (!gcm__exit_keeps(block))
            gcm_capture_unmap(block, size);
    } else
        PyMem_RawFree(block);
}

/* Raises the exception for a gcm__block_new() failure. */
void
gcm__raise_block_error(int code)
{
    if (code == GCM_ENOMEM)
        PyErr_NoMemory();
    else
        PyErr_Format(PyExc_ValueError, "gc_monitor: cannot create the recording block: %s",
                     gcm_strerror(code));
}

/* Creates the capture of a followed child (an interpreter that
 * --follow-children started) at FILE.<pid> or FILE.<pid>.<n>.  Returns 0, or
 * -1 with OSError or ValueError set. */
static int
followed_capture_new(const gcm_config *cfg, gcm_block **out, size_t *out_size)
{
    char *meta = NULL;
    char name[GCM_PATH_MAX];
    int rc;
    int err = 0;
    int status = -1;

    meta = PyMem_Malloc(GCM_META_SIZE);
    if (meta == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    gcm__capture_meta(cfg, NULL, meta, GCM_META_SIZE);
    name[0] = '\0';
    Py_BEGIN_ALLOW_THREADS rc =
        gcm__child_capture_create(cfg, meta, name, sizeof name, out, out_size);
    err = errno;
    Py_END_ALLOW_THREADS if (rc != 0)
    {
        raise_create_error(rc == GCM_EIO ? PyExc_OSError : PyExc_ValueError,
                           name[0] != '\0' ? name : cfg->output,
                           rc == GCM_EIO ? strerror(err) : gcm_strerror(rc), "");
        goto done;
    }
    status = 0;
done:
    PyMem_Free(meta);
    return status;
}

PyObject *
gcm__recorder_create(PyTypeObject *type, const gcm_config *cfg, int followed)
{
    gcm__recorder *self = NULL;
    gcm__module_state *st;
    PyObject *result = NULL;
    int rc;

    self = (gcm__recorder *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto done;
    self->config = *cfg;
    /* Before any capture exists: a refused --stacks leaves no file behind. */
    if (self->config.stacks) {
        self->stacks = gcm__stacks_new(&self->config);
        if (self->stacks == NULL)
            goto done;
    }
    /* The report files are opened at exit, when the program may have changed
     * directory (gunicorn --chdir, daemons): they are resolved now, where
     * the user named them.  A path that cannot be made absolute stays as it
     * was, which is no worse. */
    (void)gcm_logfile_absolute(self->config.log_file, sizeof self->config.log_file);
    (void)gcm_logfile_absolute(self->config.flamegraph_file, sizeof self->config.flamegraph_file);
    (void)gcm_logfile_absolute(self->config.html_file, sizeof self->config.html_file);
    (void)gcm_logfile_absolute(self->config.speedscope_file, sizeof self->config.speedscope_file);
    (void)gcm_logfile_absolute(self->config.stacks_file, sizeof self->config.stacks_file);
    /* The capture too: --follow-children passes it to interpreters that
     * may start in any directory, and fork children derive their names. */
    (void)gcm_logfile_absolute(self->config.output, sizeof self->config.output);
    if (self->config.output[0] != '\0') {
        /* -o FILE: the block lives in a shared mapping of the file; a
         * followed child records beside the capture it was named. */
        if (followed) {
            if (followed_capture_new(&self->config, &self->block, &self->block_size) != 0)
                goto done;
        } else if (capture_new(&self->config, self->config.output, &self->block,
                               &self->block_size) != 0) {
            goto done;
        }
        self->mapped = 1;
        /* Its readers learn how the process ended from exit(3) itself. */
        if (gcm__exit_watch_block_or_raise(self->block) != 0)
            goto done;
    } else {
        rc = gcm__block_new(&self->config, &self->block, &self->block_size);
        if (rc != 0) {
            gcm__raise_block_error(rc);
            goto done;
        }
    }
    /* The trigger table lives in the block, after the ring: in a capture
     * it is in the file, for `report` after any ending. */
    if (self->stacks != NULL) {
        rc = gcm__stacks_attach(self->stacks, self->block, self->block_size);
        if (rc != 0) {
            gcm__raise_block_error(rc);
            goto done;
        }
    }
    self->info_in_place = gcm__info_in_place_works();
    self->callback = PyCFunction_NewEx(&callback_def, (PyObject *)self, NULL);
    if (self->callback == NULL)
        goto done;
    atomic_store(&self->start_ns, 0);
    atomic_store(&self->epoch, atomic_load(&gcm__fork_epoch));
    /* A followed child writes its report and flame graph where a fork
     * child would (derived names, a labelled report): the files the user
     * named belong to the process the launcher started. */
    self->origin_pid = followed ? (int64_t)getppid() : (int64_t)getpid();
    self->followed_pid = followed ? (int64_t)getpid() : 0;
    /* Python started with fd 2 closed sets sys.stderr to None and never
     * writes there; the first file the program opens then becomes fd 2, and
     * a report sent to "stderr" would land in it.  Only the state at start
     * is noted, not fd 2's identity: a daemon that later dup2()s a log onto
     * fd 2 still gets its report there. */
    self->stderr_was_open = fcntl(2, F_GETFD) != -1;

    /* A strong reference of our own: at interpreter exit the type may be
     * cleared (and forget its module) before this recorder is freed. */
    self->module = PyType_GetModule(type);
    if (self->module == NULL)
        goto done;
    Py_INCREF(self->module);
    st = gcm__state(self->module);
    gcm__live_lock(st);
    self->prev = NULL;
    self->next = st->live;
    if (st->live != NULL)
        st->live->prev = self;
    st->live = self;
    gcm__live_unlock(st);

    result = (PyObject *)self;
    self = NULL;
done:
    Py_XDECREF(self);
    return result;
}

/* Takes the recorder out of the fork hook's list and drops its module
 * reference.  Safe to call twice (tp_clear, then dealloc). */
void
gcm__recorder_unlink(gcm__recorder *self)
{
    gcm__module_state *st;
    PyObject *module = self->module;

    if (module == NULL)
        return;
    st = gcm__state(module);
    gcm__live_lock(st);
    if (self->prev != NULL)
        self->prev->next = self->next;
    else if (st->live == self)
        st->live = self->next;
    if (self->next != NULL)
        self->next->prev = self->prev;
    self->prev = NULL;
    self->next = NULL;
    gcm__live_unlock(st);
    self->module = NULL;
    Py_DECREF(module);
}

/* Takes a consistent snapshot into heap storage (about 100 KB).  Returns NULL
 * with an exception set on failure. */
gcm_snapshot *
gcm__take_snapshot(gcm__recorder *self)
{
    gcm_snapshot *snap = PyMem_Malloc(sizeof *snap);

    if (snap == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    /* GCM_EBUSY still fills the snapshot, marked torn: a report beats none. */
    (void)gcm_block_snapshot(self->block, snap);
    return snap;
}
