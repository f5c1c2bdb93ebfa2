/* test_capture.c: capture files, created and read through the public API.
 *
 * Each case works in its own scratch directory under $TMPDIR (or /tmp),
 * removed at the end: the writer's refusals (an existing name, a symlink),
 * the reader's refusals (empty, truncated, a directory, a FIFO that must not
 * block, a symlink), the process checks against this process and a zombie,
 * how a dead writer's state and torn counter are settled, the metadata's
 * sanitising and the exit lines appended to it, the histogram reclassification of report-time limits, and
 * how much of a sparse file's ring a reader takes as held.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gc_monitor/gc_monitor.h"
#include "gc_monitor/reader.h"
#include "gcm_test.h"

static char dir[256];

static void make_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    (void)snprintf(dir, sizeof dir, "%s/gcm-capture-XXXXXX", tmp != NULL ? tmp : "/tmp");
    GCM_CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[512];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    GCM_CHECK(system(cmd) == 0);
}

static void path_in_dir(char *out, size_t size, const char *name)
{
    (void)snprintf(out, size, "%s/%s", dir, name);
}

static gcm_block_params params_for(uint64_t capacity)
{
    gcm_block_params p;
    memset(&p, 0, sizeof p);
    p.capacity = capacity;
    p.pid = (int64_t)getpid();
    p.ppid = (int64_t)getppid();
    p.alert_threshold_ns = 50000000u;
    p.bucket_count = 2;
    p.bucket_bounds_ns[0] = 2000000u;
    p.bucket_bounds_ns[1] = 5000000u;
    return p;
}

static gcm_event event_of(uint32_t gen, uint64_t start_ns, uint64_t duration_ns)
{
    gcm_event ev;
    memset(&ev, 0, sizeof ev);
    ev.generation = gen;
    ev.start_ns = start_ns;
    ev.duration_ns = duration_ns;
    return ev;
}

static void test_create_and_read_back(void)
{
    char path[512];
    gcm_block_params p = params_for(16);
    gcm_capture w;
    gcm_capture r;
    gcm_snapshot *snap = malloc(sizeof *snap);
    struct stat st;
    char meta[GCM_META_SIZE + 1];
    char value[64];
    int gone = -1;
    gcm_event ev = event_of(1, 1000, 3000000u);

    GCM_CHECK(snap != NULL);
    make_dir();
    path_in_dir(path, sizeof path, "a.gcm");
    GCM_CHECK_EQ_INT(gcm_capture_create(&w, path, &p, "python_version=3.99.0\ncommand=x y\n"), 0);
    GCM_CHECK(w.writable == 1);
    GCM_CHECK_EQ_U64(w.size, gcm_block_size(16));
    GCM_CHECK(stat(path, &st) == 0);
    GCM_CHECK_EQ_INT(st.st_mode & 0777, 0600);
    GCM_CHECK_EQ_U64((uint64_t)st.st_size, gcm_block_size(16));
    /* Every byte is allocated on disk, not a sparse hole. */
    GCM_CHECK((uint64_t)st.st_blocks * 512u >= (uint64_t)st.st_size);
    GCM_CHECK_EQ_INT(gcm_block_record(w.block, &ev), 0);

    GCM_CHECK_EQ_INT(gcm_capture_open(&r, path), 0);
    GCM_CHECK(r.writable == 0);
    /* The reader's mapping sees the writer's stores as they happen. */
    ev.start_ns = 9000000u;
    GCM_CHECK_EQ_INT(gcm_block_record(w.block, &ev), 0);
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 1, &gone), 0);
    GCM_CHECK_EQ_INT(gone, 0);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_RUNNING);
    GCM_CHECK_EQ_U64(snap->events_total, 2);
    GCM_CHECK_EQ_U64(snap->gen[1].count, 2);
    gcm_capture_meta_copy(r.block, meta, sizeof meta);
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(meta, "python_version", value, sizeof value), 0);
    GCM_CHECK_STREQ(value, "3.99.0");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(meta, "command", value, sizeof value), 0);
    GCM_CHECK_STREQ(value, "x y");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(meta, "python", value, sizeof value), GCM_EINVAL);
    GCM_CHECK_STREQ(value, "");

    /* A live writer whose counter stays odd (stopped mid-record) is read
     * as it stands, marked torn, and still running. */
    atomic_store(&w.block->agg.seq, atomic_load(&w.block->agg.seq) + 1u);
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 1, &gone), GCM_EBUSY);
    GCM_CHECK_EQ_INT(gone, 0);
    GCM_CHECK_EQ_INT(snap->torn, 1);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_RUNNING);
    GCM_CHECK_EQ_U64(snap->events_total, 2);
    atomic_store(&w.block->agg.seq, atomic_load(&w.block->agg.seq) + 1u);

    /* A clean exit is kept as recorded. */
    gcm_block_set_state(w.block, GCM_STATE_EXITED, 7, gcm_clock_realtime_ns());
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 1, &gone), 0);
    GCM_CHECK_EQ_INT(gone, 0);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_EXITED);
    GCM_CHECK_EQ_INT(snap->exit_status, 7);

    gcm_capture_close(&r);
    gcm_capture_close(&r);
    GCM_CHECK(r.block == NULL);
    gcm_capture_close(&w);
    free(snap);
    remove_dir();
}

