/* test_block_check.c: gcm_block_check on untrusted memory: every damaged
 * field maps to its code, and no length of truncation makes it read past the
 * end (each truncated copy lives in an allocation of exactly that size, so
 * AddressSanitizer catches any over-read). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/gc_monitor.h"
#include "gcm_test.h"

#define CAP 16u

static unsigned char *good;
static size_t good_size;

static void make_good(void)
{
    gcm_block_params p;
    memset(&p, 0, sizeof p);
    p.capacity = CAP;
    p.pid = 1;
    p.bucket_count = 2;
    p.bucket_bounds_ns[0] = 10;
    p.bucket_bounds_ns[1] = 20;
    good_size = gcm_block_size(CAP);
    good = malloc(good_size);
    GCM_CHECK(good != NULL);
    GCM_CHECK_EQ_INT(gcm_block_init((gcm_block *)(void *)good, good_size, &p), 0);
}

/* Checks a copy of the good block with `patch` applied at `offset`. */
static int check_patched(size_t offset, const void *patch, size_t len)
{
    unsigned char *copy = malloc(good_size);
    int rc;
    GCM_CHECK(copy != NULL);
    memcpy(copy, good, good_size);
    memcpy(copy + offset, patch, len);
    rc = gcm_block_check(copy, good_size);
    free(copy);
    return rc;
}

static int check_u32(size_t offset, uint32_t v)
{
    return check_patched(offset, &v, sizeof v);
}

static int check_u64(size_t offset, uint64_t v)
{
    return check_patched(offset, &v, sizeof v);
}

static void test_good_block(void)
{
    GCM_CHECK_EQ_INT(gcm_block_check(good, good_size), 0);
    /* Extra bytes after the block (a file rounded up to a page) are fine. */
    {
        unsigned char *bigger = calloc(1, good_size + 4096);
        GCM_CHECK(bigger != NULL);
        memcpy(bigger, good, good_size);
        GCM_CHECK_EQ_INT(gcm_block_check(bigger, good_size + 4096), 0);
        free(bigger);
    }
    GCM_CHECK_EQ_INT(gcm_block_check(NULL, good_size), GCM_EINVAL);
}

static void test_every_truncation(void)
{
    size_t len;

    /* Each short length reads from an exact-size heap copy. */
    for (len = 0; len < good_size; len += (len < sizeof(gcm_header) + 64 ? 1 : 97)) {
        unsigned char *copy = malloc(len > 0 ? len : 1);
        int rc;
        GCM_CHECK(copy != NULL);
        memcpy(copy, good, len);
        rc = gcm_block_check(copy, len);
        GCM_CHECK_EQ_INT(rc, GCM_ETRUNCATED);
        free(copy);
    }
    GCM_CHECK_EQ_INT(gcm_block_check(good, good_size - 1), GCM_ETRUNCATED);
}

static void test_bad_magic(void)
{
    unsigned char zeros[64];
    memset(zeros, 0, sizeof zeros);
    GCM_CHECK_EQ_INT(check_patched(0, "GCMBLOCX", 8), GCM_EBADMAGIC);
    GCM_CHECK_EQ_INT(check_patched(0, "X", 1), GCM_EBADMAGIC);
    /* A short buffer that is not a block prefix is not a block. */
    GCM_CHECK_EQ_INT(gcm_block_check(zeros, 3), GCM_EBADMAGIC);
    GCM_CHECK_EQ_INT(gcm_block_check(zeros, sizeof zeros), GCM_EBADMAGIC);
}

static void test_bad_fields(void)
{
    size_t bounds = offsetof(gcm_header, bucket_bounds_ns);

    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, byte_order), 0x04030201u), GCM_EBYTEORDER);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, byte_order), 0xDEADBEEFu), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, layout_version), 5), GCM_EVERSION);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, layout_version), 0), GCM_EVERSION);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, header_size), 8000), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, slot_size), 40), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u64(offsetof(gcm_header, capacity), 24), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u64(offsetof(gcm_header, capacity), 0), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u64(offsetof(gcm_header, capacity), (uint64_t)1 << 40), GCM_ECORRUPT);
    /* A larger consistent capacity than the memory holds is a truncation. */
    {
        unsigned char *copy = malloc(good_size);
        uint64_t cap = 2 * CAP, size = gcm_block_size(2 * CAP);
        GCM_CHECK(copy != NULL);
        memcpy(copy, good, good_size);
        memcpy(copy + offsetof(gcm_header, capacity), &cap, sizeof cap);
        memcpy(copy + offsetof(gcm_header, block_size), &size, sizeof size);
        GCM_CHECK_EQ_INT(gcm_block_check(copy, good_size), GCM_ETRUNCATED);
        free(copy);
    }
    GCM_CHECK_EQ_INT(check_u64(offsetof(gcm_header, block_size), good_size + 48), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, bucket_count), 0), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, bucket_count), 33), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u32(offsetof(gcm_header, bucket_count), 3),
                     GCM_ECORRUPT); /* bound[2] is 0 */
    GCM_CHECK_EQ_INT(check_u64(bounds + 8, 10), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(check_u64(bounds, 0), GCM_ECORRUPT);
}

