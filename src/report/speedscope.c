/* src/report/speedscope.c: speedscope profiles of a report (`report --format
 * speedscope`, `run --speedscope-file`).
 *
 * The file format of https://www.speedscope.app/file-format-schema.json: one
 * JSON object with the frames every profile shares and a list of profiles.
 * Each process gets, first, a sampled profile of the call stacks that
 * triggered its collections, weighted by their pause time, when the report
 * has the --stacks table (only the exit report does: captures do not hold
 * it); then an evented profile of its retained collections: each one opens
 * the frame of its generation at its start and closes it at its end.  Values
 * are integer nanoseconds, so every duration is exact and the weights and
 * events add up to the report's totals.  A process tree's profiles share the
 * clock of the earliest start of monitoring among them.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/report.h"
#include "gc_monitor/stacks.h"
#include "report_internal.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* The fixed frames, first in the shared list: one per generation, then the
 * stand-ins of the sampled profiles. */
enum {
    FRAME_OTHER = GCM_GENERATIONS, /* the "other" row of a full table */
    FRAME_UNNAMED,                 /* a frame whose code found the sites full */
    FRAME_CUT,                     /* the outer frames a --stack-depth left out */
    FRAME_FIXED
};

/* The frame indices of one table's (site, line) pairs, found by hash. */
typedef struct frame_map {
    uint64_t *keys; /* (site << 32 | line) + 1; 0 marks an empty slot */
    uint32_t *index;
    size_t slots; /* a power of two */
} frame_map;

static uint64_t frame_key(const gcm_stack_frame *f)
{
    return (((uint64_t)f->site << 32) | (uint32_t)f->line) + 1u;
}

static size_t key_slot(uint64_t key, size_t slots)
{
    /* Fibonacci hashing spreads the sites' small integers over the slots. */
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & (slots - 1u);
}

/* Adds the frames of table `t` not seen yet to `frames`, noting their
 * indices in `map`.  Returns 0 or GCM_ENOMEM. */
static int add_stack_frames(const gcm_stack_table *t, frame_map *map, cJSON *frames)
{
    size_t need = (size_t)t->used * t->depth * 2u + 2u;
    int status = GCM_ENOMEM;

    map->slots = 16;
    while (map->slots < need)
        map->slots <<= 1;
    map->keys = calloc(map->slots, sizeof *map->keys);
    map->index = calloc(map->slots, sizeof *map->index);
    if (map->keys == NULL || map->index == NULL)
        goto done;
    for (uint32_t e = 0; e < t->used; e++) {
        const gcm_stack_entry *entry = gcm_stacks_entry(t, e);
        const gcm_stack_frame *f = gcm_stacks_frames_const(t, e);

        if (entry == NULL || f == NULL)
            continue;
        for (uint32_t d = 0; d < entry->depth && d < t->depth; d++) {
            uint64_t key = frame_key(&f[d]);
            size_t s = key_slot(key, map->slots);
            const gcm_stack_site *site;
            cJSON *frame;

            if (f[d].site == GCM_STACK_NO_SITE)
                continue;
            while (map->keys[s] != 0 && map->keys[s] != key)
                s = (s + 1u) & (map->slots - 1u);
            if (map->keys[s] == key)
                continue;
            site = gcm_stacks_site(t, f[d].site);
            frame = cJSON_CreateObject();
            if (frame == NULL || !cJSON_AddItemToArray(frames, frame))
                goto done;
            GCM__JSON_ADD(
                cJSON_AddStringToObject(frame, "name", site != NULL ? site->func : "(unknown)"));
            GCM__JSON_ADD(cJSON_AddStringToObject(frame, "file", site != NULL ? site->file : ""));
            if (f[d].line >= 0)
                GCM__JSON_ADD(cJSON_AddNumberToObject(frame, "line", f[d].line));
            map->keys[s] = key;
            map->index[s] = (uint32_t)(cJSON_GetArraySize(frames) - 1);
        }
    }
    status = 0;
done:
    return status;
}