static void test_create_refuses_existing_names(void)
{
    char path[512];
    char link[512];
    gcm_block_params p = params_for(16);
    gcm_capture cap;
    struct stat st;
    int fd;

    make_dir();
    path_in_dir(path, sizeof path, "taken");
    fd = open(path, O_WRONLY | O_CREAT, 0644);
    GCM_CHECK(fd >= 0);
    GCM_CHECK(write(fd, "keep", 4) == 4);
    (void)close(fd);
    GCM_CHECK_EQ_INT(gcm_capture_create(&cap, path, &p, NULL), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, EEXIST);
    GCM_CHECK(stat(path, &st) == 0 && st.st_size == 4);

    /* A dangling symlink: the writer would create its target if it
     * followed it. */
    path_in_dir(link, sizeof link, "link");
    path_in_dir(path, sizeof path, "target");
    GCM_CHECK(symlink(path, link) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_create(&cap, link, &p, NULL), GCM_EIO);
    GCM_CHECK(stat(path, &st) != 0 && errno == ENOENT);

    /* Bad params create nothing. */
    p.capacity = 17;
    path_in_dir(path, sizeof path, "bad");
    GCM_CHECK_EQ_INT(gcm_capture_create(&cap, path, &p, NULL), GCM_EINVAL);
    GCM_CHECK(stat(path, &st) != 0);
    remove_dir();
}

static void test_open_refusals(void)
{
    char path[512];
    char link[512];
    gcm_block_params p = params_for(16);
    gcm_capture cap;
    int fd;

    make_dir();
    path_in_dir(path, sizeof path, "missing");
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, path), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ENOENT);

    path_in_dir(path, sizeof path, "empty");
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    GCM_CHECK(fd >= 0);
    (void)close(fd);
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, path), GCM_ETRUNCATED);

    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, dir), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, EISDIR);

    /* A FIFO with no writer: opening it must neither block nor succeed. */
    path_in_dir(path, sizeof path, "fifo");
    GCM_CHECK(mkfifo(path, 0600) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, path), GCM_EIO);

    /* A real capture, cut short and reached through a symlink. */
    path_in_dir(path, sizeof path, "real.gcm");
    GCM_CHECK_EQ_INT(gcm_capture_create(&cap, path, &p, NULL), 0);
    gcm_capture_close(&cap);
    path_in_dir(link, sizeof link, "link.gcm");
    GCM_CHECK(symlink(path, link) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, link), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ELOOP);
    GCM_CHECK(truncate(path, (off_t)gcm_block_size(16) - 1) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, path), GCM_ETRUNCATED);
    GCM_CHECK(truncate(path, 3) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_open(&cap, path), GCM_ETRUNCATED);
    remove_dir();
}

