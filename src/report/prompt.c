/* src/report/prompt.c: the --prompt section, an "AI optimization prompt" to paste.
 *
 * The prompt is self-contained text: the environment (Python version and
 * build, GC thresholds, freeze count), the verdict and its KPIs, the summary figures, the advice with
 * its figures, the object-type table when there is one, and one precise
 * question.  Nothing is sent anywhere; the user decides where it goes.  The
 * body is built once in memory, then written as lines (text) or as the
 * "text" of one {"type":"prompt"} object (JSON), so both carry the same words.
 */
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

#define BUILD_MAX_BYTES 200

static const char question[] =
    "Question: given these measurements, which changes to this program's garbage collector "
    "settings (gc.set_threshold() values, gc.freeze() after start-up, gc.disable() around "
    "allocation bursts) or to its allocation patterns would most reduce its longest GC pauses "
    "and the share of time spent in GC, and what does each change risk? Answer with concrete "
    "code, and for each change name the figure above that it should move.";

static int emit(gcm__line *l, const gcm_sink *sink)
{
    return gcm__line_emit(l, sink);
}

static int environment(const gcm_report_input *in, const gcm_sink *sink)
{
    gcm__line l;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Environment:");
    status = emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "- Python: ");
    if (in->python_build != NULL)
        gcm__line_text_escaped(&l, in->python_build, BUILD_MAX_BYTES);
    else if (in->python_version != NULL)
        gcm__line_text_escaped(&l, in->python_version, BUILD_MAX_BYTES);
    else
        GCM__LINE_LIT(&l, "unknown version");
    gcm__line_str(&l, in->free_threaded ? "; free-threaded build (no GIL)"
                                        : "; default build (with the GIL)");
    status = emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    if (in->have_gc_state) {
        GCM__LINE_LIT(&l, "- GC thresholds at exit: gc.get_threshold() == (");
        gcm__line_i64(&l, in->gc_threshold[0]);
        GCM__LINE_LIT(&l, ", ");
        gcm__line_i64(&l, in->gc_threshold[1]);
        GCM__LINE_LIT(&l, ", ");
        gcm__line_i64(&l, in->gc_threshold[2]);
        GCM__LINE_LIT(&l, "); frozen objects (gc.get_freeze_count()): ");
        if (in->have_freeze_count)
            gcm__line_u64(&l, in->freeze_count);
        else
            GCM__LINE_LIT(&l, "unknown");
    } else if (in->have_freeze_count) {
        /* A capture keeps the freeze count of its writer's exit report. */
        GCM__LINE_LIT(&l, "- GC thresholds: unknown; frozen objects at exit"
                          " (gc.get_freeze_count()): ");
        gcm__line_u64(&l, in->freeze_count);
    } else {
        GCM__LINE_LIT(&l, "- GC thresholds and freeze count: unknown");
    }
    status = emit(&l, sink);
    if (status != 0)
        goto done;
    switch (gcm__generations_mislead(in)) {
    case GCM__GENS_FREE_THREADED:
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "- This build has a single generation and reports every automatic"
                          " collection as generation 0.");
        status = emit(&l, sink);
        break;
    case GCM__GENS_INCREMENTAL:
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "- This CPython collects incrementally and reports every automatic"
                          " collection as generation 1.");
        status = emit(&l, sink);
        break;
    default:
        break;
    }
done:
    return status;
}

