/* src/cli/remote.h: reading a process's collections from outside (remote.c).
 *
 * A process that was not started under pygcprofiler has no capture, but a
 * CPython 3.15+ process can be read from outside: the launcher runs
 * gc_monitor/_remote.py with the process's own interpreter, which polls
 * _remote_debugging.GCMonitor(pid) and writes the interpreter's newest
 * collections to a pipe; remote.c turns them into records of an ordinary
 * block, so `live` and `report` read it as they read any capture.
 */
#ifndef GCM_CLI_REMOTE_H
#define GCM_CLI_REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gc_monitor/block.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/config.h"

/* How often the reader polls the process: its ring keeps the newest 11
 * collections of the youngest generation (CPython 3.15.2), so at 1 ms it
 * sees every pause of a program that collects up to about 10,000 times a
 * second.  The reader then uses about 5% of one core (docs/live.md). */
#define GCM__REMOTE_POLL_MS 1

/* Bytes of reader output kept between two reads: the pipe itself holds up
 * to 1 MiB more (F_SETPIPE_SZ, when the system allows it). */
#define GCM__REMOTE_BUF 65536

typedef struct gcm__remote {
    int64_t pid;          /* the watched process */
    uint64_t start_ticks; /* its start time (field 22 of /proc/PID/stat) */
    pid_t reader;         /* the reader we started, -1 once reaped */
    int fd;               /* its stdout, -1 once closed */
    int baseline_done;    /* the first poll (what happened before the watch) was read */
    int ended;            /* the reader said the process is gone, or stopped */
    int failed;           /* the reader stopped while the process lived: `why` says why */
    uint64_t last_n[GCM_GENERATIONS]; /* the newest collection number taken, per generation */
    uint64_t last_collected[GCM_GENERATIONS];
    uint64_t last_uncollectable[GCM_GENERATIONS];
    uint64_t last_candidates[GCM_GENERATIONS];
    uint64_t last_duration_ns[GCM_GENERATIONS];
    char version[32];               /* the process's python, "3.15.2" */
    char interpreter[GCM_PATH_MAX]; /* the reader's interpreter: the process's own */
    char command[256]; /* the process's command line, printable (LINE_MAX_BYTES of live.h) */
    char why[256];     /* the reader's last words when it failed */
    char buf[GCM__REMOTE_BUF];
    size_t len;
} gcm__remote;

/* Words of a process's command line kept to run its interpreter (the
 * dynamic loader and its options, when python was started through one), and
 * the bytes of /proc/PID/cmdline read. */
#define GCM__REMOTE_WORDS_MAX 16
#define GCM__REMOTE_CMDLINE_MAX 4096

/* Finds how to run the interpreter of process `pid`, without running
 * anything: checks that it lives, is python, and that its build is still on
 * disk; fills r->pid, r->start_ticks, r->interpreter and r->command, and
 * `words` (NULL-terminated, pointing into `cmdline` and r) with `*count`
 * words.  Returns 0, or GCM_EINVAL with one line in `msg` (no such process,
 * no permission, not a Python process, a replaced build).  `live PID` and
 * `attach` (attach.c) share it. */
int gcm__remote_locate(gcm__remote *r, int64_t pid, char cmdline[GCM__REMOTE_CMDLINE_MAX],
                       char *words[GCM__REMOTE_WORDS_MAX + 1], int *count, char *msg,
                       size_t msg_size);

/* Starts reading process `pid` from outside: checks it, runs the reader with
 * the process's interpreter and waits for its first answer.  Returns 0, or
 * GCM_EINVAL with one line in `msg` (no such process, not a Python process,
 * not 3.15+, no permission, a mismatched build, no _remote_debugging). */
int gcm__remote_start(gcm__remote *r, int64_t pid, char *msg, size_t msg_size);

/* Creates the block the records go to: a capture file at `path`, or
 * anonymous memory when `path` is NULL, with the watched process's pid and
 * start time and metadata that says it was read from outside.  Returns 0,
 * or a gcm_capture_create code (errno set). */
int gcm__remote_block(const gcm__remote *r, const char *path, gcm_capture *cap);

/* Reads what the reader has written without waiting (or, with `wait_ms`
 * above 0, until it ends or that long has passed) and records every new
 * collection into `b`.  Returns 1 once the reader has ended (r->failed says
 * whether the process was still running), 0 otherwise. */
int gcm__remote_pump(gcm__remote *r, gcm_block *b, int wait_ms);

/* Stops and reaps the reader (our own child) and closes its pipe. */
void gcm__remote_stop(gcm__remote *r);

#endif /* GCM_CLI_REMOTE_H */
