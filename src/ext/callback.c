/* src/ext/callback.c: the recording path, the C callable that sits in gc.callbacks.
 *
 * CPython calls it twice per collection, with ("start", info) and ("stop",
 * info).  It must not change what it observes: it allocates nothing, takes no
 * lock, does no I/O, never raises and never leaves an exception set.  What it
 * cannot use is counted in the block and surfaces in the report.  CPython
 * itself builds the info dict (and, in some versions, the phase string) for every
 * callback; "zero allocation" covers only what this file does.
 */
#include "ext.h"

#include <math.h>
#include <string.h>

/* Which keys of the info dict were present. */
#define SEEN_GENERATION 0x1u
#define SEEN_COLLECTED 0x2u
#define SEEN_UNCOLLECTABLE 0x4u

/* The characters of a str already known to be compact ASCII.  They follow
 * the PyASCIIObject header, which is where PyUnicode_DATA finds them too;
 * that macro tests for ASCII again to choose between two layouts, a branch
 * paid for every key and phase. */
static inline const char *
ascii_chars(PyObject *s)
{
    return (const char *)((PyASCIIObject *)s + 1);
}

/* Returns 1 when `s` is the compact ASCII str of exactly `lit` (length `n`). */
static inline int
ascii_equals(PyObject *s, const char *lit, Py_ssize_t n)
{
    return PyUnicode_IS_COMPACT_ASCII(s) && PyUnicode_GET_LENGTH(s) == n &&
           memcmp(ascii_chars(s), lit, (size_t)n) == 0;
}

/* Reads a non-negative int without allocating or raising.  Returns 0 and sets
 * *out, or -1 for anything else (the caller counts it). */
static inline int
read_count(PyObject *v, uint64_t *out)
{
    int overflow;
    long long x;

    if (!PyLong_Check(v))
        return -1;
#if PY_VERSION_HEX >= 0x030C0000
    /* The counts CPython passes are small ints, which 3.12+ store "compact"
     * (one digit, sign in the tag): reading one inline is a few instructions
     * where the call below costs about 23. */
    if (PyUnstable_Long_IsCompact((PyLongObject *)v)) {
        Py_ssize_t c = PyUnstable_Long_CompactValue((PyLongObject *)v);

        if (c < 0)
            return -1;
        *out = (uint64_t)c;
        return 0;
    }
#endif
    overflow = 0;
    x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow != 0 || x < 0) {
        /* -1 with no overflow may also mean an error was set; never keep one. */
        if (x == -1 && PyErr_Occurred())
            PyErr_Clear();
        return -1;
    }
    *out = (uint64_t)x;
    return 0;
}

/* Reads 3.15's native `duration` (a float in seconds) as nanoseconds.  The only
 * floating point on the recording path, and only where CPython provides it. */
static inline int
read_duration(PyObject *v, uint64_t *out)
{
    double d;

    if (!PyFloat_Check(v))
        return -1;
    d = PyFloat_AS_DOUBLE(v);
    /* 9e9 s is about 285 years, so the nanoseconds fit a signed 64-bit int,
     * whose conversion from double is one instruction (an unsigned one is a
     * compare and two paths). */
    if (!isfinite(d) || d < 0.0 || d > 9e9)
        return -1;
    *out = (uint64_t)(int64_t)(d * 1e9 + 0.5);
    return 0;
}

/* The rare path, out of line: a stopped recorder ignores everything, and a
 * detached one (in a fork child, before the Python-level hook gave it a new
 * block) only counts the collections it misses.  It never touches the block,
 * which still holds the parent's events. */
static GCM__NOINLINE PyObject *
callback_detached(gcm__recorder *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* The epoch, not `stopped`: stop() may run on another thread meanwhile. */
    if (atomic_load_explicit(&self->epoch, memory_order_relaxed) == GCM__EPOCH_STOPPED)
        Py_RETURN_NONE;
    if (nargs >= 1 && PyUnicode_Check(args[0]) && ascii_equals(args[0], "stop", 4))
        self->missed++;
    Py_RETURN_NONE;
}

/* Reading the info dict in place.
 *
 * PyDict_Next is a call of about 47 instructions per entry (3.15), a third
 * of the callback's cost on 3.15's five keys.  From CPython 3.11 on, a dict
 * whose keys are all strs and whose table is combined keeps its entries as
 * (key, value) pairs right after its index table, in insertion order; the
 * head of that keys object (CPython's internal struct _dictkeysobject) is
 * mirrored below.  The mirror is never trusted blindly: each recorder first
 * builds dicts exactly as the collector builds its info dicts and reads them
 * both ways (gcm__info_in_place_works), and uses the in-place read only if
 * every key and value agreed; each call then checks that the dict is still
 * of that kind, with no deleted entries, and checks every key as before.
 * Anything else takes PyDict_Next. */
