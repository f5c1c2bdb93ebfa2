/* src/block/stacks.c: the table of call stacks that triggered collections.
 *
 * The region is carved into its arrays by offsets computed from the header,
 * so it holds no pointer and could live in a capture file unchanged.  Stacks
 * are found through an open-addressed index of entry numbers (0 = empty slot,
 * else entry + 1): the table is never shrunk, so no slot is ever deleted and
 * linear probing needs no tombstones.  Half the index at most is ever taken,
 * which keeps probe runs short.
 *
 * A reader in another process may copy the region at any time (the table
 * lives in the capture file), so a new site or entry is written whole
 * before the count that makes it visible is raised.
 */
#include "gc_monitor/stacks.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/errors.h"

#define MAX_COUNT (1u << 20)

/* Offsets of the arrays, in bytes from the table's start. */
static size_t index_offset(void)
{
    return sizeof(gcm_stack_table);
}

static size_t entries_offset(uint32_t index_slots)
{
    return index_offset() + (((size_t)index_slots * sizeof(uint32_t) + 7u) & ~(size_t)7u);
}

static size_t frames_offset(uint32_t index_slots, uint32_t entries)
{
    return entries_offset(index_slots) + (size_t)entries * sizeof(gcm_stack_entry);
}

static size_t sites_offset(uint32_t index_slots, uint32_t entries, uint32_t depth)
{
    size_t frames = (size_t)entries * depth * sizeof(gcm_stack_frame);

    return frames_offset(index_slots, entries) + ((frames + 7u) & ~(size_t)7u);
}

static uint32_t slots_for(uint32_t entries)
{
    uint32_t slots = 2;

    while (slots < 2u * entries)
        slots <<= 1;
    return slots;
}

size_t gcm_stacks_size(uint32_t entries, uint32_t depth, uint32_t sites)
{
    uint32_t slots;

    if (entries < 1 || entries > MAX_COUNT || sites < 1 || sites > MAX_COUNT || depth < 1 ||
        depth > GCM_STACK_MAX_DEPTH)
        return 0;
    slots = slots_for(entries);
    return sites_offset(slots, entries, depth) + (size_t)sites * sizeof(gcm_stack_site);
}

int gcm_stacks_init(gcm_stack_table *t, size_t size, uint32_t entries, uint32_t depth,
                    uint32_t sites)
{
    size_t need = gcm_stacks_size(entries, depth, sites);

    if (t == NULL || need == 0)
        return GCM_EINVAL;
    if (size < need)
        return GCM_ENOMEM;
    memset(t, 0, need);
    t->size = need;
    t->entries = entries;
    t->depth = depth;
    t->sites = sites;
    t->index_slots = slots_for(entries);
    return 0;
}

static uint32_t *index_of(gcm_stack_table *t)
{
    return (uint32_t *)(void *)((char *)t + index_offset());
}

static gcm_stack_entry *entries_of(gcm_stack_table *t)
{
    return (gcm_stack_entry *)(void *)((char *)t + entries_offset(t->index_slots));
}

static gcm_stack_site *sites_of(gcm_stack_table *t)
{
    return (gcm_stack_site *)(void *)((char *)t +
                                      sites_offset(t->index_slots, t->entries, t->depth));
}

/* Copies `len` bytes of `src` into `dst` (`size` bytes with the NUL): the
 * head when `keep_tail` is 0, else the tail behind "...", which is the part
 * of a long path that names the file. */
static void copy_name(char *dst, size_t size, const char *src, size_t len, int keep_tail)
{
    if (len < size) {
        memcpy(dst, src, len);
        dst[len] = '\0';
    } else if (keep_tail) {
        size_t keep = size - 4;
        size_t from = len - keep;

        /* Never start inside a UTF-8 sequence. */
        while (from < len && ((unsigned char)src[from] & 0xC0u) == 0x80u) {
            from++;
            keep--;
        }
        memcpy(dst, "...", 3);
        memcpy(dst + 3, src + from, keep);
        dst[3 + keep] = '\0';
    } else {
        size_t keep = size - 1;

        while (keep > 0 && ((unsigned char)src[keep] & 0xC0u) == 0x80u)
            keep--;
        memcpy(dst, src, keep);
        dst[keep] = '\0';
    }
}