/* The shared index of frame `f` of the table whose frames `map` holds. */
static uint32_t frame_index(const frame_map *map, const gcm_stack_frame *f)
{
    uint64_t key = frame_key(f);
    size_t s;

    if (f->site == GCM_STACK_NO_SITE)
        return FRAME_UNNAMED;
    s = key_slot(key, map->slots);
    while (map->keys[s] != 0 && map->keys[s] != key)
        s = (s + 1u) & (map->slots - 1u);
    return map->keys[s] == key ? map->index[s] : FRAME_UNNAMED;
}

/* Writes `prefix`, `obj` unformatted and a newline to `sink` in one call,
 * so that every write is whole lines.  Returns 0, GCM_ENOMEM or the sink's
 * error. */
static int write_line(const gcm_sink *sink, const char *prefix, const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    size_t plen = strlen(prefix), tlen;
    char *line = NULL;
    int status = GCM_ENOMEM;

    if (text == NULL)
        goto done;
    tlen = strlen(text);
    line = malloc(plen + tlen + 1u);
    if (line == NULL)
        goto done;
    memcpy(line, prefix, plen);
    memcpy(line + plen, text, tlen);
    line[plen + tlen] = '\n';
    status = sink->write(sink->ctx, line, plen + tlen + 1u);
done:
    free(line);
    free(text);
    return status;
}

/* Appends the name of the process of `in` to `l`. */
static void process_name(gcm__line *l, const gcm_report_input *in, size_t count)
{
    GCM__LINE_LIT(l, "python (pid ");
    gcm__line_i64(l, in->snapshot->pid);
    if (count > 1) {
        GCM__LINE_LIT(l, ", parent ");
        gcm__line_i64(l, in->snapshot->ppid);
    }
    GCM__LINE_LIT(l, ")");
}

/* What emit_sampled's visits add to: the profile's samples and weights. */
typedef struct sampled_acc {
    const frame_map *map;
    cJSON *samples;
    cJSON *weights;
    uint64_t total;
} sampled_acc;

/* Adds one stack as a sample, outermost frame first.  Returns 0 or GCM_ENOMEM. */
static int add_sample(const gcm__trigger_stack *s, void *ctx)
{
    sampled_acc *acc = ctx;
    cJSON *stack = cJSON_CreateArray();

    if (stack == NULL || !cJSON_AddItemToArray(acc->samples, stack))
        return GCM_ENOMEM;
    if (s->frames == NULL) {
        if (!cJSON_AddItemToArray(stack, cJSON_CreateNumber(FRAME_OTHER)))
            return GCM_ENOMEM;
    } else {
        if (s->truncated && !cJSON_AddItemToArray(stack, cJSON_CreateNumber(FRAME_CUT)))
            return GCM_ENOMEM;
        /* The table keeps the innermost frame first; speedscope wants the
         * outermost. */
        for (uint32_t d = s->depth; d > 0; d--) {
            if (!cJSON_AddItemToArray(
                    stack, cJSON_CreateNumber(frame_index(acc->map, &s->frames[d - 1u]))))
                return GCM_ENOMEM;
        }
    }
    if (!cJSON_AddItemToArray(acc->weights, cJSON_CreateNumber((double)s->total_ns)))
        return GCM_ENOMEM;
    acc->total += s->total_ns;
    return 0;
}

/* The sampled profile of one process's trigger table: one sample per
 * stack, weighted by the stack's total pause. */
