/* src/capture/reader.c: opening a capture file and taking its snapshot.
 *
 * This runs in `pygcprofiler report`, `live`, `compare` and the fuzz
 * targets, on files that may be empty, truncated, corrupted or written by a
 * writer that died mid-record; it refuses or repairs, and never trusts a
 * byte it did not check.
 */
/* SEEK_DATA and SEEK_HOLE (Linux, the BSDs, Solaris) are outside POSIX. */
#define _GNU_SOURCE

#include "gc_monitor/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/stacks.h"
#include "gc_monitor/stats.h"
#include "block/block_internal.h"

/* Counts the bytes of [from, to) of `fd` that hold data rather than holes.
 * A sparse file can claim a ring of gigabytes that holds nothing; what it
 * holds bounds what a reader copies.  Where the file system cannot tell
 * (no SEEK_DATA), every byte counts as data. */
static uint64_t data_bytes(int fd, off_t from, off_t to)
{
    uint64_t total = 0;
    off_t pos = from;

    while (pos < to) {
        off_t data = lseek(fd, pos, SEEK_DATA);
        off_t hole;

        if (data < 0) {
            /* ENXIO: no data after pos.  Anything else: cannot tell. */
            if (errno != ENXIO)
                total += (uint64_t)(to - pos);
            break;
        }
        if (data >= to)
            break;
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > to)
            hole = to;
        if (hole <= data) {
            total += (uint64_t)(to - data);
            break;
        }
        total += (uint64_t)(hole - data);
        pos = hole;
    }
    return total;
}

int gcm_capture_open(gcm_capture *cap, const char *path)
{
    int status = GCM_EINVAL;
    int fd = -1;
    struct stat st;
    void *mem = MAP_FAILED;
    size_t size = 0;
    uint64_t capacity;
    uint64_t held;
    size_t ring;

    if (cap == NULL || path == NULL)
        goto done;
    memset(cap, 0, sizeof *cap);
    /* The one input policy (src/base/files.c): only a regular file is
     * opened, never a symlink, a FIFO (which would block or lose its
     * writer's data), a device, a socket or a directory. */
    status = gcm__open_input(path, 0, &fd, &st);
    if (status != 0)
        goto done;
    status = GCM_EIO;
    if (st.st_size <= 0) {
        status = GCM_ETRUNCATED;
        goto done;
    }
    if ((uintmax_t)st.st_size > (uintmax_t)SIZE_MAX) {
        errno = EFBIG;
        goto done;
    }
    size = (size_t)st.st_size;
    /* A shared read-only mapping: a writer that still runs keeps storing
     * into the same pages, and the snapshot's sequence counter sorts out
     * what is consistent.  Only the pages a reader touches are read. */
    mem = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
        goto done;
    status = gcm_block_check(mem, size);
    if (status != 0)
        goto done;
    capacity = ((const gcm_block *)mem)->header.capacity;
    ring = gcm_block_ring_offset((const gcm_block *)mem);
    held = data_bytes(fd, (off_t)ring, (off_t)ring + (off_t)(capacity * sizeof(gcm_event_slot)));
    /* Rounded up: a record that starts in data counts. */
    held = (held + sizeof(gcm_event_slot) - 1) / sizeof(gcm_event_slot);
    cap->block = (gcm_block *)mem;
    cap->size = size;
    cap->writable = 0;
    cap->held_slots = held < capacity ? held : capacity;
    mem = MAP_FAILED;
done:
    gcm__unmap_keep_errno(mem, size);
    gcm__close_keep_errno(fd);
    return status;
}

void gcm_capture_close(gcm_capture *cap)
{
    if (cap == NULL || cap->block == NULL)
        return;
    (void)munmap(cap->block, cap->size);
    cap->block = NULL;
    cap->size = 0;
}

int gcm_capture_resolve_state(gcm_snapshot *snap, int check_alive)
{
    int gone = 0;

    if (snap == NULL)
        goto done;
    if (snap->state == GCM_STATE_EXITED || snap->state == GCM_STATE_KILLED ||
        snap->state == GCM_STATE_GONE || snap->state == GCM_STATE_DETACHED)
        goto done;
    snap->state = GCM_STATE_RUNNING;
    if (check_alive && gcm_capture_writer_alive(snap->pid, snap->process_start_ticks))
        goto done;
    /* The writer died without a word.  The end of its last collection is the
     * last moment it is known to have lived: converted to wall-clock time
     * through the init clock pair, in unsigned arithmetic because a damaged
     * file may hold any values. */
    snap->state = GCM_STATE_GONE;
    snap->exit_status = 0;
    snap->end_realtime_ns = snap->init_realtime_ns;
    if (snap->last_stop_ns != 0 && snap->init_monotonic_ns >= 0 &&
        snap->last_stop_ns > (uint64_t)snap->init_monotonic_ns) {
        uint64_t since = snap->last_stop_ns - (uint64_t)snap->init_monotonic_ns;
        if (snap->init_realtime_ns >= 0 && since <= (uint64_t)(INT64_MAX - snap->init_realtime_ns))
            snap->end_realtime_ns = snap->init_realtime_ns + (int64_t)since;
    }
    gone = 1;
done:
    return gone;
}

