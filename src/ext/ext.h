/* src/ext/ext.h: what the files of the CPython extension gc_monitor._core share.
 *
 * The extension is the only part of pygcprofiler that talks to CPython.  It has
 * one heap type, Recorder, which owns a recording block (include/gc_monitor/
 * block.h) and one C callable bound to it that the Python layer appends to
 * gc.callbacks.  Everything here is private to src/ext/; the Python-visible
 * surface is described in python/gc_monitor/_core.pyi.
 *
 * Threading: the callable runs on whichever thread collects.  CPython never
 * runs two collections at once, so each block has one writer; snapshots may be
 * taken from any thread while it writes (the block's atomics make that safe).
 * The list of live recorders is only touched with the GIL held, or under
 * `live_lock` on free-threaded builds.
 *
 * Fork: a pthread_atfork child handler bumps gcm__fork_epoch, which detaches
 * every recorder from its block before any Python code runs in the child; the
 * module's os.register_at_fork hook later gives each one a fresh block (and
 * so does a recorder's next snapshot or report, for a fork(2) made from C
 * code that never ran the Python-level hooks).
 */
#ifndef GCM_EXT_EXT_H
#define GCM_EXT_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdatomic.h>
#include <stdint.h>

#include "base/base.h"
#include "gc_monitor/gc_monitor.h"

/* A recorder's epoch once it is stopped: no fork ever reaches this value, so
 * the callback's single epoch comparison also filters stopped recorders. */
#define GCM__EPOCH_STOPPED UINT64_MAX

typedef struct gcm__recorder gcm__recorder;
typedef struct gcm__stacks gcm__stacks;

/* States of a recorder's watch over gc.get_stats() (src/ext/unseen.c). */
enum {
    GCM__GC_WATCH_OFF = 0,   /* never asked for, or the figures could not be read */
    GCM__GC_WATCH_ON = 1,    /* gc_baseline holds */
    GCM__GC_WATCH_REBASE = 2 /* a fork child's fresh block: the baseline is its parent's */
};

/* Per-module state (multi-phase init): nothing in the extension is a global
 * except the process-wide fork epoch. */
typedef struct gcm__module_state {
    PyTypeObject *recorder_type;
    gcm__recorder *live; /* doubly linked list of live recorders, for the fork hook */
#ifdef Py_GIL_DISABLED
    PyMutex live_lock; /* guards `live`; never taken on the recording path */
#endif
} gcm__module_state;

struct gcm__recorder {
    PyObject_HEAD
        /* The recording path reads these four; they come first to share a cache line. */
        _Atomic uint64_t epoch; /* fork epoch of `block`; GCM__EPOCH_STOPPED once stopped */
    _Atomic uint64_t start_ns;  /* clock at the pending "start", 0 when none is pending */
    gcm_block *block;           /* owned, PyMem_RawMalloc'd, gcm_block_size(capacity) bytes */
    uint64_t missed;            /* "stop" callbacks seen while detached after a fork */
    int info_in_place;          /* 1: info dicts are read in place (gcm__info_in_place_works) */
    PyObject *callback;         /* the bound C callable for gc.callbacks (strong) */
    PyObject *module;           /* strong: its state holds `live`; NULL once unlinked */
    gcm__recorder *prev;        /* links in gcm__module_state.live */
    gcm__recorder *next;
    size_t block_size;
    int mapped;           /* 1: `block` maps the -o capture file (munmap), 0: PyMem_RawMalloc'd */
    int stopped;          /* set once by stop(); also encoded in `epoch` */
    int64_t origin_pid;   /* the creating process: only it appends to the --log-file itself */
    int64_t followed_pid; /* a followed child's own pid (--follow-children), else 0 */
    int stderr_was_open;  /* fd 2 was open when the recorder was made: else no stderr report */
    int gc_watch;         /* GCM__GC_WATCH_*: is gc_baseline usable (unseen.c) */
    uint64_t gc_baseline; /* gc.get_stats() collections, less those seen, at the watch's start */
    uint64_t freeze_baseline; /* gc.get_freeze_count() at the watch's start: CPython's own */
    /* The report's state machine (recorder.c, Recorder.report_begin): the
     * GCM__REPORT_* state, the pid it belongs to and the token of the thread
     * writing the report, in one word so that one compare-and-swap moves
     * them together. */
    _Atomic uint64_t report_word;
    gcm__stacks *stacks; /* --stacks: the trigger table and its code cache (stacks.c), else NULL */
    gcm_config config;
};

/* The running thread's stack as the walk finds it: each frame's code
 * object (borrowed, alive while the frame runs) and instruction offset in
 * bytes, innermost first, with a hash of both that the walk computes as it
 * goes, so that a stack seen before is recognised without another pass. */
typedef struct gcm__raw_stack {
    uint32_t depth;     /* frames filled */
    uint32_t truncated; /* 1 when the thread had more than the walk's maximum */
    uint64_t hash;
    PyObject *codes[GCM_STACK_MAX_DEPTH];
    uint32_t offsets[GCM_STACK_MAX_DEPTH];
} gcm__raw_stack;

