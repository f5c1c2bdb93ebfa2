/* src/cli/help.c: `run`'s --help, which is also the launcher's own.
 *
 * The usage lines come from main.c's table of verbs and the option lines
 * from `run`'s option table (args.c), laid out by the option engine as every
 * verb's are; this file holds only the prose around them.
 */
#include "cli.h"
#include "gc_monitor/errors.h"
#include "options.h"

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
        "  PYGCPROFILER_PYTHON                 the interpreter when --python is not given\n"
        "\nThe interpreter is --python, else $PYGCPROFILER_PYTHON, else python next to this\n"
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

    if (gcm__print_usage(fd) != 0 || gcm__write_all(fd, intro, sizeof intro - 1) != 0 ||
        gcm__opts_help(fd, rows, count) != 0 || gcm__write_all(fd, tail, sizeof tail - 1) != 0)
        goto done;
    status = 0;
done:
    return status;
}
