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
#include "dump.h"
#include "gc_monitor/logfile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The callable CPython calls; its `self` is the recorder. */
static PyMethodDef callback_def = {
    "gc_callback",
    (PyCFunction)(void (*)(void))gcm__recorder_gc_callback,
    METH_FASTCALL,
    "gc_callback(phase, info)\n--\n\nRecords one garbage collection; never raises.",
};

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

void
gcm__raise_config_error(int code, const gcm_config_error *err)
{
    char msg[512];

    gcm_config_error_format(err, 1, msg, sizeof msg);
    PyErr_SetString(code == GCM_EUNKNOWN ? PyExc_TypeError : PyExc_ValueError, msg);
}

gcm_config *
gcm__config_from_text(PyObject *text)
{
    gcm_config_error err;
    gcm_config *cfg = NULL;
    gcm_config *result = NULL;
    const char *utf8;
    char msg[512];
    int rc;

    utf8 = PyUnicode_AsUTF8(text);
    if (utf8 == NULL)
        goto done;
    cfg = PyMem_Malloc(sizeof *cfg);
    if (cfg == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(&err, 0, sizeof err);
    rc = gcm_config_decode(cfg, utf8, &err);
    if (rc != 0) {
        /* The text comes from the launcher, not from keywords: any refusal,
         * unknown names included, is a bad value. */
        gcm_config_error_format(&err, 1, msg, sizeof msg);
        PyErr_SetString(PyExc_ValueError, msg);
        goto done;
    }
    result = cfg;
    cfg = NULL;
done:
    PyMem_Free(cfg);
    return result;
}

/* Applies the GCMonitor keywords in `options` (a dict of str to str) to `cfg`. */
static int
config_from_options(gcm_config *cfg, PyObject *options)
{
    PyObject *key;
    PyObject *value;
    Py_ssize_t pos = 0;
    int status = -1;

    gcm_config_init(cfg);
    while (PyDict_Next(options, &pos, &key, &value)) {
        const gcm_option *opt;
        const char *name;
        const char *text;
        gcm_config_error err;
        int rc;

        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "GCMonitor() keywords must be strings");
            goto done;
        }
        name = PyUnicode_AsUTF8(key);
        if (name == NULL)
            goto done;
        /* Only keywords are accepted here: a flag spelling ("alert-threshold-ms")
         * or a launcher-only option is as unknown as a typo. */
        opt = gcm_config_find_in(name, GCM_SCOPE_API);
        if (opt == NULL) {
            PyErr_Format(PyExc_TypeError, "GCMonitor() got an unexpected keyword argument '%s'",
                         name);
            goto done;
        }
        if (!PyUnicode_Check(value)) {
            PyErr_Format(PyExc_TypeError, "option '%s' must be given as a str here", name);
            goto done;
        }
        text = PyUnicode_AsUTF8(value);
        if (text == NULL)
            goto done;
        memset(&err, 0, sizeof err);
        rc = gcm_config_set(cfg, opt, text, &err);
        if (rc != 0) {
            gcm__raise_config_error(rc, &err);
            goto done;
        }
    }
    status = 0;
done:
    return status;
}

/* ------------------------------------------------------------------ */
/* Blocks and the list of live recorders                                */
/* ------------------------------------------------------------------ */

static void
live_lock(gcm__module_state *st)
{
#ifdef Py_GIL_DISABLED
    PyMutex_Lock(&st->live_lock);
#else
    (void)st;
#endif
}

static void
live_unlock(gcm__module_state *st)
{
#ifdef Py_GIL_DISABLED
    PyMutex_Unlock(&st->live_lock);
#else
    (void)st;
#endif
}


/* Allocates and formats a block for `cfg` labelled with this process.
 * Returns 0 or a negative GCM_E* code.  It touches no Python object, so the
 * after-fork hook may call it with the list of recorders locked: nothing in
 * it can start a collection that runs finalizers. */
