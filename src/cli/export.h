/* src/cli/export.h: what the files of `pygcprofiler export` share.
 *
 * export.c reads the command line and serves HTTP; export_procs.c keeps the
 * watched captures and writes their figures in the Prometheus text format.
 * docs/metrics.md describes the metrics.
 */
#ifndef GCM_CLI_EXPORT_H
#define GCM_CLI_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "cli.h"
#include "gc_monitor/capture.h"

/* At most this many capture arguments, and this many processes watched
 * (ended ones included until they are dropped). */
#define EXPORT_MAX_ARGS 64
#define EXPORT_MAX_PROCS 1024

/* An ended process stays in the metrics this long by default (seconds). */
#define EXPORT_KEEP_DEFAULT 300.0

typedef struct export_proc {
    char path[GCM_PATH_MAX];
    dev_t dev;
    ino_t ino;
    gcm_capture cap;
    gcm_snapshot *snap;  /* the latest snapshot (heap: about 100 KB) */
    int have_snap;       /* snap holds figures of this scrape */
    int child;           /* a FILE.<pid> capture beside another watched capture */
    int dropped;         /* ended longer ago than --keep-ended: to leave the table */
    uint64_t prev_gc_ns; /* pause time and wall time at the previous scrape, for the share */
    uint64_t prev_wall_ns;
    int have_prev;
    double share; /* GC share of wall time since the previous scrape (or since start) */
} export_proc;

typedef struct export_state {
    const char *args[EXPORT_MAX_ARGS]; /* capture files, directories or glob patterns */
    size_t arg_count;
    uint64_t keep_ns; /* how long an ended process stays */
    export_proc *procs[EXPORT_MAX_PROCS];
    size_t proc_count;
    size_t skipped; /* captures not watched because the table was full */
    /* The files of dropped processes, never opened again: 32 bytes each, so
     * a server that recycles its workers for months keeps a small table. */
    struct export_gone {
        dev_t dev;
        ino_t ino;
        struct timespec ctime; /* a new file that reuses the inode has another */
    } * gone;
    size_t gone_count;
    size_t gone_cap;
} export_state;

/* A growing text buffer for one response. */
typedef struct export_buf {
    char *data;
    size_t len;
    size_t cap;
    int failed; /* an allocation failed: the text is incomplete */
} export_buf;

/* Checks that every argument names at least one capture (a file must be
 * one, a directory or a pattern must hold one) and adds them.  Returns 0, or
 * GCM_EINVAL with one line in `msg`. */
int gcm__export_start(export_state *st, char *msg, size_t msg_size);

/* Looks for new captures (a pattern's new matches, a directory's new files,
 * the FILE.<pid> captures of children beside each watched capture),
 * snapshots every watched process and drops the ones that ended longer ago
 * than st->keep_ns. */
void gcm__export_refresh(export_state *st);

/* Writes the metrics of every shown process into `out`, in the Prometheus
 * text exposition format 0.0.4. */
void gcm__export_metrics(const export_state *st, export_buf *out);

/* Appends formatted text to `out`; a failed allocation sets out->failed. */
void gcm__export_printf(export_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Closes every watched capture and frees the table. */
void gcm__export_free(export_state *st);

#endif /* GCM_CLI_EXPORT_H */
