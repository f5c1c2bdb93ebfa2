/* src/cli/attach.c: `pygcprofiler attach PID [-o FILE]` and `detach PID`.
 *
 * CPython 3.14 lets a process of the same user ask a running interpreter to
 * run a script at its next safe point (sys.remote_exec, PEP 768).  The
 * launcher cannot call it, so it writes a short script into a private 0700
 * directory (0600, by the one file policy) and runs gc_monitor/_inject.py
 * with the target's own interpreter, found as `live PID` finds it
 * (gcm__remote_locate), which calls sys.remote_exec.  The script only
 * imports gc_monitor._attach and calls start() or stop(); every value it
 * carries (the result file, the configuration text, the capture path) is a
 * bytes literal of \xNN escapes, so no word of the user becomes code.  The
 * target answers by creating a result file in the same private directory,
 * which the launcher waits for, reads and removes with the script.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/errors.h"
#include "attach.h"
#include "remote.h"

extern char **environ;

#define ATTACH_ROWS 16
/* The limits of --duration, in seconds: from a hundredth to a year. */
#define DURATION_MIN 0.01
#define DURATION_MAX 31536000.0
/* The target runs the script at its next safe point: a program blocked in
 * C code for longer than this is reported as not answering. */
#define ANSWER_TIMEOUT_MS 10000
#define ANSWER_POLL_MS 20
/* Room for the script: three values of at most PATH_MAX or GCM_META_SIZE
 * bytes, each byte written as four. */
#define SCRIPT_MAX (4 * (2 * GCM_PATH_MAX + GCM_META_SIZE) + 2048)

typedef struct attach_args {
    int detach;
    double duration_s; /* --duration, 0 when not given */
    const char *output;
    const char *pid_word;
    int64_t pid;
    gcm_config cfg; /* run's recording options given to attach */
} attach_args;

static size_t attach_options(attach_args *a, gcm__opt rows[ATTACH_ROWS])
{
    const gcm__opt attach_table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_LIST,
         .name = "output",
         .short_name = 'o',
         .metavar = "FILE",
         .store = &a->output,
         .add = gcm__opts_take_output,
         .help = "the capture file the process creates (default: a new one in a private "
                 "directory, printed; never replaced)"},
        {.kind = GCM__OPT_NUMBER,
         .name = "duration",
         .metavar = "SECONDS",
         .store = &a->duration_s,
         .min = DURATION_MIN,
         .max = DURATION_MAX,
         .refusal = "must be seconds from 0.01 to 31536000",
         .help = "record for that long, then detach and print the report to stdout"},
        GCM__OPT_HELP_ROW,
    };
    const gcm__opt detach_table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        GCM__OPT_HELP_ROW,
    };
    /* run's options that the recorder or its capture keeps: the process
     * records as under run, with run's defaults. */
    static const char *const recording[] = {
        "buffer-events", "alert-threshold-ms", "slo-ms", "duration-buckets", "interval",
        "stacks",        "stack-depth",        NULL};
    const gcm__opt recording_group = {.kind = GCM__OPT_GROUP, .help = "Recording, as run records"};
    const size_t head = sizeof attach_table / sizeof attach_table[0] - 1; /* all but --help */
    size_t count;

    if (a->detach) {
        memcpy(rows, detach_table, sizeof detach_table);
        return sizeof detach_table / sizeof detach_table[0];
    }
    memcpy(rows, attach_table, head * sizeof attach_table[0]);
    count = head;
    rows[count++] = recording_group;
    count += gcm__run_rows_named(&a->cfg, recording, rows + count, ATTACH_ROWS - 2 - count);
    rows[count++] = (gcm__opt){.kind = GCM__OPT_GROUP, .help = "Other options"};
    rows[count++] = attach_table[head];
    return count;
}

size_t gcm__attach_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static attach_args unused;
    gcm__opt all[ATTACH_ROWS];

    return gcm__opts_lend(rows, size, all, attach_options(&unused, all));
}

