/* src/ext/dump.c: the interpreter's facts for the report, read at exit.
 *
 * Everything here runs once, when the report is written, never on the
 * recording path.  The census counts every object gc.get_objects() returns
 * (all of them, not a sample) in a hash table keyed by type, and names
 * each type once at the end; gc.garbage is copied to a list first, so that
 * repr() code cannot change what is being walked.  Failures are never
 * raised: the report is the program's last act, and it must not turn a clean
 * exit into a traceback.  No gc.collect() is ever called.
 */
#include "dump.h"

#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Types with a count, keyed by the type object's address. */
typedef struct type_slot {
    PyTypeObject *type;
    uint64_t count;
} type_slot;

typedef struct type_table {
    type_slot *slots;
    size_t cap; /* a power of two */
    size_t used;
} type_table;

static size_t
slot_index(const PyTypeObject *tp, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)tp;

    /* Type objects are aligned, so mix the high bits into the low ones. */
    h ^= h >> 29;
    h *= UINT64_C(0x9E3779B97F4A7C15);
    h ^= h >> 32;
    return (size_t)h & (cap - 1);
}

static void
table_put(type_slot *slots, size_t cap, PyTypeObject *tp, uint64_t count)
{
    size_t i = slot_index(tp, cap);

    while (slots[i].type != NULL && slots[i].type != tp)
        i = (i + 1) & (cap - 1);
    slots[i].type = tp;
    slots[i].count += count;
}