static int
block_new(const gcm_config *cfg, gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_block *block = NULL;
    size_t size;
    int status;

    memset(&params, 0, sizeof params);
    status = gcm_config_block_params(cfg, &params);
    if (status != 0)
        goto done;
    params.pid = (int64_t)getpid();
    params.ppid = (int64_t)getppid();
    size = gcm_block_size(params.capacity);
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

/* Appends `word` to `buf` as a shell word, quoted only when it needs to
 * be, so the capture's command line reads like the one the user typed. */
static void
meta_put_word(char *buf, size_t size, size_t *len, const char *word)
{
    static const char safe[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_";
    int plain = word[0] != '\0' && strspn(word, safe) == strlen(word);
    const char *p;

#define PUT(c) do { if (*len + 1 < size) buf[(*len)++] = (c); } while (0)
    if (plain) {
        for (p = word; *p != '\0'; p++)
            PUT(*p);
    } else {
        PUT('\'');
        for (p = word; *p != '\0'; p++) {
            if (*p == '\'') {
                PUT('\''); PUT('"'); PUT('\''); PUT('"'); PUT('\'');
            } else {
                PUT(*p);
            }
        }
        PUT('\'');
    }
#undef PUT
    buf[*len] = '\0';
}

/* Appends "key=value\n" to `buf`, with newlines in `value` as spaces. */
static void
meta_put_line(char *buf, size_t size, size_t *len, const char *key, const char *value)
{
    int n = snprintf(buf + *len, size - *len, "%s=", key);
    const char *p;

    if (n < 0 || (size_t)n >= size - *len)
        return;
    *len += (size_t)n;
    for (p = value; *p != '\0' && *len + 2 < size; p++)
        buf[(*len)++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    buf[(*len)++] = '\n';
    buf[*len] = '\0';
}

/* Appends this process's arguments after the first, as the kernel keeps
 * them in /proc/self/cmdline (NUL-separated), as shell words to `command`.
 * Leaves `command` as it is when the file cannot be read. */
static void
cmdline_words(char *command, size_t size, size_t *clen)
{
    char raw[GCM_META_SIZE / 2];
    ssize_t read_len = gcm__read_small_file("/proc/self/cmdline", raw, sizeof raw);
    size_t got;
    size_t at;

    if (read_len < 0)
        return;
    got = (size_t)read_len;
    /* The first word is the program as invoked; sys.executable stands first. */
    at = strlen(raw) + 1;
    while (at < got) {
        if (*clen + 1 < size)
            command[(*clen)++] = ' ';
        meta_put_word(command, size, clen, raw + at);
        at += strlen(raw + at) + 1;
    }
}

/* Builds the capture file's metadata (docs/capture-format.md) into `buf`:
 * the interpreter, the command the launcher ran (sys.executable and
 * sys.argv[1:], since the bootstrap creates the recorder while sys.argv is
 * still python's ['-c', <target words>]), and the options.  A followed child
 * passes NULL for `argv_name`: its start-up hook runs before python has put
 * the script's path in sys.argv (and 3.9 has no sys.orig_argv), so its words
 * come from the kernel's copy, /proc/self/cmdline.  Never fails: a value that
 * cannot be read is left out. */
static void
capture_meta(const gcm_config *cfg, const char *argv_name, char *buf, size_t size)
{
    char small[GCM_META_SIZE];
    char command[GCM_META_SIZE / 2];
    size_t len = 0;
    size_t clen = 0;
    size_t needed = 0;
    PyObject *exe = PySys_GetObject("executable");   /* borrowed */
    PyObject *argv = argv_name != NULL ? PySys_GetObject(argv_name) : NULL; /* borrowed */
    Py_ssize_t i;
    int free_threaded = 0;

#ifdef Py_GIL_DISABLED
    free_threaded = 1;
#endif
    buf[0] = '\0';
    command[0] = '\0';
    meta_put_line(buf, size, &len, "pygcprofiler", GCM_VERSION);
    meta_put_line(buf, size, &len, "python_version", gcm__python_version());
    meta_put_line(buf, size, &len, "python_build", Py_GetVersion());
    meta_put_line(buf, size, &len, "free_threaded", free_threaded ? "1" : "0");
    if (exe != NULL && PyUnicode_Check(exe)) {
        PyObject *b = PyUnicode_EncodeFSDefault(exe);
        if (b != NULL) {
            meta_put_line(buf, size, &len, "executable", PyBytes_AS_STRING(b));
            meta_put_word(command, sizeof command, &clen, PyBytes_AS_STRING(b));
            Py_DECREF(b);
        }
    }
    PyErr_Clear();
    if (argv != NULL && PyList_Check(argv)) {
        for (i = 1; i < PyList_GET_SIZE(argv); i++) {
            PyObject *word = PyList_GET_ITEM(argv, i);
            PyObject *b = PyUnicode_Check(word) ? PyUnicode_EncodeFSDefault(word) : NULL;
            if (b == NULL)
                continue;
            if (clen + 1 < sizeof command)
                command[clen++] = ' ';
            meta_put_word(command, sizeof command, &clen, PyBytes_AS_STRING(b));
            Py_DECREF(b);
        }
    }
    PyErr_Clear();
    if (argv_name == NULL)
        cmdline_words(command, sizeof command, &clen);
    meta_put_line(buf, size, &len, "command", command);
    /* Last, so that a cut (four long paths can outgrow the area) only ever
     * costs the options line, which the reader then says it cannot read. */
    if (gcm_config_encode(cfg, small, sizeof small, &needed) == 0)
        meta_put_line(buf, size, &len, "options", small);
}

/* Creates the capture file of `cfg->output` and formats the block in it
 * (src/core/capture.c).  Returns 0, or -1 with OSError or ValueError set: a
 * file that exists, a full disk, a file-size limit.  The launcher's
 * bootstrap turns that into one line and exit 2, before the target runs. */
static int
capture_new(const gcm_config *cfg, const char *path, gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_capture cap;
    char *meta = NULL;
    uint64_t ticks = 0;
    int rc;
    int err = 0;
    int status = -1;

    memset(&params, 0, sizeof params);
    rc = gcm_config_block_params(cfg, &params);
    if (rc != 0) {
        PyErr_Format(PyExc_ValueError, "gc_monitor: cannot create the recording block: %s",
                     gcm_strerror(rc));
        goto done;
    }
    params.pid = (int64_t)getpid();
    params.ppid = (int64_t)getppid();
    /* The start time tells a reader this process from a later one that got
     * the same pid; without /proc it stays 0, "unknown". */
    if (gcm_capture_start_ticks(params.pid, &ticks) == 0)
        params.process_start_ticks = ticks;
    meta = PyMem_Malloc(GCM_META_SIZE);
    if (meta == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    capture_meta(cfg, "argv", meta, GCM_META_SIZE);
    /* Allocating and touching a large file takes a while: let other
     * threads run meanwhile. */
    Py_BEGIN_ALLOW_THREADS
    rc = gcm_capture_create(&cap, path, &params, meta);
    err = errno;
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        char why[160];
        if (rc == GCM_EIO)
            (void)snprintf(why, sizeof why, "%s", strerror(err));
        else
            (void)snprintf(why, sizeof why, "%s", gcm_strerror(rc));
        if (why[0] >= 'A' && why[0] <= 'Z')
            why[0] = (char)(why[0] - 'A' + 'a');
        PyErr_Format(rc == GCM_EIO ? PyExc_OSError : PyExc_ValueError,
                     "cannot create the capture file '%s': %s%s", path, why,
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
static int
child_capture_create(const gcm_config *cfg, const char *meta, char *name, size_t name_size,
                     gcm_block **out, size_t *out_size)
{
    gcm_block_params params;
    gcm_capture cap;
    uint64_t ticks = 0;
    int status;

    memset(&params, 0, sizeof params);
    status = gcm_config_block_params(cfg, &params);
    if (status != 0)
        goto done;
    params.pid = (int64_t)getpid();
    params.ppid = (int64_t)getppid();
    if (gcm_capture_start_ticks(params.pid, &ticks) == 0)
        params.process_start_ticks = ticks;
    status = gcm_capture_create_child(&cap, cfg->output, &params, meta, name, name_size);
    if (status == 0) {
        *out = cap.block;
        *out_size = cap.size;
    }
done:
    return status;
}

/* Frees a recorder's block the way it was made. */
static void
block_release(gcm_block *block, size_t size, int mapped)
{
    if (mapped) {
        /* A followed child's exit handler still writes into it. */
        if (!gcm__exit_keeps(block))
            gcm_capture_unmap(block, size);
    } else
        PyMem_RawFree(block);
}

/* Raises the exception for a block_new() failure. */
static void
raise_block_error(int code)
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
    capture_meta(cfg, NULL, meta, GCM_META_SIZE);
    name[0] = '\0';
    Py_BEGIN_ALLOW_THREADS
    rc = child_capture_create(cfg, meta, name, sizeof name, out, out_size);
    err = errno;
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_Format(rc == GCM_EIO ? PyExc_OSError : PyExc_ValueError,
                     "cannot create the capture file '%s': %s",
                     name[0] != '\0' ? name : cfg->output,
                     rc == GCM_EIO ? strerror(err) : gcm_strerror(rc));
        goto done;
    }
    status = 0;
done:
    PyMem_Free(meta);
    return status;
}

static PyObject *
recorder_create(PyTypeObject *type, const gcm_config *cfg, int followed)
{
    gcm__recorder *self = NULL;
    gcm__module_state *st;
    PyObject *result = NULL;
    int rc;

    self = (gcm__recorder *)type->tp_alloc(type, 0);
    if (self == NULL)
        goto done;
    self->config = *cfg;
    /* The report files are opened at exit, when the program may have changed
     * directory (gunicorn --chdir, daemons): they are resolved now, where
     * the user named them.  A path that cannot be made absolute stays as it
     * was, which is no worse. */
    (void)gcm_logfile_absolute(self->config.log_file, sizeof self->config.log_file);
    (void)gcm_logfile_absolute(self->config.flamegraph_file,
                               sizeof self->config.flamegraph_file);
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
        rc = block_new(&self->config, &self->block, &self->block_size);
        if (rc != 0) {
            raise_block_error(rc);
            goto done;
        }
    }
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
    live_lock(st);
    self->prev = NULL;
    self->next = st->live;
    if (st->live != NULL)
        st->live->prev = self;
    st->live = self;
    live_unlock(st);

    result = (PyObject *)self;
    self = NULL;
done:
    Py_XDECREF(self);
    return result;
}

/* Takes the recorder out of the fork hook's list and drops its module
 * reference.  Safe to call twice (tp_clear, then dealloc). */
static void
recorder_unlink(gcm__recorder *self)
{
    gcm__module_state *st;
    PyObject *module = self->module;

    if (module == NULL)
        return;
    st = gcm__state(module);
    live_lock(st);
    if (self->prev != NULL)
        self->prev->next = self->next;
    else if (st->live == self)
        st->live = self->next;
    if (self->next != NULL)
        self->next->prev = self->prev;
    self->prev = NULL;
    self->next = NULL;
    live_unlock(st);
    self->module = NULL;
    Py_DECREF(module);
}

/* ------------------------------------------------------------------ */
/* The report's state machine                                           */
/* ------------------------------------------------------------------ */

/* A recorder's report is written once per process, whichever way out comes
 * first: the bootstrap's end of the program, a signal, an atexit hook, a
 * multiprocessing finalizer or the library's stop_monitoring().  Those ways
 * may interrupt each other (a signal handler runs between any two bytecodes
 * of the main thread) and may race (two threads), so the state lives here,
 * in one atomic word moved by compare-and-swap: no lock that a signal
 * handler could already hold, nothing a fork child could inherit as held.
 *
 *   bits 0-1    GCM__REPORT_IDLE, _BUSY (being written) or _DONE
 *   bits 2-31   the token of the thread writing it (this_thread_token)
 *   bits 32-63  the pid the state belongs to
 *
 * A fork child inherits the word with its parent's pid: a report that was
 * being written there is not the child's, which starts afresh (revive). */
enum { GCM__REPORT_IDLE = 0, GCM__REPORT_BUSY = 1, GCM__REPORT_DONE = 2 };

/* What Recorder.report_begin() tells its caller (python/gc_monitor/monitor.py). */
enum { GCM__TURN_WRITE = 0, GCM__TURN_REENTERED = 1, GCM__TURN_DONE = 2 };

#define GCM__TOKEN_MASK 0x3fffffffu

static uint64_t
report_word(uint32_t pid, uint32_t token, unsigned state)
{
    return ((uint64_t)pid << 32) | ((uint64_t)(token & GCM__TOKEN_MASK) << 2) | state;
}

static unsigned
report_state(uint64_t word)
{
    return (unsigned)(word & 3u);
}

static uint32_t
report_token(uint64_t word)
{
    return (uint32_t)((word >> 2) & GCM__TOKEN_MASK);
}

static uint32_t
report_pid(uint64_t word)
{
    return (uint32_t)(word >> 32);
}

static _Atomic uint32_t thread_tokens = 0;
static _Thread_local uint32_t thread_token = 0;

/* A small number that names this thread in the report word; never 0.  A
 * fork child's only thread keeps its token, but the pid tells it apart. */
static uint32_t
this_thread_token(void)
{
    uint32_t token = thread_token;

    while (token == 0)
        token = (atomic_fetch_add_explicit(&thread_tokens, 1, memory_order_relaxed) + 1u) &
                GCM__TOKEN_MASK;
    thread_token = token;
    return token;
}

/* In a fork child of a process that was writing `r`'s report (another
 * thread forked meanwhile), makes the report the child's again: it records
 * its own collections and will write a report of its own.  The parent had
 * already stopped the recorder, and may have taken its callable out of
 * gc.callbacks: returns 1 when the caller must make sure it is back there. */
static int
report_revive(gcm__recorder *r)
{
    uint32_t pid = (uint32_t)getpid();
    uint64_t word = atomic_load_explicit(&r->report_word, memory_order_acquire);

    if (report_state(word) != GCM__REPORT_BUSY || report_pid(word) == pid)
        return 0;
    if (!atomic_compare_exchange_strong(&r->report_word, &word,
                                        report_word(pid, 0, GCM__REPORT_IDLE)))
        return 0;
    r->stopped = 0;
    return 1;
}

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
            if (child_capture_create(&r->config, meta, name, sizeof name, &fresh, &size) == 0) {
                mapped = 1;
                /* Marked exited by exit(3), like its parent's. */
                (void)gcm__exit_watch_block(fresh);
            }
            PyMem_RawFree(meta);
        }
    }
    if (!mapped) {
        status = block_new(&r->config, &fresh, &size);
        if (status != 0)
            goto done;
    }
    old = r->block;
    old_size = r->block_size;
    r->block = fresh;
    r->block_size = size;
    block_release(old, old_size, r->mapped);
    r->mapped = mapped;
    /* Collections between fork(2) and now really happened in this process,
     * but had no block to go to: they are reported as dropped. */
    for (i = 0; i < r->missed; i++)
        gcm_block_count_dropped_stop(fresh);
    r->missed = 0;
    atomic_store(&r->start_ns, 0);
    if (report_revive(r) && revived != NULL)
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
static int
recorder_own_block(gcm__recorder *self)
{
    int rc = recorder_reattach(self, NULL);

    if (rc != 0) {
        raise_block_error(rc);
        return -1;
    }
    return 0;
}

int
gcm__recorder_own_block(gcm__recorder *self)
{
    return recorder_own_block(self);
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
    size_t revived_count = 0;
    size_t i;
    int failure = 0;
    int status = -1;

    live_lock(st);
    for (r = st->live; r != NULL; r = r->next) {
        int was_revived = 0;
        int rc = recorder_reattach(r, &was_revived);

        if (rc != 0)
            failure = rc;
        if (was_revived && r->callback != NULL && revived_count < GCM__REVIVED_MAX) {
            Py_INCREF(r->callback);
            revived[revived_count++] = r->callback;
        }
    }
    live_unlock(st);
    /* Raised and called only now: creating an exception or touching
     * gc.callbacks may run a collection, and finalizers may free recorders,
     * which takes the lock. */
    for (i = 0; i < revived_count; i++) {
        if (failure == 0 && callback_restore(revived[i]) != 0)
            failure = GCM_ENOMEM;
        Py_DECREF(revived[i]);
    }
    if (failure != 0) {
        if (!PyErr_Occurred())
            raise_block_error(failure);
        goto done;
    }
    status = 0;
done:
    return status;
}

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
    if (options != NULL && config_from_options(cfg, options) != 0)
        goto done;
    result = recorder_create(type, cfg, 0);
done:
    PyMem_Free(cfg);
    return result;
}

