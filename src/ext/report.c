/* src/ext/report.c: a recorder's exit report and how its process ended.
 *
 * The report is rendered by the core's renderers with the GIL released, to
 * stderr or the --log-file (a fork child's to its own derived name), once
 * report_state.c has given this thread the turn to write it.
 */
#include "ext.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/logfile.h"

PyObject *
gcm__recorder_mark_exited(PyObject *op, PyObject *arg)
{
    gcm__recorder *self = (gcm__recorder *)op;
    long status;
    int32_t recorded;

    /* None: the process ends by os._exit after its finalizers (a
     * multiprocessing fork worker), with a status nothing here can see. */
    if (arg == Py_None) {
        recorded = GCM_EXIT_STATUS_UNKNOWN;
        goto mark;
    }
    status = PyLong_AsLong(arg);
    if (status == -1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return NULL;
        /* Python itself exits with -1 (255) for a status too large for C. */
        PyErr_Clear();
    }
    recorded = (int32_t)((int)status & 0xff);
mark:
    /* Only a capture file has readers who need telling, and only the
     * process that wrote it may say how it ended. */
    if (self->mapped && self->block->header.pid == (int64_t)getpid())
        gcm_block_set_state(self->block, GCM_STATE_EXITED, recorded, gcm_clock_realtime_ns());
    Py_RETURN_NONE;
}

PyObject *
gcm__recorder_mark_detached(PyObject *op, PyObject *Py_UNUSED(arg))
{
    gcm__recorder *self = (gcm__recorder *)op;

    /* As for mark_exited: only the writer's own process may say so. */
    if (self->mapped && self->block->header.pid == (int64_t)getpid())
        gcm_block_set_state(self->block, GCM_STATE_DETACHED, 0, gcm_clock_realtime_ns());
    Py_RETURN_NONE;
}

/* Opens the --log-file for the report: the process that created the
 * recorder appends to the file itself; a fork child creates its own derived
 * file (gc.<pid>.log), so that no process truncates or interleaves with
 * another's report.  Never through a symlink, and private to the user.
 * Returns the descriptor, or -1 when the file cannot be opened. */
static int
open_log_file(const gcm__recorder *self)
{
    int64_t pid = (int64_t)getpid();
    int fd = -1;
    int rc;

    if (pid == self->origin_pid)
        rc = gcm_logfile_open(self->config.log_file, &fd);
    else
        rc = gcm_logfile_open_child(self->config.log_file, pid, &fd, NULL, 0);
    return rc == 0 ? fd : -1;
}

/* Starts a fork child's text report with a line that says whose it is:
 * several processes' reports may share stderr, and the text format, unlike
 * JSON, names no pid.  A failed write is ignored, like the report's own. */
static void
write_child_label(const gcm__recorder *self, const gcm_snapshot *snap, int fd)
{
    char line[96];
    int len;

    if (self->config.json || (int64_t)getpid() == self->origin_pid)
        return;
    len = snprintf(
        line, sizeof line, "GMEM Report of pid %lld (%s pid %lld)\n", (long long)snap->pid,
        snap->pid == self->followed_pid ? "started by" : "forked from", (long long)snap->ppid);
    if (len <= 0 || (size_t)len >= sizeof line)
        return;
    (void)gcm__write_all(fd, line, (size_t)len);
}

/* Counts the captures of the processes below this one: the child names of
 * its -o FILE (names.c) whose writer started after this recorder did, so a
 * capture an earlier run left behind under a recycled pid is not counted. */
