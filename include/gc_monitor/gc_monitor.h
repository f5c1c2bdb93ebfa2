/* gc_monitor/gc_monitor.h: the whole public C API of pygcprofiler's core.
 *
 * The core is plain C11 with no Python.h: the recording block and its
 * statistics, the option parser, and the report renderers.  The CPython
 * extension and the launcher are both built on it.
 */
#ifndef GC_MONITOR_GC_MONITOR_H
#define GC_MONITOR_GC_MONITOR_H

#include "gc_monitor/errors.h"
#include "gc_monitor/event.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/block.h"
#include "gc_monitor/stats.h"
#include "gc_monitor/metrics.h"
#include "gc_monitor/envvars.h"
#include "gc_monitor/config.h"
#include "gc_monitor/report.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/stacks.h"

#endif /* GC_MONITOR_GC_MONITOR_H */
