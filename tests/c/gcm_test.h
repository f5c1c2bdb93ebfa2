/* gcm_test.h: the tiny assertion macros of the C unit tests.
 *
 * Each test file is its own executable (one process per test, as libuv does),
 * so a failed check prints where it failed and exits non-zero at once; ctest
 * names the file.  GCM_CHECK never compiles away, unlike assert().
 */
#ifndef GCM_TEST_H
#define GCM_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GCM_CHECK(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define GCM_CHECK_EQ_U64(a, b)                                                                     \
    do {                                                                                           \
        uint64_t gcm_a_ = (uint64_t)(a), gcm_b_ = (uint64_t)(b);                                   \
        if (gcm_a_ != gcm_b_) {                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %" PRIu64 " != %" PRIu64 "\n", __FILE__,      \
                    __LINE__, #a, #b, gcm_a_, gcm_b_);                                             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define GCM_CHECK_EQ_INT(a, b)                                                                     \
    do {                                                                                           \
        long long gcm_a_ = (long long)(a), gcm_b_ = (long long)(b);                                \
        if (gcm_a_ != gcm_b_) {                                                                    \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    gcm_a_, gcm_b_);                                                               \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define GCM_CHECK_STREQ(a, b)                                                                      \
    do {                                                                                           \
        const char *gcm_a_ = (a), *gcm_b_ = (b);                                                   \
        if (strcmp(gcm_a_, gcm_b_) != 0) {                                                         \
            fprintf(stderr, "%s:%d: %s == %s failed:\n  '%s'\n  '%s'\n", __FILE__, __LINE__, #a,   \
                    #b, gcm_a_, gcm_b_);                                                           \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Checks every field of two gcm_event values, naming the first that differs. */
#define GCM_CHECK_EVENT_EQ(got, want)                                                              \
    do {                                                                                           \
        GCM_CHECK_EQ_U64((got)->start_ns, (want)->start_ns);                                       \
        GCM_CHECK_EQ_U64((got)->duration_ns, (want)->duration_ns);                                 \
        GCM_CHECK_EQ_U64((got)->collected, (want)->collected);                                     \
        GCM_CHECK_EQ_U64((got)->uncollectable, (want)->uncollectable);                             \
        GCM_CHECK_EQ_U64((got)->candidates, (want)->candidates);                                   \
        GCM_CHECK_EQ_U64((got)->generation, (want)->generation);                                   \
        GCM_CHECK_EQ_U64((got)->flags, (want)->flags);                                             \
    } while (0)

/* Runs one named case, so the output says how far a file got. */
#define GCM_RUN(fn)                                                                                \
    do {                                                                                           \
        fn();                                                                                      \
        printf("ok %s\n", #fn);                                                                    \
    } while (0)

#endif /* GCM_TEST_H */