static void test_process_checks(void)
{
    uint64_t ticks = 0;
    int status = 0;
    pid_t child;

    GCM_CHECK_EQ_INT(gcm_capture_start_ticks((int64_t)getpid(), &ticks), 0);
    GCM_CHECK(ticks > 0);
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive((int64_t)getpid(), ticks), 1);
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive((int64_t)getpid(), 0), 1);
    /* Same pid, other start time: a later process that reused the pid. */
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive((int64_t)getpid(), ticks + 1), 0);
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive(-1, 0), 0);
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive(0, 0), 0);
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive(INT64_MAX, 0), 0);
    GCM_CHECK_EQ_INT(gcm_capture_start_ticks(-5, &ticks), GCM_EIO);

    /* A command name with ") " and digits in it must not shift the fields. */
    child = fork();
    GCM_CHECK(child >= 0);
    if (child == 0) {
        uint64_t before = 0;
        uint64_t after = 0;
        int ok = gcm_capture_start_ticks((int64_t)getpid(), &before) == 0;
        (void)prctl(PR_SET_NAME, "a) 1 2 (3) 4", 0, 0, 0);
        ok = ok && gcm_capture_start_ticks((int64_t)getpid(), &after) == 0;
        _exit(ok && before == after && before != 0 ? 0 : 1);
    }
    GCM_CHECK(waitpid(child, &status, 0) == child);
    GCM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* A zombie has exited, though its pid still exists. */
    child = fork();
    GCM_CHECK(child >= 0);
    if (child == 0)
        _exit(0);
    GCM_CHECK_EQ_INT(gcm_capture_start_ticks((int64_t)child, &ticks), 0);
    for (int i = 0; i < 2000 && gcm_capture_writer_alive((int64_t)child, ticks); i++) {
        struct timespec ms = {0, 1000000};
        (void)nanosleep(&ms, NULL);
    }
    GCM_CHECK_EQ_INT(gcm_capture_writer_alive((int64_t)child, ticks), 0);
    GCM_CHECK(waitpid(child, &status, 0) == child);
}

static void test_dead_writer_state_and_torn_counter(void)
{
    char path[512];
    gcm_block_params p = params_for(16);
    gcm_capture w;
    gcm_capture r;
    gcm_snapshot *snap = malloc(sizeof *snap);
    gcm_event ev = event_of(0, 0, 1000000u);
    int gone = 0;
    int64_t expect;

    GCM_CHECK(snap != NULL);
    make_dir();
    path_in_dir(path, sizeof path, "dead.gcm");
    /* No such pid: the writer is gone as far as any reader can tell. */
    p.pid = INT32_MAX;
    p.process_start_ticks = 12345;
    GCM_CHECK_EQ_INT(gcm_capture_create(&w, path, &p, NULL), 0);
    ev.start_ns = (uint64_t)w.block->header.init_monotonic_ns + 2000000000u;
    GCM_CHECK_EQ_INT(gcm_block_record(w.block, &ev), 0);
    /* Die mid-record: the counter stays odd. */
    atomic_store(&w.block->agg.seq, atomic_load(&w.block->agg.seq) + 1u);

    GCM_CHECK_EQ_INT(gcm_capture_open(&r, path), 0);
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 1, &gone), GCM_EBUSY);
    GCM_CHECK_EQ_INT(gone, 1);
    GCM_CHECK_EQ_INT(snap->torn, 1);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_GONE);
    GCM_CHECK_EQ_U64(snap->events_total, 1);
    GCM_CHECK_EQ_U64(snap->all.count, 1);
    /* The end is the end of the last collection, in wall-clock time. */
    expect = w.block->header.init_realtime_ns + 2001000000;
    GCM_CHECK_EQ_INT(snap->end_realtime_ns, expect);

    /* A detached writer stays detached, though it is no longer alive. */
    gcm_block_set_state(w.block, GCM_STATE_DETACHED, 0, 77);
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 1, &gone), GCM_EBUSY);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_DETACHED);
    GCM_CHECK_EQ_INT(snap->end_realtime_ns, 77);
    GCM_CHECK(strcmp(gcm_capture_state_word(snap->state), "detached") == 0);

    /* A state outside the known ones is treated as running, then gone. */
    atomic_store(&w.block->header.state, 9u);
    GCM_CHECK_EQ_INT(gcm_capture_snapshot(&r, snap, 0, &gone), GCM_EBUSY);
    GCM_CHECK_EQ_INT(snap->state, GCM_STATE_GONE);
    gcm_capture_close(&r);
    gcm_capture_close(&w);
    free(snap);
    remove_dir();
}

