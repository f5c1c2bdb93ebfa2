/* src/cli/options.c: the option engine every verb reads its command line with.
 *
 * A verb hands over a table of rows (options.h); this file reads the words
 * against it and writes the table's part of --help.  The messages are the
 * launcher's: one lowercase line that quotes what the user typed, so
 *
 *     unknown option '--jsn'; did you mean '--json'?
 *     option '--interval' needs a value (SECONDS)
 *     option '--plain' takes no value, got 'yes'
 *     invalid value '0' for '--interval': must be seconds from 0.05 to 3600
 *
 * read the same whichever verb printed them.  An option of gcm_config is
 * refused in gcm_config_set's own words, the ones GCMonitor gives.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"
#include "options.h"

/* Formats a message into `msg`. */
#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

/* A table longer than this is a mistake of ours, refused rather than read. */
#define ROWS_MAX 64
/* Bytes of a name or a value quoted in a message: a longer one is cut and
 * ends in "...", so one line stays one line. */
#define SHOWN_MAX 104
/* Longest name that can be an option (gcm_config_error's name field). */
#define NAME_MAX_LEN 63
/* Longest number text read, as gcm_config reads its own numbers. */
#define NUMBER_MAX 64

/* Help lines stay within this many columns; descriptions wrap at word
 * boundaries into the column that follows the option names, the same
 * column for every verb. */
#define HELP_WIDTH 80
#define HELP_COLUMN 38

/* Copies `len` bytes of `text` into `shown` (SHOWN_MAX bytes) for a message. */
static void show(char *shown, const char *text, size_t len)
{
    gcm__copy_shown(shown, SHOWN_MAX, text, len, GCM__SHOWN_UTF8);
}

/* The gcm_config option a CONFIG row sets, or NULL. */
static const gcm_option *config_option(const gcm__opt *row)
{
    const char *flag = row->config != NULL ? row->config : row->name;

    return flag != NULL ? gcm_config_find_in(flag, GCM_SCOPE_CLI) : NULL;
}

static int takes_value(const gcm__opt *row)
{
    const gcm_option *opt;

    switch (row->kind) {
    case GCM__OPT_NUMBER:
    case GCM__OPT_PERCENT:
    case GCM__OPT_ENUM:
    case GCM__OPT_LIST:
        return 1;
    case GCM__OPT_CONFIG:
        opt = config_option(row);
        return opt != NULL && opt->kind != GCM_OPT_FLAG;
    default:
        return 0;
    }
}

/* The placeholder of a row's value, for --help. */
static const char *metavar_of(const gcm__opt *row)
{
    const gcm_option *opt;

    if (row->metavar != NULL || row->kind != GCM__OPT_CONFIG)
        return row->metavar;
    opt = config_option(row);
    return opt != NULL ? opt->metavar : NULL;
}

static const char *help_of(const gcm__opt *row)
{
    const gcm_option *opt;

    if (row->help != NULL || row->kind != GCM__OPT_CONFIG)
        return row->help;
    opt = config_option(row);
    return opt != NULL ? opt->help : NULL;
}