/* The two constructors from launcher config text: `method` names the caller
 * in the TypeError, and `followed` says whether the recorder is a followed
 * child's (recorder_create). */
static PyObject *
recorder_from_text(PyObject *cls, PyObject *text, const char *method, int followed)
{
    gcm_config *cfg = NULL;
    PyObject *result = NULL;

    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "%s() argument must be str", method);
        goto done;
    }
    cfg = gcm__config_from_text(text);
    if (cfg == NULL)
        goto done;
    result = recorder_create((PyTypeObject *)cls, cfg, followed);
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
    recorder_unlink(self);
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
        block_release(self->block, self->block_size, self->mapped);
    self->block = NULL;
    type->tp_free(op);
    Py_DECREF(type);
}

/* ------------------------------------------------------------------ */
/* Methods                                                              */
/* ------------------------------------------------------------------ */

/* Takes a consistent snapshot into heap storage (about 80 KB).  Returns NULL
 * with an exception set on failure. */
static gcm_snapshot *
take_snapshot(gcm__recorder *self)
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

static PyObject *
recorder_snapshot(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    cJSON *json = NULL;
    PyObject *result = NULL;

    if (recorder_own_block(self) != 0)
        goto done;
    snap = take_snapshot(self);
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

    self->stopped = 1;
    atomic_store_explicit(&self->epoch, GCM__EPOCH_STOPPED, memory_order_relaxed);
    Py_RETURN_NONE;
}