static void test_meta_is_sanitised(void)
{
    gcm_block *b = calloc(1, gcm_block_size(16));
    gcm_block_params p = params_for(16);
    char out[GCM_META_SIZE + 1];
    char small[8];
    size_t i;

    GCM_CHECK(b != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, gcm_block_size(16), &p), 0);
    /* No NUL anywhere, control bytes, a lone continuation byte and an
     * overlong encoding. */
    memset(b->header.meta, 'z', GCM_META_SIZE);
    static const char raw[] = "k=v\x01\x1b\n\x80\xc0\xafok=\xc3\xa9t\xc3\xa9\n";
    static const char clean[] = "k=v??\n???ok=\xc3\xa9t\xc3\xa9\n";
    memcpy(b->header.meta, raw, sizeof raw - 1);
    gcm_capture_meta_copy(b, out, sizeof out);
    GCM_CHECK_EQ_U64(strlen(out), GCM_META_SIZE);
    GCM_CHECK(memcmp(out, clean, sizeof clean - 1) == 0);
    for (i = sizeof clean - 1; i < GCM_META_SIZE; i++)
        GCM_CHECK(out[i] == 'z');
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "k", small, sizeof small), 0);
    GCM_CHECK_STREQ(small, "v??");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "???ok", small, sizeof small), 0);
    GCM_CHECK_STREQ(small, "\xc3\xa9t\xc3\xa9");
    /* A cut never splits a character: room for 3 bytes keeps "é" whole and
     * drops the "t" and the second "é". */
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "???ok", small, 4), 0);
    GCM_CHECK_STREQ(small, "\xc3\xa9t");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "???ok", small, 3), 0);
    GCM_CHECK_STREQ(small, "\xc3\xa9");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "???ok", small, 2), 0);
    GCM_CHECK_STREQ(small, "");
    free(b);
}

/* An exit line is appended whole, once per key, only where it fits, and
 * leaves the text untouched when it is refused. */