/* Writes the words of an ENUM row as "a, b or c". */
static void join_words(const char *const *words, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; words[i] != NULL && used < size; i++) {
        const char *sep = i == 0 ? "" : (words[i + 1] == NULL ? " or " : ", ");
        int n = snprintf(buf + used, size - used, "%s%s", sep, words[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* The row's name as messages quote it: "--name", or "-c" for a short-only row. */
static void long_spelling(const gcm__opt *row, char *buf, size_t size)
{
    if (row->name != NULL)
        (void)snprintf(buf, size, "--%s", row->name);
    else
        (void)snprintf(buf, size, "-%c", row->short_name);
}

/* Reads `text` as a number for a NUMBER or PERCENT row: an optional sign,
 * then the shared decimal grammar (gcm__decimal_length), then for a percent
 * one '%'; within the row's limits.  Returns 0 or GCM_EINVAL. */
static int read_number(const gcm__opt *row, const char *text, double *out)
{
    size_t len = strlen(text);
    size_t sign;
    int whole = 0;
    double v;

    if (row->kind == GCM__OPT_PERCENT && len > 0 && text[len - 1] == '%')
        len--;
    sign = len > 0 && (text[0] == '+' || text[0] == '-') ? 1 : 0;
    if (len == sign || len >= NUMBER_MAX || gcm__decimal_length(text + sign) != len - sign)
        return GCM_EINVAL;
    v = gcm__strtod_c(text, len, &whole);
    if (!whole || errno == ERANGE || !isfinite(v) || v < row->min || v > row->max)
        return GCM_EINVAL;
    /* "-0" passes ">= 0"; keep it as plain zero so that it prints as "0". */
    *out = v == 0.0 ? 0.0 : v;
    return 0;
}

/* Stores `value` (NULL for a row without one) as `row` says.  A refused
 * value is quoted with the row's long name, whichever spelling was used. */
static int store(const gcm__opt *row, const char *value, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    char name[SHOWN_MAX];
    char shown[SHOWN_MAX];
    char why[256];
    const gcm_option *opt;
    gcm_config_error err;

    long_spelling(row, name, sizeof name);
    shown[0] = '\0';
    if (value != NULL)
        show(shown, value, strlen(value));
    switch (row->kind) {
    case GCM__OPT_FLAG:
        *(int *)row->store = 1;
        break;
    case GCM__OPT_SET:
        *(int *)row->store = row->value;
        break;
    case GCM__OPT_NUMBER:
    case GCM__OPT_PERCENT:
        if (read_number(row, value, (double *)row->store) != 0) {
            if (row->refusal != NULL)
                (void)snprintf(why, sizeof why, "%s", row->refusal);
            else
                (void)snprintf(why, sizeof why, "must be a number from %g to %g", row->min,
                               row->max);
            MSG("invalid value '%s' for '%s': %s", shown, name, why);
            goto done;
        }
        break;
    case GCM__OPT_ENUM: {
        size_t i = 0;
        while (row->words[i] != NULL && strcmp(row->words[i], value) != 0)
            i++;
        if (row->words[i] == NULL) {
            join_words(row->words, why, sizeof why);
            MSG("invalid value '%s' for '%s': must be %s", shown, name, why);
            goto done;
        }
        *(int *)row->store = (int)i;
        break;
    }
    case GCM__OPT_LIST:
        if (row->add(row->store, value, msg, msg_size) != 0)
            goto done;
        break;
    case GCM__OPT_CONFIG:
        opt = config_option(row);
        if (opt == NULL) {
            MSG("option '%s' is not in the option table", name);
            goto done;
        }
        memset(&err, 0, sizeof err);
        if (gcm_config_set((gcm_config *)row->store, opt, value, &err) != 0) {
            (void)gcm_config_error_format(&err, 0, msg, msg_size);
            goto done;
        }
        break;
    case GCM__OPT_GROUP:
    case GCM__OPT_ACTION:
        break;
    }
    status = 0;
done:
    return status;
}

/* Finds the one row a misspelt or shortened long name most likely meant: a
 * name it is the start of, or one within two edits.  Returns NULL when there
 * is no single best candidate. */
static const gcm__opt *suggest(const gcm__opt_spec *spec, const char *name, size_t len)
{
    const gcm__opt *best = NULL;
    size_t best_score = 3;
    int tie = 0;

    for (size_t i = 0; i < spec->count; i++) {
        const gcm__opt *row = &spec->rows[i];
        size_t score;
        if (row->name == NULL || row->kind == GCM__OPT_GROUP)
            continue;
        score = (len >= 3 && strncmp(row->name, name, len) == 0)
                    ? 1
                    : gcm__edit_distance(name, len, row->name, 2);
        if (score < best_score) {
            best = row;
            best_score = score;
            tie = 0;
        } else if (score == best_score) {
            tie = 1;
        }
    }
    return tie ? NULL : best;
}

/* Writes why the long name `len` bytes of `name` is refused. */
static void refuse_unknown(const gcm__opt_spec *spec, const char *name, size_t len, char *msg,
                           size_t msg_size)
{
    char shown[SHOWN_MAX];
    const gcm__opt *near;

    if (spec->foreign != NULL && len <= NAME_MAX_LEN) {
        char exact[NAME_MAX_LEN + 1];
        memcpy(exact, name, len);
        exact[len] = '\0';
        if (spec->foreign(spec->ctx, exact, msg, msg_size))
            return;
    }
    show(shown, name, len);
    near = suggest(spec, name, len);
    if (near != NULL)
        MSG("unknown option '--%s'; did you mean '--%s'?", shown, near->name);
    else
        MSG("unknown option '--%s'", shown);
}

static const gcm__opt *find_long(const gcm__opt_spec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->count; i++) {
        const gcm__opt *row = &spec->rows[i];
        if (row->kind != GCM__OPT_GROUP && row->name != NULL && strlen(row->name) == len &&
            strncmp(row->name, name, len) == 0)
            return row;
    }
    return NULL;
}

static const gcm__opt *find_short(const gcm__opt_spec *spec, char letter)
{
    for (size_t i = 0; i < spec->count; i++) {
        if (spec->rows[i].kind != GCM__OPT_GROUP && spec->rows[i].short_name == letter)
            return &spec->rows[i];
    }
    return NULL;
}

/* Stores the defaults that come before any word: those of NUMBER, PERCENT
 * and ENUM rows, which a later use replaces. */
static int store_defaults(const gcm__opt_spec *spec, char *msg, size_t msg_size)
{
    for (size_t i = 0; i < spec->count; i++) {
        const gcm__opt *row = &spec->rows[i];
        if (row->default_text == NULL ||
            (row->kind != GCM__OPT_NUMBER && row->kind != GCM__OPT_PERCENT &&
             row->kind != GCM__OPT_ENUM))
            continue;
        if (store(row, row->default_text, msg, msg_size) != 0)
            return GCM_EINVAL;
    }
    return 0;
}

int gcm__opts_parse(const gcm__opt_spec *spec, int argc, char **argv, int *action, int *next,
                    char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    unsigned char given[ROWS_MAX];
    int stop = (spec->flags & GCM__OPTS_STOP) != 0;
    int only_operands = 0;
    int i;

    *action = GCM__ACTION_RUN;
    *next = argc;
    msg[0] = '\0';
    if (spec->count > ROWS_MAX) {
        MSG("too many options in one table");
        goto done;
    }
    memset(given, 0, sizeof given);
    if (store_defaults(spec, msg, msg_size) != 0)
        goto done;
    for (i = 1; i < argc; i++) {
        const char *word = argv[i];
        const char *value = NULL;
        const gcm__opt *row;
        char spelling[SHOWN_MAX + 2];
        char shown[SHOWN_MAX];

        /* "-" names stdin or a file called "-": never an option. */
        if (only_operands || word[0] != '-' || word[1] == '\0') {
            if (stop) {
                *next = i;
                break;
            }
            if (spec->operand == NULL) {
                show(shown, word, strlen(word));
                MSG("unexpected argument '%s'", shown);
                goto done;
            }
            if (spec->operand(spec->ctx, word, msg, msg_size) != 0)
                goto done;
            continue;
        }
        if (strcmp(word, "--") == 0) {
            /* Every word after the separator is an operand whatever it
             * looks like.  With GCM__OPTS_STOP the separator is left to the
             * caller: `run` must know that the next word is a script even
             * when it looks like "-c" or "-m". */
            if (stop) {
                *next = i;
                break;
            }
            only_operands = 1;
            continue;
        }
        if (word[1] == '-') {
            const char *name = word + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);

            row = find_long(spec, name, len);
            if (row == NULL) {
                refuse_unknown(spec, name, len, msg, msg_size);
                goto done;
            }
            value = eq != NULL ? eq + 1 : NULL;
            (void)snprintf(spelling, sizeof spelling, "--%s", row->name);
        } else {
            /* A short option is one letter; a value-taking one may have its
             * value attached ("-oPATH"), a flag may not ("-hx" is unknown). */
            row = find_short(spec, word[1]);
            if (row == NULL || (!takes_value(row) && word[2] != '\0')) {
                /* With GCM__OPTS_STOP the word is the target's to judge:
                 * run's "-m module" and "-c code" look like options. */
                if (stop) {
                    *next = i;
                    break;
                }
                show(shown, word, strlen(word));
                MSG("unknown option '%s'", shown);
                goto done;
            }
            if (word[2] != '\0')
                value = word + 2;
            (void)snprintf(spelling, sizeof spelling, "-%c", row->short_name);
        }
        if (!takes_value(row)) {
            if (value != NULL) {
                show(shown, value, strlen(value));
                MSG("option '%s' takes no value, got '%s'", spelling, shown);
                goto done;
            }
        } else if (value == NULL) {
            if (i + 1 >= argc) {
                char wanted[256];
                const char *metavar = metavar_of(row);
                if (row->kind == GCM__OPT_ENUM)
                    join_words(row->words, wanted, sizeof wanted);
                else
                    (void)snprintf(wanted, sizeof wanted, "%s",
                                   metavar != NULL ? metavar : "VALUE");
                MSG("option '%s' needs a value (%s)", spelling, wanted);
                goto done;
            }
            value = argv[++i];
        }
        if (row->kind == GCM__OPT_ACTION) {
            /* --help wins over everything after it, even a bad word. */
            *action = row->value;
            status = 0;
            goto done;
        }
        if (store(row, value, msg, msg_size) != 0)
            goto done;
        given[row - spec->rows] = 1;
        if (spec->given != NULL)
            spec->given(spec->ctx, row);
    }
    /* A list's default is what it holds when the option was never given;
     * the first use replaces it rather than adding to it. */
    for (size_t r = 0; r < spec->count; r++) {
        const gcm__opt *row = &spec->rows[r];
        if (row->kind == GCM__OPT_LIST && row->default_text != NULL && !given[r] &&
            row->add(row->store, row->default_text, msg, msg_size) != 0)
            goto done;
    }
    status = 0;
done:
    return status;
}

int gcm__opts_parse_verb(const gcm__opt_spec *spec, int argc, char **argv, int *help, char *msg,
                         size_t msg_size)
{
    int action = GCM__ACTION_RUN;
    int next = argc;

    *help = 0;
    if (gcm__opts_parse(spec, argc, argv, &action, &next, msg, msg_size) != 0)
        return GCM_EINVAL;
    *help = action == GCM__ACTION_HELP;
    return 0;
}

/* ---- --help -------------------------------------------------------------- */

typedef struct help_line {
    char text[1024];
    size_t used; /* bytes in text */
    size_t col;  /* column of the next byte */
} help_line;

/* Appends one unbreakable unit of a description, starting a new line in the
 * description column when it would cross the width. */
static void put_unit(help_line *line, const char *unit, size_t len)
{
    if (line->used + len + HELP_COLUMN + 3 >= sizeof line->text)
        return; /* The tables' texts are far shorter than the buffer. */
    if (line->col > HELP_COLUMN && line->col + 1 + len > HELP_WIDTH) {
        line->text[line->used++] = '\n';
        line->col = 0;
    } else if (line->col > HELP_COLUMN) {
        line->text[line->used++] = ' ';
        line->col++;
    }
    while (line->col < HELP_COLUMN) {
        line->text[line->used++] = ' ';
        line->col++;
    }
    memcpy(line->text + line->used, unit, len);
    line->used += len;
    line->col += len;
}

/* Formats one option's entry: its names and placeholder, then the help text
 * and the default, wrapped into the description column.  Names too long for
 * their column get the description on the next line. */
static int print_row(int fd, const gcm__opt *row)
{
    help_line line;
    char names[128];
    char def_text[96];
    const char *metavar = takes_value(row) ? metavar_of(row) : NULL;
    const char *help = help_of(row);
    const char *p;
    int n;

    if (row->short_name != 0 && row->name != NULL)
        n = snprintf(names, sizeof names, "-%c, --%s", row->short_name, row->name);
    else if (row->name != NULL)
        n = snprintf(names, sizeof names, "--%s", row->name);
    else
        n = snprintf(names, sizeof names, "-%c", row->short_name);
    if (n < 0)
        return GCM_EIO;
    n = snprintf(line.text, sizeof line.text, "  %s%s%s", names, metavar != NULL ? " " : "",
                 metavar != NULL ? metavar : "");
    line.used = n > 0 ? (size_t)n : 0;
    line.col = line.used;
    if (line.col + 1 > HELP_COLUMN) {
        line.text[line.used++] = '\n';
        line.col = 0;
    }
    for (p = help != NULL ? help : ""; *p != '\0';) {
        size_t word = strcspn(p, " ");
        if (word > 0)
            put_unit(&line, p, word);
        p += word;
        while (*p == ' ')
            p++;
    }
    if (row->default_text != NULL) {
        /* The default is one unit, so "(default:" never ends a line alone. */
        n = snprintf(def_text, sizeof def_text, "(default: %s)", row->default_text);
        if (n > 0)
            put_unit(&line, def_text,
                     (size_t)n < sizeof def_text ? (size_t)n : sizeof def_text - 1);
    }
    line.text[line.used++] = '\n';
    return gcm__write_all(fd, line.text, line.used);
}

int gcm__opts_help(int fd, const char *head, const gcm__opt *rows, size_t count, const char *tail)
{
    int status = GCM_EIO;

    if (gcm__write_all(fd, head, strlen(head)) != 0)
        goto done;
    for (size_t i = 0; i < count; i++) {
        if (rows[i].kind == GCM__OPT_GROUP) {
            char heading[128];
            int n = snprintf(heading, sizeof heading, "\n%s:\n", rows[i].help);
            if (n < 0 || (size_t)n >= sizeof heading || gcm__write_all(fd, heading, (size_t)n) != 0)
                goto done;
        } else if (!rows[i].hidden && print_row(fd, &rows[i]) != 0) {
            goto done;
        }
    }
    if (gcm__write_all(fd, tail, strlen(tail)) != 0)
        goto done;
    status = 0;
done:
    return status;
}

int gcm__opt_takes_value(const gcm__opt *row)
{
    return takes_value(row);
}

const char *gcm__opt_metavar(const gcm__opt *row)
{
    return metavar_of(row);
}

const char *gcm__opt_help_text(const gcm__opt *row)
{
    return help_of(row);
}

size_t gcm__opts_lend(gcm__opt *rows, size_t size, const gcm__opt *all, size_t count)
{
    if (count > size)
        count = size;
    memcpy(rows, all, count * sizeof all[0]);
    return count;
}

int gcm__opts_take_pid(const char **pid_word, int64_t *pid, const char *word, char *msg,
                       size_t msg_size)
{
    char shown[GCM__SHOWN_MAX];
    int64_t v = 0;

    if (*pid_word != NULL) {
        (void)snprintf(msg, msg_size, "one process at a time: '%s' and '%s'", *pid_word,
                       gcm__subject(shown, word));
        return GCM_EINVAL;
    }
    /* Digits only, and a value a pid_t can hold: no sign, no space, no 0x. */
    for (const char *p = word; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || v > (INT32_MAX - 9) / 10) {
            v = 0;
            break;
        }
        v = v * 10 + (*p - '0');
    }
    if (v <= 0) {
        (void)snprintf(msg, msg_size, "not a process id: '%s'", gcm__subject(shown, word));
        return GCM_EINVAL;
    }
    *pid_word = word;
    *pid = v;
    return 0;
}

int gcm__opts_take_output(void *store, const char *value, char *msg, size_t msg_size)
{
    const char **output = (const char **)store;
    char shown[GCM__SHOWN_MAX];

    if (*output != NULL) {
        (void)snprintf(msg, msg_size, "option '--output' given twice ('%s')",
                       gcm__subject(shown, value));
        return GCM_EINVAL;
    }
    if (value[0] == '\0') {
        (void)snprintf(msg, msg_size, "option '--output' needs a file name, got ''");
        return GCM_EINVAL;
    }
    *output = value;
    return 0;
}
