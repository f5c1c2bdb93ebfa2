/* src/block/block.c: the recording block: format, check, record, read.
 *
 * The writer side (gcm_block_record and the two counters) runs inside the GC
 * callback, so it is kept to relaxed moves, integer compares and one clz: no
 * allocation, lock, system call, floating point or division.  The reader side
 * (check, snapshot, copy) runs at report time or in another process and may
 * take its time, but must never trust the memory it reads nor wait forever on
 * a writer that died.
 */
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "gc_monitor/block.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/stats.h"
#include "block/block_internal.h"

/* A reader gives up on a consistent snapshot after this many attempts.  Each
 * attempt costs a few microseconds (about 60 KB of relaxed loads), so a dead
 * writer costs the reader at most a few tens of milliseconds. */
#define SNAPSHOT_ATTEMPTS 4096

static int is_valid_capacity(uint64_t capacity)
{
    return capacity >= GCM_MIN_CAPACITY && capacity <= GCM_MAX_CAPACITY &&
           (capacity & (capacity - 1u)) == 0;
}

static int are_valid_buckets(uint32_t count, const uint64_t *bounds)
{
    uint32_t i;

    if (count < 1 || count > GCM_MAX_BUCKETS)
        return 0;
    if (bounds[0] == 0)
        return 0;
    for (i = 1; i < count; i++) {
        if (bounds[i] <= bounds[i - 1])
            return 0;
    }
    return 1;
}

size_t gcm_block_size(uint64_t capacity)
{
    if (!is_valid_capacity(capacity))
        return 0;
    return offsetof(gcm_block, ring) + (size_t)capacity * sizeof(gcm_event_slot);
}

size_t gcm_block_alloc_size(const gcm_block_params *params)
{
    size_t size = params != NULL ? gcm_block_size(params->capacity) : 0;

    return size != 0 ? size + params->stacks_size : 0;
}

void *gcm_block_stacks(const gcm_block *b, size_t size, size_t *region_size)
{
    uint64_t at;
    uint64_t bytes;

    *region_size = 0;
    if (b == NULL || b->header.layout_version < 4u || b->header.stacks_size == 0)
        return NULL;
    at = b->header.block_size;
    bytes = b->header.stacks_size;
    if (at > size || bytes > size - at || at % 8u != 0)
        return NULL;
    *region_size = (size_t)bytes;
    return (unsigned char *)(uintptr_t)b + at;
}

/* Where the ring of a block of layout `version` (1 to 4) starts: each
 * version added aggregates in front of it. */
static size_t ring_offset_v(uint32_t version)
{
    if (version == 1u)
        return (size_t)GCM_LAYOUT_V1_RING_OFFSET;
    if (version == 2u)
        return (size_t)GCM_LAYOUT_V2_RING_OFFSET;
    return offsetof(gcm_block, ring);
}

/* The size of a block of `capacity` slots in layout `version` (1 to 4). */
static size_t block_size_v(uint32_t version, uint64_t capacity)
{
    if (!is_valid_capacity(capacity))
        return 0;
    return ring_offset_v(version) + (size_t)capacity * sizeof(gcm_event_slot);
}

size_t gcm_block_ring_offset(const gcm_block *b)
{
    return ring_offset_v(b->header.layout_version);
}

/* The ring of a checked block of either version. */
static const gcm_event_slot *ring_of(const gcm_block *b)
{
    return (const gcm_event_slot *)(const void *)((const unsigned char *)b +
                                                  gcm_block_ring_offset(b));
}

uint64_t gcm_block_capacity_for(uint64_t n)
{
    uint64_t c = GCM_MIN_CAPACITY;

    if (n >= GCM_MAX_CAPACITY)
        return GCM_MAX_CAPACITY;
    while (c < n)
        c <<= 1;
    return c;
}

