/* src/report/triggers.c: the "Top GC triggers" table (text) and the "triggers" object (JSON).
 *
 * With --stacks, each collection is counted under the call stack of the
 * thread that ran it (gc_monitor/stacks.h).  A user asks "which line", not
 * "which whole stack", so the stacks are merged here by their innermost
 * frame (file, line, function): one row per call site, with its collections,
 * total and maximum pause, share of the table's pause time and the
 * collections of each generation.  The text shows the ten costliest rows,
 * JSON all of them.  Stacks that found the table full count in one
 * "(other stacks)" row, so the rows always add up to every collection.
 * The walk of the table's stacks that the exported profiles share (the
 * speedscope file, the folded stacks file) is here too.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gc_monitor/errors.h"
#include "gc_monitor/stacks.h"
#include "report_internal.h"

#define TEXT_ROWS 10
#define COUNT_WIDTH 13
#define TIME_WIDTH 10
#define SHARE_WIDTH 8
#define GENS_WIDTH 18
#define SITE_BYTES 400

typedef struct trigger_row {
    uint32_t site; /* GCM_STACK_NO_SITE for an unnamed frame or an empty stack */
    int32_t line;
    uint32_t own_site; /* the first frame in the program's own code when the innermost
                          one is in a library, else GCM_STACK_NO_SITE */
    int32_t own_line;
    uint32_t stacks; /* distinct stacks merged into the row */
    uint64_t count[GCM_GENERATIONS];
    uint64_t total_ns;
    uint64_t max_ns;
} trigger_row;

static uint64_t row_count(const trigger_row *r)
{
    return r->count[0] + r->count[1] + r->count[2];
}

