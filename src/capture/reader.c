/* src/core/capture.c: creating, mapping and reading capture files.
 *
 * The writer's half runs once, at start: it pays for every page of the file
 * up front (posix_fallocate, then a store into each page) so that the GC
 * callback only ever stores into memory that is already there.  The reader's
 * half runs in `pygcprofiler report` and in the fuzz target, on files that
 * may be empty, truncated, corrupted or written by a writer that died
 * mid-record; it refuses or repairs, and never trusts a byte it did not
 * check.
 */
#include "gc_monitor/capture.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gc_monitor/errors.h"
#include "gc_monitor/stats.h"
#include "base/base.h"
#include "block/block_internal.h"

/* /proc/<pid>/stat is one line of at most a few hundred bytes; the command
 * name in it is at most 64. */
#define STAT_LINE_MAX 1024

/* Unmaps `mem` unless it is MAP_FAILED (never mapped, or handed over to the
 * capture), keeping the errno that explains a failure for the caller. */
static void unmap_keep_errno(void *mem, size_t size)
{
    int saved = errno;

    if (mem != MAP_FAILED)
        (void)munmap(mem, size);
    errno = saved;
}

int gcm_capture_create(gcm_capture *cap, const char *path, const gcm_block_params *params,
                       const char *meta)
{
    int status = GCM_EINVAL;
    int fd = -1;
    int created = 0;
    void *mem = MAP_FAILED;
    size_t size = 0;
    size_t page;
    size_t off;
    long pagesize;
    int rc;

    if (cap == NULL || path == NULL || params == NULL)
        goto done;
    memset(cap, 0, sizeof *cap);
    size = gcm_block_size(params->capacity);
    if (size == 0)
        goto done;
    status = GCM_EIO;
    /* O_EXCL refuses any existing name, a symlink included (even a dangling
     * one), so the file is always new and ours; O_NOFOLLOW says the same for
     * readers of this code. */
    fd = gcm__open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        goto done;
    created = 1;
    /* Every block of the file is allocated now: a full disk or a file-size
     * limit fails here, at start, instead of as SIGBUS in the callback. */
    do {
        rc = posix_fallocate(fd, 0, (off_t)size);
    } while (rc == EINTR);
    if (rc != 0) {
        errno = rc;
        goto done;
    }
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
        goto done;
    /* Touch every page, so each has its page-cache page and the callback's
     * first store into it is not a fault.  gcm_block_init zeroes the block
     * again, but this loop says why it must be done here. */
    pagesize = sysconf(_SC_PAGESIZE);
    page = pagesize > 0 ? (size_t)pagesize : 4096u;
    for (off = 0; off < size; off += page)
        ((volatile unsigned char *)mem)[off] = 0;
    /* Best effort: keep the pages resident so memory pressure cannot evict
     * them and make a later store fault.  Without the privilege or the
     * RLIMIT_MEMLOCK room this fails, and the pages stay merely touched. */
    (void)mlock(mem, size);
    status = gcm_block_init((gcm_block *)mem, size, params);
    if (status != 0)
        goto done;
    if (meta != NULL) {
        char *dst = ((gcm_block *)mem)->header.meta;
        size_t len = strnlen(meta, GCM_META_SIZE - 1u);
        memcpy(dst, meta, len);
        dst[len] = '\0';
    }
    cap->block = (gcm_block *)mem;
    cap->size = size;
    cap->writable = 1;
    mem = MAP_FAILED;
    status = 0;
done:
    unmap_keep_errno(mem, size);
    gcm__close_keep_errno(fd);
    if (status != 0 && created) {
        int saved = errno;
        (void)unlink(path);
        errno = saved;
    }
    return status;
}

int gcm_capture_open(gcm_capture *cap, const char *path)
{
    int status = GCM_EINVAL;
    int fd = -1;
    struct stat st;
    void *mem = MAP_FAILED;
    size_t size = 0;

    if (cap == NULL || path == NULL)
        goto done;
    memset(cap, 0, sizeof *cap);
    status = GCM_EIO;
    /* O_NONBLOCK: a FIFO at the path must not make the reader wait for a
     * writer; it is refused below as not a regular file. */
    fd = gcm__open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0);
    if (fd < 0)
        goto done;
    if (fstat(fd, &st) != 0)
        goto done;
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto done;
    }
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
     * what is consistent. */
    mem = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
        goto done;
    status = gcm_block_check(mem, size);
    if (status != 0)
        goto done;
    cap->block = (gcm_block *)mem;
    cap->size = size;
    cap->writable = 0;
    mem = MAP_FAILED;
done:
    unmap_keep_errno(mem, size);
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

