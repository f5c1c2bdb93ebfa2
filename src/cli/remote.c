/* src/cli/remote.c: reading a process's collections from outside.
 *
 * CPython 3.15's standard library reads a running interpreter's collector
 * statistics from its memory (_remote_debugging.GCMonitor: a ring of the
 * newest collections of each generation, each with its start and stop times
 * and the running totals after it).  The launcher cannot import it, so it
 * runs gc_monitor/_remote.py with the watched process's own interpreter (the
 * same build, so the layouts it reads agree) and reads lines of integers
 * from a pipe.  Everything else is computed here: each collection newer than
 * the last one taken becomes a record of an ordinary block; a gap in a
 * generation's collection numbers is the collections that left the ring
 * between two polls, added to the counts and pause totals without a pause of
 * their own (gcm_block_record_after_missed), so the totals stay exact and
 * nothing is sampled silently.  The first poll is the baseline: what
 * happened before the watch began is not counted.
 *
 * Nothing runs in the watched process; the reader only reads its memory
 * (process_vm_readv), which needs the right to ptrace it.
 */
#define _GNU_SOURCE /* F_SETPIPE_SZ */

#include "remote.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"

#define MSG(...) ((void)snprintf(msg, msg_size, __VA_ARGS__))

extern char **environ;

/* The reader's first answer is waited for this long: an interpreter's start
 * and one read of the process. */
#define HELLO_TIMEOUT_MS 20000
/* Words of the process's command line kept to run its interpreter: the
 * dynamic loader and its options, when python was started through one. */
#define PREFIX_MAX GCM__REMOTE_WORDS_MAX
/* Bytes of /proc/PID/cmdline read. */
#define CMDLINE_MAX GCM__REMOTE_CMDLINE_MAX
/* The pipe is asked to hold this much, so a slow refresh never makes the
 * reader wait (and miss collections) on a full pipe. */
#define PIPE_BYTES (1 << 20)

/* Returns 1 when the file name of `path` starts with `prefix`. */
static int base_starts(const char *path, const char *prefix)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    return strncmp(base, prefix, strlen(prefix)) == 0;
}

/* Returns 1 when a line of /proc/PID/maps contains `text`, and `also`
 * when it is not NULL. */
