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
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"

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

/* Room for the program with the descriptor's digits in place of "%d". */
#define BOOTSTRAP_CODE_MAX (sizeof bootstrap_format + 16)

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
        (void)snprintf(msg, msg_size, "cannot set %s: %s", GCM_ENV_CONFIG, gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    status = 0;
done:
    free(text);
    return status;
}

/* Opens the destination of the start lines: the --log-file, where the
 * report will be appended too, or stderr.  The log file is opened the way the
 * extension opens it for the report (append, never through a symlink, mode
 * 0600), but without O_CLOEXEC: the descriptor crosses the exec, and the
 * bootstrap closes it after writing the start lines, before the target runs.
 * Opening it here also turns an unwritable log file into bad input. */
static int open_start_fd(const gcm_config *cfg, int *fd, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    char why[128];
    char shown[GCM__SHOWN_MAX];

    *fd = 2;
    if (cfg->log_file[0] == '\0') {
        status = 0;
        goto done;
    }
    *fd = gcm__open(cfg->log_file, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, 0600);
    if (*fd < 0) {
        (void)gcm__errno_text(errno, why, sizeof why);
        (void)snprintf(msg, msg_size, "cannot open '--log-file' '%s': %s",
                       gcm__shown(shown, cfg->log_file), why);
        goto done;
    }
    /* With stdin, stdout or stderr closed, open() can return 0, 1 or 2; the
     * target must not find its log file there, so move it above them. */
    if (*fd <= 2) {
        int high = fcntl(*fd, F_DUPFD, 3);
        int saved = errno;
        (void)close(*fd);
        *fd = high;
        if (high < 0) {
            (void)snprintf(msg, msg_size, "cannot open '--log-file' '%s': %s",
                           gcm__shown(shown, cfg->log_file), gcm__errno_text(saved, why, sizeof why));
            goto done;
        }
    }
    status = 0;
done:
    return status;
}

int gcm__run_main(int argc, char **argv)
{
    int status = GCM__EXIT_USAGE;
    gcm__cli cli;
    char msg[GCM__MSG_MAX];
    char python[GCM_PATH_MAX];
    char **args = NULL;
    char code[BOOTSTRAP_CODE_MAX];
    char why[128];
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

    if (gcm__cli_check_target(&cli, msg, sizeof msg) != 0 ||
        gcm__find_python(&cli.config, python, sizeof python, msg, sizeof msg) != 0 ||
        export_config(&cli.config, msg, sizeof msg) != 0 ||
        open_start_fd(&cli.config, &start_fd, msg, sizeof msg) != 0) {
        gcm__complain(NULL, msg);
        goto done;
    }
    (void)snprintf(code, sizeof code, bootstrap_format, start_fd);

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
    (void)snprintf(msg, sizeof msg, "cannot run python '%s': %s", gcm__shown(shown, python), why);
    gcm__complain(NULL, msg);
done:
    if (start_fd > 2)
        (void)close(start_fd);
    free(args);
    return status;
}