/* Recorder.report_begin(): claims the report for this thread.  Returns
 * GCM__TURN_WRITE (write it, then call report_end), GCM__TURN_REENTERED (this
 * thread is writing it already: a signal handler or a finalizer interrupted
 * it; do not wait) or GCM__TURN_DONE.  When another thread of this process
 * is writing it, waits until it is done, with the GIL released. */
static PyObject *
recorder_report_begin(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;
    uint32_t pid = (uint32_t)getpid();
    uint32_t me = this_thread_token();
    int turn = -1;

    if (recorder_own_block(self) != 0)
        return NULL;
    while (turn < 0) {
        uint64_t word = atomic_load_explicit(&self->report_word, memory_order_acquire);
        unsigned state = report_state(word);

        if (state == GCM__REPORT_IDLE ||
            (state == GCM__REPORT_BUSY && report_pid(word) != pid)) {
            if (atomic_compare_exchange_strong(&self->report_word, &word,
                                               report_word(pid, me, GCM__REPORT_BUSY)))
                turn = GCM__TURN_WRITE;
        } else if (state == GCM__REPORT_DONE) {
            turn = GCM__TURN_DONE;
        } else if (report_token(word) == me) {
            turn = GCM__TURN_REENTERED;
        } else {
            struct timespec pause = {0, 1000000};

            Py_BEGIN_ALLOW_THREADS
            (void)nanosleep(&pause, NULL);
            Py_END_ALLOW_THREADS
        }
    }
    return PyLong_FromLong(turn);
}