size_t gcm__detach_rows(gcm__opt *rows, size_t size)
{
    static attach_args unused = {.detach = 1};
    gcm__opt all[ATTACH_ROWS];

    return gcm__opts_lend(rows, size, all, attach_options(&unused, all));
}

static int print_attach_help(attach_args *a)
{
    static const char attach_head[] =
        "usage: pygcprofiler attach [-o FILE] [--duration SECONDS] [recording options] PID\n"
        "\n"
        "Makes a running CPython 3.14+ process start recording its collections into a\n"
        "capture file, with no restart (sys.remote_exec, PEP 768), then returns.\n"
        "'pygcprofiler live PID' and 'pygcprofiler report FILE' read it at once;\n"
        "'pygcprofiler detach PID' stops it.  The process writes no report of its own.\n";
    static const char detach_head[] =
        "usage: pygcprofiler detach PID\n"
        "\n"
        "Makes a process that 'pygcprofiler attach' started recording stop: its\n"
        "callback leaves gc.callbacks, its capture is marked detached, and it runs on.\n";
    static const char tail[] =
        "\n"
        "The process must run CPython 3.14+ with remote debugging allowed, as your\n"
        "user (or you root), and be able to import gc_monitor in its own environment.\n"
        "\n"
        "Exit status: 0 when the process answered, 1 when it did not answer in time,\n"
        "2 for bad input (a bad option, a process that cannot be attached to).\n";
    gcm__opt rows[ATTACH_ROWS];
    size_t count = attach_options(a, rows);

    return gcm__opts_help(1, a->detach ? detach_head : attach_head, rows, count, tail);
}

static int take_pid(void *ctx, const char *word, char *msg, size_t msg_size)
{
    attach_args *a = (attach_args *)ctx;

    return gcm__opts_take_pid(&a->pid_word, &a->pid, word, msg, msg_size);
}

static int parse_args(attach_args *a, int argc, char **argv, int *help, char *msg, size_t msg_size)
{
    gcm__opt rows[ATTACH_ROWS];
    const gcm__opt_spec spec = {
        .rows = rows, .count = attach_options(a, rows), .ctx = a, .operand = take_pid};
    int status = GCM_EINVAL;

    if (gcm__opts_parse_verb(&spec, argc, argv, help, msg, msg_size) != 0)
        goto done;
    if (*help) {
        status = 0;
        goto done;
    }
    if (a->pid_word == NULL) {
        (void)snprintf(msg, msg_size, "missing process: give the PID to %s",
                       a->detach ? "detach" : "attach to");
        goto done;
    }
    if (a->output != NULL &&
        gcm__cli_check_output("output", a->output, GCM__OUTPUT_NEW, msg, msg_size) != 0)
        goto done;
    status = 0;
done:
    return status;
}

/* Appends `text` to the script at *used. */
static void put(char *script, size_t *used, const char *text)
{
    size_t n = strlen(text);

    if (*used + n < SCRIPT_MAX) {
        memcpy(script + *used, text, n + 1);
        *used += n;
    }
}

/* Appends `value` as a Python bytes literal, every byte as \xNN. */
static void put_bytes(char *script, size_t *used, const char *value)
{
    static const char hex[] = "0123456789abcdef";

    put(script, used, "b'");
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        char esc[5] = {'\\', 'x', hex[*p >> 4], hex[*p & 15], '\0'};
        put(script, used, esc);
    }
    put(script, used, "'");
}

/* Writes the script that the target runs: import gc_monitor._attach and
 * call start() or stop(); an import that fails is answered as "refuse
 * module" so the launcher can say why.  Returns its length (0 when it did not fit). */
