/* src/cli/main.c: the launcher's entry point and its table of verbs.
 *
 *     pygcprofiler VERB [arguments...]
 *     pygcprofiler --help | --version
 *
 * Each verb is one row of `verbs` below: its name, the function that runs it
 * (which reads its own words with the option engine, options.h, and returns
 * the exit status) and its line of the usage.  Nothing else here knows what
 * the verbs are, so a new verb is one row and one file.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

typedef struct verb {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[0] is the verb's name */
    const char *synopsis;               /* its words, after "pygcprofiler " */
    const char *more;                   /* lines that follow the synopsis, or NULL */
} verb;

static const verb verbs[] = {
    {"run", gcm__run_main, "run [options] [--] TARGET [args...]",
     "       where TARGET is script.py, a directory or zip with __main__.py,\n"
     "       -m module or -c code, exactly as python takes it\n"},
    {"report", gcm__report_main, "report [--format text|json|folded|terminal] [options] FILE",
     NULL},
    {"compare", gcm__compare_main, "compare BASE NEW [--max-regression PCT] [--metric M ...]",
     NULL},
    {"live", gcm__live_main, "live [--interval SECONDS] [--plain] FILE|PID...", NULL},
};

int gcm__print_usage(int fd)
{
    static const char last[] = "       pygcprofiler --help | --version\n";
    char line[256];

    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        int n = snprintf(line, sizeof line, "%spygcprofiler %s\n", i == 0 ? "usage: " : "       ",
                         verbs[i].synopsis);
        if (n < 0 || (size_t)n >= sizeof line || gcm__write_all(fd, line, (size_t)n) != 0)
            return GCM_EIO;
        if (verbs[i].more != NULL && gcm__write_all(fd, verbs[i].more, strlen(verbs[i].more)) != 0)
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

int main(int argc, char **argv)
{
    int status = GCM__EXIT_USAGE;
    char msg[GCM__MSG_MAX];

    if (argc < 2) {
        (void)gcm__print_usage(2);
        (void)gcm__write_all(2, "try 'pygcprofiler --help'\n", 26);
        goto done;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        status = gcm__print_help(1) == 0 ? 0 : 1;
        goto done;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        status = gcm__print_version() == 0 ? 0 : 1;
        goto done;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(argv[1], verbs[i].name) == 0) {
            status = verbs[i].main(argc - 1, argv + 1);
            goto done;
        }
    }
    if (argv[1][0] == '-')
        (void)snprintf(msg, sizeof msg, "unknown option '%s' (options go after 'run')", argv[1]);
    else
        (void)snprintf(msg, sizeof msg, "unknown command '%s'", argv[1]);
    gcm__complain(NULL, msg);
done:
    return status;
}
