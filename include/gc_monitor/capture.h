/* gc_monitor/capture.h: the crash-safe capture file, a recording block in a file.
 *
 * `pygcprofiler run -o FILE` keeps the block of block.h, unchanged, in a
 * shared mapping of FILE, so every record the GC callback stores is in the
 * page cache the moment it is stored: SIGKILL, the OOM killer, os._exit or a
 * segfault lose nothing that was recorded.  The writer creates the file
 * whole at start (exclusive create, no symlink, mode 0600, every byte
 * allocated with posix_fallocate and every page touched), so a full disk is
 * an error at start and recording never extends the file or meets SIGBUS.
 * docs/capture-format.md describes the bytes and the version policy.
 *
 * Readers (`pygcprofiler report`) map the file read-only and treat every
 * byte as hostile: gcm_block_check first, bounded copies of the metadata
 * text, and figures taken only through gcm_block_snapshot and
 * gcm_block_copy_events, which never wait on a dead writer.
 *
 * Ownership: a gcm_capture is a caller-owned handle; the mapping it holds is
 * released with gcm_capture_close.  Nothing here prints, exits or keeps
 * global state; every function may be called from any thread on distinct
 * handles.  Functions that fail in a system call return GCM_EIO and leave
 * errno saying why.
 */
#ifndef GC_MONITOR_CAPTURE_H
#define GC_MONITOR_CAPTURE_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A mapped capture file. */
typedef struct gcm_capture {
    gcm_block *block;    /* the mapping; NULL when closed */
    size_t size;         /* bytes mapped: the block size (writer) or the file size (reader) */
    int writable;        /* 1 for the writer's mapping, 0 for a reader's */
    uint64_t held_slots; /* reader: ring slots that lie in the file's data, not in
                            holes, an upper bound on the records it really holds */
} gcm_capture;

/* Creates `path` by the one output policy for a new file (src/base/files.c:
 * it must not exist; a symlink, a FIFO, a device... there is refused), sizes
 * it for `params->capacity` events, allocates and touches every page, maps it
 * shared, formats the block and stores `meta` (key=value lines, cut to
 * GCM_META_SIZE - 1 bytes) in the header.  On failure the file is removed
 * again.  Returns 0, GCM_EINVAL for bad params, or GCM_EIO with errno set
 * (EEXIST, ELOOP for a symlink, EISDIR, EINVAL for another kind of file,
 * ENOSPC, EFBIG, ...). */
int gcm_capture_create(gcm_capture *cap, const char *path, const gcm_block_params *params,
                       const char *meta);

/* The highest <n> of a child capture's name FILE.<pid>.<n>. */
#define GCM_CAPTURE_MAX_SUFFIX 999

/* Writes the capture name of child process `pid` of the run that records
 * into `base` (-o FILE) into `out`: "FILE.<pid>" when `n` is 0,
 * "FILE.<pid>.<n>" otherwise.  Returns 0, GCM_ENOMEM when it does not fit,
 * or GCM_EINVAL. */
int gcm_capture_child_name(const char *base, int64_t pid, int n, char *out, size_t size);

/* Returns 1 when the file name `name` is the file name `base` followed by
 * ".<digits>" or ".<digits>.<digits>": a child capture of base's run; else 0. */
int gcm_capture_is_child_name(const char *name, const char *base);

/* Creates the capture of child process `params->pid` at the first free name
 * of FILE.<pid>, FILE.<pid>.1, ... (gcm_capture_child_name with `base`) as
 * gcm_capture_create does, and writes that name into `name`.  Returns 0,
 * GCM_ERANGE when every name up to GCM_CAPTURE_MAX_SUFFIX is taken,
 * GCM_ENOMEM when a name does not fit, or what gcm_capture_create returns
 * (GCM_EIO with errno set). */
int gcm_capture_create_child(gcm_capture *cap, const char *base, const gcm_block_params *params,
                             const char *meta, char *name, size_t name_size);

/* Opens `path` read-only by the one input policy (src/base/files.c: a
 * regular file only, never a symlink, FIFO, device, socket or directory, and
 * never waiting on one), checks that it holds a block this build can read,
 * and maps it.  Sets cap->held_slots from the file's data extents (SEEK_DATA),
 * so a sparse file that claims a huge ring is read for what it holds.
 * Returns 0, GCM_EIO with errno set (gcm__path_error_text words it), or a
 * gcm_block_check code (GCM_ETRUNCATED for an empty file too). */
int gcm_capture_open(gcm_capture *cap, const char *path);

struct gcm_stack_table;

/* Copies the --stacks table of `cap` (layout version 4 on), if it has one,
 * into a new allocation that gcm_stacks_check passed, in *out (free() it);
 * *out is NULL when the capture holds none.  Returns 0, GCM_ECORRUPT for a
 * table that fails the check or claims more bytes than any writer makes,
 * GCM_ETRUNCATED when the header names a table the file ends before,
 * GCM_ENOMEM or GCM_EINVAL. */
