/* src/cli/help.c: usage and --help, generated from the core's option table.
 *
 * The table says what each option is; this file only decides the order in
 * which the groups are shown.  An option that a group does not name still
 * appears, under "Other options", so adding an option to the table can never
 * leave it out of --help.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"

typedef struct help_group {
    const char *title;
    const char *flags[8];
} help_group;

static const help_group groups[] = {
    {"Output", {"json", "stats-only", "log-file", NULL}},
    {"Pauses and alerts", {"alert-threshold-ms", "duration-buckets", "interval", NULL}},
    {"Flame graphs",
     {"flamegraph-file", "flamegraph-bucket", "terminal-flamegraph", "terminal-flamegraph-width",
      "terminal-flamegraph-color", NULL}},
    {"Diagnostics at exit", {"dump-objects", "dump-garbage", "prompt", NULL}},
    {"Recording and interpreter", {"buffer-events", "python", NULL}},
};

static const char usage_text[] =
    "usage: pygcprofiler run [options] [--] TARGET [args...]\n"
    "       where TARGET is script.py, a directory or zip with __main__.py,\n"
    "       -m module or -c code, exactly as python takes it\n"
    "       pygcprofiler report [--format text|json|folded|terminal] [options] FILE\n"
    "       pygcprofiler compare BASE NEW [--max-regression PCT] [--metric M ...]\n"
    "       pygcprofiler live [--interval SECONDS] [--plain] FILE|PID...\n"
    "       pygcprofiler --help | --version\n";

int gcm__print_usage(int fd)
{
    return gcm__write_all(fd, usage_text, sizeof usage_text - 1);
}

/* Help lines stay within this many columns; descriptions wrap at word
 * boundaries into the column that follows the option names. */
#define HELP_WIDTH 80
#define HELP_COLUMN 38

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
        return; /* The table's texts are far shorter than the buffer. */
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

/* Formats one option's entry: the flag and its placeholder, then the help
 * text and the default, wrapped into the description column.  A flag too
 * long for its column gets the description on the next line. */
static int print_option(int fd, const gcm_option *opt)
{
    help_line line;
    char def_text[96];
    const char *def = opt->default_text;
    const char *p;
    int n;

    n = snprintf(line.text, sizeof line.text, "  --%s%s%s", opt->flag, opt->metavar ? " " : "",
                 opt->metavar ? opt->metavar : "");
    line.used = n > 0 ? (size_t)n : 0;
    line.col = line.used;
    if (line.col + 1 > HELP_COLUMN) {
        line.text[line.used++] = '\n';
        line.col = 0;
    }
    for (p = opt->help ? opt->help : ""; *p != '\0';) {
        size_t word = strcspn(p, " ");
        if (word > 0)
            put_unit(&line, p, word);
        p += word;
        while (*p == ' ')
            p++;
    }
    /* The table has no default for --python: the launcher searches, as the
     * paragraph after the options says. */
    if (def == NULL && strcmp(opt->flag, "python") == 0)
        def = "searched, see below";
    if (def == NULL)
        def = opt->kind == GCM_OPT_FLAG ? "off" : "none";
    /* The default is one unit, so "(default:" never ends a line alone. */
    n = snprintf(def_text, sizeof def_text, "(default: %s)", def);
    if (n > 0)
        put_unit(&line, def_text, (size_t)n < sizeof def_text ? (size_t)n : sizeof def_text - 1);
    line.text[line.used++] = '\n';
    return gcm__write_all(fd, line.text, line.used);
}

static int in_any_group(const char *flag)
{
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++)
        for (size_t f = 0; groups[g].flags[f] != NULL; f++)
            if (strcmp(groups[g].flags[f], flag) == 0)
                return 1;
    return 0;
}

static int print_heading(int fd, const char *title)
{
    char line[128];
    int n = snprintf(line, sizeof line, "\n%s:\n", title);
    return n > 0 ? gcm__write_all(fd, line, (size_t)n) : GCM_EIO;
}

int gcm__print_help(int fd)
{
    int status = GCM_EIO;
    size_t count = 0;
    const gcm_option *table = gcm_config_options(&count);
    int others = 0;
    static const char intro[] =
        "\nRun a Python program exactly as python would, while pygcprofiler records every\n"
        "garbage collection, and print a report when the program exits.  Options go\n"
        "between 'run' and the target; everything after the target is the program's own.\n";
    static const char tail[] =
        "\nOther options:\n"
        "  -h, --help                          show this help and exit\n"
        "  --version                           show the version and exit\n"
        "\nEnvironment:\n"
        "  " GCM_ENV_PYTHON "                 the interpreter when --python is not given\n"
        "\nThe interpreter is --python, else $" GCM_ENV_PYTHON ", else python next to this\n"
        "program (a venv's bin/), else python3 on PATH if it is the version pygcprofiler\n"
        "was built for.\n"
        "\nExamples:\n"
        "  pygcprofiler run examples/gc_heavy.py\n"
        "  pygcprofiler run --alert-threshold-ms 10 app.py --port 8000\n"
        "  pygcprofiler run --json --log-file gc.jsonl -m uvicorn main:app\n"
        "  pygcprofiler run --stats-only -c 'import json'\n"
        "  python -m gc_monitor run --terminal-flamegraph server.py\n"
        "\nExit status: the program's own, 2 for bad input (the program never starts), or\n"
        "3 when the program succeeded but broke a --fail-on rule (see docs/ci.md).\n";

    if (gcm__print_usage(fd) != 0 || gcm__write_all(fd, intro, sizeof intro - 1) != 0)
        goto done;
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        int printed = 0;
        for (size_t f = 0; groups[g].flags[f] != NULL; f++) {
            for (size_t i = 0; i < count; i++) {
                if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL ||
                    strcmp(table[i].flag, groups[g].flags[f]) != 0)
                    continue;
                if (!printed && print_heading(fd, groups[g].title) != 0)
                    goto done;
                printed = 1;
                if (print_option(fd, &table[i]) != 0)
                    goto done;
            }
        }
    }
    for (size_t i = 0; i < count; i++) {
        if ((table[i].scope & GCM_SCOPE_CLI) == 0 || table[i].flag == NULL ||
            in_any_group(table[i].flag))
            continue;
        if (!others && print_heading(fd, "More options") != 0)
            goto done;
        others = 1;
        if (print_option(fd, &table[i]) != 0)
            goto done;
    }
    if (gcm__write_all(fd, tail, sizeof tail - 1) != 0)
        goto done;
    status = 0;
done:
    return status;
}