uint32_t gcm_stacks_add_site(gcm_stack_table *t, const char *file, size_t file_len,
                             const char *func, size_t func_len)
{
    gcm_stack_site *s;

    if (t == NULL || t->sites_used >= t->sites)
        return GCM_STACK_NO_SITE;
    s = &sites_of(t)[t->sites_used];
    copy_name(s->file, sizeof s->file, file, file_len, 1);
    copy_name(s->func, sizeof s->func, func, func_len, 0);
    atomic_thread_fence(memory_order_release);
    return t->sites_used++;
}

uint64_t gcm_stacks_hash(const gcm_stack_frame *frames, uint32_t n)
{
    /* FNV-1a over 32-bit words: a multiply per word, good enough to spread
     * stacks that differ in one frame. */
    uint64_t h = 14695981039346656037ull ^ n;
    uint32_t i;

    for (i = 0; i < n; i++) {
        h = (h ^ frames[i].site) * 1099511628211ull;
        h = (h ^ frames[i].offset) * 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int same_stack(const gcm_stack_frame *a, const gcm_stack_frame *b, uint32_t n)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (a[i].site != b[i].site || a[i].offset != b[i].offset)
            return 0;
    }
    return 1;
}

uint32_t gcm_stacks_find(gcm_stack_table *t, const gcm_stack_frame *frames, uint32_t n,
                         uint32_t truncated, int *added)
{
    uint32_t *index = index_of(t);
    gcm_stack_entry *entries = entries_of(t);
    uint32_t mask = t->index_slots - 1;
    uint64_t h;
    uint32_t slot;
    uint32_t e;
    uint32_t i;

    *added = 0;
    if (n > t->depth)
        n = t->depth;
    h = gcm_stacks_hash(frames, n);
    slot = (uint32_t)h & mask;
    while (index[slot] != 0) {
        e = index[slot] - 1;
        if (entries[e].hash == h && entries[e].depth == n &&
            same_stack(gcm_stacks_frames(t, e), frames, n))
            return e;
        slot = (slot + 1) & mask;
    }
    if (t->used >= t->entries)
        return GCM_STACK_OTHER;
    e = t->used;
    entries[e].hash = h;
    entries[e].depth = n;
    entries[e].truncated = truncated != 0;
    {
        gcm_stack_frame *dst = gcm_stacks_frames(t, e);

        for (i = 0; i < n; i++)
            dst[i] = frames[i];
    }
    atomic_thread_fence(memory_order_release);
    t->used = e + 1;
    index[slot] = e + 1;
    *added = 1;
    return e;
}

void gcm_stacks_record(gcm_stack_table *t, uint32_t entry, uint32_t generation,
                       uint64_t duration_ns, int explicit)
{
    if (generation >= GCM_GENERATIONS)
        return;
    if (entry == GCM_STACK_OTHER || entry >= t->used) {
        t->other_stacks++;
        t->other_count[generation]++;
        t->other_total_ns += duration_ns;
        if (duration_ns > t->other_max_ns)
            t->other_max_ns = duration_ns;
        return;
    }
    {
        gcm_stack_entry *e = &entries_of(t)[entry];

        e->count[generation]++;
        e->total_ns += duration_ns;
        if (duration_ns > e->max_ns)
            e->max_ns = duration_ns;
        e->explicit_count += explicit != 0;
    }
}

void gcm_stacks_forget_stacks(gcm_stack_table *t)
{
    if (t == NULL)
        return;
    memset(index_of(t), 0, (size_t)t->index_slots * sizeof(uint32_t));
    memset(entries_of(t), 0, (size_t)t->entries * sizeof(gcm_stack_entry));
    t->used = 0;
    t->other_stacks = 0;
    memset(t->other_count, 0, sizeof t->other_count);
    t->other_total_ns = 0;
    t->other_max_ns = 0;
    t->unnamed = 0;
}

const gcm_stack_entry *gcm_stacks_entry(const gcm_stack_table *t, uint32_t i)
{
    if (t == NULL || i >= t->used)
        return NULL;
    return &entries_of((gcm_stack_table *)(uintptr_t)t)[i];
}

