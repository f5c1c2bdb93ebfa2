/* src/report/report_internal.h: what the renderers under src/report/ share,
 * and the JSON line helpers the capture reader (src/capture/) uses too.
 *
 * The renderers build each line in a gcm__line (a fixed buffer on the stack,
 * so rendering a million events allocates nothing per event) and hand it to a
 * gcm_sink in one call.  The fd sink in sink.c gathers those whole lines into
 * one larger buffer and writes it out only at line boundaries.  Everything here
 * runs at report time on one thread; none of it is on the recording path.
 */
#ifndef GCM_REPORT_INTERNAL_H
#define GCM_REPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gc_monitor/report.h"
#include "gc_monitor/stats.h"

/* The longest line a renderer builds in one piece.  Event, alert and summary
 * lines are far shorter; only caller text (a command) can be longer, and that
 * path sizes its own buffer. */
#define GCM__LINE_CAP 512

/* The largest integer JSON readers that hold numbers as doubles keep exact
 * (2^53 - 1); summary_json.c clamps at the same value. */
#define GCM__JSON_MAX_EXACT ((UINT64_C(1) << 53) - 1u)

/* One line under construction.  Appends past the capacity set `overflow`
 * instead of writing, so a bug truncates nothing silently: emit refuses it. */
typedef struct gcm__line {
    size_t len;
    int overflow;
    char buf[GCM__LINE_CAP];
} gcm__line;

/* Empties `l`. */
void gcm__line_reset(gcm__line *l);

/* Appends `n` bytes of `s`.  Inline, so that the many fixed-size appends of an
 * event line become a few moves instead of calls into memcpy. */