/* 1 when this build can read the running thread's frames without
 * allocating (src/ext/frames.c), 0 when --stacks must be refused. */
int gcm__frames_supported(void);

/* Fills `out` with up to `max` (at most GCM_STACK_MAX_DEPTH) frames of the
 * running thread, skipping frames owned by C.  Allocates nothing. */
void gcm__frames_walk(gcm__raw_stack *out, uint32_t max);

/* The line of the instruction at `offset` bytes into `code`, -1 if none. */
int gcm__frames_line(PyObject *code, uint32_t offset);

/* Makes the trigger table of a recorder whose config asks for --stacks.
 * Returns it, or NULL with ValueError (this Python cannot) or MemoryError. */
gcm__stacks *gcm__stacks_new(const gcm_config *cfg);

/* Releases the table and the code objects its cache holds. */
void gcm__stacks_free(gcm__stacks *s);

/* Formats the trigger table in the stacks region of `block` (`size` bytes
 * allocated or mapped), which gcm_config_block_params sized.  Returns 0 or
 * a GCM_E* code. */
int gcm__stacks_attach(gcm__stacks *s, gcm_block *block, size_t size);

/* In a fork child: moves the table into the child's new block `fresh`
 * (`size` bytes), keeping the parent's names and emptying the stacks, which
 * the child records anew.  Allocates nothing: the after-fork hook calls it
 * with the list of recorders locked.  Without room there the child records
 * no stacks. */
void gcm__stacks_move(gcm__stacks *s, gcm_block *fresh, size_t size);

/* The recording path: the stack of the collection starting now, then its
 * figures once it stopped.  Allocate nothing, never raise. */
void gcm__stacks_start(gcm__stacks *s);
void gcm__stacks_stop(gcm__stacks *s, uint32_t generation, uint64_t duration_ns, int explicit);

/* The table, for the report; NULL when `s` is. */
const struct gcm_stack_table *gcm__stacks_table(const gcm__stacks *s);

/* The process-wide fork epoch, bumped by the atfork child handler. */
extern _Atomic uint64_t gcm__fork_epoch;

/* Registers the pthread_atfork child handler once per process.  Returns 0 or
 * -1 with an exception set. */
int gcm__fork_install(void);

/* Returns the module state of `module`. */
gcm__module_state *gcm__state(PyObject *module);

/* Creates the Recorder heap type and adds it to `module`.  Returns 0 or -1
 * with an exception set. */
int gcm__recorder_type_add(PyObject *module);

/* Gives every live recorder of `module` a fresh block labelled with this
 * (child) process's pid, after a fork.  Returns 0 or -1 with an exception set. */
int gcm__recorder_after_fork(PyObject *module);

/* Whether this interpreter's info dicts can be read in place, without
 * PyDict_Next: builds dicts exactly as CPython's collector builds them and
 * compares what the in-place read finds with PyDict_Next's answers.
 * Returns 1 or 0; never raises (a failure to build them answers 0). */
int gcm__info_in_place_works(void);

/* The GC callback: METH_FASTCALL, `self` is the recorder.  Never raises. */
PyObject *gcm__recorder_gc_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

/* Converts the JSON summary `json` into a new dict, leaving out the keys
 * "type" and "schema_version".  Returns NULL with an exception set on failure. */
PyObject *gcm__summary_to_dict(const struct cJSON *json);

/* Decodes launcher config text into a new config for PyMem_Free().  Returns
 * it, or NULL with ValueError (bad text) or MemoryError set. */
gcm_config *gcm__config_from_text(PyObject *text);

/* `value` (str, bytes or os.PathLike) as bytes, a str encoded as
 * os.fsencode() does; NULL with an exception set. */
PyObject *gcm__fs_bytes(PyObject *value);

/* Gives `self` a block of this process if it still holds its parent's (a
 * fork from C that skipped the at-fork hooks).  Returns 0 or -1 with an
 * exception set.  For methods that read the block outside recorder.c. */
int gcm__recorder_own_block(gcm__recorder *self);

/* Recorder.check_budgets(rules=None): the broken budget rules (src/ext/budget.c). */
PyObject *gcm__recorder_check_budgets(PyObject *self, PyObject *args, PyObject *kwargs);

/* _core.parse_rule(text): a rule's canonical text, or ValueError. */
PyObject *gcm__parse_rule(PyObject *module, PyObject *text);

/* Has the capture `block` marked exited with python's exit status when the
 * process calls exit(3) (glibc's on_exit), or killed by a signal that ends
 * it after the report, and keeps its mapping until then (src/ext/exit.c).
 * The last block registered in a process is the one marked.  Returns 0 or
 * GCM_ENOMEM when on_exit(3) refuses; raises nothing, so the after-fork hook
 * may call it with the list of recorders locked. */
int gcm__exit_watch_block(gcm_block *block);

/* The same, returning -1 with an exception set on failure. */
int gcm__exit_watch_block_or_raise(gcm_block *block);

