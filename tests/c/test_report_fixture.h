/* test_report_fixture.h: fabricated recordings and a memory sink for the report tests.
 *
 * Reports are pure functions of a snapshot, so the tests build blocks with
 * fixed clock values and fixed events, render them into memory, and compare
 * the bytes with golden files.  Nothing here reads a real clock: the init
 * clock pair and the snapshot time are overwritten with constants, so the
 * output is the same on every machine and every run.
 */
#ifndef GCM_REPORT_FIXTURE_H
#define GCM_REPORT_FIXTURE_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

/* 2025-11-28 17:00:00 UTC, and an arbitrary monotonic reading taken with it. */
#define FIX_INIT_REALTIME_NS INT64_C(1764349200000000000)
#define FIX_INIT_MONOTONIC_NS INT64_C(1000000000000)
#define FIX_PID 4242

/* One fabricated recording, with everything a gcm_report_input points at. */
typedef struct fixture {
    gcm_block *block;
    gcm_snapshot snap;
    gcm_event *events;
    size_t event_count;
    uint64_t first_index;
    gcm_config config;
    gcm_report_input in;
} fixture;

/* Formats a block of `capacity` slots with the default buckets
 * (1, 5, 20, 50, 100 ms) and an alert threshold of `threshold_ns`. */
static inline void fixture_init(fixture *f, uint64_t capacity, uint64_t threshold_ns)
{
    static const uint64_t bounds[] = {1000000u, 5000000u, 20000000u, 50000000u, 100000000u};
    gcm_block_params p;
    size_t size, i;

    memset(f, 0, sizeof *f);
    memset(&p, 0, sizeof p);
    p.capacity = capacity;
    p.pid = FIX_PID;
    p.ppid = 1;
    p.alert_threshold_ns = threshold_ns;
    p.bucket_count = 5;
    for (i = 0; i < 5; i++)
        p.bucket_bounds_ns[i] = bounds[i];
    size = gcm_block_size(capacity);
    GCM_CHECK(size > 0);
    f->block = calloc(1, size);
    GCM_CHECK(f->block != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(f->block, size, &p), 0);
    /* Fixed clocks, so that timestamps and the wall time are the same everywhere. */
    f->block->header.init_realtime_ns = FIX_INIT_REALTIME_NS;
    f->block->header.init_monotonic_ns = FIX_INIT_MONOTONIC_NS;
    gcm_config_init(&f->config);
    f->config.alert_threshold_ms = (double)threshold_ns / 1e6;
}

/* Records one collection starting `offset_ms` after init. */
static inline void fixture_add(fixture *f, double offset_ms, uint32_t gen, uint64_t duration_ns,
                               uint64_t collected, uint64_t uncollectable)
{
    gcm_event ev;

    memset(&ev, 0, sizeof ev);
    ev.start_ns = (uint64_t)FIX_INIT_MONOTONIC_NS + (uint64_t)(offset_ms * 1e6 + 0.5);
    ev.duration_ns = duration_ns;
    ev.collected = collected;
    ev.uncollectable = uncollectable;
    ev.generation = gen;
    GCM_CHECK_EQ_INT(gcm_block_record(f->block, &ev), 0);
}

/* Takes the snapshot `wall_ms` after init and copies the retained events. */
static inline void fixture_finish(fixture *f, double wall_ms, const char *python_version,
                                  int free_threaded)
{
    uint64_t cap = f->block->header.capacity;

    GCM_CHECK_EQ_INT(gcm_block_snapshot(f->block, &f->snap), 0);
    f->snap.taken_monotonic_ns = (uint64_t)FIX_INIT_MONOTONIC_NS + (uint64_t)(wall_ms * 1e6 + 0.5);
    f->events = calloc((size_t)cap, sizeof *f->events);
    GCM_CHECK(f->events != NULL);
    GCM_CHECK_EQ_INT(
        gcm_block_copy_events(f->block, f->events, (size_t)cap, &f->event_count, &f->first_index),
        0);
    f->in.snapshot = &f->snap;
    f->in.events = f->events;
    f->in.event_count = f->event_count;
    f->in.first_event_index = f->first_index;
    f->in.config = &f->config;
    f->in.python_version = python_version;
    f->in.free_threaded = free_threaded;
}

static inline void fixture_release(fixture *f)
{
    free(f->events);
    free(f->block);
    f->events = NULL;
    f->block = NULL;
}

/* A sink that collects everything in memory and checks the one-call-per-line
 * contract on every call: each write is one or more whole lines. */
typedef struct memsink {
    char *buf;
    size_t len;
    size_t cap;
    size_t calls;
} memsink;

static inline int memsink_write(void *ctx, const char *data, size_t len)
{
    memsink *m = ctx;

    GCM_CHECK(len > 0);
    GCM_CHECK(data[len - 1] == '\n');
    if (m->len + len + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        char *grown;
        while (m->len + len + 1 > cap)
            cap *= 2;
        grown = realloc(m->buf, cap);
        GCM_CHECK(grown != NULL);
        m->buf = grown;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, data, len);
    m->len += len;
    m->buf[m->len] = '\0';
    m->calls++;
    return 0;
}

static inline gcm_sink memsink_sink(memsink *m)
{
    gcm_sink s;

    memset(m, 0, sizeof *m);
    s.write = memsink_write;
    s.ctx = m;
    return s;
}

/* Counts the lines of `text` that start with `prefix`. */
static inline size_t count_prefixed(const char *text, const char *prefix)
{
    size_t n = 0, plen = strlen(prefix);
    const char *p = text;

    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, plen) == 0)
            n++;
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return n;
}

/* Compares `got` with tests/data/golden/<name>, or rewrites the file when
 * GCM_UPDATE_GOLDEN=1.  On a difference it names the first differing line. */
static inline void check_golden(const char *name, const char *got, size_t got_len)
{
    char path[1024];
    const char *update = getenv("GCM_UPDATE_GOLDEN");
    FILE *fp;
    char *want;
    long want_len;
    size_t i, line = 1;

    snprintf(path, sizeof path, "%s/golden/%s", GCM_TEST_DATA_DIR, name);
    if (update != NULL && strcmp(update, "1") == 0) {
        fp = fopen(path, "wb");
        GCM_CHECK(fp != NULL);
        GCM_CHECK(fwrite(got, 1, got_len, fp) == got_len);
        GCM_CHECK(fclose(fp) == 0);
        return;
    }
    fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "%s: %s (set GCM_UPDATE_GOLDEN=1 to create it)\n", path, strerror(errno));
        exit(1);
    }
    GCM_CHECK(fseek(fp, 0, SEEK_END) == 0);
    want_len = ftell(fp);
    GCM_CHECK(want_len >= 0);
    GCM_CHECK(fseek(fp, 0, SEEK_SET) == 0);
    want = malloc((size_t)want_len + 1);
    GCM_CHECK(want != NULL);
    GCM_CHECK(fread(want, 1, (size_t)want_len, fp) == (size_t)want_len);
    fclose(fp);
    for (i = 0; i < got_len && i < (size_t)want_len && got[i] == want[i]; i++) {
        if (got[i] == '\n')
            line++;
    }
    if (i != got_len || i != (size_t)want_len) {
        fprintf(stderr,
                "%s differs from the rendered output at line %zu (byte %zu)\n"
                "--- rendered:\n%s\n",
                path, line, i, got);
        exit(1);
    }
    free(want);
}

#endif /* GCM_REPORT_FIXTURE_H */
