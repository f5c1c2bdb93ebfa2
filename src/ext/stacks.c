/* src/ext/stacks.c: which call stack triggered each collection (--stacks).
 *
 * At a collection's "start" the callback walks the collecting thread's
 * frames (frames.c), names each frame's code object through a cache, and
 * finds or adds the stack in the trigger table (src/block/stacks.c); at its
 * "stop" it adds the pause to that stack's figures.  Nothing here allocates
 * on that path: the cache and the memo are allocated once, with the
 * recorder, and the table lives in the recorder's block after its ring (in
 * the capture file with -o), formatted there by gcm__stacks_attach.
 *
 * The cache maps a code object to its site (its names, copied into the table
 * once) and holds a strong reference to it.  So a code object that the
 * program drops (an exec'd string, a reloaded module) lives on while the
 * recorder does, and its address can never be given to another code object
 * that the cache would then misname.  The cost is bounded: at most the
 * table's sites (4,096 code objects).  When the cache is full, frames of
 * code objects it has not seen are named "(unknown)".
 */
#include "ext.h"

#include <string.h>

#include "gc_monitor/stacks.h"

typedef struct cache_slot {
    PyObject *code; /* strong, NULL for an empty slot */
    uint32_t site;
} cache_slot;

/* A stack seen before, as the walk found it: its frames are memo_codes and
 * memo_offsets at [record * depth]. */
typedef struct memo_record {
    uint64_t hash;
    uint32_t depth;
    uint32_t entry; /* in the table, or GCM_STACK_OTHER */
} memo_record;

struct gcm__stacks {
    gcm_stack_table *table; /* in the recorder's block, after its ring; NULL before attach */
    uint32_t depth;         /* --stack-depth */
    cache_slot *cache;      /* PyMem_RawMalloc'd, cache_mask + 1 slots */
    uint32_t cache_mask;
    uint32_t cached;  /* code objects in the cache */
    uint32_t pending; /* the entry of the started collection, GCM_STACK_OTHER for "other" */
    int pending_set;  /* 1 between a "start" and its "stop" */
    /* The memo: raw stacks already found in the table, so that a known one
     * costs the walk and one compare, without naming its frames again.  Its
     * code pointers are all held by the cache, so no address in it can be
     * reused by another code object.  Records are never removed; when they
     * are all taken, further stacks take the naming path every time. */
    uint32_t *memo_index; /* memo_mask + 1 slots: 0 empty, else record + 1 */
    uint32_t memo_mask;
    uint32_t memo_used;
    memo_record *memo;      /* GCM_STACK_DEFAULT_ENTRIES records */
    PyObject **memo_codes;  /* GCM_STACK_DEFAULT_ENTRIES * depth */
    uint32_t *memo_offsets; /* GCM_STACK_DEFAULT_ENTRIES * depth */
    gcm__raw_stack raw;
    gcm_stack_frame frames[GCM_STACK_MAX_DEPTH];
};

/* Writes `s` as UTF-8 into `buf` (`cap` bytes), from its character `from`
 * on, straight from its compact storage (PyUnicode_AsUTF8 may allocate a
 * cached copy).  Lone surrogates become '?'.  Returns the bytes written. */
static size_t
utf8_of(PyObject *s, Py_ssize_t from, char *buf, size_t cap)
{
    size_t n = 0;
    Py_ssize_t i, len;
    int kind;
    const void *data;

    if (s == NULL || !PyUnicode_Check(s))
        return 0;
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(s))
        return 0;
#endif
    kind = PyUnicode_KIND(s);
    data = PyUnicode_DATA(s);
    len = PyUnicode_GET_LENGTH(s);
    for (i = from < 0 ? 0 : from; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);

        if (c >= 0xD800 && c <= 0xDFFF)
            c = '?';
        if (c < 0x80) {
            if (n + 1 > cap)
                break;
            buf[n++] = (char)c;
        } else if (c < 0x800) {
            if (n + 2 > cap)
                break;
            buf[n++] = (char)(0xC0 | (c >> 6));
            buf[n++] = (char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            if (n + 3 > cap)
                break;
            buf[n++] = (char)(0xE0 | (c >> 12));
            buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[n++] = (char)(0x80 | (c & 0x3F));
        } else {
            if (n + 4 > cap)
                break;
            buf[n++] = (char)(0xF0 | (c >> 18));
            buf[n++] = (char)(0x80 | ((c >> 12) & 0x3F));
            buf[n++] = (char)(0x80 | ((c >> 6) & 0x3F));
            buf[n++] = (char)(0x80 | (c & 0x3F));
        }
    }
    return n;
}

/* Copies the names of `code` into a new site.  Returns its index, or
 * GCM_STACK_NO_SITE when the table's sites are full. */
