/* src/cli/options.h: the one option engine of every verb.
 *
 * Each verb describes its options as a table of rows, one per option (name,
 * value kind, storage, limits, default, help), in the manner of git's
 * parse-options, and hands it to gcm__opts_parse and gcm__opts_help.  So
 * every verb reads "--name", "--name=value", "--name value", "--" and
 * -h/--help the same way, reads numbers with one grammar (the decimal grammar
 * of base/numtext.c: no spaces, hex, inf or nan), refuses an unknown option
 * with the same "did you mean" hint, and lays out --help the same way.  An
 * option of gcm_config is one row that names it: its value is parsed and
 * refused by gcm_config_set, so `run` and `report` say exactly what the
 * GCMonitor keywords say.
 */
#ifndef GCM_CLI_OPTIONS_H
#define GCM_CLI_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* What a row is. */
typedef enum gcm__opt_kind {
    GCM__OPT_GROUP,   /* no option: `help` is a heading of --help */
    GCM__OPT_ACTION,  /* stops the parse and returns `value` (a gcm__action): --help, --version */
    GCM__OPT_FLAG,    /* no value: the int at `store` becomes 1 */
    GCM__OPT_SET,     /* no value: the int at `store` becomes `value` (report's --json) */
    GCM__OPT_NUMBER,  /* a decimal within [min, max] into the double at `store` */
    GCM__OPT_PERCENT, /* a NUMBER that may end in one '%' ("10%" is 10) */
    GCM__OPT_ENUM,    /* one of `words`: its index into the int at `store` */
    GCM__OPT_LIST,    /* each use hands its value to `add` (repeatable) */
    GCM__OPT_CONFIG /* the gcm_config option `config` (or `name`), set in the gcm_config at `store` */
} gcm__opt_kind;

/* One option (or one heading of --help).  Unused fields stay zero. */
typedef struct gcm__opt {
    gcm__opt_kind kind;
    const char *name;         /* the long name without "--"; NULL for a short-only row */
    char short_name;          /* the one-letter alias ('o' for -o), 0 for none */
    const char *metavar;      /* the value's placeholder in --help and "needs a value (...)";
                               * a CONFIG row without one takes the option table's */
    const char *help;         /* the line of --help (the title of a GROUP); a CONFIG row
                               * without one takes the option table's */
    const char *default_text; /* shown as "(default: ...)"; for NUMBER, PERCENT and ENUM the
                               * value stored before the words are read, for LIST the value
                               * added when the option is never given */
    int hidden;               /* 1: left out of --help (-o, which --output's line names) */
    void *store;              /* where the value goes, as `kind` says */
    int value;                /* SET: the int stored; ACTION: the gcm__action returned */
    double min;               /* NUMBER, PERCENT: the inclusive limits */
    double max;
    const char *refusal;      /* NUMBER, PERCENT: the reason every refused value is given,
                               * such as "must be seconds from 0.05 to 3600" */
    const char *const *words; /* ENUM: the accepted words, NULL-terminated */
    const char *config;       /* CONFIG: the gcm_config flag when it is not `name` */
    /* LIST: takes one use's value; returns 0, or GCM_EINVAL with the whole
     * message line in `msg`. */
    int (*add)(void *store, const char *value, char *msg, size_t msg_size);
} gcm__opt;

/* The -h/--help row every verb ends its table with. */
#define GCM__OPT_HELP_ROW                                                                          \
    {                                                                                              \
        .kind = GCM__OPT_ACTION, .name = "help", .short_name = 'h', .value = GCM__ACTION_HELP,     \
        .help = "show this help and exit"                                                          \
    }

/* Stop at the first word that is not an option, or at "--" itself (which
 * the caller then reads): `run`'s target and its own words follow. */
#define GCM__OPTS_STOP 0x1u

/* A verb's table and what to do with the words that are not options. */
typedef struct gcm__opt_spec {
    const gcm__opt *rows;
    size_t count;
    unsigned flags; /* GCM__OPTS_* */
    void *ctx;      /* handed to the callbacks below */
    /* Without GCM__OPTS_STOP: takes each word that is not an option, in
     * order; returns 0, or GCM_EINVAL with the message in `msg`.  NULL
     * refuses every such word. */
    int (*operand)(void *ctx, const char *word, char *msg, size_t msg_size);
    /* When not NULL: writes why the unknown long name `name` (without
     * "--") is refused when another verb takes it, and returns 1; returns 0
     * for a name no verb has. */
    int (*foreign)(void *ctx, const char *name, char *msg, size_t msg_size);
    /* When not NULL: told of each option given, after its value was stored. */
    void (*given)(void *ctx, const gcm__opt *row);
} gcm__opt_spec;

/* Reads argv[1..argc) (argv[0] is the verb) against `spec`.  Returns 0 with
 * *action set to GCM__ACTION_RUN, or to the action of an ACTION row, which
 * stops the parse where it stands; with GCM__OPTS_STOP, *next is the index
 * of the first word not read, "--" included (argc when none is left).  Returns GCM_EINVAL
 * with one message line (no "error: ", no newline) in `msg`. */
int gcm__opts_parse(const gcm__opt_spec *spec, int argc, char **argv, int *action, int *next,
                    char *msg, size_t msg_size);

/* gcm__opts_parse for a verb that takes all of its words as options and
 * operands (no GCM__OPTS_STOP) and has only -h/--help as an action: sets
 * *help to 1 when it was given (the parse stopped there), else 0.  Returns
 * 0, or GCM_EINVAL with the message in `msg`. */
int gcm__opts_parse_verb(const gcm__opt_spec *spec, int argc, char **argv, int *help, char *msg,
                         size_t msg_size);

/* Writes a verb's --help to `fd` in the one layout of every verb: `head`
 * (its prose), the option lines of `rows` (headings, names, help and
 * defaults, wrapped within 80 columns), then `tail`.  Returns 0 or GCM_EIO. */
int gcm__opts_help(int fd, const char *head, const gcm__opt *rows, size_t count, const char *tail);

/* The `add` of a LIST row `-o, --output FILE` whose store is a `const char *`
 * (watch, attach): one file name, not empty, given once.  Returns 0, or
 * GCM_EINVAL with `msg` set. */
int gcm__opts_take_output(void *store, const char *value, char *msg, size_t msg_size);

/* The operand of a verb that takes one process id (watch, attach, detach):
 * stores `word` and its value in *pid_word and *pid.  Returns 0, or
 * GCM_EINVAL with `msg` set for a second pid or a word that is not one. */
int gcm__opts_take_pid(const char **pid_word, int64_t *pid, const char *word, char *msg,
                       size_t msg_size);

/* Copies the first `count` rows of `all` into `rows` (`size` at most) and
 * returns how many: how a verb lends its table to complete.c, which reads the
 * rows' names, kinds and texts, never the values they would store. */
size_t gcm__opts_lend(gcm__opt *rows, size_t size, const gcm__opt *all, size_t count);

/* What --help shows of a row, for the completion scripts and the man page
 * (complete.c): whether it takes a value, its placeholder (NULL for none)
 * and its line of help, a CONFIG row's from the option table. */
int gcm__opt_takes_value(const gcm__opt *row);
const char *gcm__opt_metavar(const gcm__opt *row);
const char *gcm__opt_help_text(const gcm__opt *row);

#endif /* GCM_CLI_OPTIONS_H */
