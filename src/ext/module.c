/* src/ext/module.c: the module gc_monitor._core (multi-phase init, module state).
 *
 * The module holds the Recorder type, the list of live recorders for the
 * after-fork hook (its state, state.c), and render_start() for the
 * launcher's bootstrap.  It is the top of the extension: it calls into the
 * other files, and none of them calls into it.
 */
#include "ext.h"

#include <string.h>
#include <unistd.h>

/* The config text and the command are bytes to the core: a str (sys.argv,
 * os.environ) is encoded as os.fsencode() does, so an argument or a path
 * that is not valid UTF-8 reaches the renderer as the bytes it was, and the
 * renderer escapes what it cannot show. */
static PyObject *
core_render_start(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"config_text", "command", "fd", NULL};
    gcm_config *cfg = NULL;
    PyObject *text;
    PyObject *command = NULL;
    int fd;
    int rc;
    PyObject *result = NULL;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO&i:render_start", kwlist, &text,
                                     PyUnicode_FSConverter, &command, &fd))
        goto done;
    cfg = gcm__config_from_text(text);
    if (cfg == NULL)
        goto done;
    Py_BEGIN_ALLOW_THREADS rc =
        gcm_report_start_fd(cfg, PyBytes_AS_STRING(command), (int64_t)getpid(), fd);
    Py_END_ALLOW_THREADS
        /* A closed or broken stream is the user's business (`... 2>&-`), not an
     * error of the program being monitored. */
        if (rc != 0 && rc != GCM_EIO)
    {
        PyErr_Format(PyExc_ValueError, "gc_monitor: %s", gcm_strerror(rc));
        goto done;
    }
    Py_INCREF(Py_None);
    result = Py_None;
done:
    Py_XDECREF(command);
    PyMem_Free(cfg);
    return result;
}

/* For the tests: whether new recorders read info dicts in place. */
static PyObject *
core_info_in_place(PyObject *Py_UNUSED(module), PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(gcm__info_in_place_works());
}

static PyObject *
core_after_fork_child(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    /* The recorder first: a signal the nudge sends again runs a handler
     * that reports, and the report must be this process's. */
    int status = gcm__recorder_after_fork(module);

    gcm__nudge_after_fork();
    if (status != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* compile(source, filename, "exec", dont_inherit=True) for the bootstrap's
 * -c code and scripts, minus the builtin's first step: its test for an AST
 * argument makes the interpreter build its hundred-odd AST classes, about
 * half of what the launcher added to start-up, and `python <target>` never
 * pays that.  The flags are the builtin's (a str is UTF-8 and its coding
 * cookie ignored, bytes honour theirs).  Anything the builtin would refuse
 * goes to the builtin, so the error is its own. */
static PyObject *
core_compile_exec(PyObject *module, PyObject *args)
{
    PyObject *source, *filename;
    PyCompilerFlags flags = {.cf_flags = PyCF_SOURCE_IS_UTF8,
                             .cf_feature_version = PY_MINOR_VERSION};
    const char *text = NULL;
    Py_ssize_t size = 0;

    (void)module;
    if (!PyArg_ParseTuple(args, "OU:compile_exec", &source, &filename))
        return NULL;
    if (PyUnicode_Check(source)) {
        flags.cf_flags |= PyCF_IGNORE_COOKIE;
        text = PyUnicode_AsUTF8AndSize(source, &size);
        PyErr_Clear();
    } else if (PyBytes_Check(source)) {
        text = PyBytes_AS_STRING(source);
        size = PyBytes_GET_SIZE(source);
    }
    if (text == NULL || memchr(text, '\0', (size_t)size) != NULL) {
        /* The program may have replaced or deleted builtins.compile; the
         * real one is always in the builtins module. */
        PyObject *builtins = PyImport_ImportModule("builtins");
        PyObject *result = NULL;

        if (builtins != NULL)
            result =
                PyObject_CallMethod(builtins, "compile", "OOsii", source, filename, "exec", 0, 1);
        Py_XDECREF(builtins);
        return result;
    }
    return Py_CompileStringObject(text, filename, Py_file_input, &flags, -1);
}

/* Runs a source file in `globals` the way python's main runs a script:
 * PyRun_FileExFlags reads it through the file tokenizer, so the errors are
 * python's own (a NUL byte with its file and line, PEP 263's message for
 * bytes that are not UTF-8 without a coding declaration), and a coding
 * declaration other than UTF-8 is honoured.  Compiling the bytes as a string
 * would give other messages.  The path is bytes, as os.fsencode() makes it. */
static PyObject *
core_run_source_file(PyObject *module, PyObject *args)
{
    PyCompilerFlags flags = {.cf_flags = 0, .cf_feature_version = PY_MINOR_VERSION};
    PyObject *path = NULL;
    PyObject *globals;
    PyObject *result = NULL;
    FILE *fp;

    (void)module;
    if (!PyArg_ParseTuple(args, "O&O!:run_source_file", PyUnicode_FSConverter, &path, &PyDict_Type,
                          &globals))
        goto done;
    /* "e": close-on-exec, as python's own opening of a script. */
    Py_BEGIN_ALLOW_THREADS fp = fopen(PyBytes_AS_STRING(path), "rbe");
    Py_END_ALLOW_THREADS if (fp == NULL)
    {
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, PyBytes_AS_STRING(path));
        goto done;
    }
    /* closeit: the file is closed once it is parsed, before the code runs. */
    result =
        PyRun_FileExFlags(fp, PyBytes_AS_STRING(path), Py_file_input, globals, globals, 1, &flags);
done:
    Py_XDECREF(path);
    return result;
}