static uint32_t
name_code(gcm_stack_table *t, PyCodeObject *code)
{
    /* Enough for the tail the table keeps of a file name (under 192 bytes)
     * even at 4 bytes a character. */
    char file[1024];
    char func[GCM_STACK_FUNC_SIZE * 4];
    Py_ssize_t flen =
        PyUnicode_Check(code->co_filename) ? PyUnicode_GET_LENGTH(code->co_filename) : 0;
    size_t fn, un;

    fn = utf8_of(code->co_filename, flen - (GCM_STACK_FILE_SIZE + 8), file, sizeof file);
    if (flen > GCM_STACK_FILE_SIZE + 8 && fn < GCM_STACK_FILE_SIZE) {
        /* Too few bytes to have been cut by the table: say it was cut here. */
        memmove(file + 3, file, fn);
        memcpy(file, "...", 3);
        fn += 3;
    }
#if PY_VERSION_HEX >= 0x030B0000
    un = utf8_of(code->co_qualname, 0, func, sizeof func);
#else
    un = utf8_of(code->co_name, 0, func, sizeof func);
#endif
    return gcm_stacks_add_site(t, file, fn, func, un);
}

/* The site of `code`, named on first sight.  No allocation: the cache and
 * the table are preallocated; a code object is only referenced. */
static inline uint32_t
site_of(gcm__stacks *s, PyObject *code)
{
    uint32_t slot = (uint32_t)(((uintptr_t)code >> 4) * 2654435761u) & s->cache_mask;
    uint32_t site;

    while (s->cache[slot].code != NULL) {
        if (s->cache[slot].code == code)
            return s->cache[slot].site;
        slot = (slot + 1) & s->cache_mask;
    }
    /* Keep the cache at most half full so probes stay short. */
    if (s->cached >= s->table->sites) {
        s->table->unnamed++;
        return GCM_STACK_NO_SITE;
    }
    site = name_code(s->table, (PyCodeObject *)code);
    if (site == GCM_STACK_NO_SITE) {
        s->table->unnamed++;
        return site;
    }
    Py_INCREF(code);
    s->cache[slot].code = code;
    s->cache[slot].site = site;
    s->cached++;
    return site;
}

/* The memo's record of the walked stack `raw`, or NULL with *slot the free
 * index slot it would take. */
static inline const memo_record *
memo_find(const gcm__stacks *s, const gcm__raw_stack *raw, uint32_t depth, uint32_t *slot)
{
    uint32_t i = (uint32_t)raw->hash & s->memo_mask;
    uint32_t r;

    while ((r = s->memo_index[i]) != 0) {
        const memo_record *m = &s->memo[r - 1];
        size_t at = (size_t)(r - 1) * depth;

        if (m->hash == raw->hash && m->depth == raw->depth &&
            memcmp(&s->memo_codes[at], raw->codes, raw->depth * sizeof(PyObject *)) == 0 &&
            memcmp(&s->memo_offsets[at], raw->offsets, raw->depth * sizeof(uint32_t)) == 0)
            return m;
        i = (i + 1) & s->memo_mask;
    }
    *slot = i;
    return NULL;
}

/* The naming path, for a stack the memo does not know: names its frames,
 * finds or adds it in the table, and remembers it when every frame was
 * named (so the cache holds each of its code objects). */
static uint32_t
find_named(gcm__stacks *s, uint32_t memo_slot)
{
    gcm_stack_table *t = s->table;
    const gcm__raw_stack *raw = &s->raw;
    uint32_t n = raw->depth;
    uint32_t i, e;
    int added = 0;
    int all_named = 1;

    for (i = 0; i < n; i++) {
        s->frames[i].site = site_of(s, raw->codes[i]);
        s->frames[i].offset = raw->offsets[i];
        s->frames[i].line = -1;
        all_named &= s->frames[i].site != GCM_STACK_NO_SITE;
    }
    e = gcm_stacks_find(t, s->frames, n, raw->truncated, &added);
    if (added) {
        /* Lines only for a new stack: a known one has them already. */
        gcm_stack_frame *kept = gcm_stacks_frames(t, e);

        for (i = 0; i < n; i++)
            kept[i].line = gcm__frames_line(raw->codes[i], raw->offsets[i]);
    }
    if (all_named && s->memo_used < GCM_STACK_DEFAULT_ENTRIES) {
        uint32_t r = s->memo_used++;
        size_t at = (size_t)r * s->depth;

        s->memo[r].hash = raw->hash;
        s->memo[r].depth = n;
        s->memo[r].entry = e;
        memcpy(&s->memo_codes[at], raw->codes, n * sizeof(PyObject *));
        memcpy(&s->memo_offsets[at], raw->offsets, n * sizeof(uint32_t));
        s->memo_index[memo_slot] = r + 1;
    }
    return e;
}

void
gcm__stacks_start(gcm__stacks *s)
{
    const memo_record *known;
    uint32_t slot = 0;

    if (GCM__UNLIKELY(s->table == NULL))
        return;
    /* The depth the memo was sized for, not the table's copy of it: the
     * table lives in a file that others may map. */
    gcm__frames_walk(&s->raw, s->depth);
    known = memo_find(s, &s->raw, s->depth, &slot);
    s->pending = GCM__LIKELY(known != NULL) ? known->entry : find_named(s, slot);
    s->pending_set = 1;
}

