/* src/cli/args.c: the launcher's command line, read through the core's option table.
 *
 * Grammar:
 *     pygcprofiler run [options] [--] (script | -m module | -c code) [args...]
 *     pygcprofiler (--help | -h | --version)
 *
 * Options are read only up to the target: the first word that is not an
 * option (or the word after "--") starts the target, and everything from
 * there on belongs to the target unchanged, including its own "--" and its
 * own flags that happen to share our names.  Every option's name, kind and
 * validation come from gcm_config_options() and gcm_config_set(), so the
 * launcher never disagrees with the GCMonitor keywords about what a value
 * means.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"

/* Formats a message into `msg`; the launcher's messages are always short, so
 * truncation only ever cuts a very long quoted subject. */
#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

/* Looks an option up by its command-line spelling only: gcm_config_find also
 * accepts GCMonitor keywords, and "--alert_threshold_ms" is not a flag. */
static const gcm_option *find_flag(const char *name, size_t len)
{
    size_t count = 0;
    const gcm_option *table = gcm_config_options(&count);
    for (size_t i = 0; i < count; i++) {
        if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL)
            continue;
        if (strlen(table[i].flag) == len && strncmp(table[i].flag, name, len) == 0)
            return &table[i];
    }
    return NULL;
}

/* Finds the one flag a misspelt or shortened name most likely meant: a flag
 * it is the start of, or one within two edits.  Returns NULL when there is no
 * single best candidate. */
static const gcm_option *suggest_flag(const char *name, size_t len)
{
    size_t count = 0;
    const gcm_option *table = gcm_config_options(&count);
    const gcm_option *best = NULL;
    size_t best_score = 3;
    int tie = 0;

    for (size_t i = 0; i < count; i++) {
        size_t score;
        if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL)
            continue;
        score = (len >= 3 && strncmp(table[i].flag, name, len) == 0)
                    ? 1
                    : gcm__edit_distance(name, len, table[i].flag, 2);
        if (score < best_score) {
            best = &table[i];
            best_score = score;
            tie = 0;
        } else if (score == best_score) {
            tie = 1;
        }
    }
    return tie ? NULL : best;
}

/* Reads one "--name", "--name=value" or "--name value" at argv[*i] and
 * stores it; advances *i past the value it consumed. */
static int parse_long_option(gcm__cli *cli, int argc, char **argv, int *i, char *msg,
                             size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *word = argv[*i];
    const char *name = word + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
    const char *value = eq ? eq + 1 : NULL;
    gcm_config_error err;
    const gcm_option *opt = find_flag(name, name_len);

    if (opt == NULL) {
        const gcm_option *near = suggest_flag(name, name_len);
        if (near != NULL)
            MSG("unknown option '--%.*s'; did you mean '--%s'?", (int)name_len, name, near->flag);
        else
            MSG("unknown option '--%.*s'", (int)name_len, name);
        goto done;
    }
    if (opt->kind == GCM_OPT_FLAG) {
        if (value != NULL) {
            MSG("option '--%s' takes no value, got '%s'", opt->flag, value);
            goto done;
        }
    } else if (value == NULL) {
        if (*i + 1 >= argc) {
            MSG("option '--%s' needs a value (%s)", opt->flag,
                opt->metavar ? opt->metavar : "VALUE");
            goto done;
        }
        *i += 1;
        value = argv[*i];
    }
    memset(&err, 0, sizeof err);
    if (gcm_config_set(&cli->config, opt, value, &err) != 0) {
        char line[GCM__MSG_MAX];
        gcm_config_error_format(&err, 0, line, sizeof line);
        MSG("%s", line);
        goto done;
    }
    status = 0;
done:
    return status;
}

/* Records the target that starts at argv[i]: "-m mod", "-mmod", "-c code",
 * "-ccode" or a script path, exactly the forms python itself accepts. */
static int parse_target(gcm__cli *cli, int argc, char **argv, int i, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *word = argv[i];

    cli->target_index = i;
    if (word[0] == '-' && (word[1] == 'm' || word[1] == 'c')) {
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
    } else if (strcmp(word, "-") == 0) {
        MSG("reading the program from stdin ('-') is not supported: save it to a file");
        goto done;
    } else if (word[0] == '-') {
        MSG("unknown option '%s'", word);
        goto done;
    } else {
        cli->kind = GCM__TARGET_SCRIPT;
        cli->target = word;
    }
    status = 0;
done:
    return status;
}

int gcm__cli_parse(gcm__cli *cli, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    int i;

    memset(cli, 0, sizeof *cli);
    gcm_config_init(&cli->config);
    cli->action = GCM__ACTION_RUN;
    cli->target_index = -1;
    msg[0] = '\0';

    if (argc < 2) {
        cli->action = GCM__ACTION_USAGE;
        status = 0;
        goto done;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        cli->action = GCM__ACTION_HELP;
        status = 0;
        goto done;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        cli->action = GCM__ACTION_VERSION;
        status = 0;
        goto done;
    }
    if (strcmp(argv[1], "run") != 0) {
        if (argv[1][0] == '-')
            MSG("unknown option '%s' (options go after 'run')", argv[1]);
        else
            MSG("unknown command '%s'", argv[1]);
        goto done;
    }

    for (i = 2; i < argc; i++) {
        const char *word = argv[i];
        if (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0) {
            cli->action = GCM__ACTION_HELP;
            status = 0;
            goto done;
        }
        if (strcmp(word, "--version") == 0) {
            cli->action = GCM__ACTION_VERSION;
            status = 0;
            goto done;
        }
        if (strcmp(word, "--") == 0) {
            /* The separator is ours: it is not passed on, and the next word is
             * the target whatever it looks like. */
            i++;
            break;
        }
        if (word[0] == '-' && word[1] == '-') {
            if (parse_long_option(cli, argc, argv, &i, msg, msg_size) != 0)
                goto done;
            continue;
        }
        if (word[0] == '-' && word[1] == 'o') {
            /* "-o PATH" and "-oPATH", the one short option: --output. */
            const char *value = word[2] != '\0' ? word + 2 : (i + 1 < argc ? argv[++i] : NULL);
            gcm_config_error err;
            if (value == NULL) {
                MSG("option '-o' needs a value (PATH)");
                goto done;
            }
            memset(&err, 0, sizeof err);
            if (gcm_config_set_name_in(&cli->config, "output", value, GCM_SCOPE_CLI, &err) != 0) {
                char line[GCM__MSG_MAX];
                gcm_config_error_format(&err, 0, line, sizeof line);
                MSG("%s", line);
                goto done;
            }
            continue;
        }
        break;
    }

    if (i >= argc) {
        MSG("missing target: give a script, '-m module' or '-c code' after the options");
        goto done;
    }
    if (parse_target(cli, argc, argv, i, msg, msg_size) != 0)
        goto done;
    status = 0;
done:
    return status;
}