static PyMethodDef core_methods[] = {
    {"compile_exec", core_compile_exec, METH_VARARGS,
     "compile_exec(source, filename)\n--\n\ncompile(source, filename, 'exec', "
     "dont_inherit=True), without setting up the AST classes."},
    {"run_source_file", core_run_source_file, METH_VARARGS,
     "run_source_file(path, globals)\n--\n\nRuns the source file at `path` in `globals` as "
     "python's main runs a script, with python's own errors."},
    {"render_start", (PyCFunction)(void (*)(void))core_render_start, METH_VARARGS | METH_KEYWORDS,
     "render_start(config_text, command, fd)\n--\n\nWrites the start lines for `command` "
     "into fd, as the config asks (text or JSON)."},
    {"_info_in_place", core_info_in_place, METH_NOARGS,
     "_info_in_place()\n--\n\nWhether recorders read the collector's info dicts in place "
     "(CPython 3.11+ after a self-check), not through PyDict_Next."},
    {"_after_fork_child", core_after_fork_child, METH_NOARGS,
     "_after_fork_child()\n--\n\nGives every live recorder a fresh block labelled with this "
     "process (os.register_at_fork hook)."},
    {"wrap_gc_collect", gcm__wrap_gc_collect_py, METH_NOARGS,
     "wrap_gc_collect()\n--\n\nPuts a C wrapper in place of gc.collect that marks the "
     "collection it starts as explicit; True if it did, False if it was there already."},
    {"mark_shutdown", gcm__mark_shutdown_py, METH_NOARGS,
     "mark_shutdown()\n--\n\nFrom now on this process's collections have the cause "
     "\"shutdown\": the program's main code is over."},
    {"parse_rule", gcm__parse_rule, METH_O,
     "parse_rule(text)\n--\n\nReturns a budget rule's canonical text; ValueError if invalid."},
    {"nudge_signal", gcm__nudge_signal_py, METH_O,
     "nudge_signal(signum)\n--\n\nAfter signal.signal() installed a Python handler: sends the "
     "signal again to the main thread every 20 ms until nudge_done(signum), so that a signal "
     "noted just before a blocking call is still handled."},
    {"nudge_done", gcm__nudge_done_py, METH_O,
     "nudge_done(signum)\n--\n\nThe Python handler of signum runs: no more nudges."},
    {"die_by_signal", gcm__exit_die_by_signal, METH_O,
     "die_by_signal(signum)\n--\n\nMarks this process's capture killed by signum, then ends "
     "the process by the signal's default action."},
    {"note_exit_signal", gcm__exit_note_signal_py, METH_O,
     "note_exit_signal(signum)\n--\n\nMarks this process's capture killed by signum (python "
     "kills itself by it once finalised)."},
    {"drop_launcher_words", gcm__cmdline_drop_launcher_py, METH_NOARGS,
     "drop_launcher_words()\n--\n\nRemoves the launcher's '-c <bootstrap>' from the command line "
     "ps shows (/proc/self/cmdline); returns True if it did."},
    {"called_after", gcm__exit_called_after, METH_VARARGS,
     "called_after(name, before, real)\n--\n\nReturns a C callable named `name` (kill, killpg or "
     "raise_signal) that calls before(*args), then returns real(*args); it adds no frame to "
     "a traceback."},
    {"reraising", gcm__exit_reraising, METH_O,
     "reraising(fn)\n--\n\nReturns a C callable that calls fn(*args) and raises the exception "
     "instance fn returns, if any: an atexit hook or finalizer with no frame of ours."},
    {"arm_exit_signals", gcm__exit_arm_signals, METH_O,
     "arm_exit_signals(signums)\n--\n\nInstalls for each signal a one-shot C handler that "
     "marks the capture killed and dies by the signal's default action."},
    {"request_clock", gcm__request_clock_py, METH_NOARGS,
     "request_clock()\n--\n\nThe running recorder's totals as (gc_ns, full_collections): the "
     "pause time recorded so far and the generation 2 collections; None when no monitor "
     "records in this process.  A request middleware reads it when a request starts."},
    {"request_gc_ns", gcm__request_gc_ns_py, METH_O,
     "request_gc_ns(start)\n--\n\nThe pause time recorded since request_clock() returned "
     "`start`, in ns; 0 when no monitor records now."},
    {"request_done", gcm__request_done_py, METH_O,
     "request_done(start)\n--\n\nAdds the request that started at `start` to the block's "
     "request figures and returns its GC time in ns; None (nothing recorded) when no "
     "monitor records now."},
    {NULL, NULL, 0, NULL},
};