/* Counts one object of type `tp`.  Returns 0 or -1 when memory runs out. */
static int
table_add(type_table *t, PyTypeObject *tp)
{
    size_t i;

    if ((t->used + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        type_slot *grown = PyMem_RawCalloc(cap, sizeof *grown);
        if (grown == NULL)
            return -1;
        for (i = 0; i < t->cap; i++) {
            if (t->slots[i].type != NULL)
                table_put(grown, cap, t->slots[i].type, t->slots[i].count);
        }
        PyMem_RawFree(t->slots);
        t->slots = grown;
        t->cap = cap;
    }
    i = slot_index(tp, t->cap);
    while (t->slots[i].type != NULL && t->slots[i].type != tp)
        i = (i + 1) & (t->cap - 1);
    if (t->slots[i].type == NULL) {
        t->slots[i].type = tp;
        t->used++;
    }
    t->slots[i].count++;
    return 0;
}

static char *
raw_strndup(const char *s, size_t n)
{
    char *copy = PyMem_RawMalloc(n + 1);

    if (copy != NULL) {
        memcpy(copy, s, n);
        copy[n] = '\0';
    }
    return copy;
}

/* Copies `text` (a str) as UTF-8, with lone surrogates written as escapes
 * rather than failing.  Returns NULL (exception cleared) on failure. */
static char *
utf8_copy(PyObject *text)
{
    PyObject *bytes = PyUnicode_AsEncodedString(text, "utf-8", "backslashreplace");
    char *copy = NULL;

    if (bytes == NULL) {
        PyErr_Clear();
        return NULL;
    }
    copy = raw_strndup(PyBytes_AS_STRING(bytes), (size_t)PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return copy;
}

/* A readable name for `tp`: "module.Qualname" for classes defined in Python
 * (whose tp_name is the bare class name, ambiguous across modules), tp_name
 * for the built-in and C types (already "module.Name" where it matters). */
static char *
type_name(PyTypeObject *tp)
{
    PyObject *module = NULL, *qualname = NULL, *full = NULL;
    char *name = NULL;

    if (PyType_GetFlags(tp) & Py_TPFLAGS_HEAPTYPE) {
        module = PyObject_GetAttrString((PyObject *)tp, "__module__");
        qualname = PyObject_GetAttrString((PyObject *)tp, "__qualname__");
        if (module != NULL && qualname != NULL && PyUnicode_Check(module) &&
            PyUnicode_Check(qualname)) {
            if (PyUnicode_CompareWithASCIIString(module, "builtins") == 0) {
                full = qualname;
                Py_INCREF(full);
            } else {
                full = PyUnicode_FromFormat("%U.%U", module, qualname);
            }
        }
        PyErr_Clear();
        if (full != NULL)
            name = utf8_copy(full);
    }
    if (name == NULL)
        name = raw_strndup(tp->tp_name, strlen(tp->tp_name));
    Py_XDECREF(full);
    Py_XDECREF(module);
    Py_XDECREF(qualname);
    return name;
}

/* Counts the items of `list` by type into `c`.  The caller keeps `list`
 * alive until the names are copied, which keeps every type alive too. */
static int
census_of(PyObject *list, gcm__census *c)
{
    type_table t = {NULL, 0, 0};
    Py_ssize_t i, n = PyList_GET_SIZE(list);
    size_t j;
    int status = -1;

    for (i = 0; i < n; i++) {
        if (table_add(&t, Py_TYPE(PyList_GET_ITEM(list, i))) != 0)
            goto done;
    }
    c->types = PyMem_RawCalloc(t.used ? t.used : 1, sizeof *c->types);
    if (c->types == NULL)
        goto done;
    c->cap = t.used;
    for (j = 0; j < t.cap; j++) {
        char *name;
        if (t.slots[j].type == NULL)
            continue;
        name = type_name(t.slots[j].type);
        if (name == NULL)
            goto done;
        c->types[c->count].name = name;
        c->types[c->count].count = t.slots[j].count;
        c->count++;
    }
    c->total = (uint64_t)n;
    c->gathered = 1;
    status = 0;
done:
    PyMem_RawFree(t.slots);
    return status;
}

static void
census_release(gcm__census *c)
{
    size_t i;

    for (i = 0; i < c->count; i++)
        PyMem_RawFree((void *)c->types[i].name);
    PyMem_RawFree(c->types);
    memset(c, 0, sizeof *c);
}

/* os._exit() while the garbage's repr()s run: a repr() that calls it would
 * end the process with its own status and no report, so for that time
 * os._exit and posix._exit name a stand-in that raises SystemExit (which
 * the repr() then fails with) instead.  A reference the program took
 * earlier (`from os import _exit`) still exits: only the module attributes
 * are swapped.  The guard outlives the swap in case a repr() kept the
 * stand-in: disarmed, it calls the real function. */
#define GCM__EXIT_GUARD "gc_monitor._core.exit_guard"

typedef struct exit_guard {
    int armed;
    int called;     /* a repr() called os._exit since the last look */
    PyObject *real; /* the real posix._exit (strong) */
} exit_guard;

static void
exit_guard_free(PyObject *capsule)
{
    exit_guard *g = PyCapsule_GetPointer(capsule, GCM__EXIT_GUARD);

    if (g != NULL) {
        Py_XDECREF(g->real);
        PyMem_RawFree(g);
    }
}

static PyObject *
exit_stand_in(PyObject *capsule, PyObject *const *args, Py_ssize_t nargs)
{
    exit_guard *g = PyCapsule_GetPointer(capsule, GCM__EXIT_GUARD);

    if (g == NULL)
        return NULL;
    if (!g->armed)
        return PyObject_Vectorcall(g->real, args, (size_t)nargs, NULL);
    g->called = 1;
    PyErr_SetString(PyExc_SystemExit, "os._exit() is refused while pygcprofiler shows gc.garbage");
    return NULL;
}

static PyMethodDef exit_stand_in_def = {
    "_exit",
    (PyCFunction)(void (*)(void))exit_stand_in,
    METH_FASTCALL,
    "os._exit(), refused while pygcprofiler renders gc.garbage's repr()s.",
};

/* Puts `value` as `_exit` in the modules os and posix, when loaded. */
static void
set_exit_attr(PyObject *value)
{
    static const char *const names[] = {"posix", "os"};
    PyObject *modules = PyImport_GetModuleDict(); /* borrowed */
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        PyObject *mod = PyDict_GetItemString(modules, names[i]); /* borrowed */

        if (mod != NULL && PyObject_SetAttrString(mod, "_exit", value) != 0)
            PyErr_Clear();
    }
}

/* Arms the guard: returns its capsule (the caller disarms it), or NULL. */
static PyObject *
exit_guard_arm(void)
{
    PyObject *posix = PyImport_ImportModule("posix");
    PyObject *capsule = NULL;
    PyObject *stand_in = NULL;
    exit_guard *g = NULL;

    if (posix == NULL)
        goto done;
    g = PyMem_RawCalloc(1, sizeof *g);
    if (g == NULL)
        goto done;
    g->real = PyObject_GetAttrString(posix, "_exit");
    if (g->real == NULL)
        goto done;
    capsule = PyCapsule_New(g, GCM__EXIT_GUARD, exit_guard_free);
    if (capsule == NULL)
        goto done;
    g = NULL; /* the capsule's now */
    stand_in = PyCFunction_NewEx(&exit_stand_in_def, capsule, NULL);
    if (stand_in == NULL) {
        Py_CLEAR(capsule);
        goto done;
    }
    ((exit_guard *)PyCapsule_GetPointer(capsule, GCM__EXIT_GUARD))->armed = 1;
    set_exit_attr(stand_in);
done:
    if (g != NULL) {
        Py_XDECREF(g->real);
        PyMem_RawFree(g);
    }
    Py_XDECREF(stand_in);
    Py_XDECREF(posix);
    PyErr_Clear();
    return capsule;
}

/* Puts the real os._exit back and disarms the guard. */
static void
exit_guard_disarm(PyObject *capsule)
{
    exit_guard *g;

    if (capsule == NULL)
        return;
    g = PyCapsule_GetPointer(capsule, GCM__EXIT_GUARD);
    if (g != NULL) {
        g->armed = 0;
        set_exit_attr(g->real);
    }
    PyErr_Clear();
    Py_DECREF(capsule);
}

/* Returns whether a repr() called the guarded os._exit since the last call. */
static int
exit_guard_called(PyObject *capsule)
{
    exit_guard *g = capsule != NULL ? PyCapsule_GetPointer(capsule, GCM__EXIT_GUARD) : NULL;
    int called = g != NULL && g->called;

    if (g != NULL)
        g->called = 0;
    return called;
}

/* repr(item) cut to GCM_REPR_MAX characters; "<repr() failed: E>" when it
 * raises, "<repr() failed: it called os._exit()>" when it tried to end the
 * process (`guard`).  Returns NULL only when memory runs out. */
static char *
guarded_repr(PyObject *item, PyObject *guard)
{
    PyObject *repr = PyObject_Repr(item);
    PyObject *cut = NULL;
    char *text = NULL;
    char buf[160];

    if (exit_guard_called(guard)) {
        Py_XDECREF(repr);
        PyErr_Clear();
        (void)PyOS_snprintf(buf, sizeof buf, "<repr() failed: it called os._exit()>");
        return raw_strndup(buf, strlen(buf));
    }
    if (repr == NULL) {
        PyObject *type = PyErr_Occurred();
        (void)PyOS_snprintf(buf, sizeof buf, "<repr() failed: %s>",
                            type != NULL ? ((PyTypeObject *)type)->tp_name : "?");
        PyErr_Clear();
        return raw_strndup(buf, strlen(buf));
    }
    if (PyUnicode_GET_LENGTH(repr) > GCM_REPR_MAX)
        cut = PyUnicode_Substring(repr, 0, GCM_REPR_MAX);
    else {
        Py_INCREF(repr);
        cut = repr;
    }
    if (cut != NULL)
        text = utf8_copy(cut);
    PyErr_Clear();
    Py_XDECREF(cut);
    Py_DECREF(repr);
    return text;
}

static void
gather_gc_state(gcm__exit_facts *facts, PyObject *gc, uint64_t freeze_baseline)
{
    PyObject *thresholds = PyObject_CallMethod(gc, "get_threshold", NULL);
    PyObject *frozen = NULL;
    int g;

    if (thresholds != NULL && PyTuple_Check(thresholds) &&
        PyTuple_GET_SIZE(thresholds) >= GCM_GENERATIONS) {
        for (g = 0; g < GCM_GENERATIONS; g++)
            facts->threshold[g] = (int64_t)PyLong_AsLongLong(PyTuple_GET_ITEM(thresholds, g));
        facts->have_gc_state = PyErr_Occurred() == NULL;
    }
    PyErr_Clear();
    if (!facts->world_unsafe)
        frozen = PyObject_CallMethod(gc, "get_freeze_count", NULL);
    if (frozen != NULL) {
        uint64_t now = (uint64_t)PyLong_AsUnsignedLongLong(frozen);

        facts->have_freeze_count = PyErr_Occurred() == NULL;
        facts->freeze_count = now;
        facts->freeze_at_start = freeze_baseline;
    }
    PyErr_Clear();
    Py_XDECREF(thresholds);
    Py_XDECREF(frozen);
}

/* The process's peak resident set so far, the memory side of the threshold
 * advice: Linux and the BSDs count ru_maxrss in KiB, macOS in bytes. */
static void
gather_peak_rss(gcm__exit_facts *facts)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0 || ru.ru_maxrss <= 0)
        return;
