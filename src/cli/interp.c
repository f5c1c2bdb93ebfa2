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
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
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

/* Returns 1 if `path` names a regular file we may read. */
static int is_readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* Joins `dir` and `name` into `out`; returns 0, or -1 if it does not fit. */
static int join(char *out, size_t size, const char *dir, size_t dir_len, const char *name)
{
    int n = snprintf(out, size, "%.*s/%s", (int)dir_len, dir, name);
    return (n > 0 && (size_t)n < size) ? 0 : -1;
}

/* The length of the environment's prefix when `dir` (`dir_len` bytes) is
 * PREFIX/lib/pythonX.Y/site-packages/pygcprofiler.scripts, 0 otherwise.
 * That is where auditwheel moves a launcher it grafted cJSON into (leaving a
 * Python shim in bin/ that execs it), so its interpreter is PREFIX/bin's. */
static size_t wheel_prefix_len(const char *dir, size_t dir_len)
{
    static const char tail[] = "/site-packages/pygcprofiler.scripts";
    size_t len = dir_len;
    size_t tail_len = sizeof tail - 1;

    if (len <= tail_len || memcmp(dir + len - tail_len, tail, tail_len) != 0)
        return 0;
    len -= tail_len;
    /* Two more components up: pythonX.Y, then lib (or lib64). */
    for (int up = 0; up < 2; up++) {
        while (len > 0 && dir[len - 1] != '/')
            len--;
        if (len == 0)
            return 0;
        len--;
    }
    return len;
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
static int user_python(const char *given, const char *source, char *out, size_t out_size, char *msg,
                       size_t msg_size)
{
    char shown[GCM__SHOWN_MAX];

    if (strchr(given, '/') == NULL) {
        if (search_path(given, out, out_size) == 0)
            return 0;
        /* One message for every interpreter that cannot be run, found on
         * PATH or not (docs/cli.md). */
        MSG("python interpreter not found or not executable: '%s' (from %s)",
            gcm__subject(shown, given), source);
        return GCM_EINVAL;
    }
    if (!is_executable(given)) {
        MSG("python interpreter not found or not executable: '%s' (from %s)",
            gcm__subject(shown, given), source);
        return GCM_EINVAL;
    }
    if (snprintf(out, out_size, "%s", given) >= (int)out_size) {
        MSG("python interpreter path too long: '%s'", gcm__subject(shown, given));
        return GCM_EINVAL;
    }
    return 0;
}

/* A probe that never answers is given this long before it is killed. */
#define PROBE_TIMEOUT_MS 20000

/* Runs `python` with `args` (argv[0] included), stdin from /dev/null, stderr
 * discarded and without the variables that would start a monitor in it, and
 * reads what it writes to stdout into `out` (NUL-terminated).  Returns 0 if
 * it wrote anything, -1 otherwise. */
static int run_probe(const char *python, char *const *args, char *out, size_t size)
{
    int status = -1;
    int fds[2] = {-1, -1};
    pid_t pid = -1;
    posix_spawn_file_actions_t actions;
    int have_actions = 0;
    char **env = NULL;
    size_t nenv = 0;
    size_t used = 0;
    int wstatus;

    out[0] = '\0';
    for (char **e = environ; *e != NULL; e++)
        nenv++;
    env = (char **)calloc(nenv + 1, sizeof *env);
    if (env == NULL)
        goto done;
    nenv = 0;
    for (char **e = environ; *e != NULL; e++) {
        /* A launcher run inside a followed child: the probe must not start
         * (and report) a monitor of its own through the start-up hook. */
        if (strncmp(*e, GCM_ENV_FOLLOW "=", sizeof GCM_ENV_FOLLOW) != 0 &&
            strncmp(*e, GCM_ENV_CONFIG "=", sizeof GCM_ENV_CONFIG) != 0)
            env[nenv++] = *e;
    }
    if (pipe(fds) != 0)
        goto done;
    /* With stdin or stdout closed the pipe can get descriptor 0 or 1, which
     * the child's own dup2 and close below would then clobber. */
    for (int k = 0; k < 2; k++) {
        if (fds[k] <= 2) {
            int high = fcntl(fds[k], F_DUPFD_CLOEXEC, 3);
            (void)close(fds[k]);
            fds[k] = high;
            if (high < 0)
                goto done;
        }
    }
    if (posix_spawn_file_actions_init(&actions) != 0)
        goto done;
    have_actions = 1;
    if (posix_spawn_file_actions_adddup2(&actions, fds[1], 1) != 0 ||
        posix_spawn_file_actions_addclose(&actions, fds[0]) != 0 ||
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) != 0 ||
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0) != 0)
        goto done;
    if (posix_spawn(&pid, python, &actions, NULL, args, env) != 0) {
        pid = -1;
        goto done;
    }
    (void)close(fds[1]);
    fds[1] = -1;
    while (used + 1 < size) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN, .revents = 0};
        ssize_t got;
        int ready = poll(&pfd, 1, PROBE_TIMEOUT_MS);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            /* Hangs: not an interpreter that answers; our own child. */
            (void)kill(pid, SIGKILL);
            break;
        }
        got = read(fds[0], out + used, size - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    /* A full buffer is no probe's answer; stop a program that floods it. */
    if (used + 1 >= size)
        (void)kill(pid, SIGKILL);
    out[used] = '\0';
    status = used > 0 ? 0 : -1;
done:
    if (fds[0] >= 0)
        (void)close(fds[0]);
    if (pid > 0) {
        while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (fds[1] >= 0)
        (void)close(fds[1]);
    free(env);
    return status;
}

/* Asks `python` for its X.Y (plus "t" when free-threaded) by running it once.
 * Returns 0 with the answer in `out`, or -1 if it could not be run. */
static int ask_version(const char *python, char *out, size_t size)
{
    char *const args[] = {
        (char *)python, (char *)"-S", (char *)"-c",
        (char *)"import sys;print('%d.%d%s'%(sys.version_info[0],sys.version_info[1],"
                "'t' if 't' in getattr(sys,'abiflags','') else ''))",
        NULL};

    if (run_probe(python, args, out, size) != 0)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return out[0] != '\0' ? 0 : -1;
}

/* The probe of a user-given interpreter: the run's own path rule (the -c
 * program of run.c drops ''), then one line "gcm-probe IMPL X.Y[t]" and,
 * after importing the extension, "gcm-probe ok" or "gcm-probe no <why>".
 * Each line is marked, so that a program which echoes its arguments never
 * passes. */
static const char probe_code[] =
    "import sys\n"
    "if not getattr(sys.flags,'safe_path',0):del sys.path[0]\n"
    "print('gcm-probe',sys.implementation.name,'%d.%d%s'%(sys.version_info[0],"
    "sys.version_info[1],'t' if 't' in getattr(sys,'abiflags','') else ''),flush=True)\n"
    "try:import gc_monitor._core\n"
    "except Exception as e:print('gcm-probe no',str(e).replace('\\n',' '))\n"
    "else:print('gcm-probe ok')\n";

/* Refuses a user-given interpreter that is not the CPython this launcher was
 * built for, or that cannot import gc_monitor._core: exec'd anyway, /bin/true
 * would "succeed" having run nothing and /bin/sh would run the script as shell.
 * Costs one start of the interpreter, only when the user named one. */
static int check_user_python(const char *python, const char *source, char *msg, size_t msg_size)
{
    char *const args[] = {(char *)python, (char *)"-c", (char *)probe_code, NULL};
    const char *want = gcm__built_python();
    char answer[1024];
    char shown[GCM__SHOWN_MAX];
    char impl[32];
    char version[32];
    char *second;
    int n = 0;

    (void)gcm__subject(shown, python);
    if (run_probe(python, args, answer, sizeof answer) != 0 ||
        strncmp(answer, "gcm-probe ", 10) != 0 ||
        sscanf(answer + 10, "%31s %31s%n", impl, version, &n) != 2) {
        MSG("'%s' (from %s) is not a python interpreter", shown, source);
        return GCM_EINVAL;
    }
    if (strcmp(impl, "cpython") != 0 || (want[0] != '\0' && strcmp(version, want) != 0)) {
        MSG("'%s' (from %s) is %s %s, but pygcprofiler was built for CPython %s", shown, source,
            strcmp(impl, "cpython") == 0 ? "CPython" : impl, version, want[0] != '\0' ? want : "");
        return GCM_EINVAL;
    }
    second = strchr(answer + 10 + n, '\n');
    second = second != NULL ? second + 1 : answer + strlen(answer);
    if (strncmp(second, "gcm-probe ok", 12) == 0)
        return 0;
    second[strcspn(second, "\r\n")] = '\0';
    MSG("cannot import gc_monitor._core in '%s' (from %s): %s", shown, source,
        strncmp(second, "gcm-probe no ", 13) == 0 ? second + 13 : "the interpreter stopped");
    return GCM_EINVAL;
}

/* Returns 1 if `vouched` (GCM_ENV_CHECKED's "X.Y[t]:PATH") names `python`
 * as the version `want` that this launcher was built for: `python -m
 * gc_monitor run` imported the core in it just before. */
static int is_vouched_for(const char *vouched, const char *python, const char *want)
{
    size_t len = strlen(want);

    return want[0] != '\0' && strncmp(vouched, want, len) == 0 && vouched[len] == ':' &&
           strcmp(vouched + len + 1, python) == 0;
}

/* Decides whether python3 on PATH is the version we were built for.  The
 * cheap answer comes from the name its symlinks resolve to (python3 ->
 * python3.11); only an unhelpful name costs one run of the interpreter. */
static int path_python_matches(const char *python, const char *want, char *found, size_t found_size)
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

int gcm__find_python(const gcm_config *cfg, char *out, size_t out_size, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *env = getenv(GCM_ENV_PYTHON);
    const char *checked = getenv(GCM_ENV_CHECKED);
    const char *want = gcm__built_python();
    char vouched[GCM_PATH_MAX + 40] = "";
    char self[PATH_MAX];
    char name[32];
    char found[32];
    ssize_t n;

    if (checked != NULL) {
        (void)snprintf(vouched, sizeof vouched, "%s", checked);
        /* Never passed on: the target's own launcher runs decide afresh. */
        (void)unsetenv(GCM_ENV_CHECKED);
    }
    if (cfg->python[0] != '\0') {
        status = user_python(cfg->python, "--python", out, out_size, msg, msg_size);
        if (status == 0 && !is_vouched_for(vouched, out, want))
            status = check_user_python(out, "--python", msg, msg_size);
        goto done;
    }
    if (env != NULL && env[0] != '\0') {
        status = user_python(env, GCM_ENV_PYTHON, out, out_size, msg, msg_size);
        if (status == 0)
            status = check_user_python(out, GCM_ENV_PYTHON, msg, msg_size);
        goto done;
    }

    /* /proc/self/exe is the launcher with every symlink resolved: the
     * directory it was installed into, wherever PATH found it from. */
    n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        const char *candidates[2];
        size_t dir_len;
        size_t prefix_len;
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
        prefix_len = wheel_prefix_len(self, dir_len);
        for (size_t i = 0; prefix_len > 0 && i < 2; i++) {
            char bin[GCM_PATH_MAX];
            int m = snprintf(bin, sizeof bin, "%.*s/bin", (int)prefix_len, self);
            if (m > 0 && (size_t)m < sizeof bin &&
                join(out, out_size, bin, (size_t)m, candidates[i]) == 0 && is_executable(out)) {
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
        MSG("no python %s found: python3 on PATH ('%s') is python %s; use --python or %s", want,
            out, found, GCM_ENV_PYTHON);
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

int gcm__package_file(const char *module, char *out, size_t out_size, char *msg, size_t msg_size)
{
    gcm_config cfg;
    char python[GCM_PATH_MAX];
    char code[256];
    char *args[4];
    size_t len;
    int status = GCM_EINVAL;

    gcm_config_init(&cfg);
    if (gcm__find_python(&cfg, python, sizeof python, msg, msg_size) != 0)
        goto done;
    /* find_spec names the file without running it; importing the package
     * starts nothing (docs/architecture.md).  The path goes out as bytes:
     * any path, UTF-8 or not. */
    (void)snprintf(code, sizeof code,
                   "import importlib.util as u, os, sys; "
                   "sys.stdout.buffer.write(os.fsencode(u.find_spec('%s').origin) + b'\\n')",
                   module);
    args[0] = python;
    args[1] = "-c";
    args[2] = code;
    args[3] = NULL;
    if (run_probe(python, args, out, out_size) != 0) {
        MSG("cannot find %s with '%s': is pygcprofiler installed for it?", module, python);
        goto done;
    }
    len = strlen(out);
    while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    if (len == 0 || out[0] != '/' || !is_readable_file(out)) {
        MSG("cannot find %s with '%s': is pygcprofiler installed for it?", module, python);
        goto done;
    }
    status = 0;
done:
    return status;
}
