/* src/cli/cli.h: private interfaces between the launcher's source files.
 *
 * The launcher is a short-lived, single-threaded program: it reads the
 * command line, checks everything it can before the target starts, finds an
 * interpreter and replaces itself with it (one exec, so the target keeps the
 * launcher's pid).  Functions here report problems as one lowercase message
 * in a caller-provided buffer; only a verb's main function (gcm__run_main,
 * gcm__report_main, ...) prints them, and only main.c exits, with the status
 * that function returned.
 */
#ifndef GCM_CLI_CLI_H
#define GCM_CLI_CLI_H

#include <spawn.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"
#include "gc_monitor/config.h"
#include "gc_monitor/envvars.h"
#include "options.h"

/* The launcher exits with this status for every kind of bad input. */
#define GCM__EXIT_USAGE 2

/* Space for one error line, including the quoted subject. */
#define GCM__MSG_MAX (GCM_PATH_MAX + 256)

/* Bytes of one user's word or path quoted in an error line.  A longer one is
 * cut there (gcm__shown): with at most three subjects a line still fits in
 * GCM__MSG_MAX, so the reason after a subject is never the part cut off. */
#define GCM__SHOWN_MAX GCM__SUBJECT_MAX

/* What a verb's command line asks for (an ACTION row of options.h returns
 * one of the last two). */
typedef enum gcm__action {
    GCM__ACTION_RUN,    /* do the verb's work (run a target under the monitor) */
    GCM__ACTION_HELP,   /* print the verb's help to stdout and exit 0 */
    GCM__ACTION_VERSION /* print the version to stdout and exit 0 */
} gcm__action;

/* How the target is named, as python's own command line names it. */
typedef enum gcm__target_kind {
    GCM__TARGET_SCRIPT, /* a file, or a directory or zip with __main__.py */
    GCM__TARGET_MODULE, /* -m module */
    GCM__TARGET_CODE    /* -c code */
} gcm__target_kind;

typedef struct gcm__cli {
    gcm__action action;
    gcm_config config;
    gcm__target_kind kind;
    const char *target; /* the script path, module name or code */
    int target_index;   /* argv index of the target's first word ("-m", "-c" or the script) */
} gcm__cli;

/* Writes the path of the file of Python module `module` (of the package
 * gc_monitor) into `out`, as the launcher's own interpreter finds it.
 * Returns 0, or GCM_EINVAL with one message line in `msg`. */
int gcm__package_file(const char *module, char *out, size_t out_size, char *msg, size_t msg_size);

/* The `watch` verb: records a process from outside into a capture (watch.c). */
int gcm__watch_main(int argc, char **argv);

/* The `attach` and `detach` verbs: a CPython 3.14+ process starts or stops
 * recording itself into a capture (attach.c). */
int gcm__attach_main(int argc, char **argv);
int gcm__detach_main(int argc, char **argv);

/* The `export` verb: serves the captures' figures to Prometheus (export.c). */
int gcm__export_main(int argc, char **argv);

/* Parses `run`'s words (argv[0] is "run") into `cli`, validating every
 * option through gcm_config_set; cli->target_index counts from argv[0].
 * Returns 0, or GCM_EINVAL with one message line (no "error: " prefix, no
 * newline) in `msg`. */
int gcm__cli_parse(gcm__cli *cli, int argc, char **argv, char *msg, size_t msg_size);

/* Fills `rows` (room for `size`) with `run`'s option table, in the order of
 * its --help: every launcher option of gcm_config, set in `cfg` (NULL when
 * the table is only shown), under its heading, then -h/--help and --version.
 * Returns the number of rows. */
size_t gcm__run_options(gcm_config *cfg, gcm__opt *rows, size_t size);

/* Fills `rows` (room for `size`) with the rows of run's options named in
 * the NULL-terminated `flags`, in that order, storing into `cfg` and showing
 * run's defaults: for verbs that take some of run's options (attach).
 * Returns the number of rows. */
size_t gcm__run_rows_named(gcm_config *cfg, const char *const *flags, gcm__opt *rows, size_t size);

/* The option tables of the other verbs, as their --help shows them, for the
 * completion scripts and the man page (complete.c): each fills `rows` (room
 * for `size`) and returns the number of rows; the rows' stores point at
 * storage nothing reads. */
size_t gcm__report_rows(gcm__opt *rows, size_t size);
size_t gcm__compare_rows(gcm__opt *rows, size_t size);
size_t gcm__live_rows(gcm__opt *rows, size_t size);
size_t gcm__watch_rows(gcm__opt *rows, size_t size);
size_t gcm__export_rows(gcm__opt *rows, size_t size);
size_t gcm__attach_rows(gcm__opt *rows, size_t size);
size_t gcm__detach_rows(gcm__opt *rows, size_t size);

/* `pygcprofiler completion bash|zsh|fish`: the completion script of a shell
 * on stdout (complete.c).  Returns the exit status. */
int gcm__completion_main(int argc, char **argv);

/* Writes the man page pygcprofiler(1), in roff, to `fd` (complete.c; the
 * build runs the hidden `pygcprofiler --man`).  Returns 0 or GCM_EIO. */
int gcm__print_man(int fd);

/* The usage line of `verb` without "pygcprofiler " ("run [options] ..."),
 * or NULL for a verb that has none (help.c). */