static int emit_sampled(const gcm_report_input *in, size_t count, const frame_map *map,
                        uint64_t offset, int comma, const gcm_sink *sink)
{
    cJSON *profile = cJSON_CreateObject();
    sampled_acc acc = {.map = map};
    gcm__line l;
    int status = GCM_ENOMEM;

    if (profile == NULL)
        goto done;
    gcm__line_reset(&l);
    process_name(&l, in, count);
    GCM__LINE_LIT(&l, ": pause time by the stack that triggered it");
    l.buf[l.len < sizeof l.buf ? l.len : sizeof l.buf - 1u] = '\0';
    GCM__JSON_ADD(cJSON_AddStringToObject(profile, "type", "sampled"));
    GCM__JSON_ADD(cJSON_AddStringToObject(profile, "name", l.buf));
    GCM__JSON_ADD(cJSON_AddStringToObject(profile, "unit", "nanoseconds"));
    GCM__JSON_ADD(cJSON_AddNumberToObject(profile, "startValue", (double)offset));
    GCM__JSON_ADD(acc.samples = cJSON_AddArrayToObject(profile, "samples"));
    GCM__JSON_ADD(acc.weights = cJSON_AddArrayToObject(profile, "weights"));
    if (gcm__trigger_stacks_each(in->stacks, add_sample, &acc) != 0)
        goto done;
    GCM__JSON_ADD(cJSON_AddNumberToObject(profile, "endValue", (double)(offset + acc.total)));
    status = write_line(sink, comma ? "," : "", profile);
done:
    cJSON_Delete(profile);
    return status;
}

/* The evented profile of one process's retained collections.  Speedscope
 * needs its events in order and balanced; CPython runs one collection at a
 * time, and a start that a clock put before the previous end is moved to
 * that end, keeping its duration, so the totals stay exact. */
static int emit_evented(const gcm_report_input *in, size_t count, uint64_t offset, int comma,
                        const gcm_sink *sink)
{
    const gcm_snapshot *snap = in->snapshot;
    uint64_t end = offset, prev = offset;
    gcm__line l;
    int status;

    for (size_t i = 0; i < in->event_count; i++) {
        uint64_t at = offset + gcm__event_offset_ns(snap, &in->events[i]);

        if (at < end)
            at = end;
        end = at + in->events[i].duration_ns;
    }
    gcm__line_reset(&l);
    if (comma)
        GCM__LINE_LIT(&l, ",");
    GCM__LINE_LIT(&l, "{\"type\":\"evented\",\"name\":\"");
    process_name(&l, in, count);
    GCM__LINE_LIT(&l, ": pauses by generation\",\"unit\":\"nanoseconds\",\"startValue\":");
    gcm__line_u64(&l, offset);
    GCM__LINE_LIT(&l, ",\"endValue\":");
    gcm__line_u64(&l, end);
    GCM__LINE_LIT(&l, ",\"events\":[");
    status = gcm__line_emit(&l, sink);
    /* One collection, its open and close events, per line. */
    for (size_t i = 0; status == 0 && i < in->event_count; i++) {
        const gcm_event *e = &in->events[i];
        uint64_t at = offset + gcm__event_offset_ns(snap, e);

        if (at < prev)
            at = prev;
        prev = at + e->duration_ns;
        gcm__line_reset(&l);
        if (i > 0)
            GCM__LINE_LIT(&l, ",");
        GCM__LINE_LIT(&l, "{\"type\":\"O\",\"frame\":");
        gcm__line_u64(&l, e->generation);
        GCM__LINE_LIT(&l, ",\"at\":");
        gcm__line_u64(&l, at);
        GCM__LINE_LIT(&l, "},{\"type\":\"C\",\"frame\":");
        gcm__line_u64(&l, e->generation);
        GCM__LINE_LIT(&l, ",\"at\":");
        gcm__line_u64(&l, prev);
        GCM__LINE_LIT(&l, "}");
        status = gcm__line_emit(&l, sink);
    }
    if (status == 0)
        status = sink->write(sink->ctx, "]}\n", 3);
    return status;
}

/* The head of the file: its name, the exporter and the shared frames.
 * `maps` receives each input's frame map (those with stacks). */
