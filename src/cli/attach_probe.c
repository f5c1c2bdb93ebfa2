/* src/cli/attach_probe.c: whether a process could import gc_monitor, asked
 * without touching it.
 *
 * `attach` must refuse a process that cannot import gc_monitor before it
 * asks anything of it.  What the process can import depends on the
 * sys.path it computed when it started: its interpreter, the argv[0] it was
 * started as (a venv's bin/python finds the venv's site-packages that
 * way), its environment (PYTHONPATH, PYTHONHOME, PYTHONNOUSERSITE, HOME),
 * its working directory, its interpreter flags and its script's directory.
 * All of these are readable in /proc, so gc_monitor/_probe.py runs with
 * exactly those (through the same dynamic loader, when python was started
 * through one) and tries the import itself.  When the command line does
 * not say how the process started (a title rewritten by setproctitle, an
 * unreadable environment, a program read from stdin), the probe is not run
 * and the process's own answer decides.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attach.h"
#include "cli.h"

/* The environment of a process is at most what execve accepted; a larger
 * one is not read (the probe is then skipped). */
#define ENVIRON_MAX (1024 * 1024)
#define ENVIRON_VARS_MAX 8192
/* The probe imports the extension: a few hundred milliseconds on a loaded
 * machine.  One that takes longer than this is not waited for. */
#define PROBE_TIMEOUT_MS 10000
/* Interpreter flags that change sys.path, as python's own letters. */
#define PATH_FLAGS "IEsSP"