#ifdef __APPLE__
    facts->peak_rss_bytes = (uint64_t)ru.ru_maxrss;
#else
    facts->peak_rss_bytes = (uint64_t)ru.ru_maxrss * 1024u;
#endif
    facts->have_peak_rss = 1;
}

static void
gather_objects(gcm__exit_facts *facts, PyObject *gc)
{
    PyObject *objects = PyObject_CallMethod(gc, "get_objects", NULL);

    if (objects != NULL && PyList_Check(objects) && census_of(objects, &facts->objects) != 0)
        census_release(&facts->objects);
    PyErr_Clear();
    Py_XDECREF(objects);
}

static void
gather_garbage(gcm__exit_facts *facts, PyObject *gc)
{
    PyObject *garbage = PyObject_GetAttrString(gc, "garbage");
    PyObject *copy = NULL;
    PyObject *guard;
    Py_ssize_t i;

    if (garbage == NULL)
        goto done;
    copy = PySequence_List(garbage);
    if (copy == NULL)
        goto done;
    if (census_of(copy, &facts->garbage) != 0) {
        census_release(&facts->garbage);
        goto done;
    }
    guard = exit_guard_arm();
    for (i = 0; i < PyList_GET_SIZE(copy) && facts->repr_count < GCM_GARBAGE_REPRS; i++) {
        PyObject *item = PyList_GET_ITEM(copy, i);
        gcm_garbage_repr *r = &facts->reprs[facts->repr_count];
        r->type_name = type_name(Py_TYPE(item));
        r->text = guarded_repr(item, guard);
        facts->repr_count++;
        if (r->type_name == NULL || r->text == NULL)
            break;
    }
    exit_guard_disarm(guard);
done:
    PyErr_Clear();
    Py_XDECREF(copy);
    Py_XDECREF(garbage);
}

