/* test_config.c: the option parser, its table, its messages and the
 * environment encoding.
 *
 * Refusals are table-driven: each row names an option, a value and the exact
 * reason the parser must give, and every row is checked through the flag, the
 * keyword and gcm_config_set, with the configuration byte-for-byte unchanged
 * afterwards.  Paths are checked against real directories made under /tmp.
 */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc_monitor/config.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/stacks.h"
#include "gcm_test.h"

/* A scratch directory with a regular file in it, made once per run. */
static char scratch_dir[256];
static char scratch_file[300];

static const gcm_option *must_find(const char *name)
{
    const gcm_option *opt = gcm_config_find(name);
    if (opt == NULL) {
        fprintf(stderr, "option '%s' not in the table\n", name);
        exit(1);
    }
    return opt;
}

static void set_ok(gcm_config *cfg, const char *name, const char *value)
{
    gcm_config_error err;
    int status;

    memset(&err, 0, sizeof err);
    status = gcm_config_set_name(cfg, name, value, &err);
    if (status != 0) {
        char line[512];
        gcm_config_error_format(&err, 0, line, sizeof line);
        fprintf(stderr, "setting %s to '%s' failed (%d): %s\n", name, value ? value : "(null)",
                status, status == GCM_EINVAL ? "invalid call" : line);
        exit(1);
    }
}

static void test_defaults(void)
{
    gcm_config cfg;

    memset(&cfg, 0xa5, sizeof cfg);
    gcm_config_init(&cfg);
    GCM_CHECK(cfg.interval_s == 5.0);
    GCM_CHECK_EQ_INT(cfg.json, 0);
    GCM_CHECK_EQ_INT(cfg.stats_only, 0);
    GCM_CHECK_EQ_INT(cfg.dump_objects, 0);
    GCM_CHECK_EQ_INT(cfg.dump_garbage, 0);
    GCM_CHECK_STREQ(cfg.log_file, "");
    GCM_CHECK(cfg.alert_threshold_ms == 50.0);
    GCM_CHECK_STREQ(cfg.flamegraph_file, "");
    GCM_CHECK_STREQ(cfg.html_file, "");
    GCM_CHECK_STREQ(cfg.speedscope_file, "");
    GCM_CHECK(cfg.flamegraph_bucket_s == 5.0);
    GCM_CHECK_EQ_INT(cfg.terminal_flamegraph, 0);
    GCM_CHECK_EQ_U64(cfg.terminal_flamegraph_width, 80);
    GCM_CHECK_EQ_INT(cfg.terminal_flamegraph_color, 0);
    GCM_CHECK_EQ_U64(cfg.bucket_count, 5);
    GCM_CHECK(cfg.duration_buckets_ms[0] == 1.0);
    GCM_CHECK(cfg.duration_buckets_ms[1] == 5.0);
    GCM_CHECK(cfg.duration_buckets_ms[2] == 20.0);
    GCM_CHECK(cfg.duration_buckets_ms[3] == 50.0);
    GCM_CHECK(cfg.duration_buckets_ms[4] == 100.0);
    GCM_CHECK(cfg.duration_buckets_ms[5] == 0.0);
    GCM_CHECK_EQ_INT(cfg.prompt, 0);
    GCM_CHECK_EQ_U64(cfg.buffer_events, GCM_DEFAULT_CAPACITY);
    GCM_CHECK_EQ_U64(cfg.stacks, 0);
    GCM_CHECK_EQ_U64(cfg.stack_depth, GCM_STACK_DEFAULT_DEPTH);
    GCM_CHECK_STREQ(cfg.python, "");
}

/* The table is the contract of --help, the keywords and the environment
 * string, so its order and names are pinned here. */