/* Returns 1 when `block` must stay mapped until the process ends because
 * gcm__exit_watch_block holds it, 0 otherwise. */
int gcm__exit_keeps(const gcm_block *block);

/* Reads a signal number a handler can take (not SIGKILL or SIGSTOP) from
 * `obj` into `out`.  Returns 0, or -1 with ValueError or TypeError set. */
int gcm__signal_arg(PyObject *obj, int *out);

/* _core.die_by_signal(signum): marks the capture, then ends the process by
 * the signal's default action; never returns unless the argument is bad. */
PyObject *gcm__exit_die_by_signal(PyObject *module, PyObject *arg);

/* _core.note_exit_signal(signum): marks this process's watched capture
 * "killed by `signum`" now (also done by the one-shot handlers). */
PyObject *gcm__exit_note_signal_py(PyObject *module, PyObject *arg);

/* cmdline.c: removes the launcher's "-c <bootstrap>" from the command line
 * that /proc/PID/cmdline shows; True if it did. */
PyObject *gcm__cmdline_drop_launcher_py(PyObject *module, PyObject *Py_UNUSED(ignored));

/* _core.arm_exit_signals(signums): for each signal, sets Python's handler to
 * SIG_DFL and installs beneath it a one-shot C handler that marks the
 * capture killed and dies by the default action.  Main thread only. */
PyObject *gcm__exit_arm_signals(PyObject *module, PyObject *arg);

/* _core.reraising(fn): a C callable that calls fn(*args) and raises the
 * exception instance fn returns, if any, without adding a frame of ours. */
PyObject *gcm__exit_reraising(PyObject *module, PyObject *fn);

/* _core.called_after(name, before, real): a C callable named `name` (kill,
 * killpg or raise_signal) that calls before(*args), then real(*args). */
PyObject *gcm__exit_called_after(PyObject *module, PyObject *args);

/* In a fork child: new timers, aimed at this thread, for the signals still
 * nudged, and each of them sent again if the child received it before this
 * hook (CPython's after-fork code forgets it). */
void gcm__nudge_after_fork(void);

/* _core.nudge_signal(signum): puts beneath CPython's C handler for `signum`
 * one that calls it and then sends the signal again to this (main) thread
 * every 20 ms until _core.nudge_done(signum), so that a Python handler noted
 * just before a blocking call still runs.  Call it right after
 * signal.signal() installed the Python handler. */
PyObject *gcm__nudge_signal_py(PyObject *module, PyObject *arg);
PyObject *gcm__nudge_done_py(PyObject *module, PyObject *arg);

/* causes.c: one word says what the callback needs to know about causes:
 * the thread state of a gc.collect() call in progress through the monitor's
 * wrapper (0 when none; a thread state is aligned, so its low bit is free),
 * or'ed with GCM__SHUTDOWN_BIT once the program's main code is over.  Zero,
 * the common case, means automatic: one load and one branch. */
#define GCM__SHUTDOWN_BIT ((uintptr_t)1)
extern _Atomic uintptr_t gcm__cause_word;

/* The cause when the word is not 0, out of line (causes.c). */
uint32_t gcm__cause_marked(uintptr_t word);

/* The cause (GCM_CAUSE_*) of the collection the calling thread is running:
 * for the callback's "stop", with the GIL held (or the thread attached). */
static inline uint32_t
gcm__cause_now(void)
{
    uintptr_t word = atomic_load_explicit(&gcm__cause_word, memory_order_relaxed);

    if (GCM__UNLIKELY(word != 0))
        return gcm__cause_marked(word);
    return GCM_CAUSE_AUTOMATIC;
}

/* _core.wrap_gc_collect(): puts the C wrapper that marks explicit collections
 * in place of gc.collect; True if it did, False if it was there already. */
PyObject *gcm__wrap_gc_collect_py(PyObject *module, PyObject *Py_UNUSED(ignored));

/* _core.mark_shutdown(): from now on, this process's collections are "shutdown". */
PyObject *gcm__mark_shutdown_py(PyObject *module, PyObject *Py_UNUSED(ignored));

/* ---- requests.c: the per-request GC time of the web middlewares ---- */

/* _core.request_clock(): the running recorder's (gc_ns, full_collections), or None. */
PyObject *gcm__request_clock_py(PyObject *module, PyObject *Py_UNUSED(ignored));

/* _core.request_gc_ns(start): the GC time since `start` in ns, 0 when unknown. */
PyObject *gcm__request_gc_ns_py(PyObject *module, PyObject *start);

/* _core.request_done(start): records one finished request; its GC time in
 * ns, or None when no recorder runs. */
PyObject *gcm__request_done_py(PyObject *module, PyObject *start);

/* In a fork child (the atfork handler: atomic stores only): clears the
 * parent's pending gc.collect() and shutdown mark. */
void gcm__causes_after_fork(void);

/* Returns the interpreter's version ("3.13.0") in a static buffer. */
const char *gcm__python_version(void);

#endif /* GCM_EXT_EXT_H */