uint64_t
gcm__freeze_count_now(void)
{
    PyObject *gc = PyImport_ImportModule("gc");
    PyObject *frozen = gc != NULL ? PyObject_CallMethod(gc, "get_freeze_count", NULL) : NULL;
    uint64_t count = frozen != NULL ? (uint64_t)PyLong_AsUnsignedLongLong(frozen) : 0;

    if (PyErr_Occurred()) {
        PyErr_Clear();
        count = 0;
    }
    Py_XDECREF(frozen);
    Py_XDECREF(gc);
    return count;
}

void
gcm__exit_facts_gather(gcm__exit_facts *facts, const gcm_config *config, uint64_t freeze_baseline)
{
    PyObject *gc;

    memset(facts, 0, sizeof *facts);
#ifdef Py_GIL_DISABLED
    /* gc.get_freeze_count() and gc.get_objects() stop the world on a
     * free-threaded build.  A fork child may have inherited the
     * stop-the-world state of a parent thread that was starting a
     * collection at the fork, and would wait for it forever: so a process
     * that was forked (the epoch counts forks since the last exec) skips
     * them, and the report says so. */
    facts->world_unsafe = atomic_load_explicit(&gcm__fork_epoch, memory_order_relaxed) != 0;
#endif
    gather_peak_rss(facts);
    gc = PyImport_ImportModule("gc");
    if (gc == NULL) {
        PyErr_Clear();
        return;
    }
    gather_gc_state(facts, gc, freeze_baseline);
    if (config->dump_objects && !facts->world_unsafe)
        gather_objects(facts, gc);
    if (config->dump_garbage)
        gather_garbage(facts, gc);
    Py_DECREF(gc);
}

