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

/* The object and garbage tables list at most this many types, most common first. */
#define GCM_TOP_TYPES 20
/* At most this many repr()s of gc.garbage items are listed ... */
#define GCM_GARBAGE_REPRS 20
/* ... each cut to this many characters by whoever gathers them. */
#define GCM_REPR_MAX 80

/* How many objects of one type were counted.  The caller owns `name`. */
typedef struct gcm_type_count {
    const char *name; /* the type's name (tp_name), NUL-terminated UTF-8 */
    uint64_t count;   /* objects of that type */
} gcm_type_count;

/* A census of objects by type, gathered by the extension at exit, after the
 * target finished (the renderers only read it). */
typedef struct gcm_object_census {
    int gathered;                /* 1 when the figures below were gathered */
    const gcm_type_count *types; /* one entry per distinct type, in any order */
    size_t type_count;
    uint64_t total; /* objects counted, all types together */
} gcm_object_census;

/* One item of gc.garbage, for --dump-garbage.  The caller owns both strings. */
typedef struct gcm_garbage_repr {
    const char *type_name; /* the item's type name */
    const char *text;      /* its repr() cut to GCM_REPR_MAX characters, or why it failed */
} gcm_garbage_repr;

typedef struct gcm_report_input {
    const gcm_snapshot *snapshot; /* required */
    const gcm_event *events;      /* retained window, oldest first; may be NULL */
    size_t event_count;
    uint64_t first_event_index; /* record number of events[0] */
    const gcm_config *config;   /* required: selects text/JSON, stats-only, ... */
    const char *python_version; /* e.g. "3.14.2"; NULL if unknown */
    int free_threaded;          /* 1 on a free-threaded (no-GIL) build */
    /* Everything below is optional: zeroed (memset) means "unknown" or "not
     * gathered", and the renderers then say so or leave the part out. */
    const char *python_build;              /* sys.version, e.g. "3.12.1 (main, ...) [GCC 12.2.0]" */
    int have_gc_state;                     /* 1 when gc_threshold was read at exit */
    int64_t gc_threshold[GCM_GENERATIONS]; /* gc.get_threshold() */
    int have_freeze_count;                 /* 1 when freeze_count was read at exit */
    uint64_t freeze_count;                 /* gc.get_freeze_count() */
    uint64_t freeze_at_start;  /* gc.get_freeze_count() when monitoring began: CPython's own
                                 (3.12 freezes some at start-up), not the program's */
    int have_peak_rss;         /* 1 when peak_rss_bytes was read at exit */
    uint64_t peak_rss_bytes;   /* getrusage(RUSAGE_SELF) ru_maxrss, in bytes */
    int world_unsafe;          /* 1: a fork child of a free-threaded build, where the
                                      freeze count and the object census, which stop the
                                      world, were skipped */
    int is_tty;                /* the report stream is a terminal; gcm_report_render_fd sets it */
    gcm_object_census objects; /* --dump-objects: the objects gc.get_objects() returned */
    gcm_object_census garbage; /* --dump-garbage: the contents of gc.garbage */
    const gcm_garbage_repr
        *garbage_reprs; /* the first items of gc.garbage, at most GCM_GARBAGE_REPRS */
    size_t garbage_repr_count;
    const struct gcm_stack_table *stacks; /* --stacks: the trigger table, NULL without */
} gcm_report_input;

struct cJSON;

/* Builds the JSON summary object of `snap`: "type": "summary",
 * "schema_version", the overall figures, one object per generation ("gen0" ..
 * "gen2") and the counters, exactly the keys GCMonitor.snapshot() returns plus
 * those two.  The caller owns the result and frees it with cJSON_Delete().
 * Returns NULL only if memory runs out. */
struct cJSON *gcm_summary_json(const gcm_snapshot *snap);

/* Fills the verdict fields of `sum` (gcm_summarize's summary of
 * in->snapshot): the verdict, the pause budget (in->config->slo_ms, or the
 * snapshot's alert threshold) and the worst one-second window of the
 * retained events.  docs/recommendations.md documents the levels and their
 * limits.  Returns 0 or GCM_EINVAL. */
int gcm_verdict_fill(const gcm_report_input *in, gcm_summary *sum);

/* Renders the exit report that `in->config` asks for (text or JSON Lines)
 * into `sink`.  Returns 0 or the first negative GCM_E* code. */
int gcm_report_render(const gcm_report_input *in, const gcm_sink *sink);

