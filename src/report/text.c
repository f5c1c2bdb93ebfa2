/* src/report/text.c: the default report, in grep-able "GMEM" lines.
 *
 * Event and alert lines keep their documented shape because people and
 * their log pipelines search for them; the summary (summary_text.c) and the
 * sections of the options that add to it (render.c puts them in order)
 * follow.  Each line is built in a stack buffer and handed to the sink
 * whole, so rendering allocates nothing, whatever the event count.
 */
#include "gc_monitor/errors.h"
#include "report_internal.h"

/* "GMEM ALERT | Gen 2 pause 52.3ms exceeded 50.0ms threshold" */
static int render_alert(const gcm_event *ev, uint64_t threshold_ns, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GMEM ALERT | Gen ");
    gcm__line_u64(&l, ev->generation);
    GCM__LINE_LIT(&l, " pause ");
    gcm__line_duration(&l, ev->duration_ns);
    GCM__LINE_LIT(&l, " exceeded ");
    gcm__line_duration(&l, threshold_ns);
    GCM__LINE_LIT(&l, " threshold");
    return gcm__line_emit(&l, sink);
}

/* "GMEM GC STOP | Gen: 0 | Duration: 0.2ms | Collected: 156 | Uncollectable: 0" */
static int render_stop(const gcm_event *ev, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "GMEM GC STOP | Gen: ");
    gcm__line_u64(&l, ev->generation);
    GCM__LINE_LIT(&l, " | Duration: ");
    gcm__line_duration(&l, ev->duration_ns);
    GCM__LINE_LIT(&l, " | Collected: ");
    gcm__line_u64(&l, ev->collected);
    GCM__LINE_LIT(&l, " | Uncollectable: ");
    gcm__line_u64(&l, ev->uncollectable);
    return gcm__line_emit(&l, sink);
}

static int render_events(const gcm_report_input *in, const gcm_sink *sink)
{
    uint64_t threshold_ns = in->snapshot->alert_threshold_ns;
    gcm__line l;
    size_t i;
    int status = 0;

    /* Records are numbered from 0, so the first retained one's number is how
     * many earlier ones the ring no longer holds. */
    if (in->first_event_index > 0) {
        gcm__line_reset(&l);
        gcm__line_u64(&l, in->first_event_index);
        GCM__LINE_LIT(&l, " earlier collections not listed (ring of ");
        gcm__line_u64(&l, in->snapshot->capacity);
        GCM__LINE_LIT(&l, "); totals include them");
        status = gcm__line_emit(&l, sink);
        if (status != 0)
            goto done;
    }
    if (in->events == NULL)
        goto done;
    for (i = 0; i < in->event_count; i++) {
        const gcm_event *ev = &in->events[i];
        if (gcm_is_alert(ev->duration_ns, threshold_ns)) {
            status = render_alert(ev, threshold_ns, sink);
            if (status != 0)
                goto done;
        }
        status = render_stop(ev, sink);
        if (status != 0)
            goto done;
    }
done:
    return status;
}

int gcm__render_text_events(const gcm_report_input *in, const gcm_sink *sink)
{
    return in->config->stats_only ? 0 : render_events(in, sink);
}