static int summary(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__line l;
    unsigned g;
    int status;

    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Measurements (every collection since monitoring started):");
    status = emit(&l, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "- collections: ");
    gcm__line_u64(&l, sum->all.count);
    GCM__LINE_LIT(&l, " in ");
    gcm__line_duration(&l, sum->wall_ns);
    GCM__LINE_LIT(&l, " of wall time; total GC pause ");
    gcm__line_duration(&l, sum->gc_ns);
    gcm__line_printf(&l, " (%.2f%% of wall time)", sum->share_pct);
    status = emit(&l, sink);
    if (status != 0)
        goto done;
    for (g = 0; g < GCM_GENERATIONS && status == 0; g++) {
        const gcm_gen_summary *s = &sum->gen[g];
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "- generation ");
        gcm__line_u64(&l, g);
        GCM__LINE_LIT(&l, ": ");
        gcm__line_u64(&l, s->count);
        gcm__line_str(&l, s->count == 1 ? " collection" : " collections");
        if (s->count > 0) {
            GCM__LINE_LIT(&l, ", pauses: mean ");
            gcm__line_duration(&l, s->count ? gcm__div_round(s->total_ns, s->count) : 0);
            GCM__LINE_LIT(&l, ", p50 ");
            gcm__line_duration(&l, s->p50_ns);
            GCM__LINE_LIT(&l, ", p95 ");
            gcm__line_duration(&l, s->p95_ns);
            GCM__LINE_LIT(&l, ", p99 ");
            gcm__line_duration(&l, s->p99_ns);
            GCM__LINE_LIT(&l, ", max ");
            gcm__line_duration(&l, s->max_ns);
            GCM__LINE_LIT(&l, "; objects collected ");
            gcm__line_u64(&l, s->collected);
        }
        status = emit(&l, sink);
    }
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "- uncollectable objects: ");
    gcm__line_u64(&l, sum->all.uncollectable);
    GCM__LINE_LIT(&l, "; pauses at or over the ");
    gcm__line_duration(&l, in->snapshot->alert_threshold_ns);
    GCM__LINE_LIT(&l, " alert threshold: ");
    gcm__line_u64(&l, sum->all.alerts);
    GCM__LINE_LIT(&l, "; collections starting under 50ms after the previous one: ");
    gcm__line_u64(&l, in->snapshot->bursts);
    status = emit(&l, sink);
done:
    return status;
}

static int objects(const gcm_report_input *in, const gcm_sink *sink)
{
    const gcm_object_census *c = &in->objects;
    gcm__line l;
    int status = 0;

    if (!in->config->dump_objects || !c->gathered)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Objects tracked by the GC at exit: ");
    gcm__line_u64(&l, c->total);
    GCM__LINE_LIT(&l, " of ");
    gcm__line_u64(&l, c->type_count);
    GCM__LINE_LIT(&l, " types; the most common:");
    status = emit(&l, sink);
    if (status == 0)
        status = gcm__render_type_table(c, sink);
done:
    return status;
}

/* The body of the prompt, everything between its two marker lines. */
static int body(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__advice_flags flags;
    gcm__verdict verdict;
    gcm__line l;
    size_t count = 0;
    gcm__membuf advice;
    gcm_sink mem;
    int status;

    memset(&advice, 0, sizeof advice);
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "I am tuning the garbage collector of a CPython program. pygcprofiler"
                      " timed every collection of one run of it; here is what it measured.");
    status = emit(&l, sink);
    if (status == 0)
        status = environment(in, sink);
    if (status == 0)
        status = gcm__verdict_lines(in, sum, sink);
    if (status == 0)
        status = summary(in, sum, sink);
    if (status != 0)
        goto done;
    gcm__verdict_compute(in, sum, &verdict);
    gcm__advice_derive(in, sum, &verdict, &flags);
    mem.write = gcm__membuf_write;
    mem.ctx = &advice;
    status = gcm__advice_lines(in, sum, &flags, &mem, &count);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "Warning signs pygcprofiler found (severity, figure, what to try):");
    if (count == 0)
        GCM__LINE_LIT(&l, " none.");
    status = emit(&l, sink);
    if (status == 0 && count > 0)
        status = gcm__emit_block(NULL, NULL, advice.buf, advice.len, 0, sink);
    if (status == 0)
        status = objects(in, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    gcm__line_str(&l, question);
    status = emit(&l, sink);
done:
    free(advice.buf);
    return status;
}

int gcm__render_prompt(const gcm_report_input *in, const gcm_summary *sum, const gcm_sink *sink)
{
    gcm__membuf text;
    gcm_sink mem;
    gcm__line l;
    int status;

    memset(&text, 0, sizeof text);
    mem.write = gcm__membuf_write;
    mem.ctx = &text;
    status = body(in, sum, &mem);
    if (status != 0)
        goto done;
    if (in->config->json) {
        status = gcm__emit_block("prompt", "text", text.buf, text.len, 1, sink);
        goto done;
    }
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "=== AI OPTIMIZATION PROMPT (copy the lines up to the end marker;"
                      " nothing was sent anywhere) ===");
    status = gcm__line_emit(&l, sink);
    if (status == 0)
        status = gcm__emit_block(NULL, NULL, text.buf, text.len, 0, sink);
    if (status != 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "=== END OF PROMPT ===");
    status = gcm__line_emit(&l, sink);
done:
    free(text.buf);
    return status;
}
