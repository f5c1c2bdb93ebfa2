/* tests/fuzz/fuzz_capture.c: libFuzzer target for the capture-file reader.
 *
 * Each input is written to a scratch file and handed to the reader library
 * that `pygcprofiler report` uses (gcm_capture_open and gcm_capture_report,
 * src/capture/), so the fuzzer exercises exactly what a user runs: open and
 * map, the block check, the snapshot of a possibly dead writer, the event
 * copy, the metadata and recorded options, the limit recomputation and every
 * renderer.  The input's length picks the format and whether report-time
 * limits are given, so one corpus covers all of them.  Run it with
 * -close_fd_mask=3: the reports themselves are noise here.
 *
 * Build: cmake -DGCM_BUILD_FUZZ=ON -DCMAKE_C_COMPILER=clang (see
 * docs/capture-format.md for the campaign).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gc_monitor/capture.h"
#include "gc_monitor/config.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];
static int scratch_fd = -1;

static void remove_scratch(void)
{
    if (scratch[0] != '\0')
        (void)unlink(scratch);
}

/* Replaces the scratch file's contents with the input. */
static int write_input(const uint8_t *data, size_t size)
{
    size_t done = 0;

    if (scratch_fd < 0) {
        (void)snprintf(scratch, sizeof scratch, "/tmp/gcm-fuzz-XXXXXX");
        scratch_fd = mkstemp(scratch);
        if (scratch_fd < 0)
            return -1;
        (void)atexit(remove_scratch);
    }
    if (ftruncate(scratch_fd, 0) != 0)
        return -1;
    while (done < size) {
        ssize_t n = pwrite(scratch_fd, data + done, size - done, (off_t)done);
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gcm_capture_format formats[] = {GCM_CAPTURE_TEXT,     GCM_CAPTURE_JSON,
                                                 GCM_CAPTURE_FOLDED,   GCM_CAPTURE_TERMINAL,
                                                 GCM_CAPTURE_PERFETTO, GCM_CAPTURE_SPEEDSCOPE};
    static const char *const limit_flags[] = {"alert-threshold-ms", "duration-buckets"};
    static gcm_config given;
    gcm_capture_request req;
    gcm_capture_problem problem;
    gcm_capture cap;
    int rc;

    if (write_input(data, size) != 0)
        abort();
    memset(&req, 0, sizeof req);
    gcm_config_init(&given);
    req.format = formats[size % (sizeof formats / sizeof formats[0])];
    req.given = &given;
    if ((size / 4) % 2 == 1) {
        if (gcm_config_set_name(&given, "alert-threshold-ms", "0.25", NULL) != 0 ||
            gcm_config_set_name(&given, "duration-buckets", "0.001,0.5,3,1000", NULL) != 0)
            abort();
        req.given_flags = limit_flags;
        req.given_count = 2;
    }
    memset(&cap, 0, sizeof cap);
    rc = gcm_capture_open(&cap, scratch);
    if (rc == 0) {
        rc = gcm_capture_report(&cap, scratch, &req, 1, &problem);
        /* The contract: a report, or a failed stdout (when -close_fd_mask
         * closed it), or a problem in words; never a silent failure. */
        if (rc != 0 && rc != GCM_EIO && problem.text[0] == '\0')
            abort();
    }
    gcm_capture_close(&cap);
    return 0;
}
