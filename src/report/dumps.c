/* src/report/dumps.c: the --dump-objects and --dump-garbage sections.
 *
 * The extension gathers the figures at exit, after the target has finished:
 * a count per type of every object gc.get_objects() returns (all of them,
 * not a sample), and the contents of gc.garbage with the
 * first few repr()s, each already guarded and cut.  Here they are only
 * ranked and printed.  What --dump-garbage shows is what DEBUG_SAVEALL kept
 * alive, which is mostly garbage the collector would have freed: it is never
 * called "uncollectable", and the section warns that it skews the pauses.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "report_internal.h"

#define COUNT_WIDTH 12
/* Outside text (type names, repr()s) gets at most this many bytes of a line. */
#define NAME_MAX_BYTES 160
#define REPR_MAX_BYTES 320

/* Whether entry a (at index ia) ranks before entry b: more objects first,
 * then by name, then by position, so the order is total and stable. */
static int ranks_before(const gcm_type_count *a, size_t ia, const gcm_type_count *b, size_t ib)
{
    int c;

    if (a->count != b->count)
        return a->count > b->count;
    c = strcmp(a->name != NULL ? a->name : "", b->name != NULL ? b->name : "");
    if (c != 0)
        return c < 0;
    return ia < ib;
}

/* Fills `top` with the indices of the (at most GCM_TOP_TYPES) highest-ranked
 * types, best first, by repeated selection: no copy, no allocation, and at
 * 20 passes cheap enough for the few thousand types a program has. */
static size_t rank_top(const gcm_object_census *c, size_t top[GCM_TOP_TYPES])
{
    size_t n = 0, i;

    while (n < GCM_TOP_TYPES && n < c->type_count) {
        size_t best = SIZE_MAX;
        for (i = 0; i < c->type_count; i++) {
            if (n > 0 && !ranks_before(&c->types[top[n - 1]], top[n - 1], &c->types[i], i))
                continue;
            if (best == SIZE_MAX || ranks_before(&c->types[i], i, &c->types[best], best))
                best = i;
        }
        if (best == SIZE_MAX)
            break;
        top[n++] = best;
    }
    return n;
}

static int emit_literal(const char *text, const gcm_sink *sink)
{
    gcm__line l;

    gcm__line_reset(&l);
    gcm__line_str(&l, text);
    return gcm__line_emit(&l, sink);
}

int gcm__render_type_table(const gcm_object_census *c, const gcm_sink *sink)
{
    size_t top[GCM_TOP_TYPES];
    size_t n, i, from;
    gcm__line l;
    int status = 0;

    n = rank_top(c, top);
    if (n == 0)
        goto done;
    gcm__line_reset(&l);
    from = l.len;
    GCM__LINE_LIT(&l, "count");
    gcm__line_align_right(&l, from, COUNT_WIDTH);
    GCM__LINE_LIT(&l, "  type");
    status = gcm__line_emit(&l, sink);
    for (i = 0; i < n && status == 0; i++) {
        const gcm_type_count *t = &c->types[top[i]];
        gcm__line_reset(&l);
        from = l.len;
        gcm__line_u64(&l, t->count);
        gcm__line_align_right(&l, from, COUNT_WIDTH);
        GCM__LINE_LIT(&l, "  ");
        gcm__line_text_escaped(&l, t->name != NULL ? t->name : "?", NAME_MAX_BYTES);
        status = gcm__line_emit(&l, sink);
    }
done:
    return status;
}

/* "123 objects of 4 types; the 20 most common:" and the ranked table. */
static int census_text(const gcm_object_census *c, const char *what, const gcm_sink *sink)
{
    size_t shown = c->type_count < GCM_TOP_TYPES ? c->type_count : GCM_TOP_TYPES;
    gcm__line l;
    int status;

    gcm__line_reset(&l);
    gcm__line_u64(&l, c->total);
    gcm__line_str(&l, what);
    GCM__LINE_LIT(&l, " of ");
    gcm__line_u64(&l, c->type_count);
    gcm__line_str(&l, c->type_count == 1 ? " type" : " types");
    if (shown > 0 && shown < c->type_count) {
        GCM__LINE_LIT(&l, "; the ");
        gcm__line_u64(&l, shown);
        GCM__LINE_LIT(&l, " most common:");
    } else if (shown > 0) {
        GCM__LINE_LIT(&l, ":");
    }
    status = gcm__line_emit(&l, sink);
    if (status == 0)
        status = gcm__render_type_table(c, sink);
    return status;
}

static double json_count(uint64_t v)
{
    return v <= GCM__JSON_MAX_EXACT ? (double)v : (double)GCM__JSON_MAX_EXACT;
}