int gcm_block_init(gcm_block *b, size_t size, const gcm_block_params *params)
{
    int status = GCM_EINVAL;
    size_t need;
    uint32_t g;
    int64_t realtime;
    int64_t monotonic;

    if (b == NULL || params == NULL || !is_valid_capacity(params->capacity) ||
        !are_valid_buckets(params->bucket_count, params->bucket_bounds_ns))
        goto done;
    need = gcm_block_size(params->capacity);
    if (size < need || size - need < params->stacks_size) {
        status = GCM_ENOMEM;
        goto done;
    }

    /* All-zero bytes are a valid representation of every lock-free atomic
     * we use, so one memset resets the counters, the ring and the reserved
     * fields alike. */
    memset(b, 0, need);
    b->header.layout_version = GCM_LAYOUT_VERSION;
    b->header.byte_order = GCM_BYTE_ORDER_MARK;
    b->header.header_size = (uint32_t)sizeof(gcm_header);
    b->header.slot_size = (uint32_t)sizeof(gcm_event_slot);
    b->header.capacity = params->capacity;
    b->header.block_size = (uint64_t)need;
    b->header.pid = params->pid;
    b->header.ppid = params->ppid;
    b->header.process_start_ticks = params->process_start_ticks;
    b->header.alert_threshold_ns = params->alert_threshold_ns;
    b->header.bucket_count = params->bucket_count;
    b->header.stacks_size = params->stacks_size;
    memcpy(b->header.bucket_bounds_ns, params->bucket_bounds_ns,
           params->bucket_count * sizeof params->bucket_bounds_ns[0]);

    /* The realtime reading comes first and the monotonic one right after, so
     * converting a monotonic time to wall-clock time errs by the (tiny) gap
     * between the two reads, always in the same direction. */
    realtime = gcm_clock_realtime_ns();
    monotonic = (int64_t)gcm_clock_monotonic_ns();
    b->header.init_realtime_ns = realtime;
    b->header.init_monotonic_ns = monotonic;

    for (g = 0; g < GCM_GENERATIONS; g++)
        GCM__STORE(&b->agg.gen[g].min_ns, UINT64_MAX);

    /* Publish the formatted block: a reader in another thread that acquires
     * seq sees every field above. */
    atomic_store_explicit(&b->agg.seq, 0, memory_order_release);
    /* The magic goes last, behind a release fence: a reader in another
     * process that maps a capture file while it is being formatted sees
     * either no magic (not ready yet) or a complete header, never the magic
     * over fields still zero. */
    atomic_thread_fence(memory_order_release);
    memcpy(b->header.magic, GCM_BLOCK_MAGIC, sizeof b->header.magic);
    status = 0;
done:
    return status;
}

/* Reads a field of an untrusted header by offset, so that misaligned or
 * hostile memory never causes more than a byte copy. */
static uint32_t read_u32(const unsigned char *mem, size_t offset)
{
    uint32_t v;
    memcpy(&v, mem + offset, sizeof v);
    return v;
}

static uint64_t read_u64(const unsigned char *mem, size_t offset)
{
    uint64_t v;
    memcpy(&v, mem + offset, sizeof v);
    return v;
}

