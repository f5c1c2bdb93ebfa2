/* src/cli/args.c: `run`'s command line, read by the option engine.
 *
 * Grammar:
 *     pygcprofiler run [options] [--] (script | -m module | -c code) [args...]
 *
 * Options are read only up to the target: the first word that is not an
 * option (or the word after "--") starts the target, and everything from
 * there on belongs to the target unchanged, including its own "--" and its
 * own flags that happen to share our names.  `run`'s table is built from
 * gcm_config_options(), one CONFIG row per launcher option whose value
 * gcm_config_set() validates, so the launcher never disagrees with the
 * GCMonitor keywords about what a value means.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"
#include "options.h"

/* Formats a message into `msg`; the launcher's messages are always short, so
 * truncation only ever cuts a very long quoted subject. */
#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

/* The headings of `run`'s --help and the options under each, in order.  An
 * option of the table that no group names still appears, under "More
 * options", so adding an option to gcm_config can never leave it out of
 * `run`'s command line or its --help. */
typedef struct help_group {
    const char *title;
    const char *flags[8];
} help_group;

static const help_group groups[] = {
    {"Output", {"json", "stats-only", "log-file", "output", NULL}},
    {"Pauses and alerts", {"alert-threshold-ms", "slo-ms", "duration-buckets", "interval", NULL}},
    {"Flame graphs",
     {"flamegraph-file", "flamegraph-bucket", "terminal-flamegraph", "terminal-flamegraph-width",
      "terminal-flamegraph-color", NULL}},
    {"HTML report and profiles", {"html-file", "speedscope-file", NULL}},
    {"Call stacks", {"stacks", "stack-depth", "stacks-file", NULL}},
    {"Diagnostics at exit", {"dump-objects", "dump-garbage", "prompt", NULL}},
    {"Recording and interpreter", {"buffer-events", "python", "follow-children", NULL}},
    {"CI budgets", {"fail-on", NULL}},
};

static int in_any_group(const char *flag)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (size_t f = 0; groups[g].flags[f] != NULL; f++)
            if (strcmp(groups[g].flags[f], flag) == 0)
                return 1;
    return 0;
}

/* Appends `row` when there is room; the caller's GCM__RUN_ROWS_MAX is
 * sized for the table, so nothing is ever left out in practice. */
static void add_row(gcm__opt *rows, size_t size, size_t *count, gcm__opt row)
{
    if (*count < size)
        rows[(*count)++] = row;
}

/* The row of one launcher option: its name, placeholder and help come from
 * the table (options.h), its default as --help states it from here. */
static gcm__opt config_row(gcm_config *cfg, const gcm_option *opt)
{
    /* Options whose absence means something other than "none": --python
     * searches (the paragraph after the options says how), the report goes
     * to stderr without --log-file, and the verdict's budget is then the
     * alert threshold. */
    static const struct {
        const char *flag;
        const char *shown;
    } absent[] = {
        {"python", "searched, see below"},
        {"log-file", "stderr"},
        {"slo-ms", "the alert threshold"},
    };
    gcm__opt row;
    const char *def = opt->default_text;
    size_t i;

    for (i = 0; def == NULL && i < sizeof absent / sizeof absent[0]; i++)
        if (strcmp(opt->flag, absent[i].flag) == 0)
            def = absent[i].shown;
    if (def == NULL)
        def = opt->kind == GCM_OPT_FLAG ? "off" : "none";
    memset(&row, 0, sizeof row);
    row.kind = GCM__OPT_CONFIG;
    row.name = opt->flag;
    row.default_text = def;
    row.store = cfg;
    return row;
}

size_t gcm__run_rows_named(gcm_config *cfg, const char *const *flags, gcm__opt *rows, size_t size)
{
    size_t table_count = 0;
    const gcm_option *table = gcm_config_options(&table_count);
    size_t count = 0;

    for (size_t f = 0; flags[f] != NULL; f++)
        for (size_t i = 0; i < table_count; i++)
            if ((table[i].scope & GCM_SCOPE_CLI) != 0 && table[i].flag != NULL &&
                strcmp(table[i].flag, flags[f]) == 0)
                add_row(rows, size, &count, config_row(cfg, &table[i]));
    return count;
}