/* Adds "gathered", "total", "type_count" and the ranked "types" to `obj`. */
static int census_json(cJSON *obj, const gcm_object_census *c)
{
    size_t top[GCM_TOP_TYPES];
    cJSON *types, *item;
    size_t n, i;

    if (cJSON_AddBoolToObject(obj, "gathered", c->gathered != 0) == NULL)
        return -1;
    if (!c->gathered)
        return 0;
    if (cJSON_AddNumberToObject(obj, "total", json_count(c->total)) == NULL ||
        cJSON_AddNumberToObject(obj, "type_count", json_count(c->type_count)) == NULL)
        return -1;
    types = cJSON_AddArrayToObject(obj, "types");
    if (types == NULL)
        return -1;
    n = rank_top(c, top);
    for (i = 0; i < n; i++) {
        const gcm_type_count *t = &c->types[top[i]];
        item = cJSON_CreateObject();
        if (item == NULL)
            return -1;
        cJSON_AddItemToArray(types, item);
        if (cJSON_AddStringToObject(item, "name", t->name != NULL ? t->name : "?") == NULL ||
            cJSON_AddNumberToObject(item, "count", json_count(t->count)) == NULL)
            return -1;
    }
    return 0;
}

int gcm__render_objects(const gcm_report_input *in, const gcm_sink *sink)
{
    const gcm_object_census *c = &in->objects;
    cJSON *obj;
    int status;

    if (in->config->json) {
        obj = cJSON_CreateObject();
        if (obj != NULL &&
            (cJSON_AddStringToObject(obj, "type", "objects") == NULL || census_json(obj, c) != 0)) {
            cJSON_Delete(obj);
            obj = NULL;
        }
        status = gcm__sink_json_take(obj, sink);
        goto done;
    }
    status = emit_literal("=== OBJECTS TRACKED BY THE GC AT EXIT ===", sink);
    if (status != 0)
        goto done;
    if (!c->gathered && in->world_unsafe)
        status = emit_literal("Not gathered: gc.get_objects() stops the world, which a fork child"
                              " of a free-threaded build cannot do safely.",
                              sink);
    else if (!c->gathered)
        status =
            emit_literal("Not gathered: the report was written before the census could run.", sink);
    else
        status = census_text(c, " objects", sink);
done:
    return status;
}

int gcm__render_garbage(const gcm_report_input *in, const gcm_sink *sink)
{
    const gcm_object_census *c = &in->garbage;
    cJSON *obj = NULL, *reprs, *item;
    gcm__line l;
    size_t i, n = in->garbage_reprs != NULL ? in->garbage_repr_count : 0;
    int status;

    if (n > GCM_GARBAGE_REPRS)
        n = GCM_GARBAGE_REPRS;
    if (in->config->json) {
        int ok;
        obj = cJSON_CreateObject();
        ok = obj != NULL && cJSON_AddStringToObject(obj, "type", "garbage") != NULL &&
             cJSON_AddStringToObject(obj, "kept_alive_by", "DEBUG_SAVEALL") != NULL &&
             cJSON_AddBoolToObject(obj, "pauses_representative", 0) != NULL &&
             census_json(obj, c) == 0;
        if (ok && c->gathered) {
            reprs = cJSON_AddArrayToObject(obj, "reprs");
            ok = reprs != NULL;
            for (i = 0; ok && i < n; i++) {
                const gcm_garbage_repr *r = &in->garbage_reprs[i];
                item = cJSON_CreateObject();
                ok = item != NULL;
                if (ok) {
                    cJSON_AddItemToArray(reprs, item);
                    ok = cJSON_AddStringToObject(item, "type", r->type_name ? r->type_name : "?") !=
                             NULL &&
                         cJSON_AddStringToObject(item, "repr", r->text ? r->text : "") != NULL;
                }
            }
        }
        if (!ok) {
            cJSON_Delete(obj);
            obj = NULL;
        }
        status = gcm__sink_json_take(obj, sink);
        goto done;
    }
    status = emit_literal("=== GC.GARBAGE AT EXIT (kept alive by DEBUG_SAVEALL) ===", sink);
    if (status == 0)
        status = emit_literal("These objects are what DEBUG_SAVEALL kept instead of freeing them,"
                              " mostly ordinary garbage, not uncollectable objects. Pauses"
                              " measured under --dump-garbage are not representative.",
                              sink);
    if (status != 0)
        goto done;
    if (!c->gathered) {
        status = emit_literal(
            "Not gathered: the report was written before gc.garbage could be read.", sink);
        goto done;
    }
    status = census_text(c, " objects in gc.garbage", sink);
    if (status != 0 || n == 0)
        goto done;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "The first ");
    gcm__line_u64(&l, n);
    gcm__line_str(&l, n == 1 ? " item" : " items");
    GCM__LINE_LIT(&l, ", repr() cut to 80 characters:");
    status = gcm__line_emit(&l, sink);
    for (i = 0; i < n && status == 0; i++) {
        const gcm_garbage_repr *r = &in->garbage_reprs[i];
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "  ");
        gcm__line_text_escaped(&l, r->type_name != NULL ? r->type_name : "?", NAME_MAX_BYTES);
        GCM__LINE_LIT(&l, ": ");
        gcm__line_text_escaped(&l, r->text != NULL ? r->text : "", REPR_MAX_BYTES);
        status = gcm__line_emit(&l, sink);
    }
done:
    return status;
}