int gcm_block_check(const void *mem, size_t size)
{
    const unsigned char *p = mem;
    int status = GCM_EINVAL;
    size_t magic_len = sizeof(GCM_BLOCK_MAGIC) - 1u;
    uint32_t order;
    uint32_t count;
    uint32_t version;
    uint64_t capacity;
    uint64_t block_size;
    uint64_t bounds[GCM_MAX_BUCKETS];

    if (p == NULL)
        goto done;
    /* A prefix that differs from the magic is "not a block"; a prefix that
     * matches but ends early is a truncated block. */
    if (memcmp(p, GCM_BLOCK_MAGIC, size < magic_len ? size : magic_len) != 0) {
        status = GCM_EBADMAGIC;
        goto done;
    }
    /* Pairs with the fence before gcm_block_init writes the magic: having
     * seen it, the reads below see the header it completes. */
    atomic_thread_fence(memory_order_acquire);
    if (size < sizeof(gcm_header)) {
        status = GCM_ETRUNCATED;
        goto done;
    }
    order = read_u32(p, offsetof(gcm_header, byte_order));
    if (order != GCM_BYTE_ORDER_MARK) {
        status = order == 0x04030201u ? GCM_EBYTEORDER : GCM_ECORRUPT;
        goto done;
    }
    /* Every older layout this build knows is read; anything else, newer
     * or nonsense, is refused rather than guessed at. */
    version = read_u32(p, offsetof(gcm_header, layout_version));
    if (version < GCM_LAYOUT_VERSION_MIN || version > GCM_LAYOUT_VERSION) {
        status = GCM_EVERSION;
        goto done;
    }
    status = GCM_ECORRUPT;
    if (read_u32(p, offsetof(gcm_header, header_size)) != sizeof(gcm_header) ||
        read_u32(p, offsetof(gcm_header, slot_size)) != sizeof(gcm_event_slot))
        goto done;
    capacity = read_u64(p, offsetof(gcm_header, capacity));
    block_size = read_u64(p, offsetof(gcm_header, block_size));
    if (!is_valid_capacity(capacity) || block_size != block_size_v(version, capacity))
        goto done;
    count = read_u32(p, offsetof(gcm_header, bucket_count));
    memcpy(bounds, p + offsetof(gcm_header, bucket_bounds_ns), sizeof bounds);
    if (!are_valid_buckets(count, bounds))
        goto done;
    if (block_size > size) {
        status = GCM_ETRUNCATED;
        goto done;
    }
    /* The readers use the block through typed atomics, which must be aligned. */
    if ((uintptr_t)p % _Alignof(gcm_block) != 0) {
        status = GCM_EINVAL;
        goto done;
    }
    status = 0;
done:
    return status;
}

/* The rare path of gcm_block_record, kept out of line so the common path
 * stays a straight run of moves. */
static GCM__NOINLINE GCM__COLD int record_unusable(gcm_block *b)
{
    gcm_block_count_unusable_info(b);
    return GCM_EINVAL;
}

/* The one writer of records, shared by gcm_block_record (missed is 0 there,
 * a constant that folds every use of it away) and gcm_block_record_after_missed.
 * `missed` collections happened before this one without their pauses being
 * seen, `missed_ns` their summed duration: they are added inside the same
 * update of the sequence counter, so a reader sees both or neither. */
