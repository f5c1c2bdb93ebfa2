/* src/cli/attach.h: what attach.c takes from attach_probe.c. */
#ifndef GCM_CLI_ATTACH_H
#define GCM_CLI_ATTACH_H

#include <stddef.h>

#include "remote.h"

/* Runs `path` with `argv` and `envp` (from `cwd` when not NULL), stdin from
 * /dev/null and stdout and stderr into a pipe, and keeps the last line it
 * wrote, printable, in `line`.  A child still running after `timeout_ms`
 * (<= 0: no limit) is killed.  Returns 0 when it exited with status 0, 1
 * when it did not (or was killed), -1 when it could not run (errno set). */
int gcm__spawn_answer(const char *path, char *const argv[], char *const envp[], const char *cwd,
                      int timeout_ms, char *line, size_t line_size);

/* Asks, without touching process r->pid, whether it could import
 * gc_monitor: runs gc_monitor/_probe.py (`probe`, a path) with the process's
 * interpreter, argv[0], environment, working directory and sys.path flags.
 * `word_count` is gcm__remote_locate's count (a dynamic loader in front of
 * python makes it more than one: the probe runs through the same loader).  Returns 1 when the import failed there,
 * with the probe's "refuse module TEXT" line in `line`; 0 when it worked or
 * the question could not be asked faithfully (the process then answers
 * itself). */
int gcm__attach_probe(const gcm__remote *r, int word_count, const char *probe, char *line,
                      size_t line_size);

#endif
