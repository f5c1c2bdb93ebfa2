/* gc_monitor/reader.h: reading capture files for people: the report of one
 * capture, the process tree of several, how a writer ended, and finding the
 * capture a running process writes.
 *
 * `pygcprofiler report`, `live`, `compare` and the fuzz targets all read
 * captures through this library (src/capture/), on top of the mapping and
 * snapshot functions of capture.h and the renderers of report.h.  Every
 * capture is untrusted input: it is read only through gcm_capture_open and
 * gcm_capture_snapshot, and its metadata only through the bounded copies of
 * capture.h.
 *
 * Ownership: a gcm_capture_tree is allocated by gcm_capture_tree_load and
 * freed by gcm_capture_tree_free; everything else writes into caller-provided
 * storage.  Nothing here prints except to the descriptor it is given, or
 * exits; messages are one lowercase line without a trailing newline.
 */
#ifndef GC_MONITOR_READER_H
#define GC_MONITOR_READER_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/capture.h"
#include "gc_monitor/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Space for one message line, including a quoted path. */
#define GCM_READER_MSG_MAX (GCM_PATH_MAX + 256)

/* The most collection records one report copies out of a capture's ring:
 * 4,194,304 records, 192 MiB of copies.  A ring that retains more (--buffer-
 * events above this) is reported from its newest records, and the report
 * says so; every summary figure still covers every collection. */
#define GCM_READER_MAX_EVENTS ((uint64_t)1 << 22)

/* The forms a capture's report can take. */
typedef enum gcm_capture_format {
    GCM_CAPTURE_TEXT,      /* the text report, after "Capture ..." lines */
    GCM_CAPTURE_JSON,      /* JSON Lines, after one {"type": "capture"} object */
    GCM_CAPTURE_FOLDED,    /* flame graph input, stack lines only, nothing before them */
    GCM_CAPTURE_TERMINAL,  /* the text report with the terminal flame graph */
    GCM_CAPTURE_PERFETTO,  /* a Chrome trace-event JSON object, nothing before it */
    GCM_CAPTURE_SPEEDSCOPE /* a speedscope JSON file, nothing before it */
} gcm_capture_format;

/* What a report of a capture is asked for.  The report starts from the
 * options the writer recorded; each flag in `given_flags` (an option's flag,
 * without "--") then takes its value from `given` instead. */
typedef struct gcm_capture_request {
    gcm_capture_format format;
    const gcm_config *given;
    const char *const *given_flags;
    size_t given_count;
} gcm_capture_request;

/* Why a report could not be written in full. */
typedef struct gcm_capture_problem {
    int bad_input; /* 1: the request cannot be met (an unwritable --flamegraph-file) */
    int warning;   /* 1: the report was cut short by a failure after it began */
    char text[GCM_READER_MSG_MAX]; /* "" when the descriptor failed: nothing to say */
} gcm_capture_problem;

/* Explains a gcm_capture_open failure of `path` (its code, and the errno it
 * left in `err`) in one line into `msg`. */
void gcm_capture_open_error(const char *path, int code, int err, char *msg, size_t size);

/* Writes the report of the open capture `cap` (named `file` in the report's
 * head) to `fd` as `req` asks: what the capture says of its writer and how
 * it ended, then the renderers' report, and the flame graph file when one is
 * asked for.  Returns 0, or a negative GCM_E* code with `problem` saying why
 * (GCM_EIO with an empty text when `fd` failed). */
int gcm_capture_report(const gcm_capture *cap, const char *file, const gcm_capture_request *req,
                       int fd, gcm_capture_problem *problem);

/* Writes the captures `caps` (the processes of a tree, in that order) as one
 * file to `fd`: a trace (GCM_CAPTURE_PERFETTO) with a pid track per process,
 * or speedscope profiles (GCM_CAPTURE_SPEEDSCOPE) with one evented profile
 * per process.  Nothing comes before the file.  Returns 0, or a negative
 * GCM_E* code with `problem` saying why (GCM_EINVAL for any other format;
 * GCM_EIO with an empty text when `fd` failed). */
int gcm_capture_reports_render(const gcm_capture *const *caps, size_t count,
                               const gcm_capture_request *req, int fd,
                               gcm_capture_problem *problem);

/* Writes the HTML page of the captures `caps` (the processes of a tree, in
 * that order) to the file `path`, replaced whole (0600, never through a
 * symlink): a table of the processes, each selectable, and the charts of
 * the chosen one or of all.  Returns 0, or a negative GCM_E* code with
 * `problem` saying why (bad_input when the file cannot be written). */
int gcm_capture_tree_html(const gcm_capture *const *caps, size_t count,
                          const gcm_capture_request *req, const char *path,
                          gcm_capture_problem *problem);

/* The word for a block's GCM_STATE_* in reports: "exited", "killed", "gone", "detached",
 * or "running" for any other value. */
const char *gcm_capture_state_word(uint32_t state);

/* How a process ended, in a few words, into `buf`: "exited 0", "exited
 * (os._exit)", "killed by SIGTERM", "gone", "running". */
void gcm_capture_ending_text(uint32_t state, int32_t exit_status, char *buf, size_t size);

/* The captures of one process tree, read once. */
typedef struct gcm_capture_tree gcm_capture_tree;

/* Reads each of `files` (captures of one tree, each already opened once) into
 * a new tree in *out, and reorders `files` parents first: each root by start
 * time, then its children's subtrees.  Returns 0 or a negative GCM_E* code
 * (*out NULL then).  Free the tree with gcm_capture_tree_free. */
int gcm_capture_tree_load(const char **files, size_t count, gcm_capture_tree **out);

/* Returns the open capture of the `index`th process of `tree`, in tree order
 * (that of the `files` gcm_capture_tree_load reordered). */
const gcm_capture *gcm_capture_tree_capture(const gcm_capture_tree *tree, size_t index);

/* Writes the process table, the totals across `tree` and the worst of the
 * processes' verdicts to `fd`, as text or (when `json` is 1) as one
 * {"type": "tree"} JSON line.  Each process is judged first as its own
 * section judges it, with the pause budget `slo_ms` (--slo-ms given to
 * `report`), or, when 0, the one its run recorded.  Returns 0 or a negative
 * GCM_E* code (GCM_EIO when `fd` fails). */
int gcm_capture_tree_write(int fd, gcm_capture_tree *tree, double slo_ms, int json);

/* Frees a tree from gcm_capture_tree_load; NULL is ignored. */
void gcm_capture_tree_free(gcm_capture_tree *tree);

/* Finds the capture file that process `pid` writes (its -o FILE, mapped in
 * its address space) and writes its path into `out`.  Returns 0, or
 * GCM_EINVAL with one line in `msg` saying why not. */
int gcm_capture_find_pid(int64_t pid, char *out, size_t out_size, char *msg, size_t msg_size);

struct cJSON;

/* Loads the summary of one run from `path`, a --json report (its last
 * summary object) or a capture file (the summary its exit report would
 * have), and checks its schema_version.  Returns a new cJSON object the
 * caller frees with cJSON_Delete, or NULL with one line in `msg`. */
struct cJSON *gcm_capture_load_summary(const char *path, char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_READER_H */