void
gcm__stacks_stop(gcm__stacks *s, uint32_t generation, uint64_t duration_ns, int explicit)
{
    if (!s->pending_set || s->table == NULL)
        return;
    s->pending_set = 0;
    gcm_stacks_record(s->table, s->pending, generation, duration_ns, explicit);
}

static void
clear_cache(gcm__stacks *s)
{
    uint32_t i;

    for (i = 0; i <= s->cache_mask; i++) {
        PyObject *code = s->cache[i].code;

        s->cache[i].code = NULL;
        Py_XDECREF(code);
    }
    s->cached = 0;
}

gcm__stacks *
gcm__stacks_new(const gcm_config *cfg)
{
    gcm__stacks *s = NULL;
    gcm__stacks *result = NULL;
    uint32_t slots = 2;
    size_t size;

    if (!gcm__frames_supported()) {
        PyErr_Format(PyExc_ValueError,
                     "'--stacks' is not supported on python %d.%d yet: it reads frames "
                     "without allocating on 3.9 to 3.15 only; run without '--stacks'",
                     PY_MAJOR_VERSION, PY_MINOR_VERSION);
        goto done;
    }
    size = gcm_stacks_size(GCM_STACK_DEFAULT_ENTRIES, cfg->stack_depth, GCM_STACK_DEFAULT_SITES);
    if (size == 0) {
        PyErr_SetString(PyExc_ValueError, "'--stack-depth' must be 1 to 128");
        goto done;
    }
    s = PyMem_RawCalloc(1, sizeof *s);
    if (s == NULL)
        goto nomem;
    s->depth = cfg->stack_depth;
    while (slots < 2u * GCM_STACK_DEFAULT_SITES)
        slots <<= 1;
    s->cache = PyMem_RawCalloc(slots, sizeof *s->cache);
    s->memo_index = PyMem_RawCalloc(2u * GCM_STACK_DEFAULT_ENTRIES, sizeof *s->memo_index);
    s->memo = PyMem_RawCalloc(GCM_STACK_DEFAULT_ENTRIES, sizeof *s->memo);
    s->memo_codes =
        PyMem_RawCalloc((size_t)GCM_STACK_DEFAULT_ENTRIES * cfg->stack_depth, sizeof(PyObject *));
    s->memo_offsets = PyMem_RawCalloc((size_t)GCM_STACK_DEFAULT_ENTRIES * cfg->stack_depth,
                                      sizeof *s->memo_offsets);
    if (s->cache == NULL || s->memo_index == NULL || s->memo == NULL || s->memo_codes == NULL ||
        s->memo_offsets == NULL)
        goto nomem;
    s->cache_mask = slots - 1;
    /* Twice the records, a power of two: probe runs stay short. */
    s->memo_mask = 2u * GCM_STACK_DEFAULT_ENTRIES - 1;
    result = s;
    s = NULL;
    goto done;
nomem:
    PyErr_NoMemory();
done:
    gcm__stacks_free(s);
    return result;
}

void
gcm__stacks_free(gcm__stacks *s)
{
    if (s == NULL)
        return;
    if (s->cache != NULL)
        clear_cache(s);
    PyMem_RawFree(s->cache);
    PyMem_RawFree(s->memo_index);
    PyMem_RawFree(s->memo);
    PyMem_RawFree(s->memo_codes);
    PyMem_RawFree(s->memo_offsets);
    PyMem_RawFree(s);
}

int
gcm__stacks_attach(gcm__stacks *s, gcm_block *block, size_t size)
{
    size_t region_size = 0;
    void *region = gcm_block_stacks(block, size, &region_size);

    if (region == NULL)
        return GCM_EINVAL;
    s->table = region;
    return gcm_stacks_init(s->table, region_size, GCM_STACK_DEFAULT_ENTRIES, s->depth,
                           GCM_STACK_DEFAULT_SITES);
}

void
gcm__stacks_move(gcm__stacks *s, gcm_block *fresh, size_t size)
{
    size_t region_size = 0;
    gcm_stack_table *region;

    if (s == NULL)
        return;
    region = gcm_block_stacks(fresh, size, &region_size);
    /* The cache and the sites stay: the code objects are the parent's and
     * still alive here, and dropping references may run code, which this
     * hook (under the list's lock) must not. */
    if (region != NULL && s->table != NULL && s->table->size <= region_size) {
        memcpy(region, s->table, (size_t)s->table->size);
        s->table = region;
        gcm_stacks_forget_stacks(s->table);
    } else {
        s->table = NULL;
    }
    /* The memo's records name the parent's entries. */
    memset(s->memo_index, 0, (size_t)(s->memo_mask + 1) * sizeof *s->memo_index);
    s->memo_used = 0;
    s->pending_set = 0;
}

const gcm_stack_table *
gcm__stacks_table(const gcm__stacks *s)
{
    return s != NULL ? s->table : NULL;
}