int gcm_capture_stacks_copy(const gcm_capture *cap, struct gcm_stack_table **out);

/* Unmaps the capture.  Safe on a zeroed or already closed handle. */
void gcm_capture_close(gcm_capture *cap);

/* Unmaps a block the writer got from gcm_capture_create, for owners that
 * keep only the block pointer and its size.  NULL is ignored. */
void gcm_capture_unmap(gcm_block *block, size_t size);

/* Reads field 22 (start time in clock ticks since boot) of /proc/<pid>/stat
 * into *ticks.  Returns 0, GCM_EIO when the process does not exist (or /proc
 * cannot be read), GCM_ECORRUPT when the line cannot be parsed. */
int gcm_capture_start_ticks(int64_t pid, uint64_t *ticks);

/* Returns 1 when process `pid` is alive, not a zombie, and (when
 * `start_ticks` is not 0) started at `start_ticks`, so it is the writer and
 * not a later process that got its pid; 0 otherwise. */
int gcm_capture_writer_alive(int64_t pid, uint64_t start_ticks);

/* Decides how the writer of `snap` ended.  A recorded EXITED stays; a
 * RUNNING writer that gcm_capture_writer_alive finds dead becomes
 * GCM_STATE_GONE, with end_realtime_ns set to the end of its last recorded
 * collection (or its start if it recorded none).  A state outside GCM_STATE_*
 * is treated as RUNNING.  Returns 1 when the state was derived as gone here,
 * 0 otherwise.  `check_alive` 0 skips the process check (fuzzing, tests) and
 * treats RUNNING as gone. */
int gcm_capture_resolve_state(gcm_snapshot *snap, int check_alive);

/* Takes the snapshot a report of `cap` needs and settles the writer's state
 * (gcm_capture_resolve_state with `check_alive`).  A writer that exited or
 * is gone cannot move the sequence counter any more, so its figures are
 * copied once, from a private copy with the counter made even, instead of
 * through gcm_block_snapshot's retries: a counter left odd by a writer that
 * died mid-record costs nothing; so is a live one whose counter stays odd
 * and unchanged for 20 ms (stopped, or named by a damaged file).  Returns 0,
 * or GCM_EBUSY with out->torn = 1
 * when the counter was odd (the figures of one collection may be partly
 * counted), GCM_ENOMEM, or GCM_EINVAL.  Sets *gone as resolve_state returns. */
int gcm_capture_snapshot(const gcm_capture *cap, gcm_snapshot *out, int check_alive, int *gone);

/* Copies the header's metadata text of `b` into `out` (`size` bytes, at
 * least 1): bounded, always NUL-terminated, with control bytes other than
 * '\n' replaced by '?', so hostile bytes cannot leave the copy's lines. */
void gcm_capture_meta_copy(const gcm_block *b, char *out, size_t size);

/* Appends the line "key=value" to the metadata of `b`, the block this
 * process writes, for what is known only at its exit (the freeze count).
 * A reader of the running file sees the text without the line or with all
 * of it: the line and its new NUL are stored first, and the byte that joins
 * it to the text last, after a release fence.  Returns 0; GCM_EINVAL when
 * `b`, `key` or `value` is NULL, either is empty or holds a newline, `key`
 * holds '=', the area is not NUL-terminated, or a line of `key` is there
 * already (each key is written once); GCM_ENOMEM when the line does not
 * fit.  On failure the metadata is unchanged. */
int gcm_capture_meta_append(gcm_block *b, const char *key, const char *value);

/* Finds the line "key=value" in `meta` (a copy from gcm_capture_meta_copy)
 * and copies value into `out` (cut to fit, NUL-terminated).  Returns 0, or
 * GCM_EINVAL when the key is absent (`out` is then ""). */
int gcm_capture_meta_get(const char *meta, const char *key, char *out, size_t size);

/* Recomputes the alert counts and duration buckets of `snap` (every
 * generation and the total) for another threshold and other bucket bounds,
 * from the histogram, and stores the new threshold and bounds in it.  Only
 * the figures whose limit changed are recomputed; the others stay exact.  A
 * histogram bucket that straddles a new limit is counted by its midpoint;
 * *approximate is set to 1 when any non-empty bucket did.  `bounds` must be
 * strictly increasing and `count` 1..GCM_MAX_BUCKETS.  Returns 0 or
 * GCM_EINVAL. */
int gcm_capture_reclassify(gcm_snapshot *snap, uint64_t alert_threshold_ns, uint32_t count,
                           const uint64_t *bounds, int *approximate);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_CAPTURE_H */