static GCM__ALWAYS_INLINE int record(gcm_block *b, const gcm_event *ev, uint64_t missed,
                                     uint64_t missed_ns)
{
    gcm_aggregates *a = &b->agg;
    gcm_gen_stats *gs;
    gcm_cause_stats *cs;
    gcm_event_slot *slot;
    uint64_t d = ev->duration_ns;
    uint64_t s;
    uint64_t last;
    uint32_t i;
    uint32_t n;

    if (GCM__UNLIKELY(ev->generation >= GCM_GENERATIONS))
        return record_unusable(b);
    gs = &a->gen[ev->generation];
    /* Two bits index four slots: no bounds check, and no branch. */
    cs = &a->cause[GCM_EVENT_CAUSE(ev->flags)];

    /* Seqlock writer: make seq odd, then a release fence so that no store
     * below becomes visible before the odd value (a reader that sees any of
     * them will then see seq changed and retry). */
    s = GCM__LOAD(&a->seq);
    GCM__STORE(&a->seq, s + 1u);
    atomic_thread_fence(memory_order_release);

    slot = &b->ring[(s >> 1) & (b->header.capacity - 1u)];
    GCM__STORE(&slot->start_ns, ev->start_ns);
    GCM__STORE(&slot->duration_ns, d);
    GCM__STORE(&slot->collected, ev->collected);
    GCM__STORE(&slot->uncollectable, ev->uncollectable);
    GCM__STORE(&slot->candidates, ev->candidates);
    GCM__STORE(&slot->generation, ev->generation);
    GCM__STORE(&slot->flags, ev->flags);

    /* Missed pauses are unknown: only the count and the total take them,
     * never a histogram bucket, an extreme or an alert. */
    GCM__ADD(&gs->count, missed + 1u);
    GCM__ADD(&gs->total_ns, missed_ns + d);
    if (missed != 0)
        GCM__ADD(&a->missed, missed);
    if (d < GCM__LOAD(&gs->min_ns))
        GCM__STORE(&gs->min_ns, d);
    if (d > GCM__LOAD(&gs->max_ns))
        GCM__STORE(&gs->max_ns, d);
    GCM__ADD(&gs->collected, ev->collected);
    GCM__ADD(&gs->uncollectable, ev->uncollectable);
    GCM__ADD(&gs->candidates, ev->candidates);
    if (gcm_is_alert(d, b->header.alert_threshold_ns))
        GCM__ADD(&gs->alerts, 1u);

    /* Buckets are few (5 by default, 32 at most) and usually hit early, so a
     * linear scan of compares beats a binary search here. */
    n = b->header.bucket_count;
    for (i = 0; i < n && d > b->header.bucket_bounds_ns[i]; i++)
        ;
    GCM__ADD(&gs->buckets[i], 1u);
    GCM__ADD(&gs->hist[gcm__hist_index(d)], 1u);

    GCM__ADD(&cs->total_ns, d);
    if (d > GCM__LOAD(&cs->max_ns))
        GCM__STORE(&cs->max_ns, d);
    GCM__ADD(&cs->gen_count[ev->generation], 1u);

    /* A start before the previous stop (overlap) counts as a burst too. */
    last = GCM__LOAD(&a->last_stop_ns);
    if (last != 0 && ev->start_ns < last + GCM_BURST_GAP_NS)
        GCM__ADD(&a->bursts, 1u);
    GCM__STORE(&a->last_stop_ns, ev->start_ns + d);
    /* What the interpreter's info dicts held (3.15's own durations and
     * candidates), for readers that have only the aggregates: an or into a
     * word on the cache line of `seq`, which is written anyway. */
    GCM__STORE(&a->event_flags, GCM__LOAD(&a->event_flags) | ev->flags);

    atomic_store_explicit(&a->seq, s + 2u, memory_order_release);
    return 0;
}

int gcm_block_record(gcm_block *b, const gcm_event *ev)
{
    return record(b, ev, 0, 0);
}

int gcm_block_record_after_missed(gcm_block *b, const gcm_event *ev, uint64_t missed,
                                  uint64_t missed_ns)
{
    return record(b, ev, missed, missed_ns);
}

/* The two counters below are single 64-bit fields that no invariant ties to
 * any other field, so they are not bracketed by the sequence counter: a
 * reader sees either the old or the new value, both of which are true, and
 * seq/2 keeps meaning "records written". */
void gcm_block_count_dropped_stop(gcm_block *b)
{
    GCM__ADD(&b->agg.dropped_stops, 1u);
}

void gcm_block_count_unusable_info(gcm_block *b)
{
    GCM__ADD(&b->agg.unusable_info, 1u);
}

void gcm_block_gc_clock(const gcm_block *b, uint64_t *gc_ns, uint64_t *full_collections)
{
    uint64_t sum = 0;
    uint32_t g;

    for (g = 0; g < GCM_GENERATIONS; g++)
        sum += GCM__LOAD(&b->agg.gen[g].total_ns);
    *gc_ns = sum;
    *full_collections = GCM__LOAD(&b->agg.gen[GCM_GENERATIONS - 1].count);
}

/* Many threads finish requests at once, so unlike the recorder's relaxed
 * load-then-store these are real atomic read-modify-writes; the request
 * path is not the GC callback's, and one locked add per word is cheap next
 * to a request. */
void gcm_block_add_request(gcm_block *b, uint64_t gc_ns, int full)
{
    gcm_request_stats *r = &b->agg.requests;
    uint64_t max;

    if (b->header.layout_version < 3u)
        return;
    atomic_fetch_add_explicit(&r->gc_ns, gc_ns, memory_order_relaxed);
    if (full)
        atomic_fetch_add_explicit(&r->full, 1u, memory_order_relaxed);
    max = GCM__LOAD(&r->max_ns);
    while (gc_ns > max && !atomic_compare_exchange_weak_explicit(
                              &r->max_ns, &max, gc_ns, memory_order_relaxed, memory_order_relaxed))
        ;
    /* Last, so that a reader that counts this request (the histogram's sum)
     * most likely sees its time too. */
    atomic_fetch_add_explicit(&r->hist[gcm__hist_index(gc_ns)], 1u, memory_order_release);
}

