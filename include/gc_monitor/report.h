/* gc_monitor/report.h: renderers, pure functions from a snapshot to a stream.
 *
 * A renderer reads a gcm_report_input (a snapshot, the retained window of
 * events and the configuration, all owned by the caller) and writes text
 * through a gcm_sink, one call per line so that each line reaches a file
 * descriptor in a single write(2).  Renderers never print on their own, never
 * exit, and allocate only transient memory that they free before returning
 * (cJSON trees for JSON objects).  They are not on the recording path: call
 * them at report time, from one thread.
 */
#ifndef GC_MONITOR_REPORT_H
#define GC_MONITOR_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/block.h"
#include "gc_monitor/config.h"
#include "gc_monitor/event.h"
#include "gc_monitor/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the JSON summary object and of the JSON Lines stream. */
#define GCM_JSON_SCHEMA_VERSION 1

/* Where rendered lines go.  `write` returns 0 or a negative GCM_E* code; a
 * renderer stops at the first failure and returns it. */
typedef struct gcm_sink {
    int (*write)(void *ctx, const char *data, size_t len);
    void *ctx;
} gcm_sink;

/* A sink writer for a file descriptor stored at `ctx` (an int *).  Retries
 * EINTR and short writes; returns GCM_EIO on any other failure (EPIPE,
 * EBADF), so a closed stderr silently ends the report.  The process must
 * ignore SIGPIPE (CPython does) for a broken pipe to be an error, not death. */
int gcm_sink_write_fd(void *ctx, const char *data, size_t len);

typedef struct gcm_report_input {
    const gcm_snapshot *snapshot;  /* required */
    const gcm_event *events;       /* retained window, oldest first; may be NULL */
    size_t event_count;
    uint64_t first_event_index;    /* record number of events[0] */
    const gcm_config *config;      /* required: selects text/JSON, stats-only, ... */
    const char *python_version;    /* e.g. "3.14.2"; NULL if unknown */
    int free_threaded;             /* 1 on a free-threaded (no-GIL) build */
} gcm_report_input;

struct cJSON;

/* Builds the JSON summary object of `snap`: "type": "summary",
 * "schema_version", the overall figures, one object per generation ("gen0" ..
 * "gen2") and the counters, exactly the keys GCMonitor.snapshot() returns plus
 * those two.  The caller owns the result and frees it with cJSON_Delete().
 * Returns NULL only if memory runs out. */
struct cJSON *gcm_summary_json(const gcm_snapshot *snap);

/* Renders the exit report that `in->config` asks for (text or JSON Lines)
 * into `sink`.  Returns 0 or the first negative GCM_E* code. */
int gcm_report_render(const gcm_report_input *in, const gcm_sink *sink);

/* Renders the start lines for `command` (the program as the user would have
 * run it with python) into `fd`: the original tool's two "GMEM" lines in text
 * mode, or one {"type": "start", ...} object with --json.  Returns 0 or a
 * negative GCM_E* code. */
int gcm_report_start_fd(const gcm_config *config, const char *command, int64_t pid, int fd);

/* Renders like gcm_report_render into file descriptor `fd`, through a buffer
 * that only ever flushes whole lines, so no line is split between two
 * write(2) calls: 256 KiB for a regular file (a million events cost a few
 * hundred writes, not a million), PIPE_BUF for a pipe or terminal (so writes
 * stay atomic among processes sharing it).  Returns 0 or the first negative
 * GCM_E* code (GCM_EIO for a closed or broken stream). */
int gcm_report_render_fd(const gcm_report_input *in, int fd);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_REPORT_H */
