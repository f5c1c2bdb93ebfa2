/* src/cli/help.c: the usage lines of every verb, the version, and `run`'s --help.
 *
 * The option lines come from `run`'s option table (args.c), laid out by the
 * option engine as every verb's are; this file holds the usage lines of all
 * verbs, the version line and the prose around them.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"
#include "options.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* The usage line of each verb of main.c's table, in its order: the words
 * after "pygcprofiler ", and the lines that follow, if any. */
static const struct {
    const char *synopsis;
    const char *more;
} usages[] = {
    {"run [options] [--] TARGET [args...]",
     "       where TARGET is script.py, a directory or zip with __main__.py,\n"
     "       -m module or -c code, exactly as python takes it (after --, always\n"
     "       a script, even one named -x.py)\n"},
    {"report [--format text|json|folded|terminal] [options] FILE", NULL},
    {"compare BASE NEW [--max-regression PCT] [--metric M ...]", NULL},
    {"live [--interval SECONDS] [--plain] FILE|PID...", NULL},
    {"watch -o FILE PID", NULL},
    {"attach [-o FILE] [options] PID", NULL},
    {"detach PID", NULL},
    {"export [--prometheus [HOST:]PORT] [options] CAPTURE...", NULL},
    {"completion bash|zsh|fish", NULL},
};

const char *gcm__verb_synopsis(const char *verb)
{
    size_t len = strlen(verb);

    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
        if (strncmp(usages[i].synopsis, verb, len) == 0 && usages[i].synopsis[len] == ' ')
            return usages[i].synopsis;
    return NULL;
}

int gcm__print_usage(int fd)
{
    static const char last[] = "       pygcprofiler --help | --version\n";
    char line[256];

    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
        int n = snprintf(line, sizeof line, "%spygcprofiler %s\n", i == 0 ? "usage: " : "       ",
                         usages[i].synopsis);
        if (n < 0 || (size_t)n >= sizeof line || gcm__write_all(fd, line, (size_t)n) != 0)
            return GCM_EIO;
        if (usages[i].more != NULL &&
            gcm__write_all(fd, usages[i].more, strlen(usages[i].more)) != 0)
            return GCM_EIO;
    }
    return gcm__write_all(fd, last, sizeof last - 1);
}

int gcm__print_version(void)
{
    char line[128];
    const char *built = gcm__built_python();
    int n;
    if (built[0] != '\0')
        n = snprintf(line, sizeof line, "pygcprofiler %s (built for CPython %s)\n", GCM_VERSION,
                     built);
    else
        n = snprintf(line, sizeof line, "pygcprofiler %s\n", GCM_VERSION);
    return n > 0 ? gcm__write_all(1, line, (size_t)n) : GCM_EIO;
}

int gcm__print_help(int fd)
{
    int status = GCM_EIO;
    gcm__opt rows[GCM__RUN_ROWS_MAX];
    size_t count = gcm__run_options(NULL, rows, sizeof rows / sizeof rows[0]);
    static const char intro[] =
        "\nRun a Python program exactly as python would, while pygcprofiler records every\n"
        "garbage collection, and print a report when the program exits.  Options go\n"
        "between 'run' and the target; everything after the target is the program's own.\n";
    static const char tail[] =
        "\nEnvironment:\n"
        "  " GCM_ENV_PYTHON "                 the interpreter when --python is not given\n"
        "\nThe interpreter is --python, else $" GCM_ENV_PYTHON ", else python next to this\n"
        "program (a venv's bin/), else python3 on PATH if it is the version pygcprofiler\n"
        "was built for.  A --python or $" GCM_ENV_PYTHON " is refused before the\n"
        "program starts unless it is that CPython and can import pygcprofiler.\n"
        "\nExamples:\n"
        "  pygcprofiler run examples/gc_heavy.py\n"
        "  pygcprofiler run --alert-threshold-ms 10 app.py --port 8000\n"
        "  pygcprofiler run --json --log-file gc.jsonl -m uvicorn main:app\n"
        "  pygcprofiler run --stats-only -c 'import json'\n"
        "  python -m gc_monitor run --terminal-flamegraph server.py\n"
        "\nExit status: the program's own, 2 for bad input (the program never starts), or\n"
        "3 when the program succeeded but broke a --fail-on rule (see docs/ci.md).\n";

    if (gcm__print_usage(fd) != 0 || gcm__opts_help(fd, intro, rows, count, tail) != 0)
        goto done;
    status = 0;
done:
    return status;
}
