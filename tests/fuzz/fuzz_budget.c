/* tests/fuzz/fuzz_budget.c: libFuzzer target for the budget rules and `compare`.
 *
 * An even-length input is a rule: it goes through the core's rule parser and
 * through --fail-on's option parser, and every rule accepted must read back
 * from its canonical text, and through the environment encoding, as exactly
 * the same bytes (abort() otherwise, which the fuzzer reports).  An odd-length
 * input is an input of `pygcprofiler compare`: written to a scratch file and
 * loaded by the reader library (gcm_capture_load_summary, src/capture/
 * summary.c), and every metric `compare` can show is measured from the
 * summary it finds, so the JSON Lines scan, the summary parsing and the
 * metric look-ups all see it.
 *
 * Build: cmake -DGCM_BUILD_FUZZ=ON -DCMAKE_C_COMPILER=clang (docs/ci.md has
 * the campaign's figures).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gc_monitor/budget.h"
#include "gc_monitor/config.h"
#include "gc_monitor/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

static void remove_scratch(void)
{
    if (scratch[0] != '\0')
        (void)unlink(scratch);
}

static void fuzz_rule(const uint8_t *data, size_t size)
{
    char text[256];
    char why[160];
    gcm_budget_rule rule;
    gcm_budget_rule again;
    static gcm_config cfg;
    static gcm_config back;
    gcm_config_error err;
    char encoded[8192];

    if (size >= sizeof text)
        size = sizeof text - 1;
    memcpy(text, data, size);
    text[size] = '\0';
    if (gcm_budget_parse(text, &rule, why, sizeof why) == 0) {
        if (gcm_budget_parse(rule.text, &again, why, sizeof why) != 0 ||
            memcmp(&rule, &again, sizeof rule) != 0)
            abort();
    }
    (void)gcm_budget_lacks_operator(text);
    (void)gcm_budget_example(text, why, sizeof why);
    gcm_config_init(&cfg);
    if (gcm_config_set_name(&cfg, "fail-on", text, &err) == 0) {
        if (gcm_config_encode(&cfg, encoded, sizeof encoded, NULL) != 0 ||
            gcm_config_decode(&back, encoded, &err) != 0 || memcmp(&cfg, &back, sizeof cfg) != 0)
            abort();
    } else {
        char msg[512];
        (void)gcm_config_error_format(&err, 0, msg, sizeof msg);
    }
}

static void fuzz_compare(const uint8_t *data, size_t size)
{
    char msg[512];
    cJSON *summary;
    FILE *f;

    if (scratch[0] == '\0') {
        int fd;
        (void)snprintf(scratch, sizeof scratch, "/tmp/gcm-fuzz-budget-XXXXXX");
        fd = mkstemp(scratch);
        if (fd < 0)
            abort();
        (void)close(fd);
        (void)atexit(remove_scratch);
    }
    f = fopen(scratch, "wb");
    if (f == NULL)
        abort();
    if (size > 0 && fwrite(data, 1, size, f) != size)
        abort();
    (void)fclose(f);
    summary = gcm_capture_load_summary(scratch, msg, sizeof msg);
    if (summary == NULL)
        return;
    for (int metric = 0; metric < GCM_METRIC_COUNT_OF; metric++) {
        for (int generation = -1; generation < 3; generation++) {
            double value;
            (void)gcm_budget_measure_json(summary, generation, (gcm_metric)metric, &value);
        }
    }
    cJSON_Delete(summary);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size % 2 == 0)
        fuzz_rule(data, size);
    else
        fuzz_compare(data, size);
    return 0;
}