/* Like the two counters above, a lone field: a reader sees the old or the new figure. */
void gcm_block_set_unseen(gcm_block *b, uint64_t unseen)
{
    GCM__STORE(&b->agg.unseen, unseen);
}

void gcm_block_set_state(gcm_block *b, uint32_t state, int32_t exit_status, int64_t end_realtime_ns)
{
    GCM__STORE(&b->header.exit_status, exit_status);
    GCM__STORE(&b->header.end_realtime_ns, end_realtime_ns);
    /* Release: a reader that acquires the new state sees the status and end
     * time stored above. */
    atomic_store_explicit(&b->header.state, state, memory_order_release);
}

static void copy_gen(const gcm_gen_stats *src, gcm_gen_snapshot *dst)
{
    uint32_t i;

    dst->count = GCM__LOAD(&src->count);
    dst->total_ns = GCM__LOAD(&src->total_ns);
    dst->min_ns = GCM__LOAD(&src->min_ns);
    dst->max_ns = GCM__LOAD(&src->max_ns);
    dst->collected = GCM__LOAD(&src->collected);
    dst->uncollectable = GCM__LOAD(&src->uncollectable);
    dst->candidates = GCM__LOAD(&src->candidates);
    dst->alerts = GCM__LOAD(&src->alerts);
    for (i = 0; i < GCM_MAX_BUCKETS + 1; i++)
        dst->buckets[i] = GCM__LOAD(&src->buckets[i]);
    for (i = 0; i < GCM_HIST_BUCKETS; i++)
        dst->hist[i] = GCM__LOAD(&src->hist[i]);
}

static void copy_cause(const gcm_cause_stats *src, gcm_cause_snapshot *dst)
{
    uint32_t g;

    dst->total_ns = GCM__LOAD(&src->total_ns);
    dst->max_ns = GCM__LOAD(&src->max_ns);
    dst->count = 0;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        dst->gen_count[g] = GCM__LOAD(&src->gen_count[g]);
        dst->count += dst->gen_count[g];
    }
}

/* Copies the aggregates the writer updates under the sequence counter, with
 * relaxed loads; the caller decides whether the copy was consistent.  A
 * version 1 block has no cause aggregates: the bytes there are its ring. */
static void copy_aggregates(const gcm_aggregates *a, uint32_t version, gcm_snapshot *out)
{
    uint32_t g;

    for (g = 0; g < GCM_GENERATIONS; g++)
        copy_gen(&a->gen[g], &out->gen[g]);
    memset(out->cause, 0, sizeof out->cause);
    if (version >= 2u) {
        for (g = 0; g < GCM_CAUSES; g++)
            copy_cause(&a->cause[g], &out->cause[g]);
    }
    out->dropped_stops = GCM__LOAD(&a->dropped_stops);
    out->unusable_info = GCM__LOAD(&a->unusable_info);
    out->bursts = GCM__LOAD(&a->bursts);
    out->last_stop_ns = GCM__LOAD(&a->last_stop_ns);
    out->unseen = GCM__LOAD(&a->unseen);
    out->event_flags = GCM__LOAD(&a->event_flags);
    out->missed = GCM__LOAD(&a->missed);
}

/* Copies the request aggregates of a version 3 block (zeros for older ones,
 * whose bytes there belong to the ring).  They have many writers and no
 * sequence counter, so this is a plain copy, taken once. */
