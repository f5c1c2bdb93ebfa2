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

typedef struct verb {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[0] is the verb's name */
} verb;

/* The verbs, in the order of the usage lines (help.c, which must not call
 * back into this file: `run --help` prints them too). */
static const verb verbs[] = {
    {"run", gcm__run_main},
    {"report", gcm__report_main},
    {"compare", gcm__compare_main},
    {"live", gcm__live_main},
    {"watch", gcm__watch_main},
    {"attach", gcm__attach_main},
    {"detach", gcm__detach_main},
    {"export", gcm__export_main},
    {"completion", gcm__completion_main},
};

int main(int argc, char **argv)
{
    int status = GCM__EXIT_USAGE;
    char msg[GCM__MSG_MAX];
    char shown[GCM__SHOWN_MAX];

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
    /* Hidden: the build writes the man page with it (complete.c). */
    if (strcmp(argv[1], "--man") == 0) {
        status = gcm__print_man(1) == 0 ? 0 : 1;
        goto done;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(argv[1], verbs[i].name) == 0) {
            status = verbs[i].main(argc - 1, argv + 1);
            goto done;
        }
    }
    if (argv[1][0] == '-')
        (void)snprintf(msg, sizeof msg, "unknown option '%s' (options go after 'run')",
                       gcm__subject(shown, argv[1]));
    else
        (void)snprintf(msg, sizeof msg, "unknown command '%s'", gcm__subject(shown, argv[1]));
    gcm__complain(NULL, msg);
done:
    return status;
}