/* The value of `name` in the NULL-terminated environment `envp`, or NULL. */
static const char *env_value(char *const envp[], const char *name)
{
    size_t n = strlen(name);

    for (size_t i = 0; envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static int same_file(const char *path, const struct stat *want)
{
    struct stat st;

    return stat(path, &st) == 0 && st.st_dev == want->st_dev && st.st_ino == want->st_ino;
}

/* Whether `argv0`, as the process's kernel and shell saw it (from `cwd`, or
 * searched on the process's PATH), names its executable `exe`: only then
 * does the interpreter started with it compute the process's sys.path. */
static int names_executable(const char *argv0, const char *cwd, char *const envp[],
                            const struct stat *exe)
{
    char candidate[GCM_PATH_MAX];
    const char *path_var;
    int n;

    if (argv0[0] == '\0')
        return 0;
    if (strchr(argv0, '/') != NULL) {
        n = argv0[0] == '/' ? snprintf(candidate, sizeof candidate, "%s", argv0)
                            : snprintf(candidate, sizeof candidate, "%s/%s", cwd, argv0);
        return n > 0 && (size_t)n < sizeof candidate && same_file(candidate, exe);
    }
    path_var = env_value(envp, "PATH");
    if (path_var == NULL)
        return 0;
    for (const char *dir = path_var;; dir = strchr(dir, ':') + 1) {
        size_t dir_len = strcspn(dir, ":");
        if (dir_len == 0)
            n = snprintf(candidate, sizeof candidate, "%s/%s", cwd, argv0);
        else
            n = snprintf(candidate, sizeof candidate, "%.*s/%s", (int)dir_len, dir, argv0);
        if (n > 0 && (size_t)n < sizeof candidate && access(candidate, X_OK) == 0)
            return same_file(candidate, exe);
        if (dir[dir_len] == '\0')
            return 0;
    }
}

/* What the process's command line says after python's own argv[0] (the
 * word at `python`): the flags of PATH_FLAGS it gave python (into `flags`,
 * as "-IE", or "" for none) and the directory its script put first on
 * sys.path (into `first`: the script's directory, the working directory for
 * -m and -c, "" under -I or -P).  Returns 0, or -1 for a command line it
 * cannot read with certainty. */
static int read_python_words(const char *cmdline, size_t len, const char *python, const char *cwd,
                             char *flags, size_t flags_size, char *first, size_t first_size)
{
    const char *end = cmdline + len;
    const char *w = python + strlen(python) + 1;
    const char *script = NULL;
    int code_or_module = 0;
    size_t nflags = 1;
    int n;

    flags[0] = '-';
    while (w < end && script == NULL && !code_or_module) {
        const char *next = w + strlen(w) + 1;

        if (w[0] != '-' || strcmp(w, "-") == 0) {
            script = w;
            break;
        }
        if (strcmp(w, "--") == 0) {
            if (next >= end)
                return -1;
            script = next;
            break;
        }
        if (w[1] == '-') /* --check-hash-based-pycs MODE, --version...: not for us to guess */
            return -1;
        for (const char *c = w + 1; *c != '\0'; c++) {
            if (*c == 'c' || *c == 'm') {
                code_or_module = 1;
                break;
            }
            if (*c == 'X' || *c == 'W') {
                /* Its value is the rest of the word, or the next word. */
                const char *value = c[1] != '\0' ? c + 1 : next < end ? next : "";
                if (c[1] == '\0')
                    next = next < end ? next + strlen(next) + 1 : next;
                /* Not attachable at all: _inject.py says so first. */
                if (*c == 'X' && strncmp(value, "disable-remote-debug", 20) == 0)
                    return -1;
                break;
            }
            if (strchr(PATH_FLAGS, *c) != NULL && strchr(flags, *c) == NULL &&
                nflags + 1 < flags_size)
                flags[nflags++] = *c;
        }
        w = next;
    }
    flags[nflags] = '\0';
    if (nflags == 1)
        flags[0] = '\0';
    if (script == NULL && !code_or_module)
        return -1; /* python reading its program from stdin, or an interactive one */
    first[0] = '\0';
    if (strchr(flags, 'I') != NULL || strchr(flags, 'P') != NULL)
        return 0;
    if (code_or_module || strchr(script, '/') == NULL) {
        n = snprintf(first, first_size, "%s", cwd);
    } else {
        const char *slash = strrchr(script, '/');
        int dir_len = slash == script ? 1 : (int)(slash - script);
        n = script[0] == '/' ? snprintf(first, first_size, "%.*s", dir_len, script)
                             : snprintf(first, first_size, "%s/%.*s", cwd, dir_len, script);
    }
    return n > 0 && (size_t)n < first_size ? 0 : -1;
}

/* Splits the NUL-separated environment `buf` (`len` bytes) into `envp`. */
static void split_environ(char *buf, size_t len, char **envp, size_t envp_size)
{
    size_t count = 0;

    for (char *v = buf; v < buf + len && count + 1 < envp_size; v += strlen(v) + 1)
        if (v[0] != '\0')
            envp[count++] = v;
    envp[count] = NULL;
}

int gcm__attach_probe(const gcm__remote *r, int word_count, const char *probe, char *line,
                      size_t line_size)
{
    char path[64];
    char cmdline[GCM__REMOTE_CMDLINE_MAX];
    char cwd[GCM_PATH_MAX];
    char flags[8];
    char first[GCM_PATH_MAX];
    char *env_buf = NULL;
    char **envp = NULL;
    char *argv[GCM__REMOTE_WORDS_MAX + 6];
    char *python;
    struct stat exe;
    ssize_t cmd_len;
    ssize_t env_len;
    ssize_t n;
    int k = 0;
    int refused = 0;

    line[0] = '\0';
    if (word_count < 1 || word_count > GCM__REMOTE_WORDS_MAX)
        goto done;
    (void)snprintf(path, sizeof path, "/proc/%lld/cmdline", (long long)r->pid);
    cmd_len = gcm__read_small_file(path, cmdline, sizeof cmdline);
    if (cmd_len <= 0 || (size_t)cmd_len >= sizeof cmdline - 1)
        goto done;
    (void)snprintf(path, sizeof path, "/proc/%lld/cwd", (long long)r->pid);
    n = readlink(path, cwd, sizeof cwd - 1);
    if (n <= 0)
        goto done;
    cwd[n] = '\0';
    env_buf = malloc(ENVIRON_MAX);
    envp = malloc(ENVIRON_VARS_MAX * sizeof *envp);
    if (env_buf == NULL || envp == NULL)
        goto done;
    (void)snprintf(path, sizeof path, "/proc/%lld/environ", (long long)r->pid);
    env_len = gcm__read_small_file(path, env_buf, ENVIRON_MAX);
    if (env_len < 0 || env_len >= ENVIRON_MAX - 1)
        goto done;
    split_environ(env_buf, (size_t)env_len, envp, ENVIRON_VARS_MAX);
    /* Python's argv[0]: the command line's first word, or, through a
     * dynamic loader (ld.so --library-path DIR python ...), the word that
     * gcm__remote_locate took for python.  The loader's words come first,
     * as the process had them, and run from its directory. */
    python = cmdline;
    for (int i = 0; i + 1 < word_count; i++) {
        argv[k++] = python;
        python += strlen(python) + 1;
        if (python >= cmdline + cmd_len)
            goto done;
    }
    if (word_count == 1) {
        /* A title rewritten by the program (setproctitle) says nothing of
         * how it started: only an argv[0] that names its executable does. */
        (void)snprintf(path, sizeof path, "/proc/%lld/exe", (long long)r->pid);
        if (stat(path, &exe) != 0 || !names_executable(python, cwd, envp, &exe))
            goto done;
    }
    if (read_python_words(cmdline, (size_t)cmd_len, python, cwd, flags, sizeof flags, first,
                          sizeof first) != 0)
        goto done;
    argv[k++] = python;
    if (flags[0] != '\0')
        argv[k++] = flags;
    argv[k++] = (char *)probe;
    argv[k++] = first;
    argv[k] = NULL;
    if (gcm__spawn_answer(word_count == 1 ? r->interpreter : argv[0], argv, envp, cwd,
                          PROBE_TIMEOUT_MS, line, line_size) == 0 &&
        strncmp(line, "refuse module ", 14) == 0)
        refused = 1;
done:
    free(envp);
    free(env_buf);
    return refused;
}