/* A live writer holds the sequence counter odd for well under a
 * microsecond per record.  One that stays odd and unchanged for 20 ms is
 * not recording (a writer stopped in a debugger, or a damaged file that
 * names some live process): its figures are taken as they stand rather than
 * through gcm_block_snapshot's thousands of retries. */
static int counter_stuck(const gcm_block *b)
{
    struct timespec ms = {0, 1000000};
    uint64_t seq = atomic_load_explicit(&b->agg.seq, memory_order_acquire);
    int i;

    if ((seq & 1u) == 0)
        return 0;
    for (i = 0; i < 20; i++) {
        (void)nanosleep(&ms, NULL);
        if (atomic_load_explicit(&b->agg.seq, memory_order_acquire) != seq)
            return 0;
    }
    return 1;
}

/* Returns 1 when the metadata of `b` has the line "source=remote": a capture
 * that `watch` wrote from outside the process.  Its collections carry no
 * cause (an outside reader cannot tell a gc.collect() call from the
 * threshold), whatever the layout version says.  The metadata is set before
 * recording and never changes, so it is read in place, bounded by its size. */
static int recorded_from_outside(const gcm_block *b)
{
    static const char line[] = "source=remote\n";
    const char *meta = b->header.meta;
    size_t len = strnlen(meta, sizeof b->header.meta);
    size_t i = 0;

    while (i < len) {
        const char *eol = memchr(meta + i, '\n', len - i);
        size_t end = eol != NULL ? (size_t)(eol - meta) + 1u : len;

        if (end - i == sizeof line - 1u && memcmp(meta + i, line, sizeof line - 1u) == 0)
            return 1;
        i = end;
    }
    return 0;
}

int gcm_capture_snapshot(const gcm_capture *cap, gcm_snapshot *out, int check_alive, int *gone)
{
    const gcm_header *h;
    gcm_block *copy = NULL;
    uint32_t state;
    uint64_t seq;
    int status = GCM_EINVAL;

    if (cap == NULL || cap->block == NULL || out == NULL || gone == NULL)
        goto done;
    h = &cap->block->header;
    state = atomic_load_explicit(&h->state, memory_order_acquire);
    if (state == GCM_STATE_RUNNING && check_alive &&
        gcm_capture_writer_alive(h->pid, h->process_start_ticks) && !counter_stuck(cap->block)) {
        /* A live writer: the seqlock sorts out what is consistent. */
        status = gcm_block_snapshot(cap->block, out);
    } else {
        /* Only the header and the aggregates are read by the snapshot (an
         * older layout's are shorter: the rest of the copy stays zero). */
        copy = calloc(1, offsetof(gcm_block, ring));
        if (copy == NULL) {
            status = GCM_ENOMEM;
            goto done;
        }
        memcpy(copy, cap->block, gcm_block_ring_offset(cap->block));
        seq = GCM__LOAD(&copy->agg.seq);
        GCM__STORE(&copy->agg.seq, seq & ~(uint64_t)1);
        status = gcm_block_snapshot(copy, out);
        if (status == 0 && (seq & 1u)) {
            out->torn = 1;
            status = GCM_EBUSY;
        }
    }
    if (out->causes_known && recorded_from_outside(cap->block)) {
        out->causes_known = 0;
        memset(out->cause, 0, sizeof out->cause);
    }
    *gone = gcm_capture_resolve_state(out, check_alive);
done:
    free(copy);
    return status;
}

int gcm_capture_stacks_copy(const gcm_capture *cap, struct gcm_stack_table **out)
{
    gcm_stack_table *copy = NULL;
    size_t region_size = 0;
    const void *region;
    int status = 0;

    *out = NULL;
    if (cap == NULL || cap->block == NULL)
        return GCM_EINVAL;
    region = gcm_block_stacks(cap->block, cap->size, &region_size);
    if (region == NULL) {
        /* A table the header names that the file does not hold. */
        if (cap->block->header.layout_version >= 4u && cap->block->header.stacks_size != 0)
            status = GCM_ETRUNCATED;
        goto done;
    }
    /* No table this build writes is larger: a header that claims more (a
     * sparse file of holes) is not copied. */
    status = GCM_ECORRUPT;
    if (region_size < sizeof *copy ||
        region_size > gcm_stacks_size(GCM_STACK_DEFAULT_ENTRIES, GCM_STACK_MAX_DEPTH,
                                      GCM_STACK_DEFAULT_SITES))
        goto done;
    status = GCM_ENOMEM;
    copy = malloc(region_size);
    if (copy == NULL)
        goto done;
    /* A private copy first: a running writer (or anyone who can write the
     * file) may change the mapped bytes between a check and a use. */
    memcpy(copy, region, region_size);
    status = gcm_stacks_check(copy, region_size);
    if (status != 0)
        goto done;
    *out = copy;
    copy = NULL;
done:
    free(copy);
    return status;
}
