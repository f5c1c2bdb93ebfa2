/* src/ext/dump.h: facts about the interpreter gathered at report time.
 *
 * The report's renderers are plain C and know nothing of Python; the
 * prompt, the gen0 advice and the --dump-objects / --dump-garbage tables
 * need a few facts only the interpreter has.  gcm__exit_facts_gather reads
 * them once, with the GIL held, when the report is about to be written (at
 * exit, after the target finished): the version string, the thresholds and
 * the freeze count always; the census of every object the GC tracks and the
 * contents of gc.garbage only when asked for.  The result owns copies of
 * every string, so it stays valid after the GIL is released for rendering.
 * The --flamegraph-file, the one other output of the report, is written
 * from here too.
 */
#ifndef GCM_EXT_DUMP_H
#define GCM_EXT_DUMP_H

#include "ext.h"

typedef struct gcm__census {
    gcm_type_count *types; /* PyMem_Raw*, each name PyMem_RawMalloc'd */
    size_t count;
    size_t cap;
    uint64_t total;
    int gathered;
} gcm__census;

typedef struct gcm__exit_facts {
    int have_gc_state;
    int64_t threshold[GCM_GENERATIONS];
    int have_freeze_count;
    uint64_t freeze_count;
    uint64_t freeze_at_start;
    int have_peak_rss;
    uint64_t peak_rss_bytes; /* getrusage(RUSAGE_SELF) ru_maxrss, KiB on Linux, in bytes */
    int world_unsafe;        /* the census and the freeze count were skipped (see gather) */
    gcm__census objects;
    gcm__census garbage;
    gcm_garbage_repr reprs[GCM_GARBAGE_REPRS]; /* strings PyMem_RawMalloc'd */
    size_t repr_count;
} gcm__exit_facts;

/* Fills `facts` for the report of `config` (zeroing it first).  Needs the
 * GIL.  Never raises: whatever cannot be read is left out (and the report
 * says "not gathered"), and any exception on the way is cleared.
 * `freeze_baseline` is gcm__freeze_count_now at the start of monitoring. */
void gcm__exit_facts_gather(gcm__exit_facts *facts, const gcm_config *config,
                            uint64_t freeze_baseline);

/* gc.get_freeze_count() now, 0 if it cannot be read.  Needs the GIL; never
 * raises.  CPython itself may have frozen objects before the program ran
 * (3.12 freezes a few hundred at start-up), which are not the program's. */
uint64_t gcm__freeze_count_now(void);

/* Points the optional fields of `in` at `facts`. */
void gcm__exit_facts_apply(const gcm__exit_facts *facts, gcm_report_input *in);

/* Frees what gcm__exit_facts_gather allocated.  Needs no GIL. */
void gcm__exit_facts_release(gcm__exit_facts *facts);

/* Writes the --flamegraph-file of `self` from `in`, when one is configured:
 * the process that created the recorder replaces the path, a fork child
 * writes its own derived name (report.h).  Called with the GIL, which it
 * releases while writing.  Like the report, a file that cannot be written is
 * given up silently. */
void gcm__write_flamegraph_file(const gcm__recorder *self, const gcm_report_input *in);

/* Writes the --html-file of `self` from `in`, when one is configured, in the
 * process that started monitoring only. */
void gcm__write_html_file(const gcm__recorder *self, const gcm_report_input *in);

/* Writes the --speedscope-file of `self` from `in` in the same way. */
void gcm__write_speedscope_file(const gcm__recorder *self, const gcm_report_input *in);

/* Writes the --stacks-file of `self` from `in` in the same way. */
void gcm__write_stacks_file(const gcm__recorder *self, const gcm_report_input *in);

#endif /* GCM_EXT_DUMP_H */