/* Registers the module's after-fork hook with os.register_at_fork, so it runs
 * with the other Python-level hooks in the child. */
static int
register_fork_hook(PyObject *module)
{
    PyObject *os = NULL;
    PyObject *reg = NULL;
    PyObject *hook = NULL;
    PyObject *kwargs = NULL;
    PyObject *empty = NULL;
    PyObject *res = NULL;
    int status = -1;

    os = PyImport_ImportModule("os");
    if (os == NULL)
        goto done;
    reg = PyObject_GetAttrString(os, "register_at_fork");
    if (reg == NULL)
        goto done;
    hook = PyObject_GetAttrString(module, "_after_fork_child");
    if (hook == NULL)
        goto done;
    kwargs = Py_BuildValue("{s:O}", "after_in_child", hook);
    if (kwargs == NULL)
        goto done;
    empty = PyTuple_New(0);
    if (empty == NULL)
        goto done;
    res = PyObject_Call(reg, empty, kwargs);
    if (res == NULL)
        goto done;
    status = 0;
done:
    Py_XDECREF(res);
    Py_XDECREF(empty);
    Py_XDECREF(kwargs);
    Py_XDECREF(hook);
    Py_XDECREF(reg);
    Py_XDECREF(os);
    return status;
}

static int
core_exec(PyObject *module)
{
    int free_threaded = 0;
    int status = -1;

#ifdef Py_GIL_DISABLED
    free_threaded = 1;
#endif
    if (gcm__fork_install() != 0)
        goto done;
    if (gcm__recorder_type_add(module) != 0)
        goto done;
    if (PyModule_AddStringConstant(module, "PYTHON_VERSION", gcm__python_version()) != 0)
        goto done;
    if (PyModule_AddObject(module, "FREE_THREADED", PyBool_FromLong(free_threaded)) != 0)
        goto done;
    if (PyModule_AddIntConstant(module, "SCHEMA_VERSION", GCM_JSON_SCHEMA_VERSION) != 0)
        goto done;
    if (PyModule_AddStringConstant(module, "CONFIG_ENV", GCM_ENV_CONFIG) != 0)
        goto done;
    if (PyModule_AddStringConstant(module, "FOLLOW_ENV", GCM_ENV_FOLLOW) != 0)
        goto done;
    if (PyModule_AddStringConstant(module, "PYTHON_ENV", GCM_ENV_PYTHON) != 0)
        goto done;
    if (PyModule_AddStringConstant(module, "CHECKED_ENV", GCM_ENV_CHECKED) != 0)
        goto done;
    if (register_fork_hook(module) != 0)
        goto done;
    status = 0;
done:
    return status;
}

static int
core_traverse(PyObject *module, visitproc visit, void *arg)
{
    gcm__module_state *st = gcm__state(module);

    if (st != NULL)
        Py_VISIT(st->recorder_type);
    return 0;
}

static int
core_clear(PyObject *module)
{
    gcm__module_state *st = gcm__state(module);

    if (st != NULL)
        Py_CLEAR(st->recorder_type);
    return 0;
}

static void
core_free(void *module)
{
    (void)core_clear((PyObject *)module);
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, (void *)core_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    /* True: the recording path uses only the block's atomics and the
     * recorder's atomic fields, and CPython never runs two collections at
     * once; the list of recorders has its own lock. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "gc_monitor._core",
    .m_doc = "The C core of gc_monitor: a zero-allocation recorder for gc.callbacks.",
    .m_size = sizeof(gcm__module_state),
    .m_methods = core_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

/* Declared here because the extension's only exported symbol needs a
 * prototype for -Wmissing-prototypes, whatever PyMODINIT_FUNC expands to. */
PyMODINIT_FUNC PyInit__core(void);

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