static int maps_line_with(int64_t pid, const char *text, const char *also)
{
    char path[64];
    char line[GCM_PATH_MAX + 128];
    FILE *f;
    int found = 0;

    (void)snprintf(path, sizeof path, "/proc/%lld/maps", (long long)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = strstr(line, text) != NULL && (also == NULL || strstr(line, also) != NULL);
    (void)fclose(f);
    return found;
}

/* Reads /proc/PID/cmdline into `buf` (NUL-separated words).  Returns its
 * length, or -1. */
static ssize_t read_cmdline(int64_t pid, char *buf, size_t size)
{
    char path[64];
    ssize_t n;

    (void)snprintf(path, sizeof path, "/proc/%lld/cmdline", (long long)pid);
    n = gcm__read_small_file(path, buf, size);
    if (n > 0 && buf[n - 1] != '\0')
        buf[n - 1] = '\0'; /* cut: the last word ends where the buffer does */
    return n;
}

/* Fills `argv` with the command that runs the process's interpreter: its
 * executable, or, when python was started through the dynamic loader
 * (ld-linux.so --library-path ... python3.15), the loader's words up to and
 * including python.  Returns the number of words, 0 for a process that is
 * not python, -1 when the executable cannot be read (errno set). */
static int interpreter_words(gcm__remote *r, char *cmdline, ssize_t cmd_len,
                             char *argv[PREFIX_MAX + 1])
{
    char link[64];
    ssize_t n;
    int count = 0;

    (void)snprintf(link, sizeof link, "/proc/%lld/exe", (long long)r->pid);
    n = readlink(link, r->interpreter, sizeof r->interpreter - 1);
    if (n < 0)
        return -1;
    r->interpreter[n] = '\0';
    if (base_starts(r->interpreter, "python")) {
        argv[count++] = r->interpreter;
        return count;
    }
    if (!base_starts(r->interpreter, "ld-") || cmd_len <= 0)
        return 0;
    for (char *w = cmdline; w < cmdline + cmd_len && count < PREFIX_MAX; w += strlen(w) + 1) {
        argv[count++] = w;
        if (count > 1 && base_starts(w, "python")) {
            char deleted[GCM_PATH_MAX + 16];
            int k;

            /* A relative path is the process's, from its own directory. */
            if (w[0] == '/')
                k = snprintf(r->interpreter, sizeof r->interpreter, "%s", w);
            else
                k = snprintf(r->interpreter, sizeof r->interpreter, "/proc/%lld/cwd/%s",
                             (long long)r->pid, w);
            if (k < 0 || (size_t)k >= sizeof r->interpreter)
                return 0;
            argv[count - 1] = r->interpreter;
            /* The file it maps was removed or replaced: say so, as readlink
             * says so of an executable. */
            k = snprintf(deleted, sizeof deleted, "%s (deleted)", w);
            if (k > 0 && (size_t)k < sizeof r->interpreter && maps_line_with(r->pid, deleted, NULL))
                memcpy(r->interpreter, deleted, (size_t)k + 1);
            return count;
        }
    }
    return 0;
}

/* Copies the command line from word `first` on into r->command, words
 * separated by spaces, control bytes escaped. */
static void keep_command(gcm__remote *r, const char *cmdline, ssize_t len, int first)
{
    char joined[CMDLINE_MAX];
    size_t used = 0;
    ssize_t i = 0;

    for (int w = 0; w < first && i < len; w++)
        i += (ssize_t)strlen(cmdline + i) + 1;
    for (; i < len && used + 1 < sizeof joined; i++)
        joined[used++] = cmdline[i] == '\0' ? ' ' : cmdline[i];
    while (used > 0 && joined[used - 1] == ' ')
        used--;
    joined[used] = '\0';
    gcm__copy_printable(r->command, sizeof r->command, joined);
}

/* Runs the reader: `words` then -I -S FILE PID POLL_MS, stdout and stderr
 * into a pipe, stdin from /dev/null.  Returns 0 or -1 (errno set). */
static int spawn_reader(gcm__remote *r, char **words, int count, const char *file)
{
    char *argv[PREFIX_MAX + 8];
    char pid_text[24];
    char poll_text[16];
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    int have_actions = 0;
    int have_attr = 0;
    int status = -1;
    int k = 0;

    for (int i = 0; i < count; i++)
        argv[k++] = words[i];
    (void)snprintf(pid_text, sizeof pid_text, "%lld", (long long)r->pid);
    (void)snprintf(poll_text, sizeof poll_text, "%d", GCM__REMOTE_POLL_MS);
    argv[k++] = "-I";
    argv[k++] = "-S";
    argv[k++] = (char *)file;
    argv[k++] = pid_text;
    argv[k++] = poll_text;
    argv[k] = NULL;
    if (pipe2(fds, O_CLOEXEC) != 0)
        goto done;
    for (int i = 0; i < 2; i++) {
        if (fds[i] <= 2) {
            int high = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
            (void)close(fds[i]);
            fds[i] = high;
            if (high < 0)
                goto done;
        }
    }
    (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES);
    if (gcm__spawn_actions_to(&actions, fds[1]) != 0)
        goto done;
    have_actions = 1;
    /* Its own process group: a terminal's Ctrl-C is for us, and we end
     * the reader ourselves (gcm__remote_stop), after taking its last lines. */
    if (posix_spawnattr_init(&attr) != 0)
        goto done;
    have_attr = 1;
    if (posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP) != 0 ||
        posix_spawnattr_setpgroup(&attr, 0) != 0)
        goto done;
    if (posix_spawn(&r->reader, argv[0], &actions, &attr, argv, environ) != 0) {
        r->reader = -1;
        goto done;
    }
    (void)close(fds[1]);
    fds[1] = -1;
    (void)fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    r->fd = fds[0];
    fds[0] = -1;
    status = 0;
done:
    if (have_attr)
        posix_spawnattr_destroy(&attr);
    if (have_actions)
        posix_spawn_file_actions_destroy(&actions);
    if (fds[0] >= 0)
        (void)close(fds[0]);
    if (fds[1] >= 0)
        (void)close(fds[1]);
    return status;
}

/* Reads into r->buf until a whole line is there (or `timeout_ms` passed,
 * or the reader ended).  Returns the line's length (its newline replaced by
 * NUL), or -1.  The caller consumes it with take_line. */
static ssize_t wait_line(gcm__remote *r, int timeout_ms)
{
    uint64_t deadline = gcm_clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;

    for (;;) {
        char *nl = memchr(r->buf, '\n', r->len);
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN, .revents = 0};
        uint64_t now;
        ssize_t got;

        if (nl != NULL) {
            *nl = '\0';
            return nl - r->buf;
        }
        if (r->fd < 0 || r->len >= sizeof r->buf - 1)
            return -1;
        now = gcm_clock_monotonic_ns();
        if (now >= deadline)
            return -1;
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) < 0 && errno != EINTR)
            return -1;
        got = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
        if (got == 0)
            return -1;
        if (got > 0)
            r->len += (size_t)got;
        else if (errno != EAGAIN && errno != EINTR)
            return -1;
    }
}