void gcm_capture_unmap(gcm_block *block, size_t size)
{
    if (block != NULL)
        (void)munmap(block, size);
}

/* Reads the whole of /proc/<pid>/stat into `buf`.  Returns its length, or
 * -1 with errno set. */
static long read_stat_line(int64_t pid, char *buf, size_t size)
{
    char path[64];

    (void)snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    return (long)gcm__read_small_file(path, buf, size);
}

/* Parses the state letter (field 3) and the start time (field 22) out of a
 * stat line.  The command name (field 2) may hold spaces and parentheses,
 * so the fields are counted from the last ')'. */
static int parse_stat_line(const char *line, char *state, uint64_t *ticks)
{
    const char *p = strrchr(line, ')');
    uint64_t v = 0;
    int field;
    int status = GCM_ECORRUPT;

    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        goto done;
    p += 2;
    *state = *p;
    /* p is at field 3; move to field 22. */
    for (field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL)
            goto done;
        p++;
    }
    if (*p < '0' || *p > '9')
        goto done;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9u) / 10u)
            goto done;
        v = v * 10u + (uint64_t)(*p - '0');
    }
    *ticks = v;
    status = 0;
done:
    return status;
}

/* Like gcm_capture_start_ticks, but also returns the state letter. */
static int stat_of(int64_t pid, char *state, uint64_t *ticks)
{
    char line[STAT_LINE_MAX];
    int status = GCM_EIO;

    /* A pid from a damaged file may be anything: only real pids are looked
     * up, so "/proc/-1/stat" or "/proc/0/stat" is never even formed. */
    if (pid <= 0 || pid > INT32_MAX) {
        errno = ESRCH;
        goto done;
    }
    if (read_stat_line(pid, line, sizeof line) < 0)
        goto done;
    status = parse_stat_line(line, state, ticks);
done:
    return status;
}

int gcm_capture_start_ticks(int64_t pid, uint64_t *ticks)
{
    char state = 0;

    if (ticks == NULL)
        return GCM_EINVAL;
    return stat_of(pid, &state, ticks);
}

int gcm_capture_writer_alive(int64_t pid, uint64_t start_ticks)
{
    char state = 0;
    uint64_t ticks = 0;

    if (stat_of(pid, &state, &ticks) != 0)
        return 0;
    /* A zombie has exited; only its parent has not yet collected it. */
    if (state == 'Z' || state == 'X' || state == 'x')
        return 0;
    if (start_ticks != 0 && ticks != start_ticks)
        return 0;
    return 1;
}

int gcm_capture_resolve_state(gcm_snapshot *snap, int check_alive)
{
    int gone = 0;

    if (snap == NULL)
        goto done;
    if (snap->state == GCM_STATE_EXITED || snap->state == GCM_STATE_KILLED ||
        snap->state == GCM_STATE_GONE)
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
        gcm_capture_writer_alive(h->pid, h->process_start_ticks) &&
        !counter_stuck(cap->block)) {
        /* A live writer: the seqlock sorts out what is consistent. */
        status = gcm_block_snapshot(cap->block, out);
    } else {
        /* Only the header and the aggregates are read by the snapshot. */
        copy = malloc(offsetof(gcm_block, ring));
        if (copy == NULL) {
            status = GCM_ENOMEM;
            goto done;
        }
        memcpy(copy, cap->block, offsetof(gcm_block, ring));
        seq = GCM__LOAD(&copy->agg.seq);
        GCM__STORE(&copy->agg.seq, seq & ~(uint64_t)1);
        status = gcm_block_snapshot(copy, out);
        if (status == 0 && (seq & 1u)) {
            out->torn = 1;
            status = GCM_EBUSY;
        }
    }
    *gone = gcm_capture_resolve_state(out, check_alive);
done:
    free(copy);
    return status;
}

void gcm_capture_meta_copy(const gcm_block *b, char *out, size_t size)
{
    const unsigned char *src;
    size_t n;
    size_t i = 0;

    if (out == NULL || size == 0)
        return;
    out[0] = '\0';
    if (b == NULL)
        return;
    src = (const unsigned char *)b->header.meta;
    /* The writer NUL-terminates, but a damaged file need not: stop at the
     * first NUL or at the end of the area, whichever comes first. */
    n = strnlen((const char *)src, size - 1u < GCM_META_SIZE ? size - 1u : GCM_META_SIZE);
    /* Control bytes other than newlines and malformed UTF-8 become '?', so
     * the text stays on its lines and is valid in a JSON string. */
    while (i < n) {
        size_t len = gcm__utf8_length(src + i, n - i);
        if (len == 0 || (src[i] < 0x20 && src[i] != '\n') || src[i] == 0x7f) {
            out[i] = '?';
            i++;
        } else {
            memcpy(out + i, src + i, len);
            i += len;
        }
    }
    out[i] = '\0';
}