static void test_table_invariants(void)
{
    static const char *const flags[] = {"interval",
                                        "json",
                                        "stats-only",
                                        "dump-objects",
                                        "dump-garbage",
                                        "log-file",
                                        "alert-threshold-ms",
                                        "slo-ms",
                                        "flamegraph-file",
                                        "html-file",
                                        "speedscope-file",
                                        "flamegraph-bucket",
                                        "terminal-flamegraph",
                                        "terminal-flamegraph-width",
                                        "terminal-flamegraph-color",
                                        "duration-buckets",
                                        "prompt",
                                        "buffer-events",
                                        "stacks",
                                        "stack-depth",
                                        "stacks-file",
                                        "python",
                                        "output",
                                        "fail-on",
                                        "follow-children"};
    static const char *const keywords[] = {"interval",
                                           "json_output",
                                           "stats_only",
                                           "dump_objects",
                                           "dump_garbage",
                                           "log_file",
                                           "alert_threshold_ms",
                                           "slo_ms",
                                           "flamegraph_file",
                                           "html_file",
                                           "speedscope_file",
                                           "flamegraph_bucket",
                                           "terminal_flamegraph",
                                           "terminal_flamegraph_width",
                                           "terminal_flamegraph_color",
                                           "duration_buckets",
                                           "enable_prompt",
                                           "buffer_events",
                                           "stacks",
                                           "stack_depth",
                                           "stacks_file",
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL};
    size_t count = 0;
    const gcm_option *opts = gcm_config_options(&count);
    size_t i;
    size_t j;

    GCM_CHECK(opts != NULL);
    GCM_CHECK_EQ_U64(count, sizeof flags / sizeof flags[0]);
    GCM_CHECK(gcm_config_options(NULL) == opts);
    for (i = 0; i < count; i++) {
        const gcm_option *o = &opts[i];
        const char *c;

        GCM_CHECK_STREQ(o->flag, flags[i]);
        if (keywords[i] == NULL) {
            GCM_CHECK(o->keyword == NULL);
            GCM_CHECK(!(o->scope & GCM_SCOPE_API));
        } else {
            GCM_CHECK_STREQ(o->keyword, keywords[i]);
            GCM_CHECK(o->scope & GCM_SCOPE_API);
        }
        GCM_CHECK(o->scope & GCM_SCOPE_CLI);
        for (c = o->flag; *c != '\0'; c++) {
            GCM_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-');
        }
        for (c = o->keyword; c != NULL && *c != '\0'; c++) {
            GCM_CHECK((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_');
        }
        /* Help: present, one line, no trailing period, lowercase start except
         * for the proper noun "Python". */
        GCM_CHECK(o->help != NULL && o->help[0] != '\0');
        GCM_CHECK(strchr(o->help, '\n') == NULL);
        GCM_CHECK(o->help[strlen(o->help) - 1] != '.');
        GCM_CHECK((o->help[0] >= 'a' && o->help[0] <= 'z') || strncmp(o->help, "Python ", 7) == 0);
        GCM_CHECK(strlen(o->help) <= 80);
        /* Flags take no placeholder; everything else shows one. */
        GCM_CHECK((o->kind == GCM_OPT_FLAG) == (o->metavar == NULL));
        GCM_CHECK(o->kind != GCM_OPT_FLAG || o->default_text == NULL);
        GCM_CHECK(o->kind != GCM_OPT_PATH || o->default_text == NULL);
        GCM_CHECK(gcm_config_find(o->flag) == o);
        if (o->keyword != NULL) {
            GCM_CHECK(gcm_config_find(o->keyword) == o);
        }
        for (j = 0; j < count; j++) {
            if (i == j) {
                continue;
            }
            GCM_CHECK(strcmp(o->flag, opts[j].flag) != 0);
            if (o->keyword != NULL) {
                GCM_CHECK(strcmp(o->keyword, opts[j].flag) != 0);
                GCM_CHECK(opts[j].keyword == NULL || strcmp(o->keyword, opts[j].keyword) != 0);
            }
        }
    }
    /* The dump-garbage help must warn what the flag costs. */
    GCM_CHECK(strstr(must_find("dump-garbage")->help, "DEBUG_SAVEALL") != NULL);
    GCM_CHECK(strstr(must_find("dump-garbage")->help, "keep") != NULL);
    GCM_CHECK(strstr(must_find("dump-garbage")->help, "contents") != NULL);
}

/* --help shows default_text, so it must be exactly what the defaults are. */
static void test_default_text_parses_to_default(void)
{
    size_t count = 0;
    const gcm_option *opts = gcm_config_options(&count);
    size_t i;
    size_t with_text = 0;

    for (i = 0; i < count; i++) {
        gcm_config fresh;
        gcm_config cfg;
        gcm_config_error err;

        if (opts[i].default_text == NULL) {
            continue;
        }
        with_text++;
        gcm_config_init(&fresh);
        gcm_config_init(&cfg);
        GCM_CHECK_EQ_INT(gcm_config_set(&cfg, &opts[i], opts[i].default_text, &err), 0);
        GCM_CHECK(memcmp(&cfg, &fresh, sizeof cfg) == 0);
        /* And a different value does change the field, so the comparison
         * above is not vacuous. */
        if (opts[i].kind == GCM_OPT_LIST) {
            GCM_CHECK_EQ_INT(gcm_config_set(&cfg, &opts[i], "2", &err), 0);
        } else {
            /* 512 is past --stack-depth's 128. */
            const char *other = strcmp(opts[i].flag, "stack-depth") == 0 ? "64" : "512";
            GCM_CHECK_EQ_INT(gcm_config_set(&cfg, &opts[i], other, &err), 0);
        }
        GCM_CHECK(memcmp(&cfg, &fresh, sizeof cfg) != 0);
    }
    GCM_CHECK_EQ_U64(with_text, 7);
}

static void test_find(void)
{
    const gcm_option *json = must_find("json");

    GCM_CHECK(gcm_config_find("--json") == json);
    GCM_CHECK(gcm_config_find("json_output") == json);
    GCM_CHECK(gcm_config_find("--json_output") == NULL);
    GCM_CHECK(gcm_config_find("json-output") == NULL);
    GCM_CHECK(gcm_config_find("-json") == NULL);
    GCM_CHECK(gcm_config_find("JSON") == NULL);
    GCM_CHECK(gcm_config_find("") == NULL);
    GCM_CHECK(gcm_config_find("--") == NULL);
    GCM_CHECK(gcm_config_find(NULL) == NULL);
    GCM_CHECK(gcm_config_find("prompt") == gcm_config_find("enable_prompt"));

    /* Scoped: the launcher sees flags only, GCMonitor keywords only. */
    GCM_CHECK(gcm_config_find_in("python", GCM_SCOPE_CLI) == must_find("python"));
    GCM_CHECK(gcm_config_find_in("--python", GCM_SCOPE_CLI) == must_find("python"));
    GCM_CHECK(gcm_config_find_in("python", GCM_SCOPE_API) == NULL);
    GCM_CHECK(gcm_config_find_in("json", GCM_SCOPE_API) == NULL);
    GCM_CHECK(gcm_config_find_in("json_output", GCM_SCOPE_API) == json);
    GCM_CHECK(gcm_config_find_in("json_output", GCM_SCOPE_CLI) == NULL);
    GCM_CHECK(gcm_config_find_in("--json", GCM_SCOPE_API) == NULL);
    GCM_CHECK(gcm_config_find_in("interval", GCM_SCOPE_API) == must_find("interval"));
    GCM_CHECK(gcm_config_find_in("stats-only", GCM_SCOPE_API) == NULL);
    GCM_CHECK(gcm_config_find_in("stats_only", GCM_SCOPE_API) == must_find("stats-only"));
}

static void test_set_every_option(void)
{
    gcm_config cfg;
    char path[400];

    gcm_config_init(&cfg);
    set_ok(&cfg, "--interval", "0.25");
    GCM_CHECK(cfg.interval_s == 0.25);
    set_ok(&cfg, "interval", "1e1");
    GCM_CHECK(cfg.interval_s == 10.0);
    set_ok(&cfg, "interval", "+2.");
    GCM_CHECK(cfg.interval_s == 2.0);
    set_ok(&cfg, "interval", ".5");
    GCM_CHECK(cfg.interval_s == 0.5);
    set_ok(&cfg, "interval", "1000000");
    GCM_CHECK(cfg.interval_s == 1e6);
    set_ok(&cfg, "interval", "6e-10"); /* rounds to 1 ns */
    GCM_CHECK(cfg.interval_s == 6e-10);

    set_ok(&cfg, "json", NULL);
    GCM_CHECK_EQ_INT(cfg.json, 1);
    set_ok(&cfg, "json_output", "0");
    GCM_CHECK_EQ_INT(cfg.json, 0);
    set_ok(&cfg, "json_output", "TRUE");
    GCM_CHECK_EQ_INT(cfg.json, 1);
    set_ok(&cfg, "json_output", "Off");
    GCM_CHECK_EQ_INT(cfg.json, 0);
    set_ok(&cfg, "json_output", "yes");
    GCM_CHECK_EQ_INT(cfg.json, 1);
    set_ok(&cfg, "json_output", "no");
    GCM_CHECK_EQ_INT(cfg.json, 0);
    set_ok(&cfg, "json_output", "on");
    GCM_CHECK_EQ_INT(cfg.json, 1);
    set_ok(&cfg, "json_output", "false");
    GCM_CHECK_EQ_INT(cfg.json, 0);
    set_ok(&cfg, "json_output", "1");
    GCM_CHECK_EQ_INT(cfg.json, 1);

    set_ok(&cfg, "stats-only", NULL);
    GCM_CHECK_EQ_INT(cfg.stats_only, 1);
    set_ok(&cfg, "dump_objects", "1");
    GCM_CHECK_EQ_INT(cfg.dump_objects, 1);
    set_ok(&cfg, "dump-garbage", NULL);
    GCM_CHECK_EQ_INT(cfg.dump_garbage, 1);

    (void)snprintf(path, sizeof path, "%s/gc.log", scratch_dir);
    set_ok(&cfg, "log-file", path);
    GCM_CHECK_STREQ(cfg.log_file, path);
    set_ok(&cfg, "log_file", "relative.log"); /* in the current directory */
    GCM_CHECK_STREQ(cfg.log_file, "relative.log");
    set_ok(&cfg, "log_file", "/top-level.log"); /* directory "/" */
    GCM_CHECK_STREQ(cfg.log_file, "/top-level.log");
    /* A shorter path overwrites a longer one completely. */
    GCM_CHECK(cfg.log_file[strlen("/top-level.log") + 1] == '\0');
    set_ok(&cfg, "log-file", scratch_file); /* an existing file is fine */
    GCM_CHECK_STREQ(cfg.log_file, scratch_file);

    set_ok(&cfg, "alert-threshold-ms", "0");
    GCM_CHECK(cfg.alert_threshold_ms == 0.0);
    set_ok(&cfg, "alert_threshold_ms", "-0");
    GCM_CHECK(cfg.alert_threshold_ms == 0.0 && !signbit(cfg.alert_threshold_ms));
    set_ok(&cfg, "alert_threshold_ms", "12.5");
    GCM_CHECK(cfg.alert_threshold_ms == 12.5);

    (void)snprintf(path, sizeof path, "%s/flame.txt", scratch_dir);
    set_ok(&cfg, "flamegraph-file", path);
    GCM_CHECK_STREQ(cfg.flamegraph_file, path);
    set_ok(&cfg, "flamegraph_bucket", "0.001");
    GCM_CHECK(cfg.flamegraph_bucket_s == 0.001);

    set_ok(&cfg, "terminal-flamegraph", NULL);
    GCM_CHECK_EQ_INT(cfg.terminal_flamegraph, 1);
    set_ok(&cfg, "terminal-flamegraph-width", "20");
    GCM_CHECK_EQ_U64(cfg.terminal_flamegraph_width, 20);
    set_ok(&cfg, "terminal_flamegraph_width", "1000");
    GCM_CHECK_EQ_U64(cfg.terminal_flamegraph_width, 1000);
    set_ok(&cfg, "terminal_flamegraph_width", "0120");
    GCM_CHECK_EQ_U64(cfg.terminal_flamegraph_width, 120);
    set_ok(&cfg, "terminal-flamegraph-color", NULL);
    GCM_CHECK_EQ_INT(cfg.terminal_flamegraph_color, 1);

    set_ok(&cfg, "duration-buckets", "0.5,2,1000");
    GCM_CHECK_EQ_U64(cfg.bucket_count, 3);
    GCM_CHECK(cfg.duration_buckets_ms[0] == 0.5);
    GCM_CHECK(cfg.duration_buckets_ms[1] == 2.0);
    GCM_CHECK(cfg.duration_buckets_ms[2] == 1000.0);
    /* Entries past the count are cleared, not left from the longer default. */
    GCM_CHECK(cfg.duration_buckets_ms[3] == 0.0);
    GCM_CHECK(cfg.duration_buckets_ms[4] == 0.0);
    set_ok(&cfg, "duration_buckets", "7");
    GCM_CHECK_EQ_U64(cfg.bucket_count, 1);
    GCM_CHECK(cfg.duration_buckets_ms[0] == 7.0);
    set_ok(&cfg, "duration_buckets", "0.000001,0.000002"); /* 1 ns and 2 ns */
    GCM_CHECK_EQ_U64(cfg.bucket_count, 2);

    set_ok(&cfg, "prompt", NULL);
    GCM_CHECK_EQ_INT(cfg.prompt, 1);
    set_ok(&cfg, "enable_prompt", "false");
    GCM_CHECK_EQ_INT(cfg.prompt, 0);

    set_ok(&cfg, "stack-depth", "1");
    GCM_CHECK_EQ_U64(cfg.stack_depth, 1);
    set_ok(&cfg, "stack_depth", "128");
    GCM_CHECK_EQ_U64(cfg.stack_depth, GCM_STACK_MAX_DEPTH);
    set_ok(&cfg, "stacks", NULL);
    GCM_CHECK_EQ_U64(cfg.stacks, 1);
    set_ok(&cfg, "buffer-events", "1");
    GCM_CHECK_EQ_U64(cfg.buffer_events, GCM_MIN_CAPACITY);
    set_ok(&cfg, "buffer_events", "65537");
    GCM_CHECK_EQ_U64(cfg.buffer_events, 131072);
    set_ok(&cfg, "buffer_events", "1024");
    GCM_CHECK_EQ_U64(cfg.buffer_events, 1024);
    set_ok(&cfg, "buffer_events", "67108864");
    GCM_CHECK_EQ_U64(cfg.buffer_events, GCM_MAX_CAPACITY);

    set_ok(&cfg, "--python", "/usr/bin/python3");
    GCM_CHECK_STREQ(cfg.python, "/usr/bin/python3");
}

static void test_list_of_32(void)
{
    gcm_config cfg;
    char text[400] = "";
    size_t len = 0;
    int i;

    gcm_config_init(&cfg);
    for (i = 1; i <= GCM_MAX_BUCKETS; i++) {
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%d", i > 1 ? "," : "", i * 3);
    }
    set_ok(&cfg, "duration-buckets", text);
    GCM_CHECK_EQ_U64(cfg.bucket_count, GCM_MAX_BUCKETS);
    GCM_CHECK(cfg.duration_buckets_ms[GCM_MAX_BUCKETS - 1] == 96.0);
}

typedef struct bad_case {
    const char *flag;
    const char *value;
    const char *reason; /* NULL: filled in at run time (paths under /tmp) */
} bad_case;

static const bad_case bad_cases[] = {
    /* Numbers. */
    {"interval", "", "must not be empty"},
    {"interval", "0", "must be greater than 0"},
    {"interval", "0.0", "must be greater than 0"},
    {"interval", "-0", "must be greater than 0"},
    {"interval", "-1", "must be greater than 0"},
    {"interval", "abc", "is not a number"},
    {"interval", " 5", "is not a number"},
    {"interval", "5 ", "is not a number"},
    {"interval", "5\n", "is not a number"},
    {"interval", "0x10", "is not a number"},
    {"interval", "nan", "is not a number"},
    {"interval", "NaN", "is not a number"},
    {"interval", "inf", "is not a number"},
    {"interval", "-inf", "is not a number"},
    {"interval", "infinity", "is not a number"},
    {"interval", "5s", "is not a number"},
    {"interval", "1,5", "is not a number"},
    {"interval", ".", "is not a number"},
    {"interval", "+", "is not a number"},
    {"interval", "1e", "is not a number"},
    {"interval", "1e+", "is not a number"},
    {"interval", "--5", "is not a number"},
    {"interval", "1e999", "is out of range"},
    {"interval", "1e-999", "is out of range"},
    {"interval", "1000001", "must be at most 1000000"},
    {"interval", "4e-10", "is shorter than 1 ns"},
    {"flamegraph-bucket", "0.0000000001", "is shorter than 1 ns"},
    {"alert-threshold-ms", "", "must not be empty"},
    {"alert-threshold-ms", "-1", "must be at least 0"},
    {"alert-threshold-ms", "-0.001", "must be at least 0"},
    {"alert-threshold-ms", "fast", "is not a number"},
    {"alert-threshold-ms", "nan", "is not a number"},
    {"alert-threshold-ms", "86400001", "must be at most 86400000"},
    {"flamegraph-bucket", "0", "must be greater than 0"},
    {"flamegraph-bucket", "-5", "must be greater than 0"},
    {"flamegraph-bucket", "inf", "is not a number"},
    {"flamegraph-bucket", "1e400", "is out of range"},
    /* Integers. */
    {"terminal-flamegraph-width", "", "must not be empty"},
    {"terminal-flamegraph-width", "19", "must be at least 20"},
    {"terminal-flamegraph-width", "0", "must be at least 20"},
    {"terminal-flamegraph-width", "-5", "must be at least 20"},
    {"terminal-flamegraph-width", "-", "is not a whole number"},
    {"terminal-flamegraph-width", "1001", "must be at most 1000"},
    {"terminal-flamegraph-width", "99999999999999999999999", "must be at most 1000"},
    {"terminal-flamegraph-width", "80.0", "is not a whole number"},
    {"terminal-flamegraph-width", "+80", "is not a whole number"},
    {"terminal-flamegraph-width", " 80", "is not a whole number"},
    {"terminal-flamegraph-width", "0x50", "is not a whole number"},
    {"terminal-flamegraph-width", "wide", "is not a whole number"},
    {"buffer-events", "0", "must be at least 1"},
    {"buffer-events", "67108865", "must be at most 67108864"},
    {"buffer-events", "1k", "is not a whole number"},
    {"buffer-events", "1e6", "is not a whole number"},
    /* Lists. */
    {"duration-buckets", "", "must not be empty"},
    {"duration-buckets", "1,,5", "has an empty item"},
    {"duration-buckets", "1,5,", "has an empty item"},
    {"duration-buckets", ",1,5", "has an empty item"},
    {"duration-buckets", ",", "has an empty item"},
    {"duration-buckets", "5,1", "must be strictly increasing"},
    {"duration-buckets", "1,1", "must be strictly increasing"},
    {"duration-buckets", "0.0000011,0.0000012", "must be strictly increasing"},
    {"duration-buckets", "0,5", "item '0' must be greater than 0"},
    {"duration-buckets", "-1,5", "item '-1' must be greater than 0"},
    {"duration-buckets", "1,x", "item 'x' is not a number"},
    {"duration-buckets", "1, 5", "item ' 5' is not a number"},
    {"duration-buckets", "1;5", "item '1;5' is not a number"},
    {"duration-buckets", "nan", "item 'nan' is not a number"},
    {"duration-buckets", "1,inf", "item 'inf' is not a number"},
    {"duration-buckets", "1,1e999", "item '1e999' is out of range"},
    {"duration-buckets", "1,90000000", "item '90000000' must be at most 86400000"},
    {"duration-buckets", "0.0000001", "item '0.0000001' is shorter than 1 ns"},
    /* An item too long to be a sensible number is refused, never cut to a
     * shorter one (this one would read as 1 without its exponent). */
    {"duration-buckets", "1.000000000000000000000000000000000000000000000000000000000000000e5",
     "item '1.000000000000000000...' is not a number"},
    {"interval", "1.000000000000000000000000000000000000000000000000000000000000000e5",
     "is not a number"},
    {"duration-buckets",
     "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33",
     "has more than 32 items"},
    /* Flags given a value. */
    {"json", "", "must not be empty"},
    {"json", "maybe", "must be true or false"},
    {"json", "2", "must be true or false"},
    {"json", "yes please", "must be true or false"},
    {"prompt", "10", "must be true or false"},
    /* Paths. */
    {"log-file", "", "must not be empty"},
    {"log-file", "/nonexistent-gcm-dir/gc.log", "directory '/nonexistent-gcm-dir' does not exist"},
    {"log-file", "/nonexistent-gcm-dir/a/gc.log",
     "directory '/nonexistent-gcm-dir/a' does not exist"},
    {"log-file", "nonexistent-gcm-dir/gc.log", "directory 'nonexistent-gcm-dir' does not exist"},
    {"log-file", "/", "is a directory"},
    {"log-file", "/tmp", "is a directory"},
    {"log-file", "/tmp/", "is a directory"},
    {"flamegraph-file", "/nonexistent-gcm-dir/f.txt",
     "directory '/nonexistent-gcm-dir' does not exist"},
    {"python", "", "must not be empty"},
};

static void check_refused(const gcm_option *opt, const char *name, const char *value,
                          const char *reason)
{
    gcm_config cfg;
    gcm_config before;
    gcm_config_error err;
    int status;

    /* Start from non-default settings so "unchanged" is not just "default". */
    gcm_config_init(&cfg);
    set_ok(&cfg, "interval", "7");
    set_ok(&cfg, "duration-buckets", "3,4");
    set_ok(&cfg, "log-file", scratch_file);
    set_ok(&cfg, "json", NULL);
    memcpy(&before, &cfg, sizeof cfg);

    memset(&err, 0x5a, sizeof err);
    if (name != NULL) {
        status = gcm_config_set_name(&cfg, name, value, &err);
    } else {
        status = gcm_config_set(&cfg, opt, value, &err);
    }
    if (status != GCM_ECONFIG) {
        fprintf(stderr, "%s='%s' was not refused (%d)\n", opt->flag, value, status);
        exit(1);
    }
    GCM_CHECK_EQ_INT(err.code, GCM_ECONFIG);
    GCM_CHECK(err.option == opt);
    GCM_CHECK_STREQ(err.name, opt->flag);
    GCM_CHECK_EQ_INT(err.missing, 0);
    GCM_CHECK_STREQ(err.reason, reason);
    if (strchr(value, '\n') == NULL && strlen(value) < sizeof err.value) {
        GCM_CHECK_STREQ(err.value, value);
    }
    GCM_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);

    /* A NULL error pointer is allowed and changes nothing else. */
    if (name == NULL) {
        GCM_CHECK_EQ_INT(gcm_config_set(&cfg, opt, value, NULL), GCM_ECONFIG);
        GCM_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    }
}

static void test_every_refusal(void)
{
    size_t i;

    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        const gcm_option *opt = must_find(c->flag);
        char dashed[80];

        (void)snprintf(dashed, sizeof dashed, "--%s", c->flag);
        check_refused(opt, NULL, c->value, c->reason);
        check_refused(opt, dashed, c->value, c->reason);
        if (opt->keyword != NULL) {
            check_refused(opt, opt->keyword, c->value, c->reason);
        }
    }
}

