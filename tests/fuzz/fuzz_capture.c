/* tests/fuzz/fuzz_capture.c: libFuzzer target for the capture-file reader.
 *
 * Each input is written to a scratch file and handed to the real
 * `pygcprofiler report` code (gcm__report_main in src/cli/report_cmd.c), so
 * the fuzzer exercises exactly what a user runs: open and map, the block
 * check, the snapshot of a possibly dead writer, the event copy, the
 * metadata and recorded options, the limit recomputation and every
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

#include "cli.h"

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
    static const char *const formats[] = {"text", "json", "folded", "terminal"};
    char *argv[8];
    int argc = 0;
    int status;

    if (write_input(data, size) != 0)
        abort();
    argv[argc++] = (char *)"report";
    argv[argc++] = (char *)"--format";
    argv[argc++] = (char *)formats[size % 4];
    if ((size / 4) % 2 == 1) {
        argv[argc++] = (char *)"--alert-threshold-ms=0.25";
        argv[argc++] = (char *)"--duration-buckets=0.001,0.5,3,1000";
    }
    argv[argc++] = scratch;
    argv[argc] = NULL;
    status = gcm__report_main(argc, argv);
    /* The contract: a report (0), bad input (2), or a failed stdout (1,
     * when -close_fd_mask closed it).  Anything else is a bug. */
    if (status != 0 && status != 1 && status != 2)
        abort();
    return 0;
}
