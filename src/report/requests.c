/* src/report/requests.c: "Requests" (text) and the summary's "requests" object (JSON).
 *
 * When a web middleware (gc_monitor.asgi, gc_monitor.wsgi) ran in the
 * process, the block holds, per request, the pause time recorded while the
 * request was in flight (gcm_summary.requests).  The section answers the
 * question a slow request raises: did this worker's GC pause it, and how
 * often does that happen?  Nothing is written when no middleware ran, so
 * every other report keeps the shape it always had.
 */
#include <math.h>

#include <cjson/cJSON.h>

#include "report_internal.h"

/* A share of the requests in tenths of a percent, rounded, for gcm__line_fixed. */
static uint64_t tenths_of(uint64_t part, uint64_t whole)
{
    return whole > 0 ? (uint64_t)(1000.0 * (double)part / (double)whole + 0.5) : 0;
}

int gcm__render_requests_text(const gcm_summary *sum, const gcm_sink *sink)
{
    const gcm_request_summary *r = &sum->requests;
    gcm__line l;
    int status = 0;

    if (r->count == 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Requests (gc_monitor.asgi / gc_monitor.wsgi): ");
    gcm__line_u64(&l, r->count);
    GCM__LINE_LIT(&l, ", ");
    gcm__line_u64(&l, r->with_gc);
    GCM__LINE_LIT(&l, " with GC time (");
    gcm__line_fixed(&l, tenths_of(r->with_gc, r->count), 1);
    GCM__LINE_LIT(&l, "%), ");
    gcm__line_u64(&l, r->full);
    GCM__LINE_LIT(&l, " overlapping a full collection");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  GC time per request: p50 ");
    gcm__line_duration(&l, r->p50_ns);
    GCM__LINE_LIT(&l, ", p99 ");
    gcm__line_duration(&l, r->p99_ns);
    GCM__LINE_LIT(&l, ", max ");
    gcm__line_duration(&l, r->max_ns);
    GCM__LINE_LIT(&l, ", total ");
    gcm__line_duration(&l, r->total_ns);
    status = gcm__line_emit(&l, sink);
done:
    return status;
}

/* Nanoseconds to milliseconds rounded to the microsecond, as summary_json.c does. */
static double ms3(uint64_t ns)
{
    return floor((double)ns / 1000.0 + 0.5) / 1000.0;
}

int gcm__add_requests_json(cJSON *root, const gcm_summary *sum)
{
    const gcm_request_summary *r = &sum->requests;
    cJSON *obj;
    int status = 0;

    if (r->count == 0)
        goto done;
    status = -1;
    obj = cJSON_AddObjectToObject(root, "requests");
    if (obj == NULL || cJSON_AddNumberToObject(obj, "count", (double)r->count) == NULL ||
        cJSON_AddNumberToObject(obj, "with_gc", (double)r->with_gc) == NULL ||
        cJSON_AddNumberToObject(obj, "full_collection", (double)r->full) == NULL ||
        cJSON_AddNumberToObject(obj, "gc_total_ms", ms3(r->total_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "gc_p50_ms", ms3(r->p50_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "gc_p99_ms", ms3(r->p99_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "gc_max_ms", ms3(r->max_ns)) == NULL)
        goto done;
    status = 0;
done:
    return status;
}