/* Path refusals that need a real file: a file used as a directory, and a
 * path one byte too long. */
static void test_path_refusals(void)
{
    char path[400];
    char reason[400];
    char *long_path = malloc(GCM_PATH_MAX + 1);

    GCM_CHECK(long_path != NULL);
    (void)snprintf(path, sizeof path, "%s/x.log", scratch_file);
    (void)snprintf(reason, sizeof reason, "'%s' is not a directory", scratch_file);
    check_refused(must_find("log-file"), NULL, path, reason);
    check_refused(must_find("log-file"), NULL, scratch_dir, "is a directory");
    /* A file in the middle of the directory path: stat() says ENOTDIR. */
    (void)snprintf(path, sizeof path, "%s/a/x.log", scratch_file);
    (void)snprintf(reason, sizeof reason, "directory '%s/a' does not exist", scratch_file);
    check_refused(must_find("log-file"), NULL, path, reason);

    memset(long_path, 'a', GCM_PATH_MAX);
    long_path[GCM_PATH_MAX] = '\0';
    check_refused(must_find("log-file"), NULL, long_path, "is longer than 4095 bytes");
    /* One byte shorter fits (its directory is the current one). */
    long_path[GCM_PATH_MAX - 1] = '\0';
    {
        gcm_config cfg;
        gcm_config_error err;
        gcm_config_init(&cfg);
        /* Too long a file name for the file system is not our business:
         * only the directory is checked. */
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "log-file", long_path, &err), 0);
        GCM_CHECK_EQ_U64(strlen(cfg.log_file), GCM_PATH_MAX - 1);
    }
    free(long_path);
}