gcm_stack_frame *gcm_stacks_frames(gcm_stack_table *t, uint32_t i)
{
    if (t == NULL || i >= t->entries)
        return NULL;
    return (gcm_stack_frame *)(void *)((char *)t + frames_offset(t->index_slots, t->entries)) +
           (size_t)i * t->depth;
}

const gcm_stack_frame *gcm_stacks_frames_const(const gcm_stack_table *t, uint32_t i)
{
    return gcm_stacks_frames((gcm_stack_table *)(uintptr_t)t, i);
}

const gcm_stack_site *gcm_stacks_site(const gcm_stack_table *t, uint32_t i)
{
    if (t == NULL || i >= t->sites_used)
        return NULL;
    return &sites_of((gcm_stack_table *)(uintptr_t)t)[i];
}

/* Replaces, in the name field `s` (`size` bytes), what a reader must not
 * show: bytes that do not form UTF-8, control characters and anything after
 * the field's end, which becomes its terminator. */
static void make_name_safe(char *s, size_t size)
{
    unsigned char *p = (unsigned char *)s;
    size_t len, i = 0;

    p[size - 1] = '\0';
    len = strlen(s);
    while (i < len) {
        unsigned char c = p[i];
        size_t need = c < 0x80u              ? 1u
                      : (c & 0xE0u) == 0xC0u ? 2u
                      : (c & 0xF0u) == 0xE0u ? 3u
                      : (c & 0xF8u) == 0xF0u ? 4u
                                             : 0u;
        size_t k;
        int ok = need != 0 && i + need <= len;

        for (k = 1; ok && k < need; k++)
            ok = (p[i + k] & 0xC0u) == 0x80u;
        /* Overlong forms and code points past U+10FFFF are not UTF-8 either. */
        if (ok && need == 2u)
            ok = c >= 0xC2u;
        if (ok && need == 3u)
            ok = !(c == 0xE0u && p[i + 1] < 0xA0u) && !(c == 0xEDu && p[i + 1] >= 0xA0u);
        if (ok && need == 4u)
            ok = c <= 0xF4u && !(c == 0xF0u && p[i + 1] < 0x90u) &&
                 !(c == 0xF4u && p[i + 1] >= 0x90u);
        if (!ok || c < 0x20u || c == 0x7Fu) {
            p[i++] = '?';
            continue;
        }
        i += need;
    }
}

int gcm_stacks_check(gcm_stack_table *t, size_t size)
{
    gcm_stack_site *sites;
    uint32_t i, d;

    if (t == NULL || size < sizeof *t)
        return GCM_ECORRUPT;
    if (gcm_stacks_size(t->entries, t->depth, t->sites) != t->size || t->size > size ||
        t->index_slots != slots_for(t->entries) || t->used > t->entries || t->sites_used > t->sites)
        return GCM_ECORRUPT;
    for (i = 0; i < t->used; i++) {
        const gcm_stack_entry *e = &entries_of(t)[i];
        const gcm_stack_frame *f = gcm_stacks_frames(t, i);

        if (e->depth > t->depth || e->truncated > 1u)
            return GCM_ECORRUPT;
        for (d = 0; d < e->depth; d++) {
            if (f[d].site >= t->sites_used && f[d].site != GCM_STACK_NO_SITE)
                return GCM_ECORRUPT;
        }
    }
    sites = sites_of(t);
    for (i = 0; i < t->sites_used; i++) {
        make_name_safe(sites[i].file, sizeof sites[i].file);
        make_name_safe(sites[i].func, sizeof sites[i].func);
    }
    return 0;
}

