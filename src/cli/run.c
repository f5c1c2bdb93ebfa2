/* src/cli/run.c: `pygcprofiler run ...`, monitoring a program from its start.
 *
 * The launcher checks everything it can, then replaces itself with
 *
 *     <python> -c <bootstrap> <target words...>
 *
 * in a single execv(2): no wrapper process stays behind, so the program keeps
 * the launcher's pid and a supervisor's signals reach it directly.  The
 * configuration travels in one environment variable (GCM_ENV_CONFIG); the
 * bootstrap (python/gc_monitor/_bootstrap.py) removes it, starts the monitor,
 * writes the start lines to the descriptor named in the -c program,
 * rewrites sys.argv, sys.orig_argv and sys.path[0] to what `python <target
 * words...>` would have, and runs the target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/logfile.h"

/* The -c program, completed with the descriptor for the start lines.  It
 * drops the '' that `python -c` puts first on sys.path (so a gc_monitor
 * directory in the cwd cannot shadow the installed one; the bootstrap puts the
 * target's own sys.path[0] there), and turns a missing package into the
 * launcher's one-line error and exit status.  The names it binds in __main__
 * (sys, b) are removed by the bootstrap before the target runs. */
static const char bootstrap_format[] =
    "import sys\n"
    "if not getattr(sys.flags,'safe_path',0):del sys.path[0]\n"
    "try:import gc_monitor._bootstrap as b\n"
    "except ImportError as e:"
    "sys.stderr.write(\"error: cannot import gc_monitor._core in '%%s': %%s\\n"
    "try 'pygcprofiler --help'\\n\"%%(sys.executable,e));raise SystemExit(2)\n"
    "b.main(%d)\n";

/* The same program when the launcher created the --log-file: a refusal
 * after the exec (an interpreter without gc_monitor, a capture that cannot
 * be made) exits 2 before any start line is written, and then removes the
 * file, if it is still the empty file the launcher made (its device, inode
 * and size), so that bad input leaves nothing behind.  Its names (e, os, p,
 * s) are bound only after the target is over. */
static const char bootstrap_cleanup_format[] =
    "import sys\n"
    "if not getattr(sys.flags,'safe_path',0):del sys.path[0]\n"
    "try:\n"
    " try:import gc_monitor._bootstrap as b\n"
    " except ImportError as e:"
    "sys.stderr.write(\"error: cannot import gc_monitor._core in '%%s': %%s\\n"
    "try 'pygcprofiler --help'\\n\"%%(sys.executable,e));raise SystemExit(2)\n"
    " b.main(%d)\n"
    "except SystemExit as e:\n"
    " if e.code==2:\n"
    "  import os\n"
    "  try:\n"
    "   p=bytes.fromhex('%s');s=os.lstat(p)\n"
    "   if (s.st_dev,s.st_ino,s.st_size)==(%llu,%llu,0):os.unlink(p)\n"
    "  except OSError:pass\n"
    " raise\n";

/* Room for either program: the descriptor's digits, the log file's path in
 * hex and its device and inode numbers. */
#define BOOTSTRAP_CODE_MAX (sizeof bootstrap_cleanup_format + 16 + 2 * GCM_PATH_MAX + 48)