static inline void gcm__line_mem(gcm__line *l, const char *s, size_t n)
{
    if (n > GCM__LINE_CAP - l->len) {
        l->overflow = 1;
        return;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

/* Appends the NUL-terminated string `s`. */
void gcm__line_str(gcm__line *l, const char *s);

/* Appends a string literal without measuring it at run time. */
#define GCM__LINE_LIT(l, s) gcm__line_mem((l), ("" s), sizeof(s) - 1u)

/* Appends `n` copies of the character `c`. */
void gcm__line_fill(gcm__line *l, char c, size_t n);

/* Appends `v` in decimal. */
void gcm__line_u64(gcm__line *l, uint64_t v);

/* Appends `v` in decimal, with a '-' when negative. */
void gcm__line_i64(gcm__line *l, int64_t v);

/* Appends units / 10^decimals with exactly `decimals` digits after the point
 * (decimals <= 9), e.g. (52300, 3) -> "52.300". */
void gcm__line_fixed(gcm__line *l, uint64_t units, unsigned decimals);

/* Appends a pause in the documented units of the "GMEM" lines: under 1 ms "%.3fms", under
 * 1 s "%.1fms", otherwise "%.2fs", rounded half up from exact nanoseconds. */
void gcm__line_duration(gcm__line *l, uint64_t ns);

/* Appends a duration in milliseconds with the fewest digits that show it
 * exactly to the nanosecond (1000000 -> "1ms", 500000 -> "0.5ms"). */
void gcm__line_ms_exact(gcm__line *l, uint64_t ns);

/* Appends Unix time `ns` as seconds with six decimals (microseconds),
 * rounded half away from zero: 1764349200012000000 -> "1764349200.012000". */
void gcm__line_unix_seconds(gcm__line *l, int64_t ns);

/* Adds Unix time `ns` to the JSON object `obj` under `key`, written by
 * gcm__line_unix_seconds (a double would print noise digits past the
 * microsecond).  Returns the new item, or NULL when cJSON fails. */
struct cJSON;
struct cJSON *gcm__json_add_unix_seconds(struct cJSON *obj, const char *key, int64_t ns);

/* Appends printf-formatted text; for the rare lines only, never per event. */
void gcm__line_printf(gcm__line *l, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Right-aligns the text appended since offset `from` in a field of `width`
 * columns by inserting spaces before it (nothing happens if it is wider). */
void gcm__line_align_right(gcm__line *l, size_t from, size_t width);

/* Appends a table cell of `width` columns, right-aligned: the pause `ns` as
 * gcm__line_duration writes it, or "-" for a row of `count` 0 (no pauses). */
void gcm__line_time_cell(gcm__line *l, uint64_t ns, uint64_t count, size_t width);

/* Pads with spaces so that the text since offset `from` is `width` columns. */
void gcm__line_pad_to(gcm__line *l, size_t from, size_t width);

/* The start of a table row: two spaces, `label` padded to `label_width`
 * columns, then `count` right-aligned in `count_width`. */
void gcm__line_table_row(gcm__line *l, const char *label, size_t label_width, uint64_t count,
                         size_t count_width);

/* A table's heading row after an empty label column: "collections" in
 * `count_width` columns, then each of `heads` right-aligned in `width`. */
void gcm__line_table_head(gcm__line *l, size_t label_width, size_t count_width,
                          const char *const *heads, size_t n, size_t width);

/* Appends a JSON integer, clamped to GCM__JSON_MAX_EXACT as the summary's
 * are, so no reader ever sees an integer it cannot hold. */
void gcm__line_json_u64(gcm__line *l, uint64_t v);

/* Appends '\n' and writes the line to `sink` in one call.  Returns 0, the
 * sink's error, or GCM_ERANGE if the line overflowed its buffer. */
int gcm__line_emit(gcm__line *l, const gcm_sink *sink);

/* Rounds a / b half up, without the overflow of (a + b / 2) / b.  b > 0. */
uint64_t gcm__div_round(uint64_t a, uint64_t b);

/* Unix time in nanoseconds of a CLOCK_MONOTONIC reading taken in the process
 * whose block had this clock pair at init. */
int64_t gcm__event_realtime_ns(const gcm_snapshot *snap, uint64_t monotonic_ns);

/* ---- the sinks (sink.c) ---- */

typedef struct gcm__fdbuf {
    int fd;
    int status; /* the first write error; later lines are dropped */
    char *buf;
    size_t cap;
    size_t len;
} gcm__fdbuf;

/* How much of a `cap`-byte buffer to fill before writing to `fd`: all of it
 * for a regular file, where an O_APPEND write of any size lands whole, but
 * at most PIPE_BUF for a pipe, socket or terminal, where only writes that
 * small are atomic, so concurrent writers (forked workers sharing stderr)
 * can never cut into a line. */
size_t gcm__fdbuf_capacity_for(int fd, size_t cap);

/* Points `b` at caller-provided storage `buf` of `cap` bytes for `fd`. */
void gcm__fdbuf_init(gcm__fdbuf *b, int fd, char *buf, size_t cap);

/* gcm_sink writer over a gcm__fdbuf at `ctx`: buffers whole lines, flushing
 * before a line that would not fit; a line larger than the buffer goes out
 * alone in one write.  Returns 0 or the sticky GCM_EIO. */
int gcm__fdbuf_write(void *ctx, const char *data, size_t len);

/* Writes out whatever is buffered.  Returns 0 or the sticky GCM_EIO. */
int gcm__fdbuf_flush(gcm__fdbuf *b);

/* ---- renderers ---- */

/* The event and alert lines of the text report (none when stats-only); the
 * summary (summary_text.c) and the sections after it follow (render.c). */
int gcm__render_text_events(const gcm_report_input *in, const gcm_sink *sink);

/* The event and alert objects of the JSON Lines report (none when
 * stats-only); the objects of the other sections and the summary follow (render.c). */
int gcm__render_jsonl_events(const gcm_report_input *in, const gcm_sink *sink);

/* The {"type": "summary"} object of `snap`, the last line of a JSON report. */
int gcm__render_jsonl_summary(const gcm_snapshot *snap, const gcm_sink *sink);

/* The start lines of gcm_report_start_fd, with the clock reading passed in so
 * tests can fix it. */
int gcm__render_start(const gcm_config *config, const char *command, int64_t pid,
                      int64_t realtime_ns, const gcm_sink *sink);

/* The text summary section, "=== GC MONITORING SUMMARY ===" and all below it. */
int gcm__render_summary_text(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink);

/* causes.c: the "GC causes" table under the pause times (nothing when there
 * were no collections; one "not recorded" line for a version 1 capture).
 * Returns 0 or the sink's error. */
int gcm__render_causes_text(const gcm_summary *sum, const gcm_sink *sink);

/* triggers.c: the "Top GC triggers" table, or the JSON line of type
 * "triggers" (nothing without in->stacks).  Returns 0 or a GCM_E* code. */
int gcm__render_triggers_text(const gcm_report_input *in, const gcm_sink *sink);
int gcm__render_triggers_jsonl(const gcm_report_input *in, const gcm_sink *sink);

/* The table `t` of a whole process tree (gcm_stacks_merge), under the title
 * "Top GC triggers across the tree".  Returns 0 or a GCM_E* code. */
int gcm__render_tree_triggers_text(const struct gcm_stack_table *t, const gcm_sink *sink);

/* Adds the keys of the "triggers" JSON object (every call site of `t`, the
 * "other" row, the table's dimensions) to `root`.  Returns 0 or GCM_ENOMEM. */
int gcm__triggers_json(const struct gcm_stack_table *t, struct cJSON *root);

/* causes.c: adds the summary's "causes" member to `root` (null when not
 * recorded).  Returns 0 or -1 when memory runs out. */
struct cJSON;
int gcm__add_causes_json(struct cJSON *root, const gcm_summary *sum);

/* requests.c: the per-request GC time of a web middleware, two text lines
 * after the causes, or the summary's "requests" member; nothing when no
 * middleware ran.  Return 0, or the sink's error / -1 when memory runs out. */
int gcm__render_requests_text(const gcm_summary *sum, const gcm_sink *sink);
int gcm__add_requests_json(struct cJSON *root, const gcm_summary *sum);

/* "=== GC THRESHOLD RECOMMENDATIONS ===" and its advice lines, rendered after
 * the summary.  Writes nothing, heading included, when no rule fired. */
int gcm__render_advice_text(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm_sink *sink);

/* The JSON counterpart of gcm__render_advice_text: one object per line. */
int gcm__render_advice_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink);

/* ---- shared by the section renderers (advice, timeline, flame graphs, dumps,
 * prompt): facts.c, line.c and sink.c ---- */

/* Why generation numbers mean nothing on this interpreter, if they do not. */
enum {
    GCM__GENS_MEANINGFUL = 0,
    GCM__GENS_FREE_THREADED = 1, /* one generation, every automatic collection reported as 0 */
    GCM__GENS_INCREMENTAL = 2    /* 3.14.0 to 3.14.4: every automatic collection reported as 1 */
};

/* Returns GCM__GENS_* for the interpreter `in` describes. */
int gcm__generations_mislead(const gcm_report_input *in);

/* Reads the interpreter's version ("3.13.1") into v[0..2]; 0 when unknown. */
int gcm__version_of(const gcm_report_input *in, long v[3]);

/* Pauses of `g` at or over the budget `slo`: the exact alert count when
 * `slo` is the recorder's alert threshold `threshold`, else counted from the
 * histogram (a bucket counts when its midpoint reaches the budget). */
uint64_t gcm__over_budget(const gcm_gen_snapshot *g, uint64_t slo, uint64_t threshold);

/* Appends a count of seconds given in nanoseconds with the fewest decimals
 * that show it exactly (5000000000 -> "5", 250000000 -> "0.25"). */
void gcm__line_seconds_exact(gcm__line *l, uint64_t ns);

/* Converts a configured width in seconds to whole nanoseconds, at least 1. */
uint64_t gcm__seconds_to_ns(double seconds);

/* Nanoseconds from the start of monitoring to the start of `ev` (0 for a
 * start that a damaged clock put before it). */
uint64_t gcm__event_offset_ns(const gcm_snapshot *snap, const gcm_event *ev);

/* Appends `text` for a text report, at most `max_bytes` of it: control
 * characters shown as \n, \t or \xHH, so outside text stays on its line.
 * A sequence is never cut in the middle of its escape. */
void gcm__line_text_escaped(gcm__line *l, const char *text, size_t max_bytes);

/* Writes `text` (lines ending in '\n') as one JSON object line
 * {"type": <type>, <key>: text} when `json`, else line by line, to `sink`. */
int gcm__emit_block(const char *type, const char *key, const char *text, size_t len, int json,
                    const gcm_sink *sink);

struct cJSON;

/* Writes `obj` unformatted and its newline to `sink` in one call, so a JSON
 * line is never split around another writer's.  The launcher's
 * gcm__write_json_line is this over a file descriptor.  Returns 0, GCM_ENOMEM
 * or the sink's error. */
int gcm__sink_json_line(const struct cJSON *obj, const gcm_sink *sink);

/* gcm__sink_json_line of `obj`, which it then frees; a NULL `obj` (cJSON ran
 * out of memory building it) is GCM_ENOMEM. */
int gcm__sink_json_take(struct cJSON *obj, const gcm_sink *sink);

/* A growing in-memory sink, for sections built whole before they are written
 * (the prompt).  `buf` is NUL-terminated and freed with free(). */
typedef struct gcm__membuf {
    char *buf;
    size_t len;
    size_t cap;
} gcm__membuf;

/* gcm_sink writer over a gcm__membuf at `ctx`.  Returns 0 or GCM_ENOMEM. */
int gcm__membuf_write(void *ctx, const char *data, size_t len);

/* ---- the verdict (verdict.c) ---- */

/* The evidence minimum: below a second of wall time or ten collections,
 * shares and rates are extrapolations, so nothing is judged or advised from
 * them (docs/recommendations.md). */
#define GCM__MIN_WALL_NS 1000000000u
#define GCM__MIN_COLLECTIONS 10u
/* The width of the worst window. */
#define GCM__WINDOW_NS 1000000000u
/* The verdict's limits: HURTING LATENCY at or over the first, NOTICEABLE at
 * or over the second (and a pause budget, --slo-ms, see verdict.c). */
#define GCM__HURT_SHARE_PCT 10.0
#define GCM__HURT_WINDOW_PCT 25.0
#define GCM__NOTICE_SHARE_PCT 2.0
#define GCM__NOTICE_WINDOW_PCT 10.0

typedef struct gcm__verdict {
    int level;                /* GCM_VERDICT_* */
    int enough;               /* the evidence minimum was met */
    uint64_t slo_ns;          /* the pause budget; 0 judges no pause (an alert threshold of 0) */
    int slo_given;            /* 1 for --slo-ms, 0 for the alert threshold */
    uint64_t over_slo;        /* pauses at or over the budget ... */
    int over_exact;           /* ... counted exactly (1), or from the histogram (0) */
    int have_window;          /* the run lasted a whole window */
    uint64_t window_ns;       /* GC time in the worst one-second window of the retained events */
    uint64_t window_start_ns; /* its start, from the start of monitoring */
    double window_pct;
    int window_partial;      /* the ring lost older collections: the window is of the newest */
    int explicit_known;      /* 1 when the recording has causes (gcm_summary.causes_known) */
    uint64_t explicit_count; /* gc.collect() calls among the collections */
    uint64_t explicit_ns;
    uint64_t explicit_min; /* full collections that must have been gc.collect() calls */
    gcm__line why;         /* the figure that decided, as a clause */
} gcm__verdict;

/* Computes the verdict of `in` and its summary `sum` from the aggregates
 * (the worst window from the retained events). */
void gcm__verdict_compute(const gcm_report_input *in, const gcm_summary *sum, gcm__verdict *v);

/* "=== GC VERDICT ===", the verdict line and its KPI lines. */
int gcm__render_verdict_text(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink);

/* The {"type": "verdict"} object, for the caller to own and cJSON_Delete;
 * NULL only if memory runs out. */
struct cJSON *gcm__verdict_json(const gcm_report_input *in, const gcm_summary *sum);

/* The {"type": "verdict"} object as one JSON line. */
int gcm__render_verdict_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                              const gcm_sink *sink);

/* The verdict line and the KPI lines without the heading (the prompt's). */
int gcm__verdict_lines(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink);

/* Appends to `l` the call site of the stack that ran the most gc.collect()
 * collections ("app.py:12 in tidy", and the program's own caller when that is
 * a library's), from the --stacks table `t` (triggers.c).  Returns 1, or 0
 * with `l` untouched when `t` is NULL or holds no explicit collection. */
struct gcm_stack_table;
int gcm__explicit_call_site(const struct gcm_stack_table *t, gcm__line *l);

/* The names the exported profiles give the stand-in frames of a --stacks
 * table: the "other" row of a full table, a frame whose code found the sites
 * full, and the outer frames a --stack-depth left out. */
#define GCM__FRAME_OTHER_STACKS "(other stacks: the table was full)"
#define GCM__FRAME_UNNAMED "(unnamed code)"
#define GCM__FRAME_CUT "(outer frames beyond --stack-depth)"

/* One stack of a --stacks table as a profile shows it. */
typedef struct gcm__trigger_stack {
    const struct gcm_stack_frame *frames; /* innermost first; NULL for the "other" row */
    uint32_t depth;                       /* frames in `frames` */
    int truncated;                        /* deeper than --stack-depth: outer frames left out */
    uint64_t total_ns;                    /* its pause time */
} gcm__trigger_stack;

/* Calls `visit` with `ctx` for each stack of `t` that counted a collection,
 * in table order, then for the "other" row when it counted one, so that the
 * stacks visited add up to every pause the table counted (triggers.c).  A
 * whole stack's outermost frames that are the launcher's own (its bootstrap
 * and the -c program that calls it) are left out of `depth`.
 * Stops at the first nonzero return and returns it; 0 otherwise. */
int gcm__trigger_stacks_each(const struct gcm_stack_table *t,
                             int (*visit)(const gcm__trigger_stack *stack, void *ctx), void *ctx);

/* The --stacks-file lines of `in`'s table (triggers_folded.c), into any sink. */
int gcm__render_stacks_folded(const gcm_report_input *in, const gcm_sink *sink);

/* ---- the advice (advice.c) ---- */

/* What the advice rules found, computed once from the aggregates (and, for
 * the shape of the heap over time, the retained generation 2 pauses). */
typedef struct gcm__advice_flags {
    int mislead;           /* GCM__GENS_*: per-generation rules left out when not 0 */
    int dump_garbage;      /* --dump-garbage was on: pauses are not representative */
    int enough;            /* the evidence minimum was met */
    gcm__verdict v;        /* the verdict the advice follows */
    int frozen;            /* the program froze objects itself (gc.get_freeze_count() > 0) */
    uint64_t explicit_min; /* full collections that must have been gc.collect() calls */
    int explicit_full;     /* ... and they are at least half of the full collections */
    int over_budget[GCM_GENERATIONS]; /* a generation's p99 reached the pause budget */
    int wasted[GCM_GENERATIONS];      /* its collections freed almost nothing, at a cost */
    int heap_early;      /* young collections between the newest full ones are steady */
    int heap_growing;    /* they grow: so does the long-lived heap */
    uint64_t heap_at_ns; /* the start of the oldest of them, from the start of monitoring */
    int freeze;          /* gc.freeze() after start-up, with its evidence */
    int young;           /* young collections cost enough to raise threshold 0 */
    double young_share;  /* their share of wall time, percent */
    int young_cycles;    /* ... and free many objects each: reference cycles */
    uint64_t step;       /* the bounded factor of threshold 0 */
    int uncollectable;
} gcm__advice_flags;

/* The advice limits, documented in docs/recommendations.md. */
#define GCM__LONG_FULL_NS 10000000u /* a long generation 2 pause */
#define GCM__FEW_FREED_PER_MS 100u  /* "almost nothing": objects freed per ms of pause */
#define GCM__LOW_EFFICIENCY_PCT 1.0 /* 3.15+: collected / candidates under this */
#define GCM__COSTS_PCT 1.0          /* a generation's GC time worth advice, of wall time */
#define GCM__YOUNG_SHARE_PCT 2.0    /* young collections' share that calls for a step */
#define GCM__YOUNG_MIN 100u         /* young collections needed to judge their rate */
#define GCM__CYCLES_FREED 10u       /* objects freed per young collection: cycles */
#define GCM__STEP_MAX 4u            /* the largest factor of threshold 0 in one step */
#define GCM__SHAPE_PAUSES 6u        /* the newest full collections that tell the heap's shape */
#define GCM__GROWTH 1.3             /* young collections between full ones, newer over older */

/* Fills `flags` from `sum`, the facts of `in` and the verdict `v`. */
void gcm__advice_derive(const gcm_report_input *in, const gcm_summary *sum, const gcm__verdict *v,
                        gcm__advice_flags *flags);

/* Writes every advice line of `flags`, in the fixed order, without a header.
 * Sets *count to the number of advice (and note) entries written. */
int gcm__advice_lines(const gcm_report_input *in, const gcm_summary *sum,
                      const gcm__advice_flags *flags, const gcm_sink *sink, size_t *count);

/* The figures of one time bucket, or of a run of empty ones. */
typedef struct gcm__interval_row {
    uint64_t first; /* index of the first bucket of the row, from the start of monitoring */
    uint64_t last;  /* index of the last one (> first only for a run of empty buckets) */
    uint64_t count;
    uint64_t total_ns;
    uint64_t max_ns;
    uint64_t gen[GCM_GENERATIONS];    /* collections per generation */
    uint64_t gen_ns[GCM_GENERATIONS]; /* pause time per generation */
} gcm__interval_row;

typedef int (*gcm__interval_fn)(void *ctx, const gcm__interval_row *row);

/* Calls `fn` for each row of the retained window in `width_ns` buckets,
 * oldest first: one per non-empty bucket, and one per run of empty buckets
 * between two of them.  Stops at and returns the first non-zero result. */
int gcm__walk_intervals(const gcm_report_input *in, uint64_t width_ns, gcm__interval_fn fn,
                        void *ctx);

/* The "GC activity over time" table (--interval) of the summary. */
int gcm__render_timeline_text(const gcm_report_input *in, const gcm_sink *sink);

/* One {"type":"timeline"} object per non-empty --interval of the retained window. */
int gcm__render_timeline_jsonl(const gcm_report_input *in, const gcm_sink *sink);

/* The --terminal-flamegraph chart (text reports only). */
int gcm__render_terminal_flamegraph(const gcm_report_input *in, const gcm_sink *sink);

/* The folded flame graph lines of gcm_flamegraph_render_fd, into any sink. */
int gcm__render_folded(const gcm_report_input *in, const gcm_sink *sink);

/* The Chrome trace-event JSON of the retained events of `count` processes
 * (trace.c), one pid track each. */
int gcm__render_trace(const gcm_report_input *const *ins, size_t count, const gcm_sink *sink);
/* The speedscope JSON of `count` processes (speedscope.c). */
int gcm__render_speedscope(const gcm_report_input *const *ins, size_t count, const gcm_sink *sink);
/* Nanoseconds from the earliest start of monitoring among `count` inputs to
 * the start of monitoring of input `i`, by their realtime clocks: the shared
 * time base of a process tree's trace and profiles (trace.c). */
uint64_t gcm__process_offset_ns(const gcm_report_input *const *ins, size_t count, size_t i);
/* 1 when `ins` holds `count` (at least one) inputs, each with a snapshot, a
 * configuration and its events (trace.c). */
int gcm__inputs_valid(const gcm_report_input *const *ins, size_t count);
/* Renders `count` inputs with `render` (the trace's, speedscope's) to `fd`
 * through one buffer (trace.c).  Returns 0, GCM_EINVAL for invalid inputs,
 * or the renderer's or the write's error. */
/* Writes the file `path` (nothing when it is "") of `in` with `render_fd`,
 * by the one output policy: created 0600 beside it, then renamed over a
 * regular file there; anything else at the path is refused (trace.c).
 * Returns 0 or an error code. */
int gcm__write_report_file(const gcm_report_input *in, const char *path,
                           int (*render_fd)(const gcm_report_input *in, int fd));
int gcm__render_many_fd(const gcm_report_input *const *ins, size_t count, int fd,
                        int (*render)(const gcm_report_input *const *ins, size_t count,
                                      const gcm_sink *sink));

/* The --dump-objects and --dump-garbage sections, text or JSON per the config. */
int gcm__render_objects(const gcm_report_input *in, const gcm_sink *sink);
int gcm__render_garbage(const gcm_report_input *in, const gcm_sink *sink);

/* The ranked "count  type" table of `c`, at most GCM_TOP_TYPES rows, most
 * objects first; nothing when it has no types. */
int gcm__render_type_table(const gcm_object_census *c, const gcm_sink *sink);

/* The --prompt section, text or one JSON object per the config. */
int gcm__render_prompt(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink);

struct cJSON;

/* Writes `obj` unformatted and its newline to `fd` in one write, so that a
 * report line is never split around another writer's.  Returns 0, GCM_ENOMEM
 * or GCM_EIO. */
int gcm__write_json_line(int fd, const struct cJSON *obj);

/* Evaluates a cJSON_Add*() call and jumps to the caller's `done` label when it
 * returns NULL (cJSON ran out of memory); the caller's status says so. */
#define GCM__JSON_ADD(call)                                                                        \
    do {                                                                                           \
        if ((call) == NULL)                                                                        \
            goto done;                                                                             \
    } while (0)

#endif /* GCM_REPORT_INTERNAL_H */