void
gcm__exit_facts_apply(const gcm__exit_facts *facts, gcm_report_input *in)
{
    int g;

    in->python_build = Py_GetVersion();
    in->have_gc_state = facts->have_gc_state;
    for (g = 0; g < GCM_GENERATIONS; g++)
        in->gc_threshold[g] = facts->threshold[g];
    in->have_freeze_count = facts->have_freeze_count;
    in->freeze_count = facts->freeze_count;
    in->freeze_at_start = facts->freeze_at_start;
    in->have_peak_rss = facts->have_peak_rss;
    in->peak_rss_bytes = facts->peak_rss_bytes;
    in->world_unsafe = facts->world_unsafe;
    in->objects.gathered = facts->objects.gathered;
    in->objects.types = facts->objects.types;
    in->objects.type_count = facts->objects.count;
    in->objects.total = facts->objects.total;
    in->garbage.gathered = facts->garbage.gathered;
    in->garbage.types = facts->garbage.types;
    in->garbage.type_count = facts->garbage.count;
    in->garbage.total = facts->garbage.total;
    in->garbage_reprs = facts->reprs;
    in->garbage_repr_count = facts->repr_count;
}

void
gcm__exit_facts_release(gcm__exit_facts *facts)
{
    size_t i;

    census_release(&facts->objects);
    census_release(&facts->garbage);
    for (i = 0; i < facts->repr_count; i++) {
        PyMem_RawFree((void *)facts->reprs[i].type_name);
        PyMem_RawFree((void *)facts->reprs[i].text);
    }
    facts->repr_count = 0;
}

void
gcm__write_flamegraph_file(const gcm__recorder *self, const gcm_report_input *in)
{
    int child;

    if (self->config.flamegraph_file[0] == '\0')
        return;
    child = (int64_t)getpid() != self->origin_pid;
    Py_BEGIN_ALLOW_THREADS if (child)(void) gcm_report_write_flamegraph_child(in);
    else(void) gcm_report_write_flamegraph(in);
    Py_END_ALLOW_THREADS
}

void
gcm__write_html_file(const gcm__recorder *self, const gcm_report_input *in)
{
    /* A fork child or a followed interpreter never replaces the page of the
     * process that started monitoring: one page, one process (for now). */
    if (self->config.html_file[0] == '\0' || self->followed_pid != 0 ||
        (int64_t)getpid() != self->origin_pid)
        return;
    Py_BEGIN_ALLOW_THREADS(void) gcm_report_write_html(in);
    Py_END_ALLOW_THREADS
}

void
gcm__write_speedscope_file(const gcm__recorder *self, const gcm_report_input *in)
{
    /* One file, the starting process's, as for the HTML page: the profiles
     * of a whole tree come from its captures (`report --format speedscope`). */
    if (self->config.speedscope_file[0] == '\0' || self->followed_pid != 0 ||
        (int64_t)getpid() != self->origin_pid)
        return;
    Py_BEGIN_ALLOW_THREADS(void) gcm_report_write_speedscope(in);
    Py_END_ALLOW_THREADS
}

void
gcm__write_stacks_file(const gcm__recorder *self, const gcm_report_input *in)
{
    /* The starting process's table only, as for the speedscope file: a fork
     * child or a followed interpreter has a table of its own, shown in its
     * own report, but never replaces this file. */
    if (self->config.stacks_file[0] == '\0' || self->followed_pid != 0 ||
        (int64_t)getpid() != self->origin_pid)
        return;
    Py_BEGIN_ALLOW_THREADS(void) gcm_report_write_stacks(in);
    Py_END_ALLOW_THREADS
}