static int emit_head(const gcm_report_input *const *ins, size_t count, frame_map *maps,
                     const gcm_sink *sink)
{
    static const char *const fixed[FRAME_FIXED] = {
        "gen 0", "gen 1", "gen 2", GCM__FRAME_OTHER_STACKS, GCM__FRAME_UNNAMED, GCM__FRAME_CUT};
    static const char tail[] = "},\"profiles\":[\n";
    cJSON *frames = cJSON_CreateArray();
    char *text = NULL;
    char *line = NULL;
    char head[256];
    size_t len;
    int n;
    int status = GCM_ENOMEM;

    if (frames == NULL)
        goto done;
    for (size_t i = 0; i < FRAME_FIXED; i++) {
        cJSON *frame = cJSON_CreateObject();

        if (frame == NULL || !cJSON_AddItemToArray(frames, frame))
            goto done;
        GCM__JSON_ADD(cJSON_AddStringToObject(frame, "name", fixed[i]));
    }
    for (size_t i = 0; i < count; i++) {
        if (ins[i]->stacks != NULL && add_stack_frames(ins[i]->stacks, &maps[i], frames) != 0)
            goto done;
    }
    text = cJSON_PrintUnformatted(frames);
    if (text == NULL)
        goto done;
    if (count == 1)
        n = snprintf(head, sizeof head,
                     "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
                     "\"exporter\":\"pygcprofiler %s\",\"name\":\"GC pauses of pid %" PRId64
                     "\",\"activeProfileIndex\":0,\"shared\":{\"frames\":",
                     GCM_VERSION, ins[0]->snapshot->pid);
    else
        n = snprintf(head, sizeof head,
                     "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\","
                     "\"exporter\":\"pygcprofiler %s\",\"name\":\"GC pauses of %zu processes\","
                     "\"activeProfileIndex\":0,\"shared\":{\"frames\":",
                     GCM_VERSION, count);
    if (n < 0 || (size_t)n >= sizeof head)
        goto done;
    /* The head, the frames and the opening of the profiles: one line. */
    len = (size_t)n + strlen(text) + sizeof tail - 1u;
    line = malloc(len);
    if (line == NULL)
        goto done;
    memcpy(line, head, (size_t)n);
    memcpy(line + n, text, strlen(text));
    memcpy(line + n + strlen(text), tail, sizeof tail - 1u);
    status = sink->write(sink->ctx, line, len);
done:
    free(line);
    free(text);
    cJSON_Delete(frames);
    return status;
}

int gcm__render_speedscope(const gcm_report_input *const *ins, size_t count, const gcm_sink *sink)
{
    frame_map *maps = calloc(count, sizeof *maps);
    int first = 1;
    int status = GCM_ENOMEM;

    if (maps == NULL)
        goto done;
    status = emit_head(ins, count, maps, sink);
    for (size_t i = 0; status == 0 && i < count; i++) {
        uint64_t offset = gcm__process_offset_ns(ins, count, i);

        if (ins[i]->stacks != NULL) {
            status = emit_sampled(ins[i], count, &maps[i], offset, !first, sink);
            first = 0;
        }
        if (status == 0)
            status = emit_evented(ins[i], count, offset, !first, sink);
        first = 0;
    }
    if (status == 0)
        status = sink->write(sink->ctx, "]}\n", 3);
done:
    for (size_t i = 0; maps != NULL && i < count; i++) {
        free(maps[i].keys);
        free(maps[i].index);
    }
    free(maps);
    return status;
}

int gcm_speedscope_render_many_fd(const gcm_report_input *const *ins, size_t count, int fd)
{
    return gcm__render_many_fd(ins, count, fd, gcm__render_speedscope);
}

/* One input's profiles to `fd`, in the signature gcm__write_report_file takes. */
static int speedscope_fd(const gcm_report_input *in, int fd)
{
    return gcm_speedscope_render_many_fd(&in, 1, fd);
}

int gcm_report_write_speedscope(const gcm_report_input *in)
{
    return gcm__write_report_file(
        in, in != NULL && in->config != NULL ? in->config->speedscope_file : NULL, speedscope_fd);
}
