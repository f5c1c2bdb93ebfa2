/* gc_monitor/stacks.h: the table of call stacks that triggered collections (--stacks).
 *
 * One fixed-size, pointer-free region, formatted once, in this order:
 *
 *     [ gcm_stack_table | uint32 index[index_slots] | gcm_stack_entry[entries]
 *       | gcm_stack_frame[entries * depth] | gcm_stack_site[sites] ]
 *
 * A stack is the innermost `depth` Python frames of the thread that ran a
 * collection, each frame a site (a code object's file and function name,
 * copied once) and an instruction offset.  Each distinct stack gets one entry
 * with exact aggregates (count per generation, total and maximum pause); when
 * every entry is taken, further new stacks count in the table's "other" row,
 * so the totals stay exact whatever the table holds.
 *
 * With -o FILE the table lives in the capture file, after the ring
 * (block.h's header.stacks_size), so `report` reads it after any ending.
 *
 * Threading: one writer (the GC callback of one process).  The writer
 * fills a new entry or site before it counts it as used, so a reader in
 * another process (`live`, `report` of a running capture) that copies the
 * region sees whole entries, with figures at most one collection apart;
 * it takes them only through a private copy that gcm_stacks_check passed.
 *
 * The writer's functions (gcm_stacks_hash, gcm_stacks_find, gcm_stacks_record)
 * allocate nothing, take no lock and make no system call.
 */
#ifndef GC_MONITOR_STACKS_H
#define GC_MONITOR_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/event.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GCM_STACK_DEFAULT_DEPTH 32u
#define GCM_STACK_MAX_DEPTH 128u
#define GCM_STACK_DEFAULT_ENTRIES 1024u /* distinct stacks kept */
#define GCM_STACK_DEFAULT_SITES 4096u   /* distinct code objects named */
#define GCM_STACK_FILE_SIZE 192         /* a site's file name, NUL-terminated, its tail kept */
#define GCM_STACK_FUNC_SIZE 64          /* a site's function name, NUL-terminated */
#define GCM_STACK_OTHER UINT32_MAX      /* gcm_stacks_find: counted in the "other" row */
#define GCM_STACK_NO_SITE UINT32_MAX    /* a frame whose code could not be named */

typedef struct gcm_stack_site {
    char file[GCM_STACK_FILE_SIZE];
    char func[GCM_STACK_FUNC_SIZE];
} gcm_stack_site;

typedef struct gcm_stack_frame {
    uint32_t site;   /* index into the sites, or GCM_STACK_NO_SITE */
    uint32_t offset; /* the frame's instruction offset in its code, in bytes */
    int32_t line;    /* the line of that instruction, -1 if unknown */
} gcm_stack_frame;

typedef struct gcm_stack_entry {
    uint64_t hash;
    uint32_t depth;     /* frames kept, innermost first */
    uint32_t truncated; /* 1 when the stack was deeper than the table's depth */
    uint64_t count[GCM_GENERATIONS];
    uint64_t total_ns;
    uint64_t max_ns;
    uint64_t explicit_count; /* of them, collections a gc.collect() call ran */
} gcm_stack_entry;

typedef struct gcm_stack_table {
    uint64_t size;         /* bytes of the whole region */
    uint32_t entries;      /* capacity in stacks */
    uint32_t depth;        /* frames kept per stack, 1..GCM_STACK_MAX_DEPTH */
    uint32_t sites;        /* capacity in sites */
    uint32_t index_slots;  /* a power of two, at least twice `entries` */
    uint32_t used;         /* entries taken */
    uint32_t sites_used;   /* sites taken */
    uint64_t other_stacks; /* collections whose new stack found the table full */
    uint64_t other_count[GCM_GENERATIONS];
    uint64_t other_total_ns;
    uint64_t other_max_ns;
    uint64_t unnamed; /* frames whose code found the sites full */
} gcm_stack_table;

/* Returns the bytes a table of these dimensions needs, or 0 if one is out of
 * range (entries and sites 1..2^20, depth 1..GCM_STACK_MAX_DEPTH). */
size_t gcm_stacks_size(uint32_t entries, uint32_t depth, uint32_t sites);

/* Formats `t` (`size` bytes) empty.  Returns 0, GCM_EINVAL or GCM_ENOMEM. */
int gcm_stacks_init(gcm_stack_table *t, size_t size, uint32_t entries, uint32_t depth,
                    uint32_t sites);

/* Copies one site's names (UTF-8, not NUL-terminated; a long file name keeps
 * its tail, behind "...").  Returns its index, or GCM_STACK_NO_SITE when the
 * sites are full (counted as unnamed by the caller's frames). */
uint32_t gcm_stacks_add_site(gcm_stack_table *t, const char *file, size_t file_len,
                             const char *func, size_t func_len);

/* Hot path: the hash of `n` frames' sites and offsets (lines are not part of a stack's identity). */
uint64_t gcm_stacks_hash(const gcm_stack_frame *frames, uint32_t n);

/* Hot path: returns the entry of the stack `frames` (`n` of them, at most the
 * table's depth; `truncated` if the thread had more), adding it if new
 * (*added = 1: the caller may then set its lines), or GCM_STACK_OTHER when
 * the table is full. */
uint32_t gcm_stacks_find(gcm_stack_table *t, const gcm_stack_frame *frames, uint32_t n,
                         uint32_t truncated, int *added);

/* Hot path: counts one collection of `generation` (0..2) that lasted
 * `duration_ns` for `entry` (GCM_STACK_OTHER: the "other" row); `explicit`
 * is 1 when a gc.collect() call ran it. */
void gcm_stacks_record(gcm_stack_table *t, uint32_t entry, uint32_t generation,
                       uint64_t duration_ns, int explicit);

/* Empties the stacks and the "other" row, keeping the sites: a fork child
 * starts its own figures with names its parent already copied. */
void gcm_stacks_forget_stacks(gcm_stack_table *t);

/* Checks a reader's private copy `t` (`size` bytes) of a table that came
 * from a file, as hostile input: dimensions that gcm_stacks_size gives for
 * `size`, counts within them, every frame's site in range, every depth
 * within the table's.  Names are made safe in place: cut to their field,
 * bytes that are not UTF-8 or are control characters replaced by '?'.
 * Returns 0 or GCM_ECORRUPT. */
int gcm_stacks_check(gcm_stack_table *t, size_t size);

/* Adds the figures of `src` to `dst` (a table made by gcm_stacks_init),
 * stack by stack: sites are matched by their names and stacks by their
 * sites and offsets, so the stacks of several processes that ran the same
 * code add up.  Stacks that find `dst` full go to its "other" row, so the
 * totals stay exact.  Allocates a temporary index of sites.  Returns 0,
 * GCM_EINVAL or GCM_ENOMEM. */
int gcm_stacks_merge(gcm_stack_table *dst, const gcm_stack_table *src);

/* Accessors; NULL for an index out of range. */
const gcm_stack_entry *gcm_stacks_entry(const gcm_stack_table *t, uint32_t i);
gcm_stack_frame *gcm_stacks_frames(gcm_stack_table *t, uint32_t i);
const gcm_stack_frame *gcm_stacks_frames_const(const gcm_stack_table *t, uint32_t i);
const gcm_stack_site *gcm_stacks_site(const gcm_stack_table *t, uint32_t i);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_STACKS_H */