#if PY_VERSION_HEX >= 0x030B0000
typedef struct dict_keys_head {
    Py_ssize_t dk_refcnt;
    uint8_t dk_log2_size;
    uint8_t dk_log2_index_bytes;
    uint8_t dk_kind;
#ifdef Py_GIL_DISABLED
    PyMutex dk_mutex;
#endif
    uint32_t dk_version;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} dict_keys_head;

/* CPython's DICT_KEYS_UNICODE: every key a str, entries without hashes. */
#define DICT_KEYS_UNICODE 1
#endif

typedef struct dict_entry {
    PyObject *key;
    PyObject *value;
} dict_entry;

/* The entries of `info` (`size` of them, none deleted) read in place, or
 * NULL when they must be read with PyDict_Next. */
static inline const dict_entry *
entries_in_place(int in_place, PyObject *info, Py_ssize_t size)
{
#if PY_VERSION_HEX >= 0x030B0000
    const PyDictObject *d = (const PyDictObject *)info;
    const dict_keys_head *k;

    if (!in_place || d->ma_values != NULL)
        return NULL;
    k = (const dict_keys_head *)(const void *)d->ma_keys;
    if (k->dk_kind != DICT_KEYS_UNICODE || k->dk_nentries != size)
        return NULL;
    return (const dict_entry *)(const void *)(k->dk_indices +
                                              ((size_t)1 << k->dk_log2_index_bytes));
#else
    (void)in_place;
    (void)info;
    (void)size;
    return NULL;
#endif
}

/* The next entry of `info`: from `entries` when read in place, else from
 * PyDict_Next.  Returns 1 with *key and *value borrowed, or 0 at the end. */
static inline int
next_entry(PyObject *info, const dict_entry *entries, Py_ssize_t *pos, PyObject **key,
           PyObject **value)
{
    if (entries != NULL) {
        *key = entries[*pos].key;
        *value = entries[*pos].value;
        (*pos)++;
        return 1;
    }
    return PyDict_Next(info, pos, key, value);
}

int
gcm__info_in_place_works(void)
{
#if PY_VERSION_HEX >= 0x030B0000
    /* The collector's own formats: three keys, and 3.15's five. */
    PyObject *dicts[2] = {NULL, NULL};
    int works = 1;

    dicts[0] = Py_BuildValue("{sisnsn}", "generation", 2, "collected", (Py_ssize_t)300,
                             "uncollectable", (Py_ssize_t)4000);
    dicts[1] =
        Py_BuildValue("{sisnsnsnsd}", "generation", 1, "collected", (Py_ssize_t)5, "uncollectable",
                      (Py_ssize_t)60, "candidates", (Py_ssize_t)700, "duration", 0.25);
    for (int d = 0; d < 2 && works; d++) {
        const dict_entry *entries;
        Py_ssize_t size;
        Py_ssize_t pos = 0;
        PyObject *key;
        PyObject *value;

        if (dicts[d] == NULL || !PyDict_CheckExact(dicts[d])) {
            works = 0;
            break;
        }
        size = PyDict_GET_SIZE(dicts[d]);
        entries = entries_in_place(1, dicts[d], size);
        if (entries == NULL) {
            works = 0;
            break;
        }
        for (Py_ssize_t i = 0; i < size; i++)
            if (!PyDict_Next(dicts[d], &pos, &key, &value) || entries[i].key != key ||
                entries[i].value != value)
                works = 0;
    }
    PyErr_Clear();
    Py_XDECREF(dicts[0]);
    Py_XDECREF(dicts[1]);
    return works;
#else
    return 0;
#endif
}

/* Reads the next entry of `info` as the count named `name` (length `n`).
 * Returns 0 and sets *out, or -1 if there is no next entry, its key is not
 * `name` or its value is not a usable count. */
static inline int
next_count(PyObject *info, const dict_entry *entries, Py_ssize_t *pos, const char *name,
           Py_ssize_t n, uint64_t *out)
{
    PyObject *key;
    PyObject *value;

    if (!next_entry(info, entries, pos, &key, &value))
        return -1;
    if (!PyUnicode_Check(key) || !ascii_equals(key, name, n))
        return -1;
    return read_count(value, out);
}

/* Reads the next entry of `info` as 3.15's `duration`.  Returns 0 and sets
 * *out, or -1 as next_count does. */