static size_t make_script(char *script, const char *result, const char *config, const char *capture)
{
    size_t used = 0;

    script[0] = '\0';
    put(script, &used,
        "# Written by pygcprofiler attach/detach; run once by sys.remote_exec.\n"
        "def _pygcprofiler_remote():\n"
        "    import os\n"
        "    result = ");
    put_bytes(script, &used, result);
    put(script, &used,
        "\n"
        "    try:\n"
        "        from gc_monitor import _attach\n"
        "    except Exception as exc:\n"
        "        why = ' '.join(f'{type(exc).__name__}: {exc}'.split())\n"
        "        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC\n"
        "        fd = os.open(result, flags, 0o600)\n"
        "        try:\n"
        "            os.write(fd, b'refuse module ' + why.encode('utf-8', 'replace') + b'\\n')\n"
        "        finally:\n"
        "            os.close(fd)\n"
        "        return\n");
    if (config == NULL) {
        put(script, &used, "    _attach.stop(result)\n");
    } else {
        put(script, &used, "    _attach.start(result, ");
        put_bytes(script, &used, config);
        put(script, &used, ", ");
        put_bytes(script, &used, capture);
        put(script, &used, ")\n");
    }
    put(script, &used, "\n\n_pygcprofiler_remote()\ndel _pygcprofiler_remote\n");
    return used + 1 < SCRIPT_MAX ? used : 0;
}

/* Writes `text` to the new file `path` by the one file policy.  Returns 0
 * or -1 (errno set). */
static int write_new_file(const char *path, const char *text, size_t len)
{
    gcm__output out;
    int status = -1;

    if (gcm__create_output(&out, path, GCM__OUTPUT_NEW, O_WRONLY | O_CLOEXEC) != 0)
        goto done;
    if (gcm__write_all(out.fd, text, len) != 0) {
        gcm__output_discard(&out);
        goto done;
    }
    if (gcm__output_commit(&out) != 0)
        goto done;
    status = 0;
done:
    return status;
}

/* Runs `words` then -I -S INJECT PID SCRIPT and keeps the last line it
 * wrote in `line`.  Returns 0 when it said "ok", 1 when it said something
 * else (the line says what), -1 when it could not run (errno set). */
static int run_inject(char **words, int count, const char *inject, int64_t pid, const char *script,
                      char *line, size_t line_size)
{
    char *argv[GCM__REMOTE_WORDS_MAX + 8];
    char pid_text[24];
    int k = 0;
    int rc;

    for (int i = 0; i < count; i++)
        argv[k++] = words[i];
    (void)snprintf(pid_text, sizeof pid_text, "%lld", (long long)pid);
    argv[k++] = "-I";
    argv[k++] = "-S";
    argv[k++] = (char *)inject;
    argv[k++] = pid_text;
    argv[k++] = (char *)script;
    argv[k] = NULL;
    rc = gcm__spawn_answer(argv[0], argv, environ, NULL, 0, line, line_size);
    if (rc < 0)
        return -1;
    return rc == 0 && strcmp(line, "ok") == 0 ? 0 : 1;
}

/* Waits for the target's answer in `result`.  Returns 0 with its line in
 * `line`, or -1 when none came in time or the target ended. */
static int wait_answer(const gcm__remote *r, const char *result, char *line, size_t line_size)
{
    const struct timespec pause = {0, ANSWER_POLL_MS * 1000000L};
    char buf[GCM__MSG_MAX];

    for (int waited = 0; waited < ANSWER_TIMEOUT_MS; waited += ANSWER_POLL_MS) {
        ssize_t n = gcm__read_small_file(result, buf, sizeof buf);

        /* The file is created, then written: an empty one is not done. */
        if (n > 0 && buf[n - 1] == '\n') {
            buf[n - 1] = '\0';
            gcm__copy_printable(line, line_size, buf);
            return 0;
        }
        if (!gcm_capture_writer_alive(r->pid, r->start_ticks))
            return -1;
        (void)nanosleep(&pause, NULL);
    }
    return -1;
}