int gcm_capture_meta_get(const char *meta, const char *key, char *out, size_t size)
{
    const char *line = meta;
    size_t key_len;
    int status = GCM_EINVAL;

    if (out == NULL || size == 0)
        goto done;
    out[0] = '\0';
    if (meta == NULL || key == NULL)
        goto done;
    key_len = strlen(key);
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

        if (len > key_len && strncmp(line, key, key_len) == 0 && line[key_len] == '=') {
            size_t vlen = len - key_len - 1u;
            if (vlen >= size) {
                /* Cut between characters, never inside one. */
                vlen = size - 1u;
                while (vlen > 0 && ((unsigned char)line[key_len + 1u + vlen] & 0xc0) == 0x80)
                    vlen--;
            }
            memcpy(out, line + key_len + 1u, vlen);
            out[vlen] = '\0';
            status = 0;
            goto done;
        }
        line += len;
        if (*line == '\n')
            line++;
    }
done:
    return status;
}

/* Reclassifies one generation's histogram for a new threshold (when
 * `threshold_too`) and new bounds (when `buckets_too`).  A bucket's values
 * lie in [lo, hi] clamped to the generation's exact [min, max], so a bucket
 * whose clamped range sits wholly on one side of a limit is placed exactly. */
static void reclassify_gen(gcm_gen_snapshot *g, int threshold_too, uint64_t threshold,
                           int buckets_too, uint32_t count, const uint64_t *bounds,
                           int *approximate)
{
    uint32_t i;
    uint32_t k;

    if (threshold_too)
        g->alerts = 0;
    if (buckets_too)
        memset(g->buckets, 0, sizeof g->buckets);
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        uint64_t n = g->hist[i];
        uint64_t lo;
        uint64_t hi;
        uint64_t mid;

        if (n == 0)
            continue;
        gcm_hist_bounds(i, &lo, &hi);
        if (g->count > 0) {
            if (lo < g->min_ns)
                lo = g->min_ns;
            if (hi > g->max_ns)
                hi = g->max_ns;
        }
        if (lo > hi)
            lo = hi;
        mid = lo + (hi - lo) / 2u;
        if (threshold_too) {
            if (gcm_is_alert(mid, threshold)) {
                g->alerts += n;
                if (!gcm_is_alert(lo, threshold))
                    *approximate = 1;
            } else if (gcm_is_alert(hi, threshold)) {
                *approximate = 1;
            }
        }
        if (buckets_too) {
            /* Bucket k holds (bounds[k-1], bounds[k]]; k == count is the rest. */
            for (k = 0; k < count && mid > bounds[k]; k++)
                ;
            g->buckets[k] += n;
            if ((k > 0 && lo <= bounds[k - 1]) || (k < count && hi > bounds[k]))
                *approximate = 1;
        }
    }
}

int gcm_capture_reclassify(gcm_snapshot *snap, uint64_t alert_threshold_ns, uint32_t count,
                           const uint64_t *bounds, int *approximate)
{
    int status = GCM_EINVAL;
    int threshold_too;
    int buckets_too;
    uint32_t g;
    uint32_t i;

    if (snap == NULL || bounds == NULL || approximate == NULL || count < 1 ||
        count > GCM_MAX_BUCKETS)
        goto done;
    for (i = 1; i < count; i++) {
        if (bounds[i] <= bounds[i - 1])
            goto done;
    }
    /* Figures whose limits did not change stay exact, as recorded. */
    threshold_too = alert_threshold_ns != snap->alert_threshold_ns;
    buckets_too = count != snap->bucket_count ||
                  memcmp(bounds, snap->bucket_bounds_ns, count * sizeof bounds[0]) != 0;
    *approximate = 0;
    for (g = 0; g < GCM_GENERATIONS; g++)
        reclassify_gen(&snap->gen[g], threshold_too, alert_threshold_ns, buckets_too, count,
                       bounds, approximate);
    snap->all.alerts = 0;
    if (buckets_too)
        memset(snap->all.buckets, 0, sizeof snap->all.buckets);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        snap->all.alerts += snap->gen[g].alerts;
        for (i = 0; buckets_too && i <= count; i++)
            snap->all.buckets[i] += snap->gen[g].buckets[i];
    }
    snap->alert_threshold_ns = alert_threshold_ns;
    snap->bucket_count = count;
    memset(snap->bucket_bounds_ns, 0, sizeof snap->bucket_bounds_ns);
    memcpy(snap->bucket_bounds_ns, bounds, count * sizeof bounds[0]);
    status = 0;
done:
    return status;
}