static inline int
next_duration(PyObject *info, const dict_entry *entries, Py_ssize_t *pos, uint64_t *out)
{
    PyObject *key;
    PyObject *value;

    if (!next_entry(info, entries, pos, &key, &value))
        return -1;
    if (!PyUnicode_Check(key) || !ascii_equals(key, "duration", 8))
        return -1;
    return read_duration(value, out);
}

/* Reads the info dict as CPython builds it, entry by entry against the key
 * expected there: 3.9 to 3.14 pass `generation`, `collected` and
 * `uncollectable`, in that order (dicts keep insertion order), and 3.15
 * adds `candidates` and `duration` after them.  No dispatch and no
 * bookkeeping of which keys were seen: about a third of the general path's
 * parsing cost.  Returns 0 with ev and *generation set, or -1 for anything
 * else; 3.15's two figures are kept aside until all five are read, so a
 * failure leaves ev as the general path expects to find it. */
static inline int
parse_info_in_order(int in_place, PyObject *info, gcm_event *ev, uint64_t *generation)
{
    Py_ssize_t size = PyDict_GET_SIZE(info);
    Py_ssize_t pos = 0;
    const dict_entry *entries;
    uint64_t candidates;
    uint64_t duration;

    if (size != 3 && size != 5)
        return -1;
    entries = entries_in_place(in_place, info, size);
    if (next_count(info, entries, &pos, "generation", 10, generation) != 0 ||
        next_count(info, entries, &pos, "collected", 9, &ev->collected) != 0 ||
        next_count(info, entries, &pos, "uncollectable", 13, &ev->uncollectable) != 0)
        return -1;
    if (size == 3)
        return 0;
    if (next_count(info, entries, &pos, "candidates", 10, &candidates) != 0 ||
        next_duration(info, entries, &pos, &duration) != 0)
        return -1;
    ev->candidates = candidates;
    ev->duration_ns = duration;
    ev->flags = GCM_EVENT_HAS_CANDIDATES | GCM_EVENT_NATIVE_DURATION;
    return 0;
}

/* Reads the info dict whatever its keys and their order (a dict that is
 * not CPython's, or a later CPython's with more keys).  Returns 0
 * with ev's counts and *generation set, or -1 if any of the three counts is
 * missing or unusable. */
static GCM__NOINLINE int
parse_info(PyObject *info, gcm_event *ev, uint64_t *generation)
{
    PyObject *key;
    PyObject *value;
    Py_ssize_t pos = 0;
    Py_ssize_t left;
    unsigned seen = 0;

    /* PyDict_Next borrows keys and values: no reference counting, no
     * allocation.  Nothing can change the dict while we hold the GIL (or, on
     * free-threaded builds, while it is CPython's private argument), so its
     * size says how many entries remain: leaving the loop after the last one
     * saves the call that would only scan to the end. */
    left = PyDict_GET_SIZE(info);
    while (left > 0 && PyDict_Next(info, &pos, &key, &value)) {
        const char *k;

        left--;
        if (!PyUnicode_Check(key) || !PyUnicode_IS_COMPACT_ASCII(key))
            continue;
        k = ascii_chars(key);
        /* The length tells the keys apart (but for the two of ten characters),
         * so each key costs one switch and one memcmp of a known size, which
         * the compiler turns into a couple of wide compares. */
        switch (PyUnicode_GET_LENGTH(key)) {
        case 10:
            if (memcmp(k, "generation", 10) == 0) {
                if (read_count(value, generation) != 0)
                    return -1;
                seen |= SEEN_GENERATION;
            } else if (memcmp(k, "candidates", 10) == 0) {
                if (read_count(value, &ev->candidates) != 0)
                    return -1;
                ev->flags |= GCM_EVENT_HAS_CANDIDATES;
            }
            break;
        case 9:
            if (memcmp(k, "collected", 9) != 0)
                break;
            if (read_count(value, &ev->collected) != 0)
                return -1;
            seen |= SEEN_COLLECTED;
            break;
        case 13:
            if (memcmp(k, "uncollectable", 13) != 0)
                break;
            if (read_count(value, &ev->uncollectable) != 0)
                return -1;
            seen |= SEEN_UNCOLLECTABLE;
            break;
        case 8:
            if (memcmp(k, "duration", 8) != 0)
                break;
            if (read_duration(value, &ev->duration_ns) != 0)
                return -1;
            ev->flags |= GCM_EVENT_NATIVE_DURATION;
            break;
        default:
            break;
        }
    }
    return seen == (SEEN_GENERATION | SEEN_COLLECTED | SEEN_UNCOLLECTABLE) ? 0 : -1;
}