/* Recorder.report_end(): the report claimed by report_begin() is written. */
static PyObject *
recorder_report_end(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    gcm__recorder *self = (gcm__recorder *)op;

    atomic_store_explicit(&self->report_word,
                          report_word((uint32_t)getpid(), this_thread_token(), GCM__REPORT_DONE),
                          memory_order_release);
    Py_RETURN_NONE;
}

static PyObject *
recorder_mark_exited(PyObject *op, PyObject *arg)
{
    gcm__recorder *self = (gcm__recorder *)op;
    long status;
    int32_t recorded;

    /* None: the process ends by os._exit after its finalizers (a
     * multiprocessing fork worker), with a status nothing here can see. */
    if (arg == Py_None) {
        recorded = GCM_EXIT_STATUS_UNKNOWN;
        goto mark;
    }
    status = PyLong_AsLong(arg);
    if (status == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        /* Python itself exits with -1 (255) for a status too large for C. */
        PyErr_Clear();
    }
    recorded = (int32_t)((int)status & 0xff);
mark:
    /* Only a capture file has readers who need telling, and only the
     * process that wrote it may say how it ended. */
    if (self->mapped && self->block->header.pid == (int64_t)getpid())
        gcm_block_set_state(self->block, GCM_STATE_EXITED, recorded, gcm_clock_realtime_ns());
    Py_RETURN_NONE;
}