static void test_misaligned(void)
{
    unsigned char *copy = malloc(good_size + 1);
    GCM_CHECK(copy != NULL);
    memcpy(copy + 1, good, good_size);
    GCM_CHECK_EQ_INT(gcm_block_check(copy + 1, good_size), GCM_EINVAL);
    free(copy);
}

static void test_random_damage(void)
{
    /* Random bytes over the header never crash and never pass unless the
     * damage left every checked field intact. */
    uint64_t state = 99;
    int round;

    for (round = 0; round < 2000; round++) {
        unsigned char *copy = malloc(good_size);
        size_t off;
        int rc;
        GCM_CHECK(copy != NULL);
        memcpy(copy, good, good_size);
        state = state * 6364136223846793005u + 1442695040888963407u;
        off = (size_t)(state >> 33) % offsetof(gcm_header, state);
        copy[off] ^= (unsigned char)(1u + (state >> 20) % 255u);
        rc = gcm_block_check(copy, good_size);
        /* The pid, ppid, start ticks, clocks, threshold, the stacks size
         * (checked by gcm_block_stacks against the mapping, not here) and
         * unused bounds are free to change; damage to the bucket count
         * or the two bounds in use may or may not leave a valid list; any
         * other damage must be refused. */
        if (off >= offsetof(gcm_header, pid) && off < offsetof(gcm_header, bucket_count))
            GCM_CHECK_EQ_INT(rc, 0);
        else if (off >= offsetof(gcm_header, stacks_size) &&
                 off < offsetof(gcm_header, bucket_bounds_ns))
            GCM_CHECK_EQ_INT(rc, 0);
        else if (off >= offsetof(gcm_header, bucket_bounds_ns) + 2 * sizeof(uint64_t))
            GCM_CHECK_EQ_INT(rc, 0);
        else if (off >= offsetof(gcm_header, bucket_count))
            GCM_CHECK(rc == 0 || rc == GCM_ECORRUPT);
        else
            GCM_CHECK(rc < 0);
        free(copy);
    }
}

/* A block that passes the check may still hold hostile aggregates and ring
 * contents (a capture file is outside input).  Every reader must stay within
 * the block whatever those bytes are; AddressSanitizer and UBSan watch. */
static void test_readers_on_damaged_blocks(void)
{
    static gcm_snapshot snap;
    static gcm_event events[CAP];
    uint64_t state = 4242;
    int round, flip;

    for (round = 0; round < 300; round++) {
        unsigned char *copy = malloc(good_size);
        gcm_summary sum;
        size_t count = 0;
        uint64_t first = 0;
        cJSON *json;
        int rc;

        GCM_CHECK(copy != NULL);
        memcpy(copy, good, good_size);
        for (flip = 0; flip < 16; flip++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            copy[(size_t)(state >> 33) % good_size] = (unsigned char)(state >> 13);
        }
        /* The check cannot judge the writer facts, clocks, state and end
         * time, so damage them on purpose: times far apart must not
         * overflow the wall-time arithmetic. */
        for (flip = 0; flip < 4; flip++) {
            size_t lo = flip < 2 ? offsetof(gcm_header, pid) : offsetof(gcm_header, state);
            size_t hi = flip < 2 ? offsetof(gcm_header, bucket_count) : offsetof(gcm_header, meta);
            state = state * 6364136223846793005u + 1442695040888963407u;
            copy[lo + (size_t)(state >> 33) % (hi - lo)] = (unsigned char)(state >> 13);
        }
        if (round % 4 == 0) {
            int64_t init = round % 8 == 0 ? INT64_MIN : INT64_MAX;
            int64_t end = round % 8 == 0 ? INT64_MAX : INT64_MIN;
            uint32_t exited = GCM_STATE_EXITED;
            memcpy(copy + offsetof(gcm_header, init_realtime_ns), &init, sizeof init);
            memcpy(copy + offsetof(gcm_header, end_realtime_ns), &end, sizeof end);
            memcpy(copy + offsetof(gcm_header, state), &exited, sizeof exited);
        }
        if (gcm_block_check(copy, good_size) == 0) {
            const gcm_block *b = (const gcm_block *)(const void *)copy;
            rc = gcm_block_snapshot(b, &snap);
            GCM_CHECK(rc == 0 || rc == GCM_EBUSY);
            GCM_CHECK_EQ_INT(gcm_summarize(&snap, &sum), 0);
            json = gcm_summary_json(&snap);
            GCM_CHECK(json != NULL);
            cJSON_Delete(json);
            GCM_CHECK_EQ_INT(gcm_block_copy_events(b, events, CAP, &count, &first), 0);
            GCM_CHECK(count <= CAP);
        }
        free(copy);
    }
}

int main(void)
{
    make_good();
    GCM_RUN(test_good_block);
    GCM_RUN(test_every_truncation);
    GCM_RUN(test_bad_magic);
    GCM_RUN(test_bad_fields);
    GCM_RUN(test_misaligned);
    GCM_RUN(test_random_damage);
    GCM_RUN(test_readers_on_damaged_blocks);
    free(good);
    return 0;
}
