/* src/report/jsonl.c: the --json report, JSON Lines that ELK and Splunk ingest directly.
 *
 * Every line is one object with a "type".  Event and alert objects hold only
 * numbers and fixed strings, so they are formatted here by hand: cJSON's
 * number printer costs about five times as much per event, and a million
 * events must render in well under a second.  The summary is built by cJSON
 * (gcm_summary_json), once.  No integer above 2^53 is ever written, so
 * readers that hold numbers as doubles read every value exactly.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

/* "ts":<Unix seconds, 6 decimals>,"pid":<pid>,"generation":<g>,"duration_ms":<3 decimals> */
static void common_fields(gcm__line *l, const gcm_snapshot *snap, const gcm_event *ev)
{
    GCM__LINE_LIT(l, "\"ts\":");
    gcm__line_unix_seconds(l, gcm__event_realtime_ns(snap, ev->start_ns));
    GCM__LINE_LIT(l, ",\"pid\":");
    if (snap->pid < 0)
        gcm__line_i64(l, snap->pid);
    else
        gcm__line_json_u64(l, (uint64_t)snap->pid);
    GCM__LINE_LIT(l, ",\"generation\":");
    gcm__line_u64(l, ev->generation);
    GCM__LINE_LIT(l, ",\"duration_ms\":");
    gcm__line_fixed(l, gcm__div_round(ev->duration_ns, 1000u), 3);
}

static int render_alert(const gcm_snapshot *snap, const gcm_event *ev, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "{\"type\":\"alert\",");
    common_fields(&l, snap, ev);
    GCM__LINE_LIT(&l, ",\"threshold_ms\":");
    gcm__line_fixed(&l, gcm__div_round(snap->alert_threshold_ns, 1000u), 3);
    GCM__LINE_LIT(&l, "}");
    return gcm__line_emit(&l, sink);
}

static int render_event(const gcm_snapshot *snap, const gcm_event *ev, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "{\"type\":\"event\",");
    common_fields(&l, snap, ev);
    GCM__LINE_LIT(&l, ",\"collected\":");
    gcm__line_json_u64(&l, ev->collected);
    GCM__LINE_LIT(&l, ",\"uncollectable\":");
    gcm__line_json_u64(&l, ev->uncollectable);
    /* A version 1 capture's records carry no cause: null, never a guess. */
    GCM__LINE_LIT(&l, ",\"cause\":");
    if (snap->causes_known && gcm_cause_name(GCM_EVENT_CAUSE(ev->flags)) != NULL) {
        GCM__LINE_LIT(&l, "\"");
        gcm__line_str(&l, gcm_cause_name(GCM_EVENT_CAUSE(ev->flags)));
        GCM__LINE_LIT(&l, "\"");
    } else {
        GCM__LINE_LIT(&l, "null");
    }
    GCM__LINE_LIT(&l, "}");
    return gcm__line_emit(&l, sink);
}

int gcm__render_jsonl_summary(const gcm_snapshot *snap, const gcm_sink *sink)
{
    return gcm__sink_json_take(gcm_summary_json(snap), sink);
}

int gcm__render_jsonl_events(const gcm_report_input *in, const gcm_sink *sink)
{
    const gcm_snapshot *snap = in->snapshot;
    size_t i;
    int status = 0;

    if (!in->config->stats_only && in->events != NULL) {
        for (i = 0; i < in->event_count; i++) {
            const gcm_event *ev = &in->events[i];
            if (gcm_is_alert(ev->duration_ns, snap->alert_threshold_ns)) {
                status = render_alert(snap, ev, sink);
                if (status != 0)
                    goto done;
            }
            status = render_event(snap, ev, sink);
            if (status != 0)
                goto done;
        }
    }
done:
    return status;
}