/* The launcher's line for the injector's refusal ("refuse KIND TEXT"). */
static void inject_refusal(const gcm__remote *r, const char *line, char *msg, size_t msg_size)
{
    char kind[16] = "";
    const char *text = "";
    long long pid = (long long)r->pid;

    if (sscanf(line, "refuse %15s", kind) == 1) {
        text = line + strlen("refuse ") + strlen(kind);
        text += *text == ' ';
    }
    if (strcmp(kind, "version") == 0)
        (void)snprintf(msg, msg_size,
                       "pid %lld runs python %s: attaching needs python 3.14+ "
                       "(sys.remote_exec); restart it under 'pygcprofiler run -o FILE'",
                       pid, text);
    else if (strcmp(kind, "disabled") == 0)
        (void)snprintf(msg, msg_size,
                       "pid %lld does not allow remote debugging (PYTHON_DISABLE_REMOTE_DEBUG, "
                       "-X disable-remote-debug, or a build without it): restart it under "
                       "'pygcprofiler run -o FILE'",
                       pid);
    else if (strcmp(kind, "permission") == 0)
        (void)snprintf(msg, msg_size,
                       "no permission to attach to pid %lld: run as its user or as root "
                       "(ptrace access; see /proc/sys/kernel/yama/ptrace_scope)",
                       pid);
    else if (strcmp(kind, "gone") == 0)
        (void)snprintf(msg, msg_size, "no process with pid %lld", pid);
    else {
        char exe[GCM__SHOWN_MAX];
        char why[GCM__SHOWN_MAX];
        (void)snprintf(msg, msg_size, "cannot attach to pid %lld with '%s': %s", pid,
                       gcm__subject(exe, r->interpreter),
                       gcm__subject(why, line[0] != '\0' ? line : "it stopped without a word"));
    }
}

/* The launcher's line for the target's refusal. */
static void answer_refusal(const gcm__remote *r, const char *line, char *msg, size_t msg_size)
{
    long long pid = (long long)r->pid;
    char shown[GCM__SHOWN_MAX];

    if (strncmp(line, "refuse module ", 14) == 0)
        (void)snprintf(msg, msg_size,
                       "pid %lld cannot import gc_monitor (%s): install pygcprofiler into the "
                       "environment it runs in",
                       pid, gcm__subject(shown, line + 14));
    else if (strncmp(line, "refuse attached ", 16) == 0)
        (void)snprintf(msg, msg_size, "pid %lld is already monitored: its capture is '%s'", pid,
                       gcm__subject(shown, line + 16));
    else if (strcmp(line, "refuse detached") == 0)
        (void)snprintf(msg, msg_size,
                       "pid %lld is not attached: 'pygcprofiler attach %lld' did not start a "
                       "monitor there, or it was detached",
                       pid, pid);
    else
        (void)snprintf(msg, msg_size, "the monitor could not start in pid %lld: %s", pid,
                       gcm__subject(shown, line));
}

/* Makes a new private directory "${TMPDIR:-/tmp}/pygcprofiler-WHAT-XXXXXX"
 * (0700).  Returns 0 or -1. */