static void test_missing_value(void)
{
    const char *names[] = {"interval",         "log-file", "terminal-flamegraph-width",
                           "duration-buckets", "python",   "fail-on"};
    size_t i;

    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        gcm_config cfg;
        gcm_config before;
        gcm_config_error err;

        gcm_config_init(&cfg);
        memcpy(&before, &cfg, sizeof cfg);
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, names[i], NULL, &err), GCM_ECONFIG);
        GCM_CHECK_EQ_INT(err.missing, 1);
        GCM_CHECK(err.option == must_find(names[i]));
        GCM_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    }
}

static void test_unknown_and_bad_calls(void)
{
    gcm_config cfg;
    gcm_config before;
    gcm_config_error err;

    gcm_config_init(&cfg);
    memcpy(&before, &cfg, sizeof cfg);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--jsn", NULL, &err), GCM_EUNKNOWN);
    GCM_CHECK_EQ_INT(err.code, GCM_EUNKNOWN);
    GCM_CHECK(err.option == NULL);
    GCM_CHECK_STREQ(err.name, "jsn");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "frobnicate", "1", &err), GCM_EUNKNOWN);
    GCM_CHECK_STREQ(err.name, "frobnicate");
    GCM_CHECK_EQ_INT(
        gcm_config_set_name_in(&cfg, "python", "/usr/bin/python3", GCM_SCOPE_API, &err),
        GCM_EUNKNOWN);
    GCM_CHECK_STREQ(err.name, "python");
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "json", "1", GCM_SCOPE_API, &err), GCM_EUNKNOWN);
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "json_output", "1", GCM_SCOPE_CLI, &err),
                     GCM_EUNKNOWN);
    GCM_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "json_output", "1", GCM_SCOPE_API, &err), 0);
    GCM_CHECK_EQ_INT(cfg.json, 1);

    /* A very long unknown name is cut, not overflowed. */
    {
        char name[300];
        memset(name, 'z', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, name, NULL, &err), GCM_EUNKNOWN);
        GCM_CHECK(strlen(err.name) < sizeof err.name);
        GCM_CHECK(strncmp(err.name, "zzzz", 4) == 0);
    }

    /* Options that are not from the table, and missing arguments. */
    {
        gcm_option fake = *must_find("json");
        GCM_CHECK_EQ_INT(gcm_config_set(&cfg, &fake, NULL, &err), GCM_EINVAL);
        GCM_CHECK_EQ_INT(gcm_config_set(&cfg, NULL, NULL, &err), GCM_EINVAL);
        GCM_CHECK_EQ_INT(gcm_config_set(NULL, must_find("json"), NULL, &err), GCM_EINVAL);
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, NULL, NULL, &err), GCM_EINVAL);
    }
}