/* Encodes the configuration into the environment for the bootstrap. */
static int export_config(const gcm_config *cfg, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    char *text = NULL;
    size_t needed = 0;
    char probe[1];
    char why[128];

    /* Ask for the length first: the encoding of three full paths can exceed
     * any fixed buffer worth keeping on the stack. */
    (void)gcm_config_encode(cfg, probe, sizeof probe, &needed);
    text = (char *)malloc(needed + 1);
    if (text == NULL) {
        (void)snprintf(msg, msg_size, "out of memory");
        goto done;
    }
    if (gcm_config_encode(cfg, text, needed + 1, &needed) != 0) {
        (void)snprintf(msg, msg_size, "cannot encode the configuration");
        goto done;
    }
    /* A launcher run inside a followed child starts a monitor of its own:
     * the start-up hook (gc_monitor/_autostart.py) must not start a second
     * one in its interpreter before the bootstrap does. */
    (void)unsetenv(GCM_ENV_FOLLOW);
    if (setenv(GCM_ENV_CONFIG, text, 1) != 0) {
        (void)snprintf(msg, msg_size, "cannot set %s: %s", GCM_ENV_CONFIG,
                       gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    status = 0;
done:
    free(text);
    return status;
}

/* Opens the destination of the start lines: the --log-file, where the
 * report will be appended too, or stderr.  The log file is opened by the one
 * output policy (src/base/files.c: appended to when it is a regular file,
 * created 0600 when it is not there, never through a symlink), but without
 * O_CLOEXEC: the descriptor crosses the exec, and the bootstrap closes it
 * after writing the start lines, before the target runs.  `log` (set up with
 * fd -1 by the caller) says whether we created the file, so that a refusal
 * after this removes it again. */
static int open_start_fd(const gcm_config *cfg, gcm__output *log, int *fd, char *msg,
                         size_t msg_size)
{
    int status = GCM_EINVAL;
    char why[160];
    char shown[GCM__SHOWN_MAX];

    *fd = 2;
    if (cfg->log_file[0] == '\0') {
        status = 0;
        goto done;
    }
    if (gcm__create_output(log, cfg->log_file, GCM__OUTPUT_APPEND, O_WRONLY) != 0) {
        (void)gcm__path_error_text(cfg->log_file, errno, why, sizeof why);
        (void)snprintf(msg, msg_size, "cannot open '--log-file' '%s': %s",
                       gcm__subject(shown, cfg->log_file), why);
        goto done;
    }
    *fd = log->fd;
    /* With stdin, stdout or stderr closed, open() can return 0, 1 or 2; the
     * target must not find its log file there, so move it above them. */
    if (*fd <= 2) {
        int high = fcntl(*fd, F_DUPFD, 3);
        int saved = errno;
        (void)close(*fd);
        log->fd = *fd = high;
        if (high < 0) {
            gcm__output_discard(log);
            (void)snprintf(msg, msg_size, "cannot open '--log-file' '%s': %s",
                           gcm__subject(shown, cfg->log_file),
                           gcm__errno_text(saved, why, sizeof why));
            goto done;
        }
    }
    status = 0;
done:
    return status;
}

/* Writes the -c program for start descriptor `fd` into `code`: the one that
 * removes the log file again on a refusal when `log` created it. */
static int format_bootstrap(char *code, size_t size, int fd, const gcm__output *log)
{
    static const char hex[] = "0123456789abcdef";
    char path[GCM_PATH_MAX];
    char path_hex[2 * GCM_PATH_MAX + 1];
    struct stat st;
    size_t len;
    int n;

    if (!log->created || fstat(log->fd, &st) != 0) {
        n = snprintf(code, size, bootstrap_format, fd);
        return n > 0 && (size_t)n < size ? 0 : GCM_ENOMEM;
    }
    /* Absolute, since the bootstrap may run in another directory by then;
     * in hex, so that no byte of the path can end the Python string. */
    len = strlen(log->path);
    if (len >= sizeof path)
        return GCM_ENOMEM;
    memcpy(path, log->path, len + 1);
    if (gcm_logfile_absolute(path, sizeof path) != 0)
        return GCM_ENOMEM;
    len = strlen(path);
    for (size_t i = 0; i < len; i++) {
        path_hex[2 * i] = hex[(unsigned char)path[i] >> 4];
        path_hex[2 * i + 1] = hex[(unsigned char)path[i] & 0xf];
    }
    path_hex[2 * len] = '\0';
    n = snprintf(code, size, bootstrap_cleanup_format, fd, path_hex, (unsigned long long)st.st_dev,
                 (unsigned long long)st.st_ino);
    return n > 0 && (size_t)n < size ? 0 : GCM_ENOMEM;
}

int gcm__run_main(int argc, char **argv)
{
    int status = GCM__EXIT_USAGE;
    gcm__cli cli;
    char msg[GCM__MSG_MAX];
    char python[GCM_PATH_MAX];
    char **args = NULL;
    static char code[BOOTSTRAP_CODE_MAX];
    char why[128];
    gcm__output log = {.fd = -1};
    char shown[GCM__SHOWN_MAX];
    int start_fd = -1;
    int nwords;

    if (gcm__cli_parse(&cli, argc, argv, msg, sizeof msg) != 0) {
        gcm__complain(NULL, msg);
        goto done;
    }
    switch (cli.action) {
    case GCM__ACTION_HELP:
        status = gcm__print_help(1) == 0 ? 0 : 1;
        goto done;
    case GCM__ACTION_VERSION:
        status = gcm__print_version() == 0 ? 0 : 1;
        goto done;
    case GCM__ACTION_RUN:
        break;
    }

    /* Everything is checked before anything is made: the only file the
     * launcher creates, the --log-file, is opened last. */
    if (gcm__cli_check_outputs(&cli, msg, sizeof msg) != 0 ||
        gcm__cli_check_target(&cli, msg, sizeof msg) != 0 ||
        gcm__find_python(&cli.config, python, sizeof python, msg, sizeof msg) != 0 ||
        export_config(&cli.config, msg, sizeof msg) != 0 ||
        open_start_fd(&cli.config, &log, &start_fd, msg, sizeof msg) != 0) {
        gcm__complain(NULL, msg);
        goto done;
    }
    if (format_bootstrap(code, sizeof code, start_fd, &log) != 0) {
        gcm__complain(NULL, "the --log-file path is too long");
        goto done;
    }

    /* python, -c, the bootstrap, the target's words unchanged, NULL. */
    nwords = argc - cli.target_index;
    args = (char **)calloc((size_t)nwords + 4, sizeof *args);
    if (args == NULL) {
        gcm__complain(NULL, "out of memory");
        goto done;
    }
    args[0] = python;
    args[1] = (char *)"-c";
    args[2] = code;
    for (int i = 0; i < nwords; i++)
        args[3 + i] = argv[cli.target_index + i];
    args[3 + nwords] = NULL;

    (void)fflush(NULL);
    execv(python, args);
    (void)gcm__errno_text(errno, why, sizeof why);
    (void)snprintf(msg, sizeof msg, "cannot run python '%s': %s", gcm__subject(shown, python), why);
    gcm__complain(NULL, msg);
done:
    /* A refusal leaves nothing behind: a log file we created is removed. */
    gcm__output_discard(&log);
    free(args);
    return status;
}
