/* src/cli/attach.h: what attach.c takes from attach_probe.c. */
#ifndef GCM_CLI_ATTACH_H
#define GCM_CLI_ATTACH_H

#include <stddef.h>

#include "remote.h"

/* Asks, without touching process r->pid, whether it could import
 * gc_monitor: runs gc_monitor/_probe.py (`probe`, a path) with the process's
 * interpreter, argv[0], environment, working directory and sys.path flags.
 * `word_count` is gcm__remote_locate's count (a dynamic loader in front of
 * python makes it more than one: the probe runs through the same loader).
 * Returns 1 when the import failed there, with the probe's "refuse module
 * TEXT" line in `line`; 0 when it worked or the question could not be asked
 * faithfully (the process then answers itself). */
int gcm__attach_probe(const gcm__remote *r, int word_count, const char *probe, char *line,
                      size_t line_size);

#endif