static void test_error_format(void)
{
    gcm_config cfg;
    gcm_config_error err;
    char line[256];
    size_t n;

    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--interval", "0", &err), GCM_ECONFIG);
    n = gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "invalid value '0' for '--interval': must be greater than 0");
    GCM_CHECK_EQ_U64(n, strlen(line));
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "invalid value '0' for 'interval': must be greater than 0");

    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "json_output", "maybe", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "invalid value 'maybe' for 'json_output': must be true or false");
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "invalid value 'maybe' for '--json': must be true or false");

    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "terminal_flamegraph_width", "19", &err),
                     GCM_ECONFIG);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line,
                    "invalid value '19' for 'terminal_flamegraph_width': must be at least 20");

    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "log-file", "/nope/x.log", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(
        line, "invalid value '/nope/x.log' for '--log-file': directory '/nope' does not exist");

    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "duration-buckets", "5,1", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line,
                    "invalid value '5,1' for '--duration-buckets': must be strictly increasing");

    /* A value with a control byte still gives one line. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "interval", "1\n2", &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "invalid value '1?2' for '--interval': is not a number");

    /* A long value is cut and marked. */
    {
        char value[300];
        memset(value, '9', sizeof value - 1);
        value[sizeof value - 1] = '\0';
        value[0] = 'x';
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "interval", value, &err), GCM_ECONFIG);
        GCM_CHECK_EQ_U64(strlen(err.value), sizeof err.value - 1);
        GCM_CHECK(strcmp(err.value + sizeof err.value - 4, "...") == 0);
        GCM_CHECK_STREQ(err.reason, "is not a number");
    }

    /* Shown values are valid UTF-8: good characters kept whole even where
     * the value is cut, malformed bytes replaced, since the extension turns
     * the message into a Python str. */
    {
        char value[301];
        size_t k;
        for (k = 0; k + 2 <= 300; k += 2) {
            memcpy(value + k, "\xc3\xa9", 2); /* e with acute accent */
        }
        value[k] = '\0';
        value[1] = 'x'; /* make the first one malformed too */
        GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "interval", value, &err), GCM_ECONFIG);
        GCM_CHECK(strncmp(err.value, "?x\xc3\xa9\xc3\xa9", 6) == 0);
        /* 2 + 2 * 61 bytes, then "..." (a 62nd character would not leave room). */
        GCM_CHECK_EQ_U64(strlen(err.value), 2 + 2 * 61 + 3);
        GCM_CHECK(strcmp(err.value + strlen(err.value) - 5, "\xc3\xa9...") == 0);
    }
    {
        static const struct {
            const char *value;
            const char *shown;
        } utf8[] = {
            {"a\xff\xfe", "a??"},
            {"\xe2\x82\xac"
             "1",
             "\xe2\x82\xac"
             "1"},                                    /* the euro sign is kept */
            {"\xf0\x9f\x99\x82", "\xf0\x9f\x99\x82"}, /* so is an emoji */
            {"\xed\xa0\x80", "???"},                  /* an encoded surrogate is not */
            {"\xc0\xaf", "??"},                       /* nor an overlong '/' */
            {"\xe0\x80\xaf", "???"},
            {"\xf4\x90\x80\x80", "????"}, /* above U+10FFFF */
            {"\xe2\x82", "??"},           /* cut short */
            {"\x1b[31m", "?[31m"},
        };
        size_t k;
        for (k = 0; k < sizeof utf8 / sizeof utf8[0]; k++) {
            GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "interval", utf8[k].value, &err),
                             GCM_ECONFIG);
            GCM_CHECK_STREQ(err.value, utf8[k].shown);
        }
    }

    /* Missing values. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--interval", NULL, &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "option '--interval' requires a value");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--python", NULL, &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "option '--python' requires a value");

    /* Unknown names, with and without a close match. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--jsn", NULL, &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option '--jsn' (did you mean '--json'?)");
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option 'jsn'");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--frobnicate", NULL, &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option '--frobnicate'");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "intervl", "1", &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option 'intervl' (did you mean 'interval'?)");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--stats_only", NULL, &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option '--stats_only' (did you mean '--stats-only'?)");
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "enable-prompt", "1", GCM_SCOPE_API, &err),
                     GCM_EUNKNOWN);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option 'enable-prompt' (did you mean 'enable_prompt'?)");
    /* "python" is no keyword, so it is never suggested as one. */
    GCM_CHECK_EQ_INT(gcm_config_set_name_in(&cfg, "pythn", "x", GCM_SCOPE_API, &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option 'pythn'");
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option '--pythn' (did you mean '--python'?)");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "-j", NULL, &err), GCM_EUNKNOWN);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "unknown option '-j'");

    /* Truncation keeps a terminated prefix and reports its length. */
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "--interval", "0", &err), GCM_ECONFIG);
    n = gcm_config_error_format(&err, 0, line, 10);
    GCM_CHECK_EQ_U64(n, 9);
    GCM_CHECK_STREQ(line, "invalid v");
    GCM_CHECK_EQ_U64(gcm_config_error_format(&err, 0, line, 0), 0);
    GCM_CHECK_EQ_U64(gcm_config_error_format(&err, 0, NULL, 0), 0);
}

