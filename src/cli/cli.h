/* src/cli/cli.h: private interfaces between the launcher's source files.
 *
 * The launcher is a short-lived, single-threaded program: it reads the
 * command line, checks everything it can before the target starts, finds an
 * interpreter and replaces itself with it (one exec, so the target keeps the
 * launcher's pid).  Functions here report problems as one lowercase message
 * in a caller-provided buffer; only main.c prints, and only main.c exits.
 */
#ifndef GCM_CLI_CLI_H
#define GCM_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/config.h"
#include "gc_monitor/envvars.h"

/* The launcher exits with this status for every kind of bad input. */
#define GCM__EXIT_USAGE 2

/* Space for one error line, including the quoted subject. */
#define GCM__MSG_MAX (GCM_PATH_MAX + 256)

/* What the command line asks for. */
typedef enum gcm__action {
    GCM__ACTION_RUN,     /* run a target under the monitor */
    GCM__ACTION_HELP,    /* print the help to stdout and exit 0 */
    GCM__ACTION_VERSION, /* print the version to stdout and exit 0 */
    GCM__ACTION_USAGE    /* no arguments at all: usage to stderr, exit 2 */
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
    const char *target;  /* the script path, module name or code */
    int target_index;    /* argv index of the target's first word ("-m", "-c" or the script) */
} gcm__cli;

/* Parses argv into `cli` (validating every option through gcm_config_set).
 * Returns 0, or GCM_EINVAL with one message line (no "error: " prefix, no
 * newline) in `msg`. */
int gcm__cli_parse(gcm__cli *cli, int argc, char **argv, char *msg, size_t msg_size);

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
int gcm__find_python(const gcm_config *cfg, char *out, size_t out_size, char *msg,
                     size_t msg_size);

/* The X.Y (plus "t" for a free-threaded build) of the Python this launcher
 * was built for, or "" when the build did not say. */
const char *gcm__built_python(void);

/* Writes the full --help text to `fd`.  Returns 0 or GCM_EIO. */
int gcm__print_help(int fd);

/* Writes the short usage lines to `fd`.  Returns 0 or GCM_EIO. */
int gcm__print_usage(int fd);

/* The word for a block's GCM_STATE_* in reports: "exited", "killed", "gone",
 * or "running" for any other value. */
const char *gcm__state_word(uint32_t state);

/* The name of signal `signum` ("SIGTERM"), or NULL for one without a name here. */
const char *gcm__signal_name(int signum);

/* How a process ended, in a few words, into `buf`: "exited 0", "exited
 * (os._exit)", "killed by SIGTERM", "gone", "running". */
void gcm__ending_text(uint32_t state, int32_t exit_status, char *buf, size_t size);

/* Describes errno value `err` as lowercase text in `buf` and returns `buf`. */
const char *gcm__errno_text(int err, char *buf, size_t size);

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

struct gcm_capture;

/* The captures of one process tree, read once (src/cli/merge.c). */
typedef struct gcm__tree gcm__tree;

/* Reads each of `files` (captures of one tree, each already opened once) into
 * a new tree in *out, and reorders `files` parents first: each root by start
 * time, then its children's subtrees.  Returns 0 or a negative GCM_E* code
 * (*out NULL then).  Free the tree with gcm__tree_free. */
int gcm__tree_load(const char **files, size_t count, gcm__tree **out);

/* Returns the open capture of the `index`th process of `tree`, in tree order
 * (that of the `files` gcm__tree_load reordered). */
const struct gcm_capture *gcm__tree_capture(const gcm__tree *tree, size_t index);

/* Writes the process table and the totals across `tree` to `fd`, as text or
 * (when `json` is 1) as one {"type": "tree"} JSON line.  Returns 0 or a
 * negative GCM_E* code (GCM_EIO when `fd` fails). */
int gcm__tree_write(int fd, const gcm__tree *tree, int json);

/* Frees a tree from gcm__tree_load; NULL is ignored. */
void gcm__tree_free(gcm__tree *tree);

/* Writes all of `text` to `fd`, retrying short writes and EINTR.  Returns 0
 * or GCM_EIO. */
int gcm__write_all(int fd, const char *text, size_t len);

struct cJSON;

/* Writes `obj` unformatted and its newline to `fd` in one write, so that a
 * report line is never split around another writer's.  Returns 0, GCM_ENOMEM
 * or GCM_EIO. */
int gcm__write_json_line(int fd, const struct cJSON *obj);

/* Evaluates a cJSON_Add*() call and jumps to the caller's `done` label when it
 * returns NULL (cJSON ran out of memory); the caller's status says so. */
#define GCM__JSON_ADD(call)                                                                   \
    do {                                                                                      \
        if ((call) == NULL)                                                                   \
            goto done;                                                                        \
    } while (0)

/* Writes "error: <msg>" and "try 'pygcprofiler[ <verb>] --help'" to stderr in
 * one write; `verb` is NULL for the top-level command.  A failed write is ignored. */
void gcm__complain(const char *verb, const char *msg);

/* Sets the line "error: <msg>" that gcm__on_sigbus writes: a capture that
 * shrinks while it is mapped turns the next read into SIGBUS.  Call it before
 * mapping, never while the handler may run. */
void gcm__sigbus_message(const char *msg);

/* A SIGBUS handler: writes the line set by gcm__sigbus_message to stderr and
 * exits with GCM__EXIT_USAGE.  Async-signal-safe. */
void gcm__on_sigbus(int sig);

#endif /* GCM_CLI_CLI_H */