static int private_dir(const char *what, char *dir, size_t size)
{
    const char *tmp = getenv("TMPDIR");
    int n;

    if (tmp == NULL || tmp[0] != '/')
        tmp = "/tmp";
    n = snprintf(dir, size, "%s/pygcprofiler-%s-XXXXXX", tmp, what);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

/* Sets `capture` to the absolute path of the capture: -o FILE from our
 * directory (the target's is another), or a new private directory's file. */
static int capture_path(const attach_args *a, char *capture, size_t size, char *msg,
                        size_t msg_size)
{
    char dir[GCM_PATH_MAX];
    int n;

    if (a->output != NULL && a->output[0] == '/') {
        n = snprintf(capture, size, "%s", a->output);
    } else if (a->output != NULL) {
        if (getcwd(dir, sizeof dir) == NULL) {
            (void)snprintf(msg, msg_size, "cannot tell the current directory for '--output'");
            return -1;
        }
        n = snprintf(capture, size, "%s/%s", dir, a->output);
    } else {
        if (private_dir("capture", dir, sizeof dir) != 0) {
            (void)snprintf(msg, msg_size, "cannot create a private directory for the capture");
            return -1;
        }
        n = snprintf(capture, size, "%s/gc-%lld.capture", dir, (long long)a->pid);
    }
    if (n < 0 || (size_t)n >= size) {
        (void)snprintf(msg, msg_size, "the capture's path is too long");
        return -1;
    }
    return 0;
}

/* The configuration text of an attached monitor: the recording options
 * given (run's defaults for the others), recording into `capture`. */
static int config_text(const gcm_config *given, const char *capture, char *text, size_t size,
                       char *msg, size_t msg_size)
{
    gcm_config cfg = *given;
    gcm_config_error err;
    size_t needed = 0;

    if (gcm_config_set_name(&cfg, "output", capture, &err) != 0 ||
        gcm_config_encode(&cfg, text, size, &needed) != 0) {
        (void)snprintf(msg, msg_size, "the capture's path cannot be used: '%s'", capture);
        return -1;
    }
    return 0;
}

/* Attaches to or detaches from a->pid.  Returns the exit status, with `msg`
 * set when it is not 0 and `answer` the target's answer when it is. */
static int remote_run(const attach_args *a, const char *capture, char *answer, size_t answer_size,
                      char *msg, size_t msg_size)
{
    static gcm__remote r;
    char cmdline[GCM__REMOTE_CMDLINE_MAX];
    char *words[GCM__REMOTE_WORDS_MAX + 1];
    char inject[GCM_PATH_MAX];
    char work[GCM_PATH_MAX];
    char script_path[GCM_PATH_MAX + 32];
    char result[GCM_PATH_MAX + 32];
    char config[GCM_META_SIZE];
    char line[GCM__MSG_MAX];
    char *script = NULL;
    size_t len;
    int count = 0;
    int have_work = 0;
    int status = GCM__EXIT_USAGE;
    int rc;

    if (gcm__remote_locate(&r, a->pid, cmdline, words, &count, msg, msg_size) != 0)
        goto done;
    if (gcm__package_file("gc_monitor._inject", inject, sizeof inject, msg, msg_size) != 0)
        goto done;
    if (capture != NULL && config_text(&a->cfg, capture, config, sizeof config, msg, msg_size) != 0)
        goto done;
    /* A process that cannot import gc_monitor is refused before anything is
     * asked of it, when its environment can be reproduced outside. */
    if (capture != NULL) {
        char probe[GCM_PATH_MAX];

        if (gcm__package_file("gc_monitor._probe", probe, sizeof probe, msg, msg_size) != 0)
            goto done;
        if (gcm__attach_probe(&r, count, probe, line, sizeof line) == 1) {
            answer_refusal(&r, line, msg, msg_size);
            goto done;
        }
    }
    if (private_dir("attach", work, sizeof work) != 0) {
        (void)snprintf(msg, msg_size, "cannot create a private directory for the script");
        goto done;
    }
    have_work = 1;
    (void)snprintf(script_path, sizeof script_path, "%s/attach.py", work);
    (void)snprintf(result, sizeof result, "%s/answer", work);
    script = malloc(SCRIPT_MAX);
    if (script == NULL) {
        (void)snprintf(msg, msg_size, "out of memory");
        goto done;
    }
    len = make_script(script, result, capture != NULL ? config : NULL, capture);
    if (len == 0 || write_new_file(script_path, script, len) != 0) {
        (void)snprintf(msg, msg_size, "cannot write the script into '%s'", work);
        goto done;
    }
    rc = run_inject(words, count, inject, a->pid, script_path, line, sizeof line);
    if (rc < 0) {
        char why[128];
        (void)snprintf(msg, msg_size, "cannot run '%s' to attach to pid %lld: %s", words[0],
                       (long long)a->pid, gcm__errno_text(errno, why, sizeof why));
        goto done;
    }
    if (rc > 0) {
        inject_refusal(&r, line, msg, msg_size);
        goto done;
    }
    if (wait_answer(&r, result, line, sizeof line) != 0) {
        (void)snprintf(msg, msg_size,
                       "pid %lld did not run the request within %d s (it may be blocked outside "
                       "Python code, or it ended)",
                       (long long)a->pid, ANSWER_TIMEOUT_MS / 1000);
        status = 1;
        goto done;
    }
    if (strncmp(line, "ok ", 3) != 0) {
        answer_refusal(&r, line, msg, msg_size);
        goto done;
    }
    (void)snprintf(answer, answer_size, "%s", line + 3);
    status = 0;
done:
    free(script);
    if (have_work) {
        (void)unlink(script_path);
        (void)unlink(result);
        (void)rmdir(work);
    }
    return status;
}

/* The signal that ends a --duration early, 0 while none came. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Waits --duration seconds, or until Ctrl-C, SIGTERM or SIGHUP. */
static void wait_duration(double seconds)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    struct timespec left;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    if (sigemptyset(&sa.sa_mask) == 0) {
        for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
            (void)sigaction(sigs[i], &sa, NULL);
    }
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    while (stop_signal == 0 && nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

/* --duration's end: detaches, then writes the capture's report to stdout.
 * Returns the exit status: the report's, or detach's when it failed while
 * the process lives. */
static int detach_and_report(const attach_args *a, const char *capture)
{
    attach_args d = *a;
    char answer[GCM__MSG_MAX];
    char msg[GCM__MSG_MAX];
    char *words[3];
    int status;

    d.detach = 1;
    status = remote_run(&d, NULL, answer, sizeof answer, msg, sizeof msg);
    if (status != 0) {
        /* A process that ended meanwhile left its capture whole: report it. */
        if (kill((pid_t)a->pid, 0) != 0 && errno == ESRCH)
            status = 0;
        else
            gcm__complain("attach", msg);
    }
    words[0] = "report";
    words[1] = (char *)capture;
    words[2] = NULL;
    if (gcm__report_main(2, words) != 0 && status == 0)
        status = 1;
    return status;
}

/* The common body of both verbs. */
static int attach_main(int argc, char **argv, int detach)
{
    const char *verb = detach ? "detach" : "attach";
    attach_args args;
    char capture[GCM_PATH_MAX];
    char answer[GCM__MSG_MAX];
    char msg[GCM__MSG_MAX];
    char line[2 * GCM__MSG_MAX];
    int help = 0;
    int status = GCM__EXIT_USAGE;
    int n;

    memset(&args, 0, sizeof args);
    args.detach = detach;
    gcm_config_init(&args.cfg);
    capture[0] = '\0';
    if (parse_args(&args, argc, argv, &help, msg, sizeof msg) != 0) {
        gcm__complain(verb, msg);
        goto done;
    }
    if (help) {
        status = print_attach_help(&args) == 0 ? 0 : 1;
        goto done;
    }
    if (!detach && capture_path(&args, capture, sizeof capture, msg, sizeof msg) != 0) {
        gcm__complain(verb, msg);
        goto done;
    }
    status = remote_run(&args, detach ? NULL : capture, answer, sizeof answer, msg, sizeof msg);
    if (status != 0) {
        /* A default capture's directory is left only with a capture in it. */
        if (!detach && args.output == NULL) {
            char *slash = strrchr(capture, '/');
            if (slash != NULL) {
                *slash = '\0';
                (void)rmdir(capture);
            }
        }
        gcm__complain(verb, msg);
        goto done;
    }
    if (detach)
        n = snprintf(line, sizeof line,
                     "pygcprofiler detach: pid %lld stopped recording into '%s'\n",
                     (long long)args.pid, answer);
    else
        n = snprintf(line, sizeof line,
                     "pygcprofiler attach: pid %lld records into '%s'; 'pygcprofiler detach "
                     "%lld' stops it\n",
                     (long long)args.pid, answer, (long long)args.pid);
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
    if (!detach && args.duration_s > 0) {
        wait_duration(args.duration_s);
        status = detach_and_report(&args, answer);
    } else if (!detach) {
        /* The path alone on stdout, for a script to take. */
        n = snprintf(line, sizeof line, "%s\n", answer);
        if (n > 0 &&
            gcm__write_all(1, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) != 0)
            status = 1;
    }
done:
    return status;
}

int gcm__attach_main(int argc, char **argv)
{
    return attach_main(argc, argv, 0);
}

int gcm__detach_main(int argc, char **argv)
{
    return attach_main(argc, argv, 1);
}
