/* src/block/block_internal.h: the recording block's inline helpers.
 *
 * Nothing here is part of the public API: the names carry the gcm__ prefix
 * and may change at any time.  The relaxed atomic helpers keep the recording
 * path short and readable; the histogram index is inline here because the
 * recorder (block.c), the statistics (stats.c) and the capture reader need it
 * and the recorder must not pay for a call.
 */
#ifndef GCM_BLOCK_INTERNAL_H
#define GCM_BLOCK_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "gc_monitor/block.h"

/* GCC 12+ warns that ThreadSanitizer does not model atomic_thread_fence.
 * Every field the fences order is itself an atomic, so TSan still sees no
 * plain-memory race; the warning would only break -Werror TSan builds. */
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wtsan"
#endif

/* Relaxed loads and stores of the block's shared fields.  With a single
 * writer, "x = x + 1" as a relaxed load followed by a relaxed store is exact
 * and compiles to plain moves, where atomic_fetch_add would cost a locked
 * instruction on every collection. */
#define GCM__LOAD(p) atomic_load_explicit((p), memory_order_relaxed)
#define GCM__STORE(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define GCM__ADD(p, v) GCM__STORE((p), GCM__LOAD(p) + (v))

/* The most significant set bit of a nonzero value. */
static inline unsigned gcm__msb64(uint64_t v)
{
#if defined(__GNUC__) || defined(__clang__)
    return 63u - (unsigned)__builtin_clzll(v);
#else
    unsigned n = 0;
    while (v >>= 1)
        n++;
    return n;
#endif
}

/* First histogram index of the log-linear part: the values below it are
 * exact, one bucket per nanosecond. */
#define GCM__HIST_LINEAR (2u << GCM_HIST_SUB_BITS)

/* The histogram index of `ns`, as block.h's GCM_HIST_* comment defines it:
 * exact below 2^(SUB_BITS+1), then 2^SUB_BITS buckets per power of two, then
 * one top bucket from 2^GCM_HIST_MAX_MSB up.  No division, one clz. */
static inline uint32_t gcm__hist_index(uint64_t ns)
{
    unsigned msb;

    if (ns < GCM__HIST_LINEAR)
        return (uint32_t)ns;
    msb = gcm__msb64(ns);
    if (GCM__UNLIKELY(msb >= GCM_HIST_MAX_MSB))
        return GCM_HIST_BUCKETS - 1u;
    return GCM__HIST_LINEAR + ((uint32_t)(msb - GCM_HIST_SUB_BITS - 1u) << GCM_HIST_SUB_BITS) +
           (uint32_t)((ns >> (msb - GCM_HIST_SUB_BITS)) & ((1u << GCM_HIST_SUB_BITS) - 1u));
}

#endif /* GCM_BLOCK_INTERNAL_H */