/* Builds a configuration where every option differs from its default. */
static void make_all_different(gcm_config *cfg, const char *odd_path)
{
    char path[400];

    gcm_config_init(cfg);
    set_ok(cfg, "interval", "0.1");
    set_ok(cfg, "json", NULL);
    set_ok(cfg, "stats-only", NULL);
    set_ok(cfg, "dump-objects", NULL);
    set_ok(cfg, "dump-garbage", NULL);
    set_ok(cfg, "log-file", odd_path);
    set_ok(cfg, "alert-threshold-ms", "0.3");
    set_ok(cfg, "slo-ms", "7.5");
    (void)snprintf(path, sizeof path, "%s/flame graph.txt", scratch_dir);
    set_ok(cfg, "flamegraph-file", path);
    (void)snprintf(path, sizeof path, "%s/gc page.html", scratch_dir);
    set_ok(cfg, "html-file", path);
    (void)snprintf(path, sizeof path, "%s/gc pauses.speedscope.json", scratch_dir);
    set_ok(cfg, "speedscope-file", path);
    set_ok(cfg, "flamegraph-bucket", "1e-05");
    set_ok(cfg, "terminal-flamegraph", NULL);
    set_ok(cfg, "terminal-flamegraph-width", "133");
    set_ok(cfg, "terminal-flamegraph-color", NULL);
    set_ok(cfg, "duration-buckets", "0.1,0.7,3.3333333333333335,1e3,86400000");
    set_ok(cfg, "prompt", NULL);
    set_ok(cfg, "buffer-events", "100");
    set_ok(cfg, "stacks", NULL);
    set_ok(cfg, "stack-depth", "7");
    set_ok(cfg, "stacks-file", "stacks.folded");
    set_ok(cfg, "python", "/usr/bin/python3");
    (void)snprintf(path, sizeof path, "%s/run.gcm", scratch_dir);
    set_ok(cfg, "output", path);
    /* Two uses append; the second has a '%' the encoding must protect. */
    set_ok(cfg, "fail-on", "gen2.p99>20ms");
    set_ok(cfg, "fail-on", "share >= 2.5%,uncollectable>0");
    set_ok(cfg, "follow-children", NULL);
}

static void test_options_that_need_another(void)
{
    gcm_config cfg;
    gcm_config_error err;
    char line[256];

    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(gcm_config_check(&cfg, &err), 0);
    GCM_CHECK_EQ_INT(gcm_config_check(NULL, &err), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "stacks-file", "out.folded", NULL), 0);
    GCM_CHECK_EQ_INT(gcm_config_check(&cfg, NULL), GCM_ECONFIG);
    GCM_CHECK_EQ_INT(gcm_config_check(&cfg, &err), GCM_ECONFIG);
    gcm_config_error_format(&err, 0, line, sizeof line);
    GCM_CHECK_STREQ(line, "option '--stacks-file' needs '--stacks': it writes the call stacks "
                          "that one records");
    gcm_config_error_format(&err, 1, line, sizeof line);
    GCM_CHECK_STREQ(line, "option 'stacks_file' needs 'stacks=True': it writes the call stacks "
                          "that one records");
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "stacks", NULL, NULL), 0);
    GCM_CHECK_EQ_INT(gcm_config_check(&cfg, &err), 0);
}

static void test_encode_defaults_exactly(void)
{
    gcm_config cfg;
    char buf[1024];
    size_t needed = 0;

    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, sizeof buf, &needed), 0);
    GCM_CHECK_STREQ(buf,
                    "interval=5;json=0;stats-only=0;dump-objects=0;dump-garbage=0;log-file=;"
                    "alert-threshold-ms=50;slo-ms=0;flamegraph-file=;html-file=;speedscope-file=;"
                    "flamegraph-bucket=5;"
                    "terminal-flamegraph=0;terminal-flamegraph-width=80;"
                    "terminal-flamegraph-color=0;duration-buckets=1,5,20,50,100;prompt=0;"
                    "buffer-events=65536;stacks=0;stack-depth=32;stacks-file=;"
                    "python=;output=;fail-on=;follow-children=0");
    GCM_CHECK_EQ_U64(needed, strlen(buf));
}

static void test_encode_decode_round_trip(void)
{
    gcm_config cfg;
    gcm_config back;
    gcm_config_error err;
    char odd_path[400];
    char *buf;
    size_t needed = 0;
    size_t second = 0;
    size_t semicolons = 0;
    size_t count = 0;
    const char *p;

    /* A file name with every byte the encoding must protect. */
    (void)snprintf(odd_path, sizeof odd_path, "%s/a;b=c%%d e\nf\x01g%%41\x7f.log", scratch_dir);
    make_all_different(&cfg, odd_path);
    GCM_CHECK_STREQ(cfg.log_file, odd_path);

    /* Measuring first, with no buffer at all. */
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, NULL, 0, &needed), GCM_ENOMEM);
    GCM_CHECK(needed > 100);
    buf = malloc(needed + 1);
    GCM_CHECK(buf != NULL);
    /* One byte short: refused, but still a terminated prefix. */
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, needed, &second), GCM_ENOMEM);
    GCM_CHECK_EQ_U64(second, needed);
    GCM_CHECK_EQ_U64(strlen(buf), needed - 1);
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, needed + 1, &second), 0);
    GCM_CHECK_EQ_U64(second, needed);
    GCM_CHECK_EQ_U64(strlen(buf), needed);

    /* One line, one item per option, no raw byte that needed escaping. */
    gcm_config_options(&count);
    for (p = buf; *p != '\0'; p++) {
        GCM_CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
        semicolons += *p == ';';
    }
    GCM_CHECK_EQ_U64(semicolons, count - 1);
    GCM_CHECK(strstr(buf, "log-file=") != NULL);
    GCM_CHECK(strstr(buf, "a%3Bb%3Dc%25d e%0Af%01g%2541%7F.log;") != NULL);
    GCM_CHECK(strstr(buf, "interval=0.1;") != NULL);
    GCM_CHECK(strstr(buf, "buffer-events=128;") != NULL);

    /* Every item differs from the default's, so the round trip below covers
     * every option (a new option must be added to make_all_different). */
    {
        char defaults[1024];
        const char *a = buf;
        const char *b = defaults;
        gcm_config fresh;
        size_t items = 0;

        gcm_config_init(&fresh);
        GCM_CHECK_EQ_INT(gcm_config_encode(&fresh, defaults, sizeof defaults, NULL), 0);
        while (*a != '\0' && *b != '\0') {
            size_t la = strcspn(a, ";");
            size_t lb = strcspn(b, ";");
            if (la == lb && memcmp(a, b, la) == 0) {
                fprintf(stderr, "item '%.*s' is the default\n", (int)la, a);
                exit(1);
            }
            items++;
            a += la + (a[la] == ';');
            b += lb + (b[lb] == ';');
        }
        GCM_CHECK_EQ_U64(items, count);
    }

    memset(&back, 0x33, sizeof back);
    GCM_CHECK_EQ_INT(gcm_config_decode(&back, buf, &err), 0);
    GCM_CHECK(memcmp(&back, &cfg, sizeof cfg) == 0);
    GCM_CHECK_STREQ(back.log_file, odd_path);
    GCM_CHECK(back.duration_buckets_ms[2] == 3.3333333333333335);
    free(buf);

    /* Decoding starts from defaults: an empty string gives the defaults. */
    {
        gcm_config fresh;
        gcm_config_init(&fresh);
        GCM_CHECK_EQ_INT(gcm_config_decode(&back, "", &err), 0);
        GCM_CHECK(memcmp(&back, &fresh, sizeof fresh) == 0);
        GCM_CHECK_EQ_INT(gcm_config_decode(&back, "json=1;;interval=2;", &err), 0);
        GCM_CHECK_EQ_INT(back.json, 1);
        GCM_CHECK(back.interval_s == 2.0);
        GCM_CHECK(back.alert_threshold_ms == 50.0);
        /* The last of repeated items wins. */
        GCM_CHECK_EQ_INT(gcm_config_decode(&back, "interval=2;interval=3", &err), 0);
        GCM_CHECK(back.interval_s == 3.0);
        /* Lower-case escapes are read too. */
        GCM_CHECK_EQ_INT(gcm_config_decode(&back, "python=/usr/bin/python%3b", &err), 0);
        GCM_CHECK_STREQ(back.python, "/usr/bin/python;");
    }
}