/* Drops the first line (of `n` bytes plus its newline) from r->buf. */
static void take_line(gcm__remote *r, size_t n)
{
    size_t rest = r->len - n - 1;
    memmove(r->buf, r->buf + n + 1, rest);
    r->len = rest;
}

/* Turns the reader's refusal line ("refuse KIND TEXT") into the launcher's. */
static void refusal_text(const gcm__remote *r, const char *line, char *msg, size_t msg_size)
{
    char kind[16] = "";
    const char *text = "";
    long long pid = (long long)r->pid;

    if (sscanf(line, "refuse %15s", kind) == 1) {
        text = line + strlen("refuse ") + strlen(kind);
        text += *text == ' ';
    }
    if (strcmp(kind, "version") == 0)
        MSG("pid %lld runs python %s: reading a process from outside needs python 3.15+; "
            "start it with 'pygcprofiler run -o FILE'",
            pid, text);
    else if (strcmp(kind, "module") == 0)
        MSG("the python of pid %lld ('%s') has no _remote_debugging module to read it from "
            "outside; start it with 'pygcprofiler run -o FILE'",
            pid, r->interpreter);
    else if (strcmp(kind, "permission") == 0)
        MSG("no permission to read the memory of pid %lld: run as its user or as root "
            "(ptrace access; see /proc/sys/kernel/yama/ptrace_scope)",
            pid);
    else if (strcmp(kind, "mismatch") == 0)
        MSG("the python of pid %lld ('%s') does not match the build it runs: %s", pid,
            r->interpreter, text);
    else if (strcmp(kind, "gone") == 0)
        MSG("no process with pid %lld", pid);
    else
        MSG("cannot read the collector of pid %lld with '%s': %s", pid, r->interpreter,
            line[0] != '\0' ? line : "the reader stopped without a word");
}

int gcm__remote_locate(gcm__remote *r, int64_t pid, char cmdline[GCM__REMOTE_CMDLINE_MAX],
                       char *words[GCM__REMOTE_WORDS_MAX + 1], int *count_out, char *msg,
                       size_t msg_size)
{
    ssize_t cmd_len;
    int count;
    int status = GCM_EINVAL;

    memset(r, 0, sizeof *r);
    r->pid = pid;
    r->reader = -1;
    r->fd = -1;
    if (gcm_capture_start_ticks(pid, &r->start_ticks) != 0 ||
        !gcm_capture_writer_alive(pid, r->start_ticks)) {
        MSG("no process with pid %lld", (long long)pid);
        goto done;
    }
    cmd_len = read_cmdline(pid, cmdline, GCM__REMOTE_CMDLINE_MAX);
    count = interpreter_words(r, cmdline, cmd_len, words);
    /* Shown from python on: a dynamic loader's words say nothing of the program. */
    keep_command(r, cmdline, cmd_len, count > 1 ? count - 1 : 0);
    if (count < 0) {
        if (errno == EACCES || errno == EPERM)
            MSG("no permission to read the memory of pid %lld: run as its user or as root "
                "(ptrace access; see /proc/sys/kernel/yama/ptrace_scope)",
                (long long)pid);
        else
            MSG("no process with pid %lld", (long long)pid);
        goto done;
    }
    /* A python linked to libpython is its build too: that file replaced on
     * disk (an upgrade) leaves no reader of the same build either. */
    if (count > 0 && strstr(r->interpreter, " (deleted)") == NULL &&
        maps_line_with(pid, "/libpython3", " (deleted)"))
        (void)snprintf(r->interpreter + strlen(r->interpreter),
                       sizeof r->interpreter - strlen(r->interpreter), " (its libpython deleted)");
    if (strstr(r->interpreter, " (deleted)") != NULL ||
        strstr(r->interpreter, " (its libpython deleted)") != NULL) {
        MSG("the python of pid %lld ('%s') was replaced since it started: no interpreter of "
            "the same build is left to read it with; restart it, or run it under "
            "'pygcprofiler run -o FILE'",
            (long long)pid, r->interpreter);
        goto done;
    }
    if (count == 0) {
        if (maps_line_with(pid, "/libpython3", NULL))
            MSG("pid %lld embeds python in '%s': reading it from outside needs a python "
                "executable of the same build; start it with 'pygcprofiler run -o FILE'",
                (long long)pid, r->interpreter);
        else
            MSG("pid %lld is not a Python process ('%s')", (long long)pid, r->interpreter);
        goto done;
    }
    words[count] = NULL;
    *count_out = count;
    status = 0;
done:
    return status;
}

