/* src/core/internal.h: private helpers shared by the core's source files.
 *
 * Nothing here is part of the public API: the names carry the gcm__ prefix
 * and may change at any time.  The branch hints and the relaxed atomic
 * helpers keep the recording path short and readable; the histogram index is
 * inline here because both the recorder (block.c) and the statistics
 * (stats.c) need it and the recorder must not pay for a call.
 */
#ifndef GCM_CORE_INTERNAL_H
#define GCM_CORE_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/block.h"

#if defined(__GNUC__) || defined(__clang__)
#define GCM__LIKELY(x) __builtin_expect(!!(x), 1)
#define GCM__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define GCM__NOINLINE __attribute__((noinline))
#define GCM__COLD __attribute__((cold))
#else
#define GCM__LIKELY(x) (x)
#define GCM__UNLIKELY(x) (x)
#define GCM__NOINLINE
#define GCM__COLD
#endif

/* GCC 13+ warns that ThreadSanitizer does not model atomic_thread_fence.
 * Every field the fences order is itself an atomic, so TSan still sees no
 * plain-memory race; the warning would only break -Werror TSan builds. */
#if defined(__SANITIZE_THREAD__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 13
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

/* Writes the decimal point that snprintf() and strtod() use right now (the
 * program's LC_NUMERIC) into `out`, NUL-terminated; "." when it cannot tell. */
void gcm__locale_radix(char *out, size_t size);

/* strtod() of the `len` bytes at `text`, a decimal already checked against
 * our grammar, with '.' as the point whatever the locale.  Sets *whole to 1
 * when all `len` bytes were read, else 0; errno is strtod()'s (ERANGE). */
double gcm__strtod_c(const char *text, size_t len, int *whole);

#endif /* GCM_CORE_INTERNAL_H */