typedef struct bad_text {
    const char *text;
    int code;
    const char *message; /* error_format as a flag */
} bad_text;

static void test_decode_refusals(void)
{
    static const bad_text cases[] = {
        {"garbage", GCM_EUNKNOWN, "unknown option '--garbage'"},
        {"jsn=1", GCM_EUNKNOWN, "unknown option '--jsn' (did you mean '--json'?)"},
        {"json_output=1", GCM_EUNKNOWN, "unknown option '--json_output'"},
        {"--json=1", GCM_EUNKNOWN, "unknown option '--json'"},
        {"interval=1;nope=2", GCM_EUNKNOWN, "unknown option '--nope'"},
        {"interval", GCM_ECONFIG, "option '--interval' requires a value"},
        {"interval=", GCM_ECONFIG, "invalid value '' for '--interval': must not be empty"},
        {"interval=abc", GCM_ECONFIG, "invalid value 'abc' for '--interval': is not a number"},
        {"interval=0", GCM_ECONFIG, "invalid value '0' for '--interval': must be greater than 0"},
        {"json=", GCM_ECONFIG, "invalid value '' for '--json': must not be empty"},
        {"json=2", GCM_ECONFIG, "invalid value '2' for '--json': must be true or false"},
        {"json==1", GCM_ECONFIG, "invalid value '=1' for '--json': must be true or false"},
        {"duration-buckets=5,1", GCM_ECONFIG,
         "invalid value '5,1' for '--duration-buckets': must be strictly increasing"},
        {"log-file=%zz", GCM_ECONFIG, "invalid value '%zz' for '--log-file': has a bad %-escape"},
        {"log-file=a%4", GCM_ECONFIG, "invalid value 'a%4' for '--log-file': has a bad %-escape"},
        {"log-file=a%", GCM_ECONFIG, "invalid value 'a%' for '--log-file': has a bad %-escape"},
        {"log-file=a%00b", GCM_ECONFIG,
         "invalid value 'a%00b' for '--log-file': contains a NUL byte"},
        {"log-file=/nope%2Fx", GCM_ECONFIG,
         "invalid value '/nope/x' for '--log-file': directory '/nope' does not exist"},
        {"buffer-events=0", GCM_ECONFIG,
         "invalid value '0' for '--buffer-events': must be at least 1"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gcm_config cfg;
        gcm_config before;
        gcm_config_error err;
        char line[256];

        gcm_config_init(&cfg);
        set_ok(&cfg, "interval", "9");
        memcpy(&before, &cfg, sizeof cfg);
        GCM_CHECK_EQ_INT(gcm_config_decode(&cfg, cases[i].text, &err), cases[i].code);
        gcm_config_error_format(&err, 0, line, sizeof line);
        if (strcmp(line, cases[i].message) != 0) {
            fprintf(stderr, "decode('%s'):\n  got  '%s'\n  want '%s'\n", cases[i].text, line,
                    cases[i].message);
            exit(1);
        }
        GCM_CHECK(memcmp(&cfg, &before, sizeof cfg) == 0);
    }

    /* A value longer than any path is refused, whatever its escapes. */
    {
        size_t len = 3 * GCM_PATH_MAX + 32;
        char *text = malloc(len + 1);
        gcm_config cfg;
        gcm_config_error err;
        size_t k;

        GCM_CHECK(text != NULL);
        memcpy(text, "log-file=", 9);
        for (k = 9; k + 3 <= len; k += 3) {
            memcpy(text + k, "%41", 3);
        }
        text[k] = '\0';
        gcm_config_init(&cfg);
        GCM_CHECK_EQ_INT(gcm_config_decode(&cfg, text, &err), GCM_ECONFIG);
        GCM_CHECK(strncmp(err.reason, "is longer than", 14) == 0);
        free(text);
    }

    GCM_CHECK_EQ_INT(gcm_config_decode(NULL, "", NULL), GCM_EINVAL);
    {
        gcm_config cfg;
        GCM_CHECK_EQ_INT(gcm_config_decode(&cfg, NULL, NULL), GCM_EINVAL);
        GCM_CHECK_EQ_INT(gcm_config_decode(&cfg, "nope=1", NULL), GCM_EUNKNOWN);
    }
}

/* Random bytes and random mutations of a valid string: decode must answer
 * with a code and never touch memory it should not (run under ASan). */
static void test_decode_noise(void)
{
    static const char alphabet[] = "=;%,.0123456789abcdefxyzAF-/ \n\x01\x7f\xff";
    gcm_config cfg;
    gcm_config_error err;
    char valid[1024];
    char text[1100];
    uint64_t state = 0x9e3779b97f4a7c15u;
    int round;

    gcm_config_init(&cfg);
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, valid, sizeof valid, NULL), 0);
    for (round = 0; round < 20000; round++) {
        size_t len;
        size_t k;
        int status;

        state = state * 6364136223846793005u + 1442695040888963407u;
        if (round % 2 == 0) {
            len = (size_t)(state >> 33) % 80;
            for (k = 0; k < len; k++) {
                state = state * 6364136223846793005u + 1442695040888963407u;
                text[k] = alphabet[(state >> 33) % (sizeof alphabet - 1)];
            }
            text[len] = '\0';
        } else {
            memcpy(text, valid, strlen(valid) + 1);
            len = strlen(text);
            for (k = 0; k < 3; k++) {
                state = state * 6364136223846793005u + 1442695040888963407u;
                text[(state >> 33) % len] = alphabet[(state >> 20) % (sizeof alphabet - 1)];
            }
        }
        status = gcm_config_decode(&cfg, text, &err);
        GCM_CHECK(status == 0 || status == GCM_ECONFIG || status == GCM_EUNKNOWN);
        if (status != 0) {
            char line[512];
            size_t n = gcm_config_error_format(&err, 0, line, sizeof line);
            GCM_CHECK(n == strlen(line));
            GCM_CHECK(strchr(line, '\n') == NULL);
        }
    }
}