/* Renders the start lines for `command` (the program as the user would have
 * run it with python) into `fd`: the two documented "GMEM" lines in text
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

/* Renders the folded flame graph ("collapsed stack" lines for flamegraph.pl
 * and speedscope) of the retained events into `fd`, one
 * "T+<bucket start>s;Gen <g>;<duration bucket> <microseconds>" line per
 * non-empty frame and nothing else: no comment line, which not every reader
 * skips (nothing at all when no event is retained).  Returns 0 or the first
 * negative GCM_E* code. */
int gcm_flamegraph_render_fd(const gcm_report_input *in, int fd);

/* Writes the folded flame graph to in->config->flamegraph_file, if one is
 * set, for the process that started monitoring, by the one output policy
 * (src/base/files.c): into a new file next to the path (O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode 0600), then renamed over the path, so a reader never sees
 * half a file.  Only a regular file or nothing at the path is replaced: a
 * symlink, a directory, a FIFO, a socket or a device there is refused and
 * left as it is.  Returns 0 (also when no file is configured) or a negative
 * GCM_E* code (GCM_EIO with errno set when the file cannot be made). */
int gcm_report_write_flamegraph(const gcm_report_input *in);

/* Like gcm_report_write_flamegraph, for a fork child: it never touches the
 * parent's file, but creates its own derived name exclusively, as
 * gcm_logfile_open_child names log files (flame.txt -> flame.<pid>.txt). */
int gcm_report_write_flamegraph_child(const gcm_report_input *in);

/* Renders the self-contained HTML page of the report (src/report/html.c):
 * the summary, the pause timeline and the per-generation histograms, its
 * data embedded as JSON, no network request possible.  Returns 0 or the
 * first negative GCM_E* code. */
int gcm_html_render_fd(const gcm_report_input *in, int fd);

/* The page of the `count` processes of a tree, in that order: a table of
 * them, each selectable, and the charts of the chosen one or of all. */
int gcm_html_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd);

/* Renders the retained events as one Chrome trace-event JSON object
 * ({"traceEvents": [...]}, for ui.perfetto.dev and chrome://tracing) into
 * `fd` (src/report/trace.c).  Returns 0 or the first negative GCM_E* code. */
int gcm_trace_render_fd(const gcm_report_input *in, int fd);

/* The same for the `count` processes of a tree, in that order: one pid track
 * each, on the clock of the earliest start of monitoring among them. */
int gcm_trace_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd);

/* Renders `count` processes as one speedscope JSON file (src/report/
 * speedscope.c, https://www.speedscope.app/file-format-schema.json): for each
 * process, a sampled profile of the stacks that triggered collections,
 * weighted by pause time (when in->stacks is set), and an evented profile of
 * its retained collections, one frame per generation.  Returns 0 or the first
 * negative GCM_E* code. */
int gcm_speedscope_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd);

/* Writes the speedscope file of one process to in->config->speedscope_file,
 * if one is set, by the policy of gcm_report_write_html.  Returns 0 (also
 * when no file is configured) or a negative GCM_E* code. */
int gcm_report_write_speedscope(const gcm_report_input *in);

/* Writes the --stacks table of one process (in->stacks) to
 * in->config->stacks_file, if one is set, as folded stacks (src/report/
 * triggers_folded.c): one line per stack, frames outermost first joined by
 * ';', each "function (file:line)", then a space and the stack's pause time
 * in whole microseconds; stacks under 0.5 us are left out.  By the policy of
 * gcm_report_write_html.  Returns 0 (also when no file is configured or there
 * is no table: the file is then empty) or a negative GCM_E* code. */
int gcm_report_write_stacks(const gcm_report_input *in);

/* The call site with the most pause time in the --stacks table `t`, the
 * first row of "Top GC triggers": writes it into `site` (`size` bytes, at
 * least 1) as "file:line in function", each file by its last component
 * only, and its collections and share of the pause time the table counted
 * into *count and *share_pct.  `site` is "" when the table has no
 * collection yet.  Returns 0 or GCM_ENOMEM. */
int gcm_report_top_trigger(const struct gcm_stack_table *t, char *site, size_t size,
                           uint64_t *count, double *share_pct);

/* Writes that page to in->config->html_file, if one is set, by the same
 * policy as gcm_report_write_flamegraph (0600, replaced atomically, only a
 * regular file or nothing at the path).  Returns 0 (also when no file is
 * configured) or a negative GCM_E* code. */
int gcm_report_write_html(const gcm_report_input *in);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_REPORT_H */