int gcm__remote_start(gcm__remote *r, int64_t pid, char *msg, size_t msg_size)
{
    char cmdline[CMDLINE_MAX];
    char file[GCM_PATH_MAX];
    char *words[PREFIX_MAX + 1];
    char last[256] = "";
    ssize_t n;
    int count = 0;
    int status = GCM_EINVAL;
    int major = 0;
    int minor = 0;
    int micro = 0;

    if (gcm__remote_locate(r, pid, cmdline, words, &count, msg, msg_size) != 0)
        goto done;
    if (gcm__package_file("gc_monitor._remote", file, sizeof file, msg, msg_size) != 0)
        goto done;
    if (spawn_reader(r, words, count, file) != 0) {
        char why[128];
        MSG("cannot run '%s' to read pid %lld: %s", words[0], (long long)pid,
            gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    /* Its first word is "hello" or "refuse"; anything before it (a warning,
     * a traceback, both on the same pipe) is kept, and its last line is
     * the reason when no word comes. */
    for (;;) {
        char line[256];

        n = wait_line(r, HELLO_TIMEOUT_MS);
        if (n < 0) {
            refusal_text(r, last, msg, msg_size);
            goto done;
        }
        if (sscanf(r->buf, "hello %d %d %d", &major, &minor, &micro) == 3)
            break;
        gcm__copy_printable(line, sizeof line, r->buf);
        if (strncmp(line, "refuse ", 7) == 0) {
            refusal_text(r, line, msg, msg_size);
            goto done;
        }
        if (line[0] != '\0')
            memcpy(last, line, strlen(line) + 1);
        take_line(r, (size_t)n);
    }
    take_line(r, (size_t)n);
    (void)snprintf(r->version, sizeof r->version, "%d.%d.%d", major, minor, micro);
    status = 0;
done:
    if (status != 0)
        gcm__remote_stop(r);
    return status;
}

int gcm__remote_block(const gcm__remote *r, const char *path, gcm_capture *cap)
{
    gcm_config cfg;
    gcm_block_params params;
    char meta[GCM_META_SIZE];
    char options[GCM_META_SIZE / 2];
    size_t needed = 0;
    size_t size;
    void *mem;
    int status;

    gcm_config_init(&cfg);
    status = gcm_config_block_params(&cfg, &params);
    if (status != 0)
        return status;
    params.pid = r->pid;
    params.ppid = 0;
    params.process_start_ticks = r->start_ticks;
    /* docs/capture-format.md lists the keys; `source` says where the
     * records came from, and the aggregates' `missed` how many pauses the
     * polls did not see. */
    if (gcm_config_encode(&cfg, options, sizeof options, &needed) != 0)
        options[0] = '\0';
    /* A text longer than the header's metadata is cut at its end, which
     * readers take as it is: the short keys that say how the capture was made
     * come first, the command and the options (the long ones) last.  The
     * result is checked only for an encoding error. */
    if (snprintf(meta, sizeof meta,
                 "source=remote\nremote_reader=_remote_debugging.GCMonitor\nremote_poll_ms=%d\n"
                 "python_version=%s\npython_executable=%s\ncommand=%s\noptions=%s\n",
                 GCM__REMOTE_POLL_MS, r->version, r->interpreter, r->command, options) < 0)
        meta[0] = '\0';
    if (path != NULL)
        return gcm_capture_create(cap, path, &params, meta);
    memset(cap, 0, sizeof *cap);
    size = gcm_block_size(params.capacity);
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return GCM_ENOMEM;
    status = gcm_block_init((gcm_block *)mem, size, &params);
    if (status != 0) {
        (void)munmap(mem, size);
        return status;
    }
    memcpy(((gcm_block *)mem)->header.meta, meta, strlen(meta) + 1);
    cap->block = (gcm_block *)mem;
    cap->size = size;
    cap->writable = 1;
    cap->held_slots = params.capacity;
    return 0;
}

/* Takes one "c" line: a collection of the interpreter's ring. */
static void take_collection(gcm__remote *r, gcm_block *b, const char *line)
{
    unsigned g;
    unsigned long long n;
    unsigned long long start;
    unsigned long long stop;
    unsigned long long collected;
    unsigned long long uncollectable;
    unsigned long long candidates;
    unsigned long long duration;
    unsigned long long heap;
    gcm_event ev;
    uint64_t missed;
    uint64_t missed_ns = 0;

    if (sscanf(line, "c %u %llu %llu %llu %llu %llu %llu %llu %llu", &g, &n, &start, &stop,
               &collected, &uncollectable, &candidates, &duration, &heap) != 9 ||
        g >= GCM_GENERATIONS || n <= r->last_n[g])
        return;
    /* Before the first poll ended, only where each generation stands. */
    if (!r->baseline_done)
        goto keep;
    memset(&ev, 0, sizeof ev);
    ev.generation = g;
    ev.start_ns = start;
    ev.duration_ns = stop > start ? stop - start : 0;
    /* Totals minus totals: a gap's collections are in the first
     * collection after it (the ring holds no single counts). */
    ev.collected = collected > r->last_collected[g] ? collected - r->last_collected[g] : 0;
    ev.uncollectable =
        uncollectable > r->last_uncollectable[g] ? uncollectable - r->last_uncollectable[g] : 0;
    ev.candidates = candidates > r->last_candidates[g] ? candidates - r->last_candidates[g] : 0;
    ev.flags = GCM_EVENT_NATIVE_DURATION | GCM_EVENT_HAS_CANDIDATES;
    missed = n - r->last_n[g] - 1;
    if (missed > 0) {
        uint64_t between =
            duration > r->last_duration_ns[g] ? duration - r->last_duration_ns[g] : 0;
        missed_ns = between > ev.duration_ns ? between - ev.duration_ns : 0;
    }
    (void)gcm_block_record_after_missed(b, &ev, missed, missed_ns);
keep:
    r->last_n[g] = n;
    r->last_collected[g] = collected;
    r->last_uncollectable[g] = uncollectable;
    r->last_candidates[g] = candidates;
    r->last_duration_ns[g] = duration;
}

/* Takes one whole line of the reader. */
static void take(gcm__remote *r, gcm_block *b, const char *line)
{
    if (line[0] == 'c' && line[1] == ' ')
        take_collection(r, b, line);
    else if (strcmp(line, "p") == 0)
        r->baseline_done = 1;
    else if (strcmp(line, "end") == 0)
        r->ended = 1;
    else if (line[0] != '\0') {
        /* Anything else is the reader's trouble (a traceback ends with its
         * point): the last line is kept and shown when it stops. */
        r->failed = 1;
        gcm__copy_printable(r->why, sizeof r->why,
                            strncmp(line, "fail ", 5) == 0 ? line + 5 : line);
    }
}

int gcm__remote_pump(gcm__remote *r, gcm_block *b, int wait_ms)
{
    uint64_t deadline = gcm_clock_monotonic_ns() + (uint64_t)wait_ms * 1000000u;

    while (r->fd >= 0) {
        ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - 1 - r->len);
        char *start = r->buf;
        char *nl;

        if (got > 0) {
            r->len += (size_t)got;
            while ((nl = memchr(start, '\n', r->len - (size_t)(start - r->buf))) != NULL) {
                *nl = '\0';
                take(r, b, start);
                start = nl + 1;
            }
            r->len -= (size_t)(start - r->buf);
            memmove(r->buf, start, r->len);
            /* A line longer than the buffer is no line of the reader's. */
            if (r->len >= sizeof r->buf - 1)
                r->len = 0;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && errno == EAGAIN) {
            struct pollfd pfd = {.fd = r->fd, .events = POLLIN, .revents = 0};
            uint64_t now = gcm_clock_monotonic_ns();

            if (wait_ms <= 0 || now >= deadline)
                break;
            (void)poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
            continue;
        }
        /* End of the pipe: the reader is done, by its word or not. */
        (void)close(r->fd);
        r->fd = -1;
        if (!r->ended && !r->failed) {
            if (gcm_capture_writer_alive(r->pid, r->start_ticks)) {
                r->failed = 1;
                (void)snprintf(r->why, sizeof r->why, "the reader stopped");
            } else {
                r->ended = 1;
            }
        }
    }
    if (r->fd < 0 || r->ended || r->failed) {
        if (!r->failed)
            r->ended = 1;
        return 1;
    }
    return 0;
}

void gcm__remote_stop(gcm__remote *r)
{
    int wstatus;

    if (r->fd >= 0) {
        (void)close(r->fd);
        r->fd = -1;
    }
    if (r->reader > 0) {
        /* Our own child, by its pid: it may be sleeping between polls. */
        (void)kill(r->reader, SIGTERM);
        while (waitpid(r->reader, &wstatus, 0) < 0 && errno == EINTR)
            ;
        r->reader = -1;
    }
}
