/* src/ext/recorder.c: the Recorder heap type, owner of one recording block.
 *
 * A Recorder is created from a validated gcm_config (keywords or the
 * launcher's config text), allocates its block once, and hands out one C
 * callable bound to itself for gc.callbacks.  Nothing is shared between two
 * recorders.  Everything here runs outside the recording path, with the GIL
 * held (or an attached thread state on free-threaded builds), except the
 * report rendering, which releases it.
 */
#include "ext.h"
#include "recorder.h"
#include "dump.h"
#include "gc_monitor/logfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Type slots                                                           */
/* ------------------------------------------------------------------ */

static PyObject *
recorder_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"options", NULL};
    PyObject *options = NULL;
    gcm_config *cfg = NULL;
    PyObject *result = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O!:Recorder", kwlist, &PyDict_Type, &options))
        goto done;
    /* A config holds three paths: keep it off the stack. */
    cfg = PyMem_Malloc(sizeof *cfg);
    if (cfg == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    gcm_config_init(cfg);
    if (options != NULL && gcm__config_from_options(cfg, options) != 0)
        goto done;
    result = gcm__recorder_create(type, cfg, 0);
done:
    PyMem_Free(cfg);
    return result;
}

/* The two constructors from launcher config text: `method` names the caller
 * in the TypeError, and `followed` says whether the recorder is a followed
 * child's (gcm__recorder_create). */
static PyObject *
recorder_from_text(PyObject *cls, PyObject *text, const char *method, int followed)
{
    gcm_config *cfg = NULL;
    PyObject *result = NULL;

    if (!PyUnicode_Check(text) && !PyBytes_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() argument must be str or bytes", method);
        goto done;
    }
    cfg = gcm__config_from_text(text);
    if (cfg == NULL)
        goto done;
    result = gcm__recorder_create((PyTypeObject *)cls, cfg, followed);
done:
    PyMem_Free(cfg);
    return result;
}

static PyObject *
recorder_from_config_text(PyObject *cls, PyObject *text)
{
    return recorder_from_text(cls, text, "from_config_text", 0);
}

static PyObject *
recorder_for_followed_child(PyObject *cls, PyObject *text)
{
    return recorder_from_text(cls, text, "for_followed_child", 1);
}

static int
recorder_traverse(PyObject *op, visitproc visit, void *arg)
{
    gcm__recorder *self = (gcm__recorder *)op;

    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->callback);
    Py_VISIT(self->module);
    return 0;
}

static int
recorder_clear(PyObject *op)
{
    gcm__recorder *self = (gcm__recorder *)op;

    /* A cleared recorder is garbage: the fork hook has nothing to do for it. */
    gcm__recorder_unlink(self);
    Py_CLEAR(self->callback);
    return 0;
}

static void
recorder_dealloc(PyObject *op)
{
    gcm__recorder *self = (gcm__recorder *)op;
    PyTypeObject *type = Py_TYPE(op);

    PyObject_GC_UnTrack(op);
    (void)recorder_clear(op);
    if (self->block != NULL)
        gcm__block_release(self->block, self->block_size, self->mapped);
    self->block = NULL;
    gcm__stacks_free(self->stacks);
    self->stacks = NULL;
    type->tp_free(op);
    Py_DECREF(type);
}

/* ------------------------------------------------------------------ */
/* Methods                                                              */
/* ------------------------------------------------------------------ */

