/* gc_monitor/metrics.h: the pause histogram as metrics systems read it.
 *
 * Prometheus and OpenTelemetry histograms have a few fixed upper bounds and
 * cumulative counts.  These are log-spaced three to a decade (1, 2.5, 5)
 * from 10 us to 10 s, each moved up to the last nanosecond of the block
 * histogram's bucket that holds it (never more than 1/64 above it), so every
 * count is exact: the number of pauses of at most that many nanoseconds.
 * `pygcprofiler export` and the Python collectors read the same bounds from
 * here; docs/metrics.md lists them.
 */
#ifndef GC_MONITOR_METRICS_H
#define GC_MONITOR_METRICS_H

#include <stdint.h>

#include "gc_monitor/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The number of finite upper bounds (the +Inf bucket is the total). */
#define GCM_METRIC_BUCKETS 19u

/* Returns upper bound `i` (0 .. GCM_METRIC_BUCKETS-1) in nanoseconds, or 0
 * for an `i` out of range. */
uint64_t gcm_metric_bound_ns(uint32_t i);

/* Fills `cumulative` with the number of pauses of `g` at most each bound,
 * and returns the number of pauses the histogram holds (the +Inf bucket). */
uint64_t gcm_metric_buckets(const gcm_gen_snapshot *g, uint64_t cumulative[GCM_METRIC_BUCKETS]);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_METRICS_H */