const char *gcm__verb_synopsis(const char *verb);

/* Room enough for `run`'s option table. */
#define GCM__RUN_ROWS_MAX 48

/* Checks what python would only find out after the monitor started: that
 * the script, directory or zip exists and can run.  (Output paths are checked
 * by gcm_config_set.)  Returns 0 or GCM_EINVAL with a message in `msg`. */
int gcm__cli_check_target(const gcm__cli *cli, char *msg, size_t msg_size);

/* Returns 1 if the file at `path` is a zip archive whose central directory
 * lists no __main__.py or __main__.pyc, 0 if it has one, is not a zip, or
 * cannot be read well enough to tell (python then decides). */
int gcm__zip_lacks_main(const char *path);

/* Finds the interpreter to exec: --python, then $PYGCPROFILER_PYTHON, then
 * pythonX.Y or python next to the launcher, then python3 on PATH if its
 * version is the one this launcher was built for.  Writes the path (never
 * symlink-resolved) to `out`.  Returns 0 or GCM_EINVAL with a message. */
int gcm__find_python(const gcm_config *cfg, char *out, size_t out_size, char *msg, size_t msg_size);

/* The X.Y (plus "t" for a free-threaded build) of the Python this launcher
 * was built for, or "" when the build did not say. */
const char *gcm__built_python(void);

/* Writes `run`'s full --help text, which is also the top-level one, to
 * `fd`.  Returns 0 or GCM_EIO. */
int gcm__print_help(int fd);

/* Writes the short usage lines of every verb to `fd`.  Returns 0 or
 * GCM_EIO. */
int gcm__print_usage(int fd);

/* Writes "pygcprofiler VERSION (built for CPython X.Y)" to stdout.  Returns
 * 0 or GCM_EIO. */
int gcm__print_version(void);

/* Runs `pygcprofiler run ...` (argv[0] is "run"): on success it never
 * returns, having replaced itself with the interpreter; otherwise it returns
 * the exit status (0 after --help or --version, 1 when stdout fails,
 * GCM__EXIT_USAGE for bad input). */
int gcm__run_main(int argc, char **argv);

/* Runs `pygcprofiler report ...` (argv[0] is "report") and returns the exit
 * status: 0, 1 when stdout fails, GCM__EXIT_USAGE for bad input. */
int gcm__report_main(int argc, char **argv);

/* Runs `pygcprofiler compare ...` (argv[0] is "compare") and returns the exit
 * status: 0, 3 when a metric regressed, 1 when stdout fails, GCM__EXIT_USAGE
 * for bad usage or input. */
int gcm__compare_main(int argc, char **argv);

/* Runs `pygcprofiler live ...` (argv[0] is "live") and returns the exit
 * status: 0 when quit or when every watched writer ended, 1 when stdout
 * fails, GCM__EXIT_USAGE for bad usage or input. */
int gcm__live_main(int argc, char **argv);

/* ---- helper programs (spawn.c) ---------------------------------------- */

/* Initialises `actions` so that a spawned child reads /dev/null and writes
 * its stdout and stderr into `fd`.  Returns 0, or -1 (nothing to destroy). */
int gcm__spawn_actions_to(posix_spawn_file_actions_t *actions, int fd);

/* Runs `path` with `argv` and `envp` (from `cwd` when not NULL), stdin from
 * /dev/null and stdout and stderr into a pipe, and keeps the last line it
 * wrote, printable, in `line`.  A child still running after `timeout_ms`
 * (<= 0: no limit) is killed.  Returns 0 when it exited with status 0, 1
 * when it did not (or was killed), -1 when it could not run (errno set). */
int gcm__spawn_answer(const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int timeout_ms, char *line, size_t line_size);

/* Writes "error: <msg>" and "try 'pygcprofiler[ <verb>] --help'" to stderr in
 * one write; `verb` is NULL for the top-level command.  A failed write is ignored. */
void gcm__complain(const char *verb, const char *msg);

/* Checks, creating nothing, that the output `path` of option `flag` (the
 * flag without "--") may be opened in `mode` by the one file policy
 * (gcm__check_output).  Returns 0 (also for an empty path, an unset
 * option), or GCM_EINVAL with one line in `msg`: "cannot open '--log-file'
 * 'PATH': it is a FIFO, not a regular file", "cannot write
 * '--flamegraph-file' ...", "cannot create the capture file ...". */
int gcm__cli_check_output(const char *flag, const char *path, gcm__output_mode mode, char *msg,
                          size_t msg_size);

/* Checks every output of `run` before anything is created: each by the one
 * file policy, then that no two of them, and none and the script, are the
 * same file.  Returns 0 or GCM_EINVAL with a message in `msg`. */
int gcm__cli_check_outputs(const gcm__cli *cli, char *msg, size_t msg_size);

/* Sets the line "error: <msg>" that gcm__on_sigbus writes: a capture that
 * shrinks while it is mapped turns the next read into SIGBUS.  Call it before
 * mapping, never while the handler may run. */
void gcm__sigbus_message(const char *msg);

/* A SIGBUS handler: writes the line set by gcm__sigbus_message to stderr and
 * exits with GCM__EXIT_USAGE.  Async-signal-safe. */
void gcm__on_sigbus(int sig);

#endif /* GCM_CLI_CLI_H */