/* A site's names, hashed for the merge's temporary index. */
static uint64_t site_hash(const gcm_stack_site *s)
{
    uint64_t h = 14695981039346656037ull;
    const unsigned char *p;

    for (p = (const unsigned char *)s->file; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    h = (h ^ 0xFFu) * 1099511628211ull;
    for (p = (const unsigned char *)s->func; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* The site of `dst` named as `s` is, added if new (unless `add` is 0:
 * then `s` is site `add_as` of `dst` itself, only entered in the index);
 * GCM_STACK_NO_SITE when `dst` is full.  `index` (`mask` + 1 slots, 0
 * empty, else site + 1) finds the sites of `dst` by name. */
static uint32_t merged_site(gcm_stack_table *dst, uint32_t *index, uint32_t mask,
                            const gcm_stack_site *s, int add, uint32_t add_as)
{
    uint32_t slot = (uint32_t)site_hash(s) & mask;
    uint32_t found;

    while (index[slot] != 0) {
        const gcm_stack_site *d = &sites_of(dst)[index[slot] - 1];

        if (strcmp(d->file, s->file) == 0 && strcmp(d->func, s->func) == 0)
            return index[slot] - 1;
        slot = (slot + 1) & mask;
    }
    found =
        add ? gcm_stacks_add_site(dst, s->file, strlen(s->file), s->func, strlen(s->func)) : add_as;
    if (found != GCM_STACK_NO_SITE)
        index[slot] = found + 1;
    return found;
}

/* Adds one stack's figures to entry `e` of `t` (or its "other" row). */
static void add_figures(gcm_stack_table *t, uint32_t e, const gcm_stack_entry *from)
{
    uint64_t *count;
    uint64_t *total;
    uint64_t *max;
    uint32_t g;

    if (e == GCM_STACK_OTHER) {
        t->other_stacks += from->count[0] + from->count[1] + from->count[2];
        count = t->other_count;
        total = &t->other_total_ns;
        max = &t->other_max_ns;
    } else {
        gcm_stack_entry *to = &entries_of(t)[e];

        to->explicit_count += from->explicit_count;
        count = to->count;
        total = &to->total_ns;
        max = &to->max_ns;
    }
    for (g = 0; g < GCM_GENERATIONS; g++)
        count[g] += from->count[g];
    *total += from->total_ns;
    if (from->max_ns > *max)
        *max = from->max_ns;
}

int gcm_stacks_merge(gcm_stack_table *dst, const gcm_stack_table *src)
{
    gcm_stack_frame frames[GCM_STACK_MAX_DEPTH];
    uint32_t *index = NULL;
    uint32_t *map = NULL;
    uint32_t slots = 2;
    uint32_t i, d, n;
    int status = GCM_EINVAL;
    int added;

    if (dst == NULL || src == NULL)
        goto done;
    while (slots < 2u * dst->sites)
        slots <<= 1;
    status = GCM_ENOMEM;
    index = calloc(slots, sizeof *index);
    map = malloc(((size_t)src->sites_used + 1u) * sizeof *map);
    if (index == NULL || map == NULL)
        goto done;
    for (i = 0; i < dst->sites_used; i++)
        (void)merged_site(dst, index, slots - 1u, &sites_of(dst)[i], 0, i);
    for (i = 0; i < src->sites_used; i++)
        map[i] = merged_site(dst, index, slots - 1u,
                             &sites_of((gcm_stack_table *)(uintptr_t)src)[i], 1, 0);
    for (i = 0; i < src->used; i++) {
        const gcm_stack_entry *e = gcm_stacks_entry(src, i);
        const gcm_stack_frame *f = gcm_stacks_frames_const(src, i);
        uint32_t at;

        n = e->depth < dst->depth ? e->depth : dst->depth;
        for (d = 0; d < n; d++) {
            frames[d] = f[d];
            frames[d].site = f[d].site < src->sites_used ? map[f[d].site] : GCM_STACK_NO_SITE;
        }
        at = gcm_stacks_find(dst, frames, n, e->truncated || n < e->depth, &added);
        if (added) {
            gcm_stack_frame *kept = gcm_stacks_frames(dst, at);

            for (d = 0; d < n; d++)
                kept[d].line = frames[d].line;
        }
        add_figures(dst, at, e);
    }
    for (d = 0; d < GCM_GENERATIONS; d++)
        dst->other_count[d] += src->other_count[d];
    dst->other_stacks += src->other_stacks;
    dst->other_total_ns += src->other_total_ns;
    if (src->other_max_ns > dst->other_max_ns)
        dst->other_max_ns = src->other_max_ns;
    dst->unnamed += src->unnamed;
    status = 0;
done:
    free(index);
    free(map);
    return status;
}
