/* tests/c/gcm_test_dir.h: a scratch directory for the tests that make files.
 *
 * A test file that includes this header calls gcm_test_dir_make() once, names
 * its files with gcm_test_path() and checks them with gcm_test_content();
 * each test executable gets its own directory from mkdtemp, so tests run in
 * parallel (ctest -j) never meet.
 */
#ifndef GCM_TEST_DIR_H
#define GCM_TEST_DIR_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gcm_test.h"

static char gcm_test_dir[256];

/* Makes the directory, named after `name` (the test executable), in
 * $TMPDIR or /tmp. */
static inline void gcm_test_dir_make(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(gcm_test_dir, sizeof gcm_test_dir, "%s/%s-XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp", name);

    GCM_CHECK(n > 0 && (size_t)n < sizeof gcm_test_dir);
    GCM_CHECK(mkdtemp(gcm_test_dir) != NULL);
}

/* Writes the path of `name` in the directory into `out`. */
static inline void gcm_test_path(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", gcm_test_dir, name);

    GCM_CHECK(n > 0 && (size_t)n < size);
}

/* Checks that the file at `path` holds exactly `expected`. */
static inline void gcm_test_content(const char *path, const char *expected)
{
    char buf[256];
    ssize_t got;
    int fd = open(path, O_RDONLY);

    GCM_CHECK(fd >= 0);
    got = read(fd, buf, sizeof buf - 1);
    GCM_CHECK(got >= 0);
    buf[got] = '\0';
    (void)close(fd);
    GCM_CHECK_STREQ(buf, expected);
}

#endif /* GCM_TEST_DIR_H */