static void copy_requests(const gcm_block *b, uint32_t version, gcm_snapshot *out)
{
    const gcm_request_stats *r = &b->agg.requests;
    gcm_gen_snapshot *q = &out->requests;
    uint64_t lo;
    uint64_t hi;
    uint32_t i;
    int seen = 0;

    memset(q, 0, sizeof *q);
    out->requests_full = 0;
    if (version < 3u)
        return;
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        q->hist[i] = atomic_load_explicit(&r->hist[i], memory_order_acquire);
        q->count += q->hist[i];
        if (q->hist[i] != 0 && !seen) {
            /* The smallest request time is not kept: the first bucket's
             * lower bound is exact below 128 ns, within 1/64 above. */
            gcm_hist_bounds(i, &lo, &hi);
            q->min_ns = lo;
            seen = 1;
        }
    }
    q->collected = q->count - q->hist[0];
    q->total_ns = GCM__LOAD(&r->gc_ns);
    q->max_ns = GCM__LOAD(&r->max_ns);
    out->requests_full = GCM__LOAD(&r->full);
}

int gcm_block_snapshot(const gcm_block *b, gcm_snapshot *out)
{
    const gcm_aggregates *a;
    int status = GCM_EINVAL;
    int attempt;
    uint64_t s1 = 0;
    uint64_t s2 = 1;
    uint32_t g;
    uint32_t version;

    if (b == NULL || out == NULL)
        goto done;
    a = &b->agg;
    version = b->header.layout_version;

    /* Seqlock reader: acquire seq (even), copy with relaxed loads, then an
     * acquire fence before re-reading seq, so that if any copied value came
     * from a newer record the second read sees the counter moved. */
    for (attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
        s1 = atomic_load_explicit(&a->seq, memory_order_acquire);
        if (s1 & 1u) {
            /* Mid-record, or dead.  Let the writer run rather than spin. */
            sched_yield();
            continue;
        }
        copy_aggregates(a, version, out);
        atomic_thread_fence(memory_order_acquire);
        s2 = GCM__LOAD(&a->seq);
        if (s1 == s2)
            break;
    }
    out->torn = 0;
    status = 0;
    if (s1 != s2 || (s1 & 1u)) {
        /* Never clean: take one last copy as it stands and say so. */
        copy_aggregates(a, version, out);
        s1 = GCM__LOAD(&a->seq);
        out->torn = 1;
        status = GCM_EBUSY;
    }

    /* These header fields are written once, before recording starts. */
    out->pid = b->header.pid;
    out->ppid = b->header.ppid;
    out->process_start_ticks = b->header.process_start_ticks;
    out->capacity = b->header.capacity;
    out->init_realtime_ns = b->header.init_realtime_ns;
    out->init_monotonic_ns = b->header.init_monotonic_ns;
    out->alert_threshold_ns = b->header.alert_threshold_ns;
    out->bucket_count = b->header.bucket_count;
    memcpy(out->bucket_bounds_ns, b->header.bucket_bounds_ns, sizeof out->bucket_bounds_ns);
    out->state = atomic_load_explicit(&b->header.state, memory_order_acquire);
    out->exit_status = GCM__LOAD(&b->header.exit_status);
    out->end_realtime_ns = GCM__LOAD(&b->header.end_realtime_ns);
    out->taken_monotonic_ns = gcm_clock_monotonic_ns();
    out->layout_version = version;
    out->causes_known = version >= 2u;
    copy_requests(b, version, out);

    out->events_total = s1 >> 1;
    out->overwritten = out->events_total > out->capacity ? out->events_total - out->capacity : 0;

    memset(&out->all, 0, sizeof out->all);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        if (out->gen[g].count == 0)
            out->gen[g].min_ns = 0;
        gcm_gen_snapshot_add(&out->all, &out->gen[g]);
    }
done:
    return status;
}

static void load_slot(const gcm_event_slot *slot, gcm_event *ev)
{
    ev->start_ns = GCM__LOAD(&slot->start_ns);
    ev->duration_ns = GCM__LOAD(&slot->duration_ns);
    ev->collected = GCM__LOAD(&slot->collected);
    ev->uncollectable = GCM__LOAD(&slot->uncollectable);
    ev->candidates = GCM__LOAD(&slot->candidates);
    ev->generation = GCM__LOAD(&slot->generation);
    ev->flags = GCM__LOAD(&slot->flags);
}