/* Opens the --log-file for the report: the process that created the
 * recorder appends to the file itself; a fork child creates its own derived
 * file (gc.<pid>.log), so that no process truncates or interleaves with
 * another's report.  Never through a symlink, and private to the user.
 * Returns the descriptor, or -1 when the file cannot be opened. */
static int
open_log_file(const gcm__recorder *self)
{
    int64_t pid = (int64_t)getpid();
    int fd = -1;
    int rc;

    if (pid == self->origin_pid)
        rc = gcm_logfile_open(self->config.log_file, &fd);
    else
        rc = gcm_logfile_open_child(self->config.log_file, pid, &fd, NULL, 0);
    return rc == 0 ? fd : -1;
}

/* Starts a fork child's text report with a line that says whose it is:
 * several processes' reports may share stderr, and the text format, unlike
 * JSON, names no pid.  A failed write is ignored, like the report's own. */
static void
write_child_label(const gcm__recorder *self, const gcm_snapshot *snap, int fd)
{
    char line[96];
        int len;

    if (self->config.json || (int64_t)getpid() == self->origin_pid)
        return;
    len = snprintf(line, sizeof line, "GMEM Report of pid %lld (%s pid %lld)\n",
                   (long long)snap->pid,
                   snap->pid == self->followed_pid ? "started by" : "forked from",
                   (long long)snap->ppid);
    if (len <= 0 || (size_t)len >= sizeof line)
        return;
    (void)gcm__write_all(fd, line, (size_t)len);
}