static void test_block_params(void)
{
    gcm_config cfg;
    gcm_block_params params;
    gcm_block_params before;

    gcm_config_init(&cfg);
    memset(&params, 0x77, sizeof params);
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), 0);
    GCM_CHECK_EQ_U64(params.capacity, GCM_DEFAULT_CAPACITY);
    GCM_CHECK_EQ_U64(params.alert_threshold_ns, 50000000u);
    GCM_CHECK_EQ_U64(params.bucket_count, 5);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[0], 1000000u);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[1], 5000000u);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[2], 20000000u);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[3], 50000000u);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[4], 100000000u);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[5], 0);
    GCM_CHECK_EQ_U64(params.pid, 0);
    GCM_CHECK_EQ_U64(params.ppid, 0);
    GCM_CHECK_EQ_U64(params.process_start_ticks, 0);

    /* Rounding to the nearest nanosecond. */
    set_ok(&cfg, "duration-buckets", "0.0015,2.6e-3,2.5");
    set_ok(&cfg, "alert-threshold-ms", "0.0000004");
    set_ok(&cfg, "buffer-events", "3000");
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), 0);
    GCM_CHECK_EQ_U64(params.bucket_count, 3);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[0], 1500);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[1], 2600);
    GCM_CHECK_EQ_U64(params.bucket_bounds_ns[2], 2500000);
    GCM_CHECK_EQ_U64(params.alert_threshold_ns, 0);
    GCM_CHECK_EQ_U64(params.capacity, 4096);
    set_ok(&cfg, "alert-threshold-ms", "0.0000006");
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), 0);
    GCM_CHECK_EQ_U64(params.alert_threshold_ns, 1);

    /* Hand-made configurations the parser would have refused. */
    memcpy(&before, &params, sizeof params);
    gcm_config_init(&cfg);
    cfg.duration_buckets_ms[1] = 0.5;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    gcm_config_init(&cfg);
    cfg.duration_buckets_ms[0] = 0.0000011;
    cfg.duration_buckets_ms[1] = 0.0000012;
    cfg.bucket_count = 2;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    gcm_config_init(&cfg);
    cfg.duration_buckets_ms[0] = NAN;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    gcm_config_init(&cfg);
    cfg.bucket_count = 0;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    cfg.bucket_count = GCM_MAX_BUCKETS + 1;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    gcm_config_init(&cfg);
    cfg.buffer_events = 1000;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    gcm_config_init(&cfg);
    cfg.alert_threshold_ms = -1.0;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    cfg.alert_threshold_ms = INFINITY;
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, &params), GCM_EINVAL);
    GCM_CHECK(memcmp(&params, &before, sizeof params) == 0);
    GCM_CHECK_EQ_INT(gcm_config_block_params(NULL, &params), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_config_block_params(&cfg, NULL), GCM_EINVAL);
}

/* Where a German locale was compiled for this run, if one had to be. */
static char made_locales[400];

/* Compiles de_DE.UTF-8 into the scratch directory with localedef and points
 * LOCPATH at it, for machines (like CI containers) that install no locale but
 * C.  Returns 1 when setlocale() can now find it. */
static int make_comma_locale(void)
{
    char cmd[600];

    (void)snprintf(made_locales, sizeof made_locales, "%s/locales", scratch_dir);
    if (mkdir(made_locales, 0700) != 0) {
        made_locales[0] = '\0';
        return 0;
    }
    (void)snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 '%s/de_DE.UTF-8' >/dev/null 2>&1",
                   made_locales);
    return system(cmd) == 0 && setenv("LOCPATH", made_locales, 1) == 0;
}

/* A program may switch LC_NUMERIC to a comma locale before it creates a
 * GCMonitor; values and the encoding still use '.'.  Skipped only where no
 * such locale is installed and localedef cannot make one. */
static void test_comma_locale(void)
{
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"};
    gcm_config cfg;
    gcm_config back;
    gcm_config_error err;
    char buf[1024];
    char probe[16];
    size_t i;
    int switched = 0;

    for (i = 0; i < sizeof names / sizeof names[0] && !switched; i++) {
        switched = setlocale(LC_NUMERIC, names[i]) != NULL;
    }
    if (!switched && make_comma_locale()) {
        switched = setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL;
    }
    if (!switched) {
        printf("skip test_comma_locale: no comma locale, and localedef could not make one\n");
        return;
    }
    (void)snprintf(probe, sizeof probe, "%.1f", 0.5);
    GCM_CHECK_STREQ(probe, "0,5");
    gcm_config_init(&cfg);
    set_ok(&cfg, "interval", "0.5");
    GCM_CHECK(cfg.interval_s == 0.5);
    GCM_CHECK_EQ_INT(gcm_config_set_name(&cfg, "interval", "0,5", &err), GCM_ECONFIG);
    GCM_CHECK_STREQ(err.reason, "is not a number");
    set_ok(&cfg, "duration-buckets", "0.25,1.5");
    GCM_CHECK_EQ_INT(gcm_config_encode(&cfg, buf, sizeof buf, NULL), 0);
    GCM_CHECK(strstr(buf, "interval=0.5;") != NULL);
    GCM_CHECK(strstr(buf, "duration-buckets=0.25,1.5;") != NULL);
    GCM_CHECK_EQ_INT(gcm_config_decode(&back, buf, &err), 0);
    GCM_CHECK(memcmp(&back, &cfg, sizeof cfg) == 0);
    GCM_CHECK(setlocale(LC_NUMERIC, "C") != NULL);
}

static void make_scratch(void)
{
    FILE *f;

    (void)snprintf(scratch_dir, sizeof scratch_dir, "/tmp/gcm-config-test-XXXXXX");
    GCM_CHECK(mkdtemp(scratch_dir) != NULL);
    (void)snprintf(scratch_file, sizeof scratch_file, "%s/file", scratch_dir);
    f = fopen(scratch_file, "w");
    GCM_CHECK(f != NULL);
    GCM_CHECK(fclose(f) == 0);
}

/* Runs at exit, after a failed check too, so no run leaves /tmp behind. */
static void remove_scratch(void)
{
    if (made_locales[0] != '\0') {
        char cmd[600];
        (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", made_locales);
        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", made_locales);
        }
    }
    (void)unlink(scratch_file);
    if (rmdir(scratch_dir) != 0) {
        fprintf(stderr, "could not remove %s\n", scratch_dir);
    }
}

int main(void)
{
    make_scratch();
    GCM_CHECK(atexit(remove_scratch) == 0);
    GCM_RUN(test_defaults);
    GCM_RUN(test_table_invariants);
    GCM_RUN(test_default_text_parses_to_default);
    GCM_RUN(test_find);
    GCM_RUN(test_set_every_option);
    GCM_RUN(test_list_of_32);
    GCM_RUN(test_every_refusal);
    GCM_RUN(test_path_refusals);
    GCM_RUN(test_missing_value);
    GCM_RUN(test_unknown_and_bad_calls);
    GCM_RUN(test_error_format);
    GCM_RUN(test_options_that_need_another);
    GCM_RUN(test_encode_defaults_exactly);
    GCM_RUN(test_encode_decode_round_trip);
    GCM_RUN(test_decode_refusals);
    GCM_RUN(test_decode_noise);
    GCM_RUN(test_block_params);
    GCM_RUN(test_comma_locale);
    return 0;
}