static unsigned
count_tree_captures(const gcm__recorder *self)
{
    char dir[GCM_PATH_MAX];
    char path[GCM_PATH_MAX];
    const char *base;
    const char *slash = strrchr(self->config.output, '/');
    struct dirent *entry;
    DIR *d = NULL;
    unsigned count = 0;
    size_t len;

    if (slash == NULL) {
        (void)snprintf(dir, sizeof dir, ".");
        base = self->config.output;
    } else {
        len = (size_t)(slash - self->config.output);
        if (len >= sizeof dir)
            goto done;
        memcpy(dir, self->config.output, len);
        dir[len == 0 ? 1 : len] = '\0';
        if (len == 0)
            dir[0] = '/';
        base = slash + 1;
    }
    d = opendir(dir);
    if (d == NULL)
        goto done;
    while ((entry = readdir(d)) != NULL) {
        gcm_capture cap;
        int n;

        if (!gcm_capture_is_child_name(entry->d_name, base))
            continue;
        n = snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
        if (n <= 0 || (size_t)n >= sizeof path)
            continue;
        memset(&cap, 0, sizeof cap);
        if (gcm_capture_open(&cap, path) != 0)
            continue;
        if (cap.block->header.init_realtime_ns >= self->block->header.init_realtime_ns &&
            cap.block->header.pid != self->block->header.pid)
            count++;
        gcm_capture_close(&cap);
    }
done:
    if (d != NULL)
        (void)closedir(d);
    return count;
}

/* Appends `text` to `buf` as one shell word: as it is when every byte is
 * plain, else in single quotes.  Returns 0, or -1 when it does not fit. */
static int
append_shell_word(char *buf, size_t size, size_t *pos, const char *text)
{
    static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789_./-+,:@%=";
    int quote = text[0] == '\0' || text[strspn(text, plain)] != '\0';
    const char *c;

#define GCM__PUT(ch)                                                                               \
    do {                                                                                           \
        if (*pos + 1 >= size)                                                                      \
            return -1;                                                                             \
        buf[(*pos)++] = (ch);                                                                      \
    } while (0)
    if (quote)
        GCM__PUT('\'');
    for (c = text; *c != '\0'; c++) {
        if (*c == '\'') {
            GCM__PUT('\'');
            GCM__PUT('\\');
            GCM__PUT('\'');
        }
        GCM__PUT(*c);
    }
    if (quote)
        GCM__PUT('\'');
#undef GCM__PUT
    buf[*pos] = '\0';
    return 0;
}

/* Ends the text report of the process the launcher started with -o by
 * saying how many captures the processes below it left, and the command
 * that merges them: its own report covers its own collections only, while
 * its workers may have spent far more time in GC.  Nothing for a tree of
 * one, for JSON (whose last line stays the summary), or for a child. */
static void
write_tree_note(const gcm__recorder *self, int fd)
{
    char line[3 * GCM_PATH_MAX + 128];
    size_t pos;
    unsigned more;
    int len;

    if (self->config.json || self->config.output[0] == '\0' || !self->mapped ||
        (int64_t)getpid() != self->origin_pid || self->followed_pid != 0)
        return;
    more = count_tree_captures(self);
    if (more == 0)
        return;
    len = snprintf(line, sizeof line,
                   "GMEM Note: %u more capture%s of this tree: "
                   "pygcprofiler report ",
                   more, more == 1 ? "" : "s");
    if (len <= 0 || (size_t)len >= sizeof line)
        return;
    pos = (size_t)len;
    if (append_shell_word(line, sizeof line, &pos, self->config.output) != 0 ||
        pos + 1 >= sizeof line)
        return;
    line[pos++] = ' ';
    line[pos] = '\0';
    if (append_shell_word(line, sizeof line, &pos, self->config.output) != 0 ||
        pos + 4 >= sizeof line)
        return;
    memcpy(line + pos, ".*\n", 3);
    pos += 3;
    (void)gcm__write_all(fd, line, pos);
}

/* Keeps in a capture file what a later `report FILE` cannot ask the
 * interpreter: how many objects the program froze (the count now, and
 * CPython's own from when monitoring began), so that it is never advised to
 * call gc.freeze() again, as the exit report is not.  A metadata area that
 * is full, or that has the lines from an earlier report of this process,
 * keeps what it has: such a capture reads as before, freeze count unknown. */
