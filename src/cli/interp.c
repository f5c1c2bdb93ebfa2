/* src/cli/interp.c: finding the Python interpreter to exec.
 *
 * The extension module is built for one Python X.Y, so the interpreter must
 * be that version and must see the environment the launcher was installed
 * into.  The search order is: --python, $PYGCPROFILER_PYTHON, pythonX.Y or
 * python in the directory of the launcher's own executable (a venv's bin/,
 * or the scripts directory of a system install), then python3 on PATH if
 * its version matches.  A found path is never symlink-resolved: a venv's
 * bin/python is a symlink to the base interpreter, and python decides it
 * runs in a venv from the path it was started by.
 */
/* realpath(3) is an XSI interface; _POSIX_C_SOURCE alone hides it. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"

#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

extern char **environ;

#ifndef GCM_PYTHON_XY
#define GCM_PYTHON_XY ""
#endif

const char *gcm__built_python(void)
{
    return GCM_PYTHON_XY;
}

/* Returns 1 if `path` names a regular file we may execute. */
static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Joins `dir` and `name` into `out`; returns 0, or -1 if it does not fit. */
static int join(char *out, size_t size, const char *dir, size_t dir_len, const char *name)
{
    int n = snprintf(out, size, "%.*s/%s", (int)dir_len, dir, name);
    return (n > 0 && (size_t)n < size) ? 0 : -1;
}

/* Looks `name` up in $PATH the way execvp would; returns 0 with the path in
 * `out`, or -1 if no directory has it. */
static int search_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    const char *p;

    if (path == NULL || path[0] == '\0')
        return -1;
    p = path;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        /* An empty PATH entry means the current directory. */
        if (len == 0 ? join(out, size, ".", 1, name) == 0 : join(out, size, p, len, name) == 0) {
            if (is_executable(out))
                return 0;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
    return -1;
}

/* Resolves a user-given interpreter: a name without '/' is searched on PATH
 * like a shell command, anything else is used as given. */
static int user_python(const char *given, const char *source, char *out, size_t out_size,
                       char *msg, size_t msg_size)
{
    if (strchr(given, '/') == NULL) {
        if (search_path(given, out, out_size) == 0)
            return 0;
        MSG("python interpreter not found on PATH: '%s' (from %s)", given, source);
        return GCM_EINVAL;
    }
    if (!is_executable(given)) {
        MSG("python interpreter not found or not executable: '%s' (from %s)", given, source);
        return GCM_EINVAL;
    }
    if (snprintf(out, out_size, "%s", given) >= (int)out_size) {
        MSG("python interpreter path too long: '%s'", given);
        return GCM_EINVAL;
    }
    return 0;
}

/* Asks `python` for its X.Y (plus "t" when free-threaded) by running it once.
 * Returns 0 with the answer in `out`, or -1 if it could not be run. */
static int ask_version(const char *python, char *out, size_t size)
{
    int status = -1;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    posix_spawn_file_actions_t actions;
    int have_actions = 0;
    char *const args[] = {
        (char *)python, (char *)"-S", (char *)"-c",
        (char *)"import sys;print('%d.%d%s'%(sys.version_info[0],sys.version_info[1],"
                "'t' if 't' in getattr(sys,'abiflags','') else ''))",
        NULL};
    ssize_t got = 0;
    int wstatus;

    if (pipe(fds) != 0)
        goto done;
    if (posix_spawn_file_actions_init(&actions) != 0)
        goto done;
    have_actions = 1;
    if (posix_spawn_file_actions_adddup2(&actions, fds[1], 1) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fds[0]) != 0)
        goto done;
    if (posix_spawn(&pid, python, &actions, NULL, args, environ) != 0) {
        pid = -1;
        goto done;
    }
    close(fds[1]);
    fds[1] = -1;
    got = gcm__read_full(fds[0], out, size - 1);
    out[got > 0 ? got : 0] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    status = out[0] != '\0' ? 0 : -1;
done:
    if (pid > 0) {
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return status;
}

/* Decides whether python3 on PATH is the version we were built for.  The
 * cheap answer comes from the name its symlinks resolve to (python3 ->
 * python3.11); only an unhelpful name costs one run of the interpreter. */
static int path_python_matches(const char *python, const char *want, char *found,
                               size_t found_size)
{
    char real[PATH_MAX];
    char expect[32];
    const char *base;

    (void)snprintf(found, found_size, "unknown");
    if (want[0] == '\0')
        return 1;
    (void)snprintf(expect, sizeof expect, "python%s", want);
    if (realpath(python, real) != NULL) {
        base = strrchr(real, '/');
        base = base ? base + 1 : real;
        if (strcmp(base, expect) == 0) {
            (void)snprintf(found, found_size, "%s", want);
            return 1;
        }
    }
    if (ask_version(python, found, found_size) != 0)
        return 0;
    return strcmp(found, want) == 0;
}

int gcm__find_python(const gcm_config *cfg, char *out, size_t out_size, char *msg,
                     size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *env = getenv(GCM_ENV_PYTHON);
    const char *want = gcm__built_python();
    char self[PATH_MAX];
    char name[32];
    char found[32];
    ssize_t n;

    if (cfg->python[0] != '\0') {
        status = user_python(cfg->python, "--python", out, out_size, msg, msg_size);
        goto done;
    }
    if (env != NULL && env[0] != '\0') {
        status = user_python(env, GCM_ENV_PYTHON, out, out_size, msg, msg_size);
        goto done;
    }

    /* /proc/self/exe is the launcher with every symlink resolved: the
     * directory it was installed into, wherever PATH found it from. */
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        const char *candidates[2];
        size_t dir_len;
        self[n] = '\0';
        dir_len = (size_t)(strrchr(self, '/') - self);
        (void)snprintf(name, sizeof name, "python%s", want);
        /* The versioned name first: a system bin/python may be another version. */
        candidates[0] = want[0] != '\0' ? name : "python";
        candidates[1] = want[0] != '\0' ? "python" : "python3";
        for (size_t i = 0; i < 2; i++) {
            if (join(out, out_size, self, dir_len == 0 ? 1 : dir_len, candidates[i]) == 0 &&
                is_executable(out)) {
                status = 0;
                goto done;
            }
        }
    }

    if (search_path("python3", out, out_size) == 0) {
        if (path_python_matches(out, want, found, sizeof found)) {
            status = 0;
            goto done;
        }
        MSG("no python %s found: python3 on PATH ('%s') is python %s; use --python or %s",
            want, out, found, GCM_ENV_PYTHON);
        goto done;
    }
    if (want[0] != '\0')
        MSG("no python %s found next to '%s' or on PATH; use --python or %s", want,
            n > 0 ? self : "pygcprofiler", GCM_ENV_PYTHON);
    else
        MSG("no python found next to '%s' or on PATH; use --python or %s",
            n > 0 ? self : "pygcprofiler", GCM_ENV_PYTHON);
done:
    return status;
}