/* Copies records lo .. hi-1 (all published, hi <= the count of published
 * records) into out[0 ..], then drops those the writer may have overwritten
 * meanwhile.  Returns the number of the first record kept; the kept ones are
 * out[0 .. hi - that number - 1]. */
static uint64_t copy_window(const gcm_block *b, uint64_t lo, uint64_t hi, gcm_event *out)
{
    const gcm_event_slot *ring = ring_of(b);
    uint64_t cap = b->header.capacity;
    uint64_t keep_from = 0;
    uint64_t s2;
    uint64_t k;

    for (k = lo; out != NULL && k < hi; k++)
        load_slot(&ring[k & (cap - 1u)], &out[k - lo]);

    /* After the copy, an acquire fence and a second read of seq tell how far
     * the writer got meanwhile.  The writer may have touched every record up
     * to maxk = (s2 - 1) >> 1 (the last complete one if s2 is even, the one
     * in progress if odd).  Writing record m overwrites the slot of record
     * m - cap, so any copied record numbered <= maxk - cap may hold a mix of
     * old and new fields: keep only records numbered >= maxk - cap + 1.  If
     * a relaxed load above saw a store of a newer record, the writer's
     * release fence after its odd seq store guarantees s2 covers it. */
    atomic_thread_fence(memory_order_acquire);
    s2 = GCM__LOAD(&b->agg.seq);
    if (s2 >= 1) {
        uint64_t maxk = (s2 - 1u) >> 1;
        if (maxk + 1u > cap)
            keep_from = maxk + 1u - cap;
    }
    if (out != NULL && keep_from > lo && hi > lo) {
        uint64_t drop = keep_from - lo;
        if (drop > hi - lo)
            drop = hi - lo;
        memmove(out, out + drop, (size_t)(hi - lo - drop) * sizeof *out);
        lo += drop;
    }
    return lo;
}

/* The number of fully published records: the acquire load pairs with the
 * writer's release store of an even seq, so every record below it is
 * visible.  If seq is odd, record (seq-1)/2 is in progress and seq >> 1
 * excludes it. */
static uint64_t published(const gcm_block *b)
{
    return atomic_load_explicit(&b->agg.seq, memory_order_acquire) >> 1;
}

int gcm_block_copy_events(const gcm_block *b, gcm_event *out, size_t out_capacity, size_t *count,
                          uint64_t *first_index)
{
    int status = GCM_EINVAL;
    uint64_t cap;
    uint64_t h1;
    uint64_t lo;

    if (b == NULL || count == NULL || first_index == NULL || (out == NULL && out_capacity > 0))
        goto done;
    cap = b->header.capacity;
    /* A ring of a few MB cannot be copied between two collections, so unlike
     * the snapshot this copy never retries; it drops what it cannot trust. */
    h1 = published(b);
    lo = h1 > cap ? h1 - cap : 0;
    if (h1 - lo > out_capacity)
        lo = h1 - out_capacity;
    /* With no room (out may then be NULL), lo == h1 and nothing is copied. */
    lo = copy_window(b, lo, h1, out);
    *count = (size_t)(h1 - lo);
    *first_index = lo;
    status = 0;
done:
    return status;
}

int gcm_block_copy_events_from(const gcm_block *b, uint64_t from, gcm_event *out,
                               size_t out_capacity, size_t *count, uint64_t *first_index)
{
    int status = GCM_EINVAL;
    uint64_t cap;
    uint64_t h1;
    uint64_t lo;
    uint64_t hi;

    if (b == NULL || count == NULL || first_index == NULL || out == NULL || out_capacity == 0)
        goto done;
    cap = b->header.capacity;
    h1 = published(b);
    /* Record numbers only grow: a cursor past them belongs to another block. */
    if (from > h1)
        goto done;
    lo = h1 - from > cap ? h1 - cap : from;
    hi = h1 - lo > out_capacity ? lo + out_capacity : h1;
    lo = copy_window(b, lo, hi, out);
    *count = (size_t)(hi - lo);
    *first_index = lo;
    status = 0;
done:
    return status;
}