static void test_meta_append(void)
{
    gcm_block *b = calloc(1, gcm_block_size(16));
    gcm_block_params p = params_for(16);
    char before[GCM_META_SIZE];
    char out[GCM_META_SIZE + 1];
    char value[32];
    size_t len;

    GCM_CHECK(b != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, gcm_block_size(16), &p), 0);
    (void)snprintf(b->header.meta, GCM_META_SIZE, "python_version=3.12.1\noptions=a=1\n");
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "freeze_at_start", "375"), 0);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "freeze_count", "1000375"), 0);
    GCM_CHECK_STREQ(b->header.meta, "python_version=3.12.1\noptions=a=1\nfreeze_at_start=375\n"
                                    "freeze_count=1000375\n");
    gcm_capture_meta_copy(b, out, sizeof out);
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "freeze_count", value, sizeof value), 0);
    GCM_CHECK_STREQ(value, "1000375");
    GCM_CHECK_EQ_INT(gcm_capture_meta_get(out, "options", value, sizeof value), 0);
    GCM_CHECK_STREQ(value, "a=1");

    /* Refusals change nothing. */
    memcpy(before, b->header.meta, sizeof before);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "freeze_count", "2"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "", "2"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "k", ""), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "a=b", "2"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "a\nb", "2"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "k", "2\nevil=1"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(NULL, "k", "2"), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, NULL, "2"), GCM_EINVAL);
    GCM_CHECK(memcmp(before, b->header.meta, sizeof before) == 0);

    /* A line that would take the area's last byte (its NUL) does not fit;
     * one byte shorter does. */
    memset(b->header.meta, 'x', GCM_META_SIZE);
    len = GCM_META_SIZE - 1u - 6u; /* room for "k=v\n" + 2 more bytes + NUL */
    b->header.meta[len - 1u] = '\n';
    b->header.meta[len] = '\0';
    memcpy(before, b->header.meta, sizeof before);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "k", "vvvv"), GCM_ENOMEM);
    GCM_CHECK(memcmp(before, b->header.meta, sizeof before) == 0);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "k", "vvv"), 0);
    GCM_CHECK_EQ_U64(strlen(b->header.meta), GCM_META_SIZE - 1u);
    GCM_CHECK(memcmp(b->header.meta + len, "k=vvv\n", 6) == 0);
    /* An area without a NUL is not appended to. */
    memset(b->header.meta, 'x', GCM_META_SIZE);
    GCM_CHECK_EQ_INT(gcm_capture_meta_append(b, "q", "1"), GCM_EINVAL);
    GCM_CHECK(b->header.meta[GCM_META_SIZE - 1u] == 'x');
    free(b);
}