size_t gcm__run_options(gcm_config *cfg, gcm__opt *rows, size_t size)
{
    static const gcm__opt short_output = {
        .kind = GCM__OPT_CONFIG, .short_name = 'o', .config = "output", .hidden = 1};
    static const gcm__opt other = {.kind = GCM__OPT_GROUP, .help = "Other options"};
    static const gcm__opt help = GCM__OPT_HELP_ROW;
    static const gcm__opt version = {.kind = GCM__OPT_ACTION,
                                     .name = "version",
                                     .short_name = 'V',
                                     .value = GCM__ACTION_VERSION,
                                     .help = "show the version and exit"};
    size_t table_count = 0;
    const gcm_option *table = gcm_config_options(&table_count);
    size_t count = 0;
    int others = 0;
    gcm__opt row;

    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        int headed = 0;
        for (size_t f = 0; groups[g].flags[f] != NULL; f++) {
            for (size_t i = 0; i < table_count; i++) {
                if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL ||
                    strcmp(table[i].flag, groups[g].flags[f]) != 0)
                    continue;
                if (!headed) {
                    memset(&row, 0, sizeof row);
                    row.kind = GCM__OPT_GROUP;
                    row.help = groups[g].title;
                    add_row(rows, size, &count, row);
                    headed = 1;
                }
                add_row(rows, size, &count, config_row(cfg, &table[i]));
            }
        }
    }
    for (size_t i = 0; i < table_count; i++) {
        if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL ||
            in_any_group(table[i].flag))
            continue;
        if (!others) {
            memset(&row, 0, sizeof row);
            row.kind = GCM__OPT_GROUP;
            row.help = "More options";
            add_row(rows, size, &count, row);
            others = 1;
        }
        add_row(rows, size, &count, config_row(cfg, &table[i]));
    }
    /* "-o PATH" and "-oPATH", the one short option: --output, whose line of
     * --help names it. */
    row = short_output;
    row.store = cfg;
    add_row(rows, size, &count, row);
    add_row(rows, size, &count, other);
    add_row(rows, size, &count, help);
    add_row(rows, size, &count, version);
    return count;
}

/* Records the target that starts at argv[i]: "-m mod", "-mmod", "-c code",
 * "-ccode" or a script path, exactly the forms python itself accepts.  After
 * "--" (at argv[i]) the next word is a script whatever it looks like.  The
 * "--" is ours and dropped, except before a script whose name starts with
 * '-': python itself needs it there (`python -- -x.py`), and so does the
 * bootstrap, to tell the script "-c" from code. */
static int parse_target(gcm__cli *cli, int argc, char **argv, int i, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *word = argv[i];
    char shown[GCM__SHOWN_MAX];

    cli->target_index = i;
    if (strcmp(word, "--") == 0) {
        if (i + 1 >= argc) {
            MSG("missing target: give a script after '--'");
            goto done;
        }
        cli->kind = GCM__TARGET_SCRIPT;
        cli->target = argv[i + 1];
        if (cli->target[0] != '-')
            cli->target_index = i + 1;
    } else if (word[0] == '-' && (word[1] == 'm' || word[1] == 'c')) {
        const char *what = word[1] == 'm' ? "a module name" : "code to run";
        cli->kind = word[1] == 'm' ? GCM__TARGET_MODULE : GCM__TARGET_CODE;
        if (word[2] != '\0') {
            cli->target = word + 2;
        } else if (i + 1 < argc) {
            cli->target = argv[i + 1];
        } else {
            MSG("option '-%c' needs %s", word[1], what);
            goto done;
        }
        if (cli->kind == GCM__TARGET_MODULE && cli->target[0] == '\0') {
            MSG("option '-m' needs a module name, got ''");
            goto done;
        }
        status = 0;
        goto done;
    } else if (strcmp(word, "-") == 0) {
        MSG("reading the program from stdin ('-') is not supported: save it to a file");
        goto done;
    } else if (word[0] == '-') {
        MSG("unknown option '%s' (a script whose name starts with '-' goes after '--')",
            gcm__subject(shown, word));
        goto done;
    } else {
        cli->kind = GCM__TARGET_SCRIPT;
        cli->target = word;
    }
    /* python would try to open '' (the current directory's name). */
    if (cli->target[0] == '\0') {
        MSG("the target is empty: give a script, '-m module' or '-c code'");
        goto done;
    }
    status = 0;
done:
    return status;
}