static PyObject *
recorder_snapshot(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    cJSON *json = NULL;
    PyObject *result = NULL;

    if (gcm__recorder_own_block(self) != 0)
        goto done;
    snap = gcm__take_snapshot(self);
    if (snap == NULL)
        goto done;
    json = gcm_summary_json(snap);
    if (json == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    result = gcm__summary_to_dict(json);
done:
    cJSON_Delete(json);
    PyMem_Free(snap);
    return result;
}

static PyObject *
recorder_stop(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;

    /* The own block first: a fork child compares with its own collections.
     * Stopping never fails: without a block of its own there is no count. */
    if (gcm__recorder_own_block(self) == 0)
        gcm__unseen_update(self);
    else
        PyErr_Clear();
    self->stopped = 1;
    atomic_store_explicit(&self->epoch, GCM__EPOCH_STOPPED, memory_order_relaxed);
    Py_RETURN_NONE;
}

/* Recorder.watch_gc_stats(): starts the watch over gc.get_stats() (unseen.c),
 * once the callable is in gc.callbacks. */
static PyObject *
recorder_watch_gc_stats(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;

    if (gcm__recorder_own_block(self) != 0)
        return NULL;
    if (!self->stopped) {
        gcm__unseen_rebase(self);
        /* Objects frozen before monitoring began are not the program's doing
         * (CPython 3.12 freezes some at start-up): the report counts from here. */
        self->freeze_baseline = gcm__freeze_count_now();
    }
    Py_RETURN_NONE;
}

static PyObject *
recorder_get_callback(PyObject *op, void *Py_UNUSED(closure))
{
    gcm__recorder *self = (gcm__recorder *)op;

    if (self->callback == NULL) {
        PyErr_SetString(PyExc_AttributeError, "the recorder has been cleared");
        return NULL;
    }
    Py_INCREF(self->callback);
    return self->callback;
}

static PyObject *
recorder_get_config_text(PyObject *op, void *Py_UNUSED(closure))
{
    gcm__recorder *self = (gcm__recorder *)op;
    char small[1024];
    char *buf = small;
    size_t needed = 0;
    int rc;
    PyObject *result = NULL;

    rc = gcm_config_encode(&self->config, small, sizeof small, &needed);
    if (rc == GCM_ENOMEM) {
        buf = PyMem_Malloc(needed + 1);
        if (buf == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        rc = gcm_config_encode(&self->config, buf, needed + 1, &needed);
    }
    if (rc != 0) {
        PyErr_Format(PyExc_ValueError, "gc_monitor: %s", gcm_strerror(rc));
        goto done;
    }
    /* Paths in it are bytes: decoded as os.fsdecode() does, so that putting
     * the text into os.environ gives back the same bytes. */
    result = PyUnicode_DecodeFSDefaultAndSize(buf, (Py_ssize_t)needed);
done:
    if (buf != small)
        PyMem_Free(buf);
    return result;
}

static PyObject *
recorder_get_dump_garbage(PyObject *op, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(((gcm__recorder *)op)->config.dump_garbage != 0);
}

static PyObject *
recorder_get_stopped(PyObject *op, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(((gcm__recorder *)op)->stopped != 0);
}

static PyObject *
recorder_get_follow_children(PyObject *op, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(((gcm__recorder *)op)->config.follow_children != 0);
}

static PyObject *
recorder_get_pid(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong((long long)((gcm__recorder *)op)->block->header.pid);
}

/* Recorder.report_begin(): a fork child (even of a fork from C that ran no
 * hooks) claims the report of its own block, never its parent's. */
static PyObject *
recorder_report_begin(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    if (gcm__recorder_own_block((gcm__recorder *)op) != 0)
        return NULL;
    return gcm__recorder_report_begin(op, NULL);
}

static PyMethodDef recorder_methods[] = {
    {"from_config_text", recorder_from_config_text, METH_O | METH_CLASS,
     "from_config_text(text)\n--\n\nCreates a recorder from PYGCPROFILER_CONFIG text."},
    {"for_followed_child", recorder_for_followed_child, METH_O | METH_CLASS,
     "for_followed_child(text)\n--\n\nCreates the recorder of an interpreter that "
     "--follow-children reached: its capture is FILE.<pid> (or FILE.<pid>.<n>) and its "
     "report goes where a fork child's would."},
    {"snapshot", recorder_snapshot, METH_NOARGS,
     "snapshot()\n--\n\nReturns the JSON summary's figures as a dict."},
    {"metrics", gcm__recorder_metrics, METH_NOARGS,
     "metrics()\n--\n\nReturns the exact figures the metrics collectors export, as a dict."},
    {"pauses_since", gcm__recorder_pauses_since, METH_O,
     "pauses_since(record)\n--\n\nDrains the ring from record number `record`: returns "
     "(lost, next, [(generation, duration_ns), ...]), where `lost` records had left the ring "
     "unread and `next` is the record number to start the next call from."},
    {"stop", recorder_stop, METH_NOARGS,
     "stop()\n--\n\nStops recording for good; the callable then ignores every call."},
    {"watch_gc_stats", recorder_watch_gc_stats, METH_NOARGS,
     "watch_gc_stats()\n--\n\nNotes gc.get_stats()'s count of collections, so that stop() "
     "can record how many the callable never saw (the program took it out of gc.callbacks). "
     "Call it once the callable is in gc.callbacks."},
    {"report_begin", recorder_report_begin, METH_NOARGS,
     "report_begin()\n--\n\nClaims this process's report for the calling thread: 0 to write it "
     "(then call report_end()), 1 when this thread is already writing it, 2 when it is written. "
     "Waits while another thread writes it."},
    {"report_end", gcm__recorder_report_end, METH_NOARGS,
     "report_end()\n--\n\nSays the report claimed by report_begin() is written."},
    {"mark_exited", gcm__recorder_mark_exited, METH_O,
     "mark_exited(status)\n--\n\nRecords in the capture file (-o) that the program exited "
     "with `status`, or None when it ends by os._exit with a status unknown here; does "
     "nothing without one."},
    {"mark_detached", gcm__recorder_mark_detached, METH_NOARGS,
     "mark_detached()\n--\n\nRecords in the capture file (-o) that the process stopped "
     "recording and runs on (pygcprofiler detach); does nothing without one."},
    {"write_report", (PyCFunction)(void (*)(void))gcm__recorder_write_report,
     METH_VARARGS | METH_KEYWORDS,
     "write_report(fd=-1)\n--\n\nRenders the report into fd (default: the log file or "
     "stderr).  Returns False if it could not be written."},
    {"check_budgets", (PyCFunction)(void (*)(void))gcm__recorder_check_budgets,
     METH_VARARGS | METH_KEYWORDS,
     "check_budgets(rules=None)\n--\n\nChecks budget rules (default: --fail-on's) against the "
     "figures so far; returns the broken ones as dicts."},
    {NULL, NULL, 0, NULL},
};

static PyObject *
recorder_get_log_file(PyObject *op, void *Py_UNUSED(closure))
{
    const char *path = ((gcm__recorder *)op)->config.log_file;

    if (path[0] == '\0')
        Py_RETURN_NONE;
    return PyUnicode_DecodeFSDefault(path);
}

static PyObject *
recorder_get_fail_on_count(PyObject *op, void *Py_UNUSED(closure))
{
    return PyLong_FromSize_t((size_t)((gcm__recorder *)op)->config.fail_on_count);
}

static PyGetSetDef recorder_getset[] = {
    {"fail_on_count", recorder_get_fail_on_count, NULL, "How many --fail-on rules were given.",
     NULL},
    {"log_file", recorder_get_log_file, NULL, "The --log-file the report goes to, or None.", NULL},
    {"callback", recorder_get_callback, NULL, "The C callable to append to gc.callbacks.", NULL},
    {"config_text", recorder_get_config_text, NULL,
     "The configuration as PYGCPROFILER_CONFIG text.", NULL},
    {"dump_garbage", recorder_get_dump_garbage, NULL, "Whether dump_garbage was asked for.", NULL},
    {"stopped", recorder_get_stopped, NULL, "Whether stop() was called.", NULL},
    {"follow_children", recorder_get_follow_children, NULL,
     "Whether --follow-children was asked for.", NULL},
    {"pid", recorder_get_pid, NULL, "The pid the current block is labelled with.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot recorder_slots[] = {
    {Py_tp_doc, "Recorder(options=None)\n--\n\nOwns one recording block and the C callable "
                "that fills it from gc.callbacks."},
    {Py_tp_new, recorder_new},
    {Py_tp_dealloc, recorder_dealloc},
    {Py_tp_traverse, recorder_traverse},
    {Py_tp_clear, recorder_clear},
    {Py_tp_methods, recorder_methods},
    {Py_tp_getset, recorder_getset},
    {0, NULL},
};

static PyType_Spec recorder_spec = {
    .name = "gc_monitor._core.Recorder",
    .basicsize = sizeof(gcm__recorder),
    .itemsize = 0,
    /* Not a base type: PyType_GetModule(Py_TYPE(self)) must find our module. */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .slots = recorder_slots,
};

int
gcm__recorder_type_add(PyObject *module)
{
    gcm__module_state *st = gcm__state(module);
    int status = -1;

    st->recorder_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &recorder_spec, NULL);
    if (st->recorder_type == NULL)
        goto done;
    Py_INCREF(st->recorder_type);
    if (PyModule_AddObject(module, "Recorder", (PyObject *)st->recorder_type) != 0) {
        Py_DECREF(st->recorder_type);
        goto done;
    }
    status = 0;
done:
    return status;
}