static int by_total_desc(const void *a, const void *b)
{
    const trigger_row *x = a;
    const trigger_row *y = b;

    if (x->total_ns != y->total_ns)
        return x->total_ns < y->total_ns ? 1 : -1;
    if (row_count(x) != row_count(y))
        return row_count(x) < row_count(y) ? 1 : -1;
    if (x->site != y->site)
        return x->site < y->site ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* 1 when `file` is library code: the standard library, an installed
 * package, or a frozen module.  Judged from the path alone, since a report
 * may be rendered far from the interpreter that ran the program. */
static int is_library(const char *file)
{
    return strncmp(file, "<frozen ", 8) == 0 || strstr(file, "/site-packages/") != NULL ||
           strstr(file, "/dist-packages/") != NULL || strstr(file, "/lib/python") != NULL;
}

/* Sets *site and *line to the first frame of `f` (`n` frames, innermost
 * first) in the program's own code when the innermost one is a library's. */
static void own_frame(const gcm_stack_table *t, const gcm_stack_frame *f, uint32_t n,
                      uint32_t *site, int32_t *line)
{
    const gcm_stack_site *s = n > 0 ? gcm_stacks_site(t, f[0].site) : NULL;
    uint32_t i;

    *site = GCM_STACK_NO_SITE;
    *line = -1;
    if (s == NULL || !is_library(s->file))
        return;
    for (i = 1; i < n; i++) {
        s = gcm_stacks_site(t, f[i].site);
        if (s != NULL && !is_library(s->file)) {
            *site = f[i].site;
            *line = f[i].line;
            return;
        }
    }
}

/* Merges the table's stacks by innermost frame into a new array (free()),
 * sorted by total pause, most first.  Returns 0 or GCM_ENOMEM. */
static int merge_rows(const gcm_stack_table *t, trigger_row **out, size_t *count)
{
    trigger_row *rows = NULL;
    size_t n = 0;
    uint32_t i;
    size_t j;
    uint32_t g;

    *out = NULL;
    *count = 0;
    if (t->used == 0)
        return 0;
    rows = calloc(t->used, sizeof *rows);
    if (rows == NULL)
        return GCM_ENOMEM;
    for (i = 0; i < t->used; i++) {
        const gcm_stack_entry *e = gcm_stacks_entry(t, i);
        const gcm_stack_frame *f = gcm_stacks_frames_const(t, i);
        uint32_t site = e->depth > 0 ? f[0].site : GCM_STACK_NO_SITE;
        int32_t line = e->depth > 0 ? f[0].line : -1;
        uint32_t own_site;
        int32_t own_line;

        if (e->count[0] + e->count[1] + e->count[2] == 0)
            continue;
        own_frame(t, f, e->depth, &own_site, &own_line);
        /* Linear: the table holds about a thousand stacks, and this runs once. */
        for (j = 0; j < n; j++) {
            if (rows[j].site == site && rows[j].line == line && rows[j].own_site == own_site &&
                rows[j].own_line == own_line)
                break;
        }
        if (j == n) {
            rows[n].site = site;
            rows[n].line = line;
            rows[n].own_site = own_site;
            rows[n].own_line = own_line;
            n++;
        }
        rows[j].stacks++;
        for (g = 0; g < GCM_GENERATIONS; g++)
            rows[j].count[g] += e->count[g];
        rows[j].total_ns += e->total_ns;
        if (e->max_ns > rows[j].max_ns)
            rows[j].max_ns = e->max_ns;
    }
    qsort(rows, n, sizeof *rows, by_total_desc);
    *out = rows;
    *count = n;
    return 0;
}

/* Every pause the table counted: its stacks' and the "other" row's. */
static uint64_t table_total_ns(const trigger_row *rows, size_t n, const gcm_stack_table *t)
{
    uint64_t total = t->other_total_ns;
    size_t i;

    for (i = 0; i < n; i++)
        total += rows[i].total_ns;
    return total;
}

static uint64_t share_tenths(uint64_t part, uint64_t whole)
{
    if (whole == 0)
        return 0;
    return (uint64_t)((double)part * 1000.0 / (double)whole + 0.5);
}

static void cells(gcm__line *l, const uint64_t count[GCM_GENERATIONS], uint64_t total_ns,
                  uint64_t max_ns, uint64_t all_ns)
{
    uint64_t n = count[0] + count[1] + count[2];
    size_t from;

    GCM__LINE_LIT(l, "  ");
    from = l->len;
    gcm__line_u64(l, n);
    gcm__line_align_right(l, from, COUNT_WIDTH);
    gcm__line_time_cell(l, total_ns, n, TIME_WIDTH);
    gcm__line_time_cell(l, max_ns, n, TIME_WIDTH);
    from = l->len;
    gcm__line_fixed(l, share_tenths(total_ns, all_ns), 1);
    GCM__LINE_LIT(l, "%");
    gcm__line_align_right(l, from, SHARE_WIDTH);
    from = l->len;
    gcm__line_u64(l, count[0]);
    GCM__LINE_LIT(l, "/");
    gcm__line_u64(l, count[1]);
    GCM__LINE_LIT(l, "/");
    gcm__line_u64(l, count[2]);
    gcm__line_align_right(l, from, GENS_WIDTH);
    GCM__LINE_LIT(l, "  ");
}

/* A frame as "file:line in function"; with `short_file`, the file's last
 * component only, for a screen line that must fit 80 columns. */
static void frame_text(gcm__line *l, const gcm_stack_table *t, uint32_t site, int32_t line,
                       int short_file)
{
    const gcm_stack_site *s = gcm_stacks_site(t, site);
    const char *file;

    if (s == NULL) {
        GCM__LINE_LIT(l, "(unknown)");
        return;
    }
    file = short_file && strrchr(s->file, '/') != NULL ? strrchr(s->file, '/') + 1 : s->file;
    gcm__line_text_escaped(l, file, SITE_BYTES);
    GCM__LINE_LIT(l, ":");
    if (line >= 0)
        gcm__line_u64(l, (uint64_t)line);
    else
        GCM__LINE_LIT(l, "?");
    GCM__LINE_LIT(l, " in ");
    gcm__line_text_escaped(l, s->func, SITE_BYTES);
}

/* The call site, and where the program's own code called the library it is in. */
static void site_text(gcm__line *l, const gcm_stack_table *t, const trigger_row *r, int short_file)
{
    frame_text(l, t, r->site, r->line, short_file);
    if (r->own_site != GCM_STACK_NO_SITE) {
        GCM__LINE_LIT(l, " (from ");
        frame_text(l, t, r->own_site, r->own_line, short_file);
        GCM__LINE_LIT(l, ")");
    }
}

int gcm__explicit_call_site(const gcm_stack_table *t, gcm__line *l)
{
    const gcm_stack_entry *best = NULL;
    uint32_t best_i = 0;
    uint32_t i;
    trigger_row r;

    if (t == NULL)
        return 0;
    for (i = 0; i < t->used; i++) {
        const gcm_stack_entry *e = gcm_stacks_entry(t, i);

        if (e != NULL && e->explicit_count > 0 && e->depth > 0 &&
            (best == NULL || e->explicit_count > best->explicit_count)) {
            best = e;
            best_i = i;
        }
    }
    if (best == NULL)
        return 0;
    {
        const gcm_stack_frame *f = gcm_stacks_frames_const(t, best_i);

        memset(&r, 0, sizeof r);
        r.site = f[0].site;
        r.line = f[0].line;
        own_frame(t, f, best->depth, &r.own_site, &r.own_line);
    }
    site_text(l, t, &r, 0);
    return 1;
}

/* Whether frame `d` of `f` (innermost first) is the launcher's own: its
 * bootstrap (gc_monitor/_bootstrap.py), or the -c program that calls it
 * when the bootstrap is the next frame in.  They sit under every stack of a
 * `run` and say nothing of the program. */
static int launcher_frame(const gcm_stack_table *t, const gcm_stack_frame *f, uint32_t d)
{
    static const char boot[] = "/gc_monitor/_bootstrap.py";
    const gcm_stack_site *site = gcm_stacks_site(t, f[d].site);
    size_t n;

    if (site == NULL)
        return 0;
    n = strlen(site->file);
    if (n >= sizeof boot - 1 && strcmp(site->file + n - (sizeof boot - 1), boot) == 0)
        return 1;
    return strcmp(site->file, "<string>") == 0 && d > 0 && launcher_frame(t, f, d - 1u) &&
           strcmp(gcm_stacks_site(t, f[d - 1u].site)->file, "<string>") != 0;
}

int gcm__trigger_stacks_each(const gcm_stack_table *t,
                             int (*visit)(const gcm__trigger_stack *stack, void *ctx), void *ctx)
{
    gcm__trigger_stack s;
    int status = 0;

    for (uint32_t e = 0; status == 0 && e <= t->used; e++) {
        /* The last one is the "other" row: collections whose stack found
         * the table full, so that the stacks add up to every pause. */
        int other = e == t->used;
        const gcm_stack_entry *entry = other ? NULL : gcm_stacks_entry(t, e);
        const gcm_stack_frame *f = other ? NULL : gcm_stacks_frames_const(t, e);
        const uint64_t *count = other ? t->other_count : entry != NULL ? entry->count : NULL;

        if (count == NULL || (!other && f == NULL) || count[0] + count[1] + count[2] == 0)
            continue;
        memset(&s, 0, sizeof s);
        s.frames = f;
        if (other) {
            s.total_ns = t->other_total_ns;
        } else {
            s.depth = entry->depth < t->depth ? entry->depth : t->depth;
            s.truncated = entry->truncated != 0;
            /* The launcher's outermost frames go (a stack inside the
             * bootstrap alone keeps its innermost frame). */
            while (!s.truncated && s.depth > 1 && launcher_frame(t, f, s.depth - 1u))
                s.depth--;
            s.total_ns = entry->total_ns;
        }
        status = visit(&s, ctx);
    }
    return status;
}

static int head_lines(const gcm_stack_table *t, size_t sites, const char *title,
                      const gcm_sink *sink)
{
    static const char *const heads[] = {"total", "max", "share"};
    static const size_t widths[] = {TIME_WIDTH, TIME_WIDTH, SHARE_WIDTH};
    gcm__line l;
    size_t i, from;
    int status;

    gcm__line_reset(&l);
    gcm__line_str(&l, title);
    gcm__line_u64(&l, (uint64_t)sites);
    gcm__line_str(&l, sites == 1 ? " call site, " : " call sites, ");
    gcm__line_u64(&l, t->used);
    gcm__line_str(&l, t->used == 1 ? " stack):" : " stacks):");
    status = gcm__line_emit(&l, sink);
    if (status != 0)
        return status;
    gcm__line_reset(&l);
    GCM__LINE_LIT(&l, "  ");
    from = l.len;
    GCM__LINE_LIT(&l, "collections");
    gcm__line_align_right(&l, from, COUNT_WIDTH);
    for (i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        from = l.len;
        gcm__line_str(&l, heads[i]);
        gcm__line_align_right(&l, from, widths[i]);
    }
    from = l.len;
    GCM__LINE_LIT(&l, "gen0/gen1/gen2");
    gcm__line_align_right(&l, from, GENS_WIDTH);
    GCM__LINE_LIT(&l, "  call site");
    return gcm__line_emit(&l, sink);
}

/* The table `t` under the first line `title`, which goes on with its counts. */
static int render_text(const gcm_stack_table *t, const char *title, const gcm_sink *sink)
{
    trigger_row *rows = NULL;
    size_t n = 0, i;
    uint64_t all_ns;
    gcm__line l;
    int status = 0;

    if (t == NULL)
        goto done;
    status = merge_rows(t, &rows, &n);
    if (status != 0)
        goto done;
    all_ns = table_total_ns(rows, n, t);
    status = head_lines(t, n, title, sink);
    for (i = 0; status == 0 && i < n && i < TEXT_ROWS; i++) {
        gcm__line_reset(&l);
        cells(&l, rows[i].count, rows[i].total_ns, rows[i].max_ns, all_ns);
        site_text(&l, t, &rows[i], 0);
        status = gcm__line_emit(&l, sink);
    }
    if (status == 0 && n > TEXT_ROWS) {
        gcm__line_reset(&l);
        GCM__LINE_LIT(&l, "  ... ");
        gcm__line_u64(&l, (uint64_t)(n - TEXT_ROWS));
        GCM__LINE_LIT(&l, " more call sites in the JSON report (--json)");
        status = gcm__line_emit(&l, sink);
    }
    if (status == 0 && t->other_stacks > 0) {
        gcm__line_reset(&l);
        cells(&l, t->other_count, t->other_total_ns, t->other_max_ns, all_ns);
        GCM__LINE_LIT(&l, "(other stacks: the table of ");
        gcm__line_u64(&l, t->entries);
        GCM__LINE_LIT(&l, " stacks was full)");
        status = gcm__line_emit(&l, sink);
    }
done:
    free(rows);
    return status;
}

int gcm__render_triggers_text(const gcm_report_input *in, const gcm_sink *sink)
{
    return render_text(in->stacks, "Top GC triggers (innermost frame of the collecting thread; ",
                       sink);
}

int gcm__render_tree_triggers_text(const gcm_stack_table *t, const gcm_sink *sink)
{
    return render_text(t, "Top GC triggers across the tree (merged by call site; ", sink);
}

int gcm_report_top_trigger(const gcm_stack_table *t, char *site, size_t size, uint64_t *count,
                           double *share_pct)
{
    trigger_row *rows = NULL;
    size_t n = 0;
    gcm__line l;
    int status;

    site[0] = '\0';
    *count = 0;
    *share_pct = 0.0;
    status = merge_rows(t, &rows, &n);
    if (status != 0 || n == 0)
        goto done;
    *count = rows[0].count[0] + rows[0].count[1] + rows[0].count[2];
    *share_pct = (double)share_tenths(rows[0].total_ns, table_total_ns(rows, n, t)) / 10.0;
    gcm__line_reset(&l);
    site_text(&l, t, &rows[0], 1);
    n = l.len < size - 1 ? l.len : size - 1;
    /* Never half a UTF-8 sequence at the cut. */
    while (n < l.len && n > 0 && ((unsigned char)l.buf[n] & 0xC0u) == 0x80u)
        n--;
    memcpy(site, l.buf, n);
    site[n] = '\0';
done:
    free(rows);
    return status;
}

/* Nanoseconds to milliseconds rounded to the microsecond, as summary_json.c does. */
static double ms3(uint64_t ns)
{
    return floor((double)ns / 1000.0 + 0.5) / 1000.0;
}

static int add_figures(cJSON *obj, const uint64_t count[GCM_GENERATIONS], uint64_t total_ns,
                       uint64_t max_ns, uint64_t all_ns)
{
    static const char *const gen_keys[GCM_GENERATIONS] = {"gen0", "gen1", "gen2"};
    uint32_t g;

    if (cJSON_AddNumberToObject(obj, "count", (double)(count[0] + count[1] + count[2])) == NULL ||
        cJSON_AddNumberToObject(obj, "total_ms", ms3(total_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "max_ms", ms3(max_ns)) == NULL ||
        cJSON_AddNumberToObject(obj, "share", (double)share_tenths(total_ns, all_ns) / 10.0) ==
            NULL)
        return -1;
    for (g = 0; g < GCM_GENERATIONS; g++) {
        if (cJSON_AddNumberToObject(obj, gen_keys[g], (double)count[g]) == NULL)
            return -1;
    }
    return 0;
}

/* Adds "file", "function" and "line" of a frame to `obj`, each null when unknown. */
static int add_frame(cJSON *obj, const gcm_stack_table *t, uint32_t site, int32_t line)
{
    const gcm_stack_site *s = gcm_stacks_site(t, site);

    if (s != NULL) {
        if (cJSON_AddStringToObject(obj, "file", s->file) == NULL ||
            cJSON_AddStringToObject(obj, "function", s->func) == NULL)
            return -1;
    } else if (cJSON_AddNullToObject(obj, "file") == NULL ||
               cJSON_AddNullToObject(obj, "function") == NULL) {
        return -1;
    }
    return (line >= 0 ? cJSON_AddNumberToObject(obj, "line", (double)line)
                      : cJSON_AddNullToObject(obj, "line")) == NULL
               ? -1
               : 0;
}

static int add_row(cJSON *list, const gcm_stack_table *t, const trigger_row *r, uint64_t all_ns)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *own;

    if (obj == NULL)
        return -1;
    if (!cJSON_AddItemToArray(list, obj)) {
        cJSON_Delete(obj);
        return -1;
    }
    if (add_frame(obj, t, r->site, r->line) != 0)
        return -1;
    if (r->own_site != GCM_STACK_NO_SITE) {
        own = cJSON_AddObjectToObject(obj, "from");
        if (own == NULL || add_frame(own, t, r->own_site, r->own_line) != 0)
            return -1;
    } else if (cJSON_AddNullToObject(obj, "from") == NULL) {
        return -1;
    }
    if (cJSON_AddNumberToObject(obj, "stacks", (double)r->stacks) == NULL)
        return -1;
    return add_figures(obj, r->count, r->total_ns, r->max_ns, all_ns);
}

int gcm__triggers_json(const gcm_stack_table *t, cJSON *root)
{
    trigger_row *rows = NULL;
    cJSON *list;
    cJSON *other;
    size_t n = 0, i;
    uint64_t all_ns;
    int status;

    status = merge_rows(t, &rows, &n);
    if (status != 0)
        goto done;
    all_ns = table_total_ns(rows, n, t);
    status = GCM_ENOMEM;
    if (cJSON_AddNumberToObject(root, "stacks", (double)t->used) == NULL ||
        cJSON_AddNumberToObject(root, "table_size", (double)t->entries) == NULL ||
        cJSON_AddNumberToObject(root, "depth", (double)t->depth) == NULL ||
        cJSON_AddNumberToObject(root, "unnamed_frames", (double)t->unnamed) == NULL)
        goto done;
    list = cJSON_AddArrayToObject(root, "triggers");
    if (list == NULL)
        goto done;
    for (i = 0; i < n; i++) {
        if (add_row(list, t, &rows[i], all_ns) != 0)
            goto done;
    }
    if (t->other_stacks > 0) {
        other = cJSON_AddObjectToObject(root, "other");
        if (other == NULL ||
            add_figures(other, t->other_count, t->other_total_ns, t->other_max_ns, all_ns) != 0)
            goto done;
    } else if (cJSON_AddNullToObject(root, "other") == NULL) {
        goto done;
    }
    status = 0;
done:
    free(rows);
    return status;
}

int gcm__render_triggers_jsonl(const gcm_report_input *in, const gcm_sink *sink)
{
    cJSON *root = NULL;
    int status = 0;

    if (in->stacks == NULL)
        goto done;
    status = GCM_ENOMEM;
    root = cJSON_CreateObject();
    if (root == NULL || cJSON_AddStringToObject(root, "type", "triggers") == NULL)
        goto done;
    status = gcm__triggers_json(in->stacks, root);
    if (status == 0)
        status = gcm__sink_json_line(root, sink);
done:
    cJSON_Delete(root);
    return status;
}
