/* report_render.c: how long the exit report takes for 2^20 collections.
 *
 * Fills a ring of 2^20 slots with 2^20 varied collections (a mix like a busy
 * server's: mostly sub-millisecond young collections, some older ones, a few
 * slow full ones over the alert threshold), then renders the text report and
 * the JSON Lines report through gcm_report_render_fd and prints the wall time
 * of each and the peak resident memory before and after, which shows that
 * rendering does not grow with the event count.  This is a benchmark, not a
 * test: it prints figures and asserts nothing about them.
 *
 * Build and run from the repository root, after building gcm_core with CMake
 * in build-<name> (Release or RelWithDebInfo):
 *
 *   cc -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude benchmarks/report_render.c \
 *      build-<name>/libgcm_core.a -lcjson -lm -o /tmp/report_render
 *   /tmp/report_render [output path, default /dev/null]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "gc_monitor/gc_monitor.h"

#define EVENTS (1u << 20)

static long max_rss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static double seconds_since(uint64_t start_ns)
{
    return (double)(gcm_clock_monotonic_ns() - start_ns) / 1e9;
}

/* Renders `in` into a fresh `path` and prints the time and the size written. */
static int bench(const char *label, const gcm_report_input *in, const char *path)
{
    long rss_before = max_rss_kib();
    off_t size;
    uint64_t t0;
    double secs;
    int fd, rc;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    t0 = gcm_clock_monotonic_ns();
    rc = gcm_report_render_fd(in, fd);
    secs = seconds_since(t0);
    size = lseek(fd, 0, SEEK_END);
    close(fd);
    printf("%-5s %8.3f s  %7.1f MB written  peak RSS %ld -> %ld KiB  status %d\n", label, secs,
           size > 0 ? (double)size / 1e6 : 0.0, rss_before, max_rss_kib(), rc);
    return rc != 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/dev/null";
    static gcm_snapshot snap;
    gcm_block_params p;
    gcm_report_input in;
    gcm_config cfg;
    gcm_block *block;
    gcm_event *events;
    size_t size, count;
    uint64_t first, t = 1000000000u, rng = 0x9E3779B97F4A7C15u;
    uint32_t i;
    int failed = 0;

    memset(&p, 0, sizeof p);
    p.capacity = EVENTS;
    p.pid = getpid();
    p.alert_threshold_ns = 50000000u;
    p.bucket_count = 5;
    p.bucket_bounds_ns[0] = 1000000u;
    p.bucket_bounds_ns[1] = 5000000u;
    p.bucket_bounds_ns[2] = 20000000u;
    p.bucket_bounds_ns[3] = 50000000u;
    p.bucket_bounds_ns[4] = 100000000u;
    size = gcm_block_size(EVENTS);
    block = calloc(1, size);
    events = calloc(EVENTS, sizeof *events);
    if (block == NULL || events == NULL || gcm_block_init(block, size, &p) != 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    for (i = 0; i < EVENTS; i++) {
        gcm_event ev;
        uint64_t r;

        /* xorshift64: reproducible variety without libc's rand(). */
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        r = rng;
        memset(&ev, 0, sizeof ev);
        ev.generation = (r % 100u) < 90u ? 0u : ((r % 100u) < 99u ? 1u : 2u);
        ev.duration_ns = 20000u + (r >> 40) % (ev.generation == 2 ? 80000000u : 900000u);
        ev.collected = (r >> 20) % 20000u;
        ev.uncollectable = (r % 1000u) == 0 ? 1u : 0u;
        t += 1000000u + (r >> 32) % 5000000u;
        ev.start_ns = (uint64_t)block->header.init_monotonic_ns + t;
        gcm_block_record(block, &ev);
    }
    gcm_block_snapshot(block, &snap);
    gcm_block_copy_events(block, events, EVENTS, &count, &first);
    gcm_config_init(&cfg);
    memset(&in, 0, sizeof in);
    in.snapshot = &snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = &cfg;
    in.python_version = "3.12.1";
    printf("%zu events in the ring, output to %s\n", count, path);
    cfg.json = 0;
    failed |= bench("text", &in, path);
    cfg.json = 1;
    failed |= bench("json", &in, path);
    free(events);
    free(block);
    return failed;
}