static void test_reclassify(void)
{
    gcm_block *b = calloc(1, gcm_block_size(16));
    gcm_block_params p = params_for(16);
    gcm_snapshot *snap = malloc(sizeof *snap);
    uint64_t bounds[2] = {2000000u, 5000000u};
    uint64_t at_value[1] = {3000000u};
    int approx = -1;
    int i;

    GCM_CHECK(b != NULL && snap != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init(b, gcm_block_size(16), &p), 0);
    for (i = 0; i < 5; i++) {
        gcm_event ev = event_of(0, 1000u + (uint64_t)i, 1000000u);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    for (i = 0; i < 3; i++) {
        /* In generation 0 too, so its exact [min, max] is wider than a
         * histogram bucket and cannot pin the 3 ms bucket down. */
        gcm_event ev = event_of(0, 1000u + (uint64_t)i, 3000000u);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    for (i = 0; i < 2; i++) {
        gcm_event ev = event_of(2, 1000u + (uint64_t)i, 10000000u);
        GCM_CHECK_EQ_INT(gcm_block_record(b, &ev), 0);
    }
    GCM_CHECK_EQ_INT(gcm_block_snapshot(b, snap), 0);
    GCM_CHECK_EQ_U64(snap->all.alerts, 0);

    /* Limits between the pauses' histogram buckets place them exactly. */
    GCM_CHECK_EQ_INT(gcm_capture_reclassify(snap, 2000000u, 2, bounds, &approx), 0);
    GCM_CHECK_EQ_INT(approx, 0);
    GCM_CHECK_EQ_U64(snap->all.alerts, 5);
    GCM_CHECK_EQ_U64(snap->gen[0].alerts, 3);
    GCM_CHECK_EQ_U64(snap->gen[2].alerts, 2);
    GCM_CHECK_EQ_U64(snap->all.buckets[0], 5);
    GCM_CHECK_EQ_U64(snap->all.buckets[1], 3);
    GCM_CHECK_EQ_U64(snap->all.buckets[2], 2);
    GCM_CHECK_EQ_U64(snap->alert_threshold_ns, 2000000u);
    GCM_CHECK_EQ_INT(snap->bucket_count, 2);

    /* A threshold of 0 counts every pause, exactly. */
    GCM_CHECK_EQ_INT(gcm_capture_reclassify(snap, 0, 2, bounds, &approx), 0);
    GCM_CHECK_EQ_INT(approx, 0);
    GCM_CHECK_EQ_U64(snap->all.alerts, 10);

    /* A limit inside a non-empty bucket is an estimate, and says so. */
    GCM_CHECK_EQ_INT(gcm_capture_reclassify(snap, 3000000u, 1, at_value, &approx), 0);
    GCM_CHECK_EQ_INT(approx, 1);
    GCM_CHECK(snap->all.alerts == 2 || snap->all.alerts == 5);
    GCM_CHECK_EQ_U64(snap->all.buckets[0] + snap->all.buckets[1], 10);

    /* Bounds that are not strictly increasing are refused. */
    bounds[1] = bounds[0];
    GCM_CHECK_EQ_INT(gcm_capture_reclassify(snap, 0, 2, bounds, &approx), GCM_EINVAL);
    free(snap);
    free(b);
}

/* A reader copies only what the file really holds: a real capture holds its
 * whole ring, a sparse copy that claims a ring of 2^20 slots holds the few
 * slots of its one page of data, and gcm_block_check still accepts it. */
static void test_held_slots_of_a_sparse_file(void)
{
    char path[512];
    char sparse[512];
    gcm_block_params p = params_for(64);
    gcm_capture w;
    gcm_capture r;
    uint64_t capacity = (uint64_t)1 << 20;
    uint64_t size = gcm_block_size(capacity);
    uint64_t seq = (uint64_t)1 << 41;
    struct stat st;
    int fd;

    make_dir();
    path_in_dir(path, sizeof path, "real.gcm");
    GCM_CHECK_EQ_INT(gcm_capture_create(&w, path, &p, NULL), 0);
    GCM_CHECK_EQ_U64(w.held_slots, 64);
    GCM_CHECK_EQ_INT(gcm_capture_open(&r, path), 0);
    GCM_CHECK_EQ_U64(r.held_slots, 64);
    gcm_capture_close(&r);

    /* The header and aggregates of the real capture, a huge capacity and
     * sequence, and nothing but a hole after them. */
    path_in_dir(sparse, sizeof sparse, "sparse.gcm");
    fd = open(sparse, O_WRONLY | O_CREAT | O_EXCL, 0600);
    GCM_CHECK(fd >= 0);
    GCM_CHECK(write(fd, w.block, offsetof(gcm_block, ring)) == (ssize_t)offsetof(gcm_block, ring));
    GCM_CHECK(pwrite(fd, &capacity, sizeof capacity, offsetof(gcm_header, capacity)) == 8);
    GCM_CHECK(pwrite(fd, &size, sizeof size, offsetof(gcm_header, block_size)) == 8);
    GCM_CHECK(pwrite(fd, &seq, sizeof seq, offsetof(gcm_block, agg.seq)) == 8);
    GCM_CHECK(ftruncate(fd, (off_t)size) == 0);
    GCM_CHECK(fstat(fd, &st) == 0);
    (void)close(fd);
    gcm_capture_close(&w);
    GCM_CHECK_EQ_INT(gcm_capture_open(&r, sparse), 0);
    GCM_CHECK_EQ_U64(r.block->header.capacity, capacity);
    /* Only where the file system makes holes does the bound bite. */
    if ((uint64_t)st.st_blocks * 512u < size / 2)
        GCM_CHECK(r.held_slots < 1024);
    else
        GCM_CHECK_EQ_U64(r.held_slots, capacity);
    gcm_capture_close(&r);
    remove_dir();
}

int main(void)
{
    /* A reader of a FIFO that the test leaves without a writer must not be
     * stopped by SIGPIPE either. */
    (void)signal(SIGPIPE, SIG_IGN);
    GCM_RUN(test_create_and_read_back);
    GCM_RUN(test_create_refuses_existing_names);
    GCM_RUN(test_open_refusals);
    GCM_RUN(test_process_checks);
    GCM_RUN(test_dead_writer_state_and_torn_counter);
    GCM_RUN(test_meta_is_sanitised);
    GCM_RUN(test_meta_append);
    GCM_RUN(test_reclassify);
    GCM_RUN(test_held_slots_of_a_sparse_file);
    return 0;
}