int gcm__cli_parse(gcm__cli *cli, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    gcm__opt rows[GCM__RUN_ROWS_MAX];
    gcm__opt_spec spec;
    gcm_config_error err;
    int action = GCM__ACTION_RUN;
    int next = argc;

    memset(cli, 0, sizeof *cli);
    gcm_config_init(&cli->config);
    cli->action = GCM__ACTION_RUN;
    cli->target_index = -1;
    msg[0] = '\0';

    memset(&spec, 0, sizeof spec);
    spec.rows = rows;
    spec.count = gcm__run_options(&cli->config, rows, sizeof rows / sizeof rows[0]);
    spec.flags = GCM__OPTS_STOP;
    if (gcm__opts_parse(&spec, argc, argv, &action, &next, msg, msg_size) != 0)
        goto done;
    cli->action = (gcm__action)action;
    if (cli->action != GCM__ACTION_RUN) {
        status = 0;
        goto done;
    }
    /* Options that need each other, by the rule GCMonitor applies too. */
    if (gcm_config_check(&cli->config, &err) != 0) {
        (void)gcm_config_error_format(&err, 0, msg, msg_size);
        goto done;
    }
    if (next >= argc) {
        MSG("missing target: give a script, '-m module' or '-c code' after the options");
        goto done;
    }
    if (parse_target(cli, argc, argv, next, msg, msg_size) != 0)
        goto done;
    status = 0;
done:
    return status;
}

int gcm__cli_check_outputs(const gcm__cli *cli, char *msg, size_t msg_size)
{
    /* Every file `run` writes, with what may become of an existing one:
     * a new capture, an appended log, a replaced flame graph. */
    const struct {
        const char *flag;
        const char *shown;
        const char *path;
        gcm__output_mode mode;
    } outs[] = {
        {"output", "-o", cli->config.output, GCM__OUTPUT_NEW},
        {"log-file", "--log-file", cli->config.log_file, GCM__OUTPUT_APPEND},
        {"flamegraph-file", "--flamegraph-file", cli->config.flamegraph_file, GCM__OUTPUT_REPLACE},
        {"html-file", "--html-file", cli->config.html_file, GCM__OUTPUT_REPLACE},
        {"speedscope-file", "--speedscope-file", cli->config.speedscope_file, GCM__OUTPUT_REPLACE},
        {"stacks-file", "--stacks-file", cli->config.stacks_file, GCM__OUTPUT_REPLACE},
    };
    const size_t count = sizeof outs / sizeof outs[0];
    int status = GCM_EINVAL;

    for (size_t i = 0; i < count; i++) {
        if (gcm__cli_check_output(outs[i].flag, outs[i].path, outs[i].mode, msg, msg_size) != 0)
            goto done;
    }
    for (size_t i = 0; i < count; i++) {
        if (outs[i].path[0] == '\0')
            continue;
        for (size_t j = i + 1; j < count; j++) {
            if (outs[j].path[0] != '\0' && gcm__same_file(outs[i].path, outs[j].path)) {
                char shown[GCM__SHOWN_MAX];
                MSG("'%s' and '%s' name the same file '%s': give each its own", outs[i].shown,
                    outs[j].shown, gcm__subject(shown, outs[j].path));
                goto done;
            }
        }
        /* A log appended to the script, or a flame graph over it, would
         * destroy the program being measured. */
        if (cli->kind == GCM__TARGET_SCRIPT && gcm__same_file(outs[i].path, cli->target)) {
            char shown[GCM__SHOWN_MAX];
            MSG("'%s' '%s' is the script being run", outs[i].shown,
                gcm__subject(shown, outs[i].path));
            goto done;
        }
    }
    status = 0;
done:
    return status;
}
