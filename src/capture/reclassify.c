/* src/capture/reclassify.c: a capture's figures for other report limits.
 *
 * `report --alert-threshold-ms` and `--duration-buckets` may ask for limits
 * other than the recorded ones; the alert counts and duration buckets are
 * then recomputed from the histogram, exactly where a bucket lies wholly on
 * one side of a limit and by its midpoint otherwise.
 */
#include "gc_monitor/capture.h"

#include <string.h>

#include "gc_monitor/errors.h"
#include "gc_monitor/stats.h"

/* Reclassifies one generation's histogram for a new threshold (when
 * `threshold_too`) and new bounds (when `buckets_too`).  A bucket's values
 * lie in [lo, hi] clamped to the generation's exact [min, max], so a bucket
 * whose clamped range sits wholly on one side of a limit is placed exactly. */
static void reclassify_gen(gcm_gen_snapshot *g, int threshold_too, uint64_t threshold,
                           int buckets_too, uint32_t count, const uint64_t *bounds,
                           int *approximate)
{
    uint32_t i;
    uint32_t k;

    if (threshold_too)
        g->alerts = 0;
    if (buckets_too)
        memset(g->buckets, 0, sizeof g->buckets);
    for (i = 0; i < GCM_HIST_BUCKETS; i++) {
        uint64_t n = g->hist[i];
        uint64_t lo;
        uint64_t hi;
        uint64_t mid;

        if (n == 0)
            continue;
        gcm_hist_bounds(i, &lo, &hi);
        if (g->count > 0) {
            if (lo < g->min_ns)
                lo = g->min_ns;
            if (hi > g->max_ns)
                hi = g->max_ns;
        }
        if (lo > hi)
            lo = hi;
        mid = lo + (hi - lo) / 2u;
        if (threshold_too) {
            if (gcm_is_alert(mid, threshold)) {
                g->alerts += n;
                if (!gcm_is_alert(lo, threshold))
                    *approximate = 1;
            } else if (gcm_is_alert(hi, threshold)) {
                *approximate = 1;
            }
        }
        if (buckets_too) {
            /* Bucket k holds (bounds[k-1], bounds[k]]; k == count is the rest. */
            for (k = 0; k < count && mid > bounds[k]; k++)
                ;
            g->buckets[k] += n;
            if ((k > 0 && lo <= bounds[k - 1]) || (k < count && hi > bounds[k]))
                *approximate = 1;
        }
    }
}

int gcm_capture_reclassify(gcm_snapshot *snap, uint64_t alert_threshold_ns, uint32_t count,
                           const uint64_t *bounds, int *approximate)
{
    int status = GCM_EINVAL;
    int threshold_too;
    int buckets_too;
    uint32_t g;
    uint32_t i;

    if (snap == NULL || bounds == NULL || approximate == NULL || count < 1 ||
        count > GCM_MAX_BUCKETS)
        goto done;
    for (i = 1; i < count; i++) {
        if (bounds[i] <= bounds[i - 1])
            goto done;
    }
    /* Figures whose limits did not change stay exact, as recorded. */
    threshold_too = alert_threshold_ns != snap->alert_threshold_ns;
    buckets_too = count != snap->bucket_count ||
                  memcmp(bounds, snap->bucket_bounds_ns, count * sizeof bounds[0]) != 0;
    *approximate = 0;
    for (g = 0; g < GCM_GENERATIONS; g++)
        reclassify_gen(&snap->gen[g], threshold_too, alert_threshold_ns, buckets_too, count, bounds,
                       approximate);
    snap->all.alerts = 0;
    if (buckets_too)
        memset(snap->all.buckets, 0, sizeof snap->all.buckets);
    for (g = 0; g < GCM_GENERATIONS; g++) {
        snap->all.alerts += snap->gen[g].alerts;
        for (i = 0; buckets_too && i <= count; i++)
            snap->all.buckets[i] += snap->gen[g].buckets[i];
    }
    snap->alert_threshold_ns = alert_threshold_ns;
    snap->bucket_count = count;
    memset(snap->bucket_bounds_ns, 0, sizeof snap->bucket_bounds_ns);
    memcpy(snap->bucket_bounds_ns, bounds, count * sizeof bounds[0]);
    status = 0;
done:
    return status;
}