static PyObject *
recorder_write_report(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"fd", NULL};
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    gcm_event *events = NULL;
    gcm_report_input in;
    size_t count = 0;
    uint64_t first = 0;
    uint64_t capacity;
    gcm__exit_facts facts;
    int fd = -1;
    int opened = -1;
    int rc = GCM_EIO;
    PyObject *result = NULL;

    memset(&facts, 0, sizeof facts);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i:write_report", kwlist, &fd))
        goto done;
    if (recorder_own_block(self) != 0)
        goto done;
    /* A followed interpreter's stderr may be a pipe its parent reads
     * (subprocess.run(capture_output=True), check_output): with -o its
     * figures are in its capture, so nothing is written there. */
    if (fd < 0 && self->followed_pid != 0 && self->config.log_file[0] == '\0' &&
        self->config.output[0] != '\0') {
        Py_INCREF(Py_True);
        result = Py_True;
        goto done;
    }
    snap = take_snapshot(self);
    if (snap == NULL)
        goto done;
    capacity = self->block->header.capacity;
    events = PyMem_RawMalloc((size_t)capacity * sizeof *events);
    if (events == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    (void)gcm_block_copy_events(self->block, events, (size_t)capacity, &count, &first);

    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = &self->config;
    in.python_version = gcm__python_version();
#ifdef Py_GIL_DISABLED
    in.free_threaded = 1;
#endif
    /* The interpreter's facts (thresholds, and the object census or
     * gc.garbage when asked for) are read now, with the GIL, and copied, so
     * that rendering can run without it.  Gathering never raises. */
    gcm__exit_facts_gather(&facts, &self->config);
    gcm__exit_facts_apply(&facts, &in);

    if (fd < 0) {
        if (self->config.log_file[0] != '\0') {
            opened = open_log_file(self);
            fd = opened;
        } else if (self->stderr_was_open) {
            fd = 2;
        }
    }
    /* A report that cannot be written (closed stderr, unwritable log file)
     * is given up silently: the program's own outcome matters more. */
    if (fd >= 0) {
        Py_BEGIN_ALLOW_THREADS
        write_child_label(self, snap, fd);
        rc = gcm_report_render_fd(&in, fd);
        Py_END_ALLOW_THREADS
    }
    /* The flame graph file is an output of its own: written whether or not
     * the report found somewhere to go. */
    gcm__write_flamegraph_file(self, &in);
    result = PyBool_FromLong(rc == 0);
done:
    gcm__exit_facts_release(&facts);
    if (opened >= 0)
        (void)close(opened);
    PyMem_RawFree(events);
    PyMem_Free(snap);
    return result;
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
    result = PyUnicode_FromStringAndSize(buf, (Py_ssize_t)needed);
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

static PyMethodDef recorder_methods[] = {
    {"from_config_text", recorder_from_config_text, METH_O | METH_CLASS,
     "from_config_text(text)\n--\n\nCreates a recorder from PYGCPROFILER_CONFIG text."},
    {"for_followed_child", recorder_for_followed_child, METH_O | METH_CLASS,
     "for_followed_child(text)\n--\n\nCreates the recorder of an interpreter that "
     "--follow-children reached: its capture is FILE.<pid> (or FILE.<pid>.<n>) and its "
     "report goes where a fork child's would."},
    {"snapshot", recorder_snapshot, METH_NOARGS,
     "snapshot()\n--\n\nReturns the JSON summary's figures as a dict."},
    {"stop", recorder_stop, METH_NOARGS,
     "stop()\n--\n\nStops recording for good; the callable then ignores every call."},
    {"report_begin", recorder_report_begin, METH_NOARGS,
     "report_begin()\n--\n\nClaims this process's report for the calling thread: 0 to write it "
     "(then call report_end()), 1 when this thread is already writing it, 2 when it is written. "
     "Waits while another thread writes it."},
    {"report_end", recorder_report_end, METH_NOARGS,
     "report_end()\n--\n\nSays the report claimed by report_begin() is written."},
    {"mark_exited", recorder_mark_exited, METH_O,
     "mark_exited(status)\n--\n\nRecords in the capture file (-o) that the program exited "
     "with `status`, or None when it ends by os._exit with a status unknown here; does "
     "nothing without one."},
    {"write_report", (PyCFunction)(void (*)(void))recorder_write_report,
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

static PyGetSetDef recorder_getset[] = {
    {"log_file", recorder_get_log_file, NULL, "The --log-file the report goes to, or None.",
     NULL},
    {"callback", recorder_get_callback, NULL, "The C callable to append to gc.callbacks.", NULL},
    {"config_text", recorder_get_config_text, NULL,
     "The configuration as PYGCPROFILER_CONFIG text.", NULL},
    {"dump_garbage", recorder_get_dump_garbage, NULL, "Whether dump_garbage was asked for.",
     NULL},
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