static void
keep_freeze_count(const gcm__recorder *self, const gcm__exit_facts *facts)
{
    char now[24];
    char at_start[24];

    if (!self->mapped || !facts->have_freeze_count)
        return;
    (void)snprintf(now, sizeof now, "%llu", (unsigned long long)facts->freeze_count);
    (void)snprintf(at_start, sizeof at_start, "%llu", (unsigned long long)facts->freeze_at_start);
    /* The baseline first: a reader takes the count only with it. */
    if (gcm_capture_meta_append(self->block, "freeze_at_start", at_start) == 0)
        (void)gcm_capture_meta_append(self->block, "freeze_count", now);
}

PyObject *
gcm__recorder_write_report(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"fd", NULL};
    gcm__recorder *self = (gcm__recorder *)op;
    gcm_snapshot *snap = NULL;
    gcm_event *events = NULL;
    gcm_report_input in;
    size_t count = 0;
    uint64_t first = 0;
    uint64_t capacity;
    gcm__exit_facts facts;
    int fd = -1;
    int opened = -1;
    int rc = GCM_EIO;
    PyObject *result = NULL;

    memset(&facts, 0, sizeof facts);
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|i:write_report", kwlist, &fd))
        goto done;
    if (gcm__recorder_own_block(self) != 0)
        goto done;
    /* A followed interpreter's stderr may be a pipe its parent reads
     * (subprocess.run(capture_output=True), check_output): with -o its
     * figures are in its capture, so nothing is written there. */
    if (fd < 0 && self->followed_pid != 0 && self->config.log_file[0] == '\0' &&
        self->config.output[0] != '\0') {
        Py_INCREF(Py_True);
        result = Py_True;
        goto done;
    }
    snap = gcm__take_snapshot(self);
    if (snap == NULL)
        goto done;
    capacity = self->block->header.capacity;
    events = PyMem_RawMalloc((size_t)capacity * sizeof *events);
    if (events == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    (void)gcm_block_copy_events(self->block, events, (size_t)capacity, &count, &first);

    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = &self->config;
    in.python_version = gcm__python_version();
    /* The recorder is stopped by now: nothing writes the table while it renders. */
    in.stacks = gcm__stacks_table(self->stacks);
#ifdef Py_GIL_DISABLED
    in.free_threaded = 1;
#endif
    /* The interpreter's facts (thresholds, and the object census or
     * gc.garbage when asked for) are read now, with the GIL, and copied, so
     * that rendering can run without it.  Gathering never raises. */
    gcm__exit_facts_gather(&facts, &self->config, self->freeze_baseline);
    gcm__exit_facts_apply(&facts, &in);
    keep_freeze_count(self, &facts);

    if (fd < 0) {
        if (self->config.log_file[0] != '\0') {
            opened = open_log_file(self);
            fd = opened;
        } else if (self->stderr_was_open) {
            fd = 2;
        }
    }
    /* A report that cannot be written (closed stderr, unwritable log file)
     * is given up silently: the program's own outcome matters more. */
    if (fd >= 0) {
        Py_BEGIN_ALLOW_THREADS write_child_label(self, snap, fd);
        rc = gcm_report_render_fd(&in, fd);
        if (rc == 0)
            write_tree_note(self, fd);
        Py_END_ALLOW_THREADS
    }
    /* The flame graph file is an output of its own: written whether or not
     * the report found somewhere to go. */
    gcm__write_flamegraph_file(self, &in);
    gcm__write_html_file(self, &in);
    gcm__write_speedscope_file(self, &in);
    gcm__write_stacks_file(self, &in);
    result = PyBool_FromLong(rc == 0);
done:
    gcm__exit_facts_release(&facts);
    if (opened >= 0)
        (void)close(opened);
    PyMem_RawFree(events);
    PyMem_Free(snap);
    return result;
}