/* Parses the info dict and records one event.  `start` is the clock at the
 * matching "start", `now` the clock read for this "stop", or 0 when the
 * caller expected CPython's own duration (3.15's five keys) and left the
 * clock unread: it is read here if the dict had no usable one.  Kept out of
 * line so that the "start" phase, half of all calls, does not pay this
 * function's register saves and stack frame inside the callback. */
static GCM__NOINLINE void
record_stop(gcm__recorder *self, PyObject *info, uint64_t start, uint64_t now)
{
    gcm_block *b = self->block;
    gcm_event ev;
    uint64_t generation = 0;

    memset(&ev, 0, sizeof ev);
    ev.start_ns = start;

    /* Anything but CPython's own dict (another order, other keys, a value
     * that is not a usable count) takes the general path, which starts again
     * from the first entry and reports what it cannot use as unusable. */
    if (parse_info_in_order(self->info_in_place, info, &ev, &generation) != 0 &&
        parse_info(info, &ev, &generation) != 0)
        goto unusable;
    if ((ev.flags & GCM_EVENT_NATIVE_DURATION) == 0) {
        if (now == 0)
            now = gcm_clock_monotonic_ns();
        ev.duration_ns = now > start ? now - start : 0;
    }
    if (generation >= GCM_GENERATIONS)
        goto unusable;
    ev.generation = (uint32_t)generation;
    /* Asked at "stop", not "start": a gc.collect() call is still inside the
     * wrapper then, and the "start" phase stays as short as it was. */
    ev.flags |= gcm__cause_now() << GCM_EVENT_CAUSE_SHIFT;
    if (self->stacks != NULL)
        gcm__stacks_stop(self->stacks, ev.generation, ev.duration_ns,
                         GCM_EVENT_CAUSE(ev.flags) == GCM_CAUSE_EXPLICIT);
    /* gcm_block_record counts a bad generation itself; nothing else can fail. */
    (void)gcm_block_record(b, &ev);
    return;

unusable:
    gcm_block_count_unusable_info(b);
}

PyObject *
gcm__recorder_gc_callback(PyObject *op, PyObject *const *args, Py_ssize_t nargs)
{
    gcm__recorder *self = (gcm__recorder *)op;
    PyObject *phase;
    uint64_t now;
    uint64_t start;

    /* The one extra branch of the fast path: it is taken only by a stopped
     * recorder or in a fork child before the after-fork hook has run. */
    if (GCM__UNLIKELY(atomic_load_explicit(&self->epoch, memory_order_acquire) !=
                      atomic_load_explicit(&gcm__fork_epoch, memory_order_relaxed)))
        return callback_detached(self, args, nargs);

    if (GCM__UNLIKELY(nargs != 2 || !PyUnicode_Check(args[0]) || !PyDict_Check(args[1]))) {
        gcm_block_count_unusable_info(self->block);
        Py_RETURN_NONE;
    }
    phase = args[0];
    if (ascii_equals(phase, "start", 5)) {
        /* 0 means "no start pending"; the monotonic clock is never 0 once the
         * system has been up for a nanosecond. */
        /* The stack first, so that its walk is not part of the pause. */
        if (self->stacks != NULL)
            gcm__stacks_start(self->stacks);
        atomic_store_explicit(&self->start_ns, gcm_clock_monotonic_ns(), memory_order_relaxed);
    } else if (ascii_equals(phase, "stop", 4)) {
        /* CPython 3.15 times the collection itself and passes the duration
         * with four other keys: our second clock reading would go unused
         * (record_stop reads it after all if the dict has none). */
        now = PyDict_GET_SIZE(args[1]) == 5 ? 0 : gcm_clock_monotonic_ns();
        /* A relaxed load and store, not an exchange (a locked xchg on x86):
         * no other thread touches start_ns in between.  CPython runs one
         * collection at a time (the GIL, or on free-threaded builds the
         * gcstate->collecting flag, taken before "start" and released after
         * "stop"), and both phases of a collection are called by the thread
         * that collects; on free-threaded builds "start" comes before the
         * stop-the-world pause and "stop" after it, still in that thread.
         * The next collection, in whatever thread, begins only after the
         * flag's release, which orders our store before its "start". */
        start = atomic_load_explicit(&self->start_ns, memory_order_relaxed);
        atomic_store_explicit(&self->start_ns, 0, memory_order_relaxed);
        if (GCM__UNLIKELY(start == 0))
            /* We were appended during this collection (e.g. from a __del__):
             * the pause has no beginning, so it is counted, not invented. */
            gcm_block_count_dropped_stop(self->block);
        else
            record_stop(self, args[1], start, now);
    } else {
        gcm_block_count_unusable_info(self->block);
    }
    Py_RETURN_NONE;
}
