/* test_stacks.c: the trigger table of --stacks.  The same stack finds the
 * same entry, a stack differing in one frame's offset is another, a full
 * table counts new stacks in its "other" row with totals exact, long names
 * keep their informative part whole (never half a UTF-8 sequence), a fork
 * child's reset keeps the sites but forgets the stacks, a table read from a
 * file is checked as hostile input, and tables of several processes merge
 * by call site with every total kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gc_monitor/errors.h"
#include "gc_monitor/stacks.h"
#include "gcm_test.h"

static gcm_stack_table *make(uint32_t entries, uint32_t depth, uint32_t sites)
{
    size_t size = gcm_stacks_size(entries, depth, sites);
    gcm_stack_table *t;

    GCM_CHECK(size > 0);
    t = malloc(size);
    GCM_CHECK(t != NULL);
    GCM_CHECK_EQ_INT(gcm_stacks_init(t, size, entries, depth, sites), 0);
    return t;
}

static void test_dimensions(void)
{
    gcm_stack_table small;

    GCM_CHECK_EQ_U64(gcm_stacks_size(0, 8, 8), 0);
    GCM_CHECK_EQ_U64(gcm_stacks_size(8, 0, 8), 0);
    GCM_CHECK_EQ_U64(gcm_stacks_size(8, GCM_STACK_MAX_DEPTH + 1, 8), 0);
    GCM_CHECK_EQ_U64(gcm_stacks_size(8, 8, 0), 0);
    GCM_CHECK(gcm_stacks_size(8, 8, 8) > sizeof(gcm_stack_table));
    GCM_CHECK_EQ_INT(gcm_stacks_init(&small, sizeof small, 8, 8, 8), GCM_ENOMEM);
    GCM_CHECK_EQ_INT(gcm_stacks_init(NULL, 1 << 20, 8, 8, 8), GCM_EINVAL);
}

static void test_same_stack_same_entry(void)
{
    gcm_stack_table *t = make(4, 3, 4);
    gcm_stack_frame a[3] = {{0, 10, -1}, {1, 20, -1}, {2, 30, -1}};
    gcm_stack_frame b[3] = {{0, 12, -1}, {1, 20, -1}, {2, 30, -1}};
    int added = 0;
    uint32_t ea, eb;
    const gcm_stack_entry *e;

    ea = gcm_stacks_find(t, a, 3, 0, &added);
    GCM_CHECK_EQ_INT(added, 1);
    GCM_CHECK_EQ_U64(gcm_stacks_find(t, a, 3, 0, &added), ea);
    GCM_CHECK_EQ_INT(added, 0);
    eb = gcm_stacks_find(t, b, 3, 0, &added);
    GCM_CHECK_EQ_INT(added, 1);
    GCM_CHECK(eb != ea);
    /* A shorter stack with the same innermost frames is another stack. */
    GCM_CHECK(gcm_stacks_find(t, a, 2, 1, &added) != ea);
    GCM_CHECK_EQ_INT(added, 1);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(t, 2)->truncated, 1);
    /* More frames than the depth are cut to it. */
    GCM_CHECK_EQ_U64(t->used, 3);

    gcm_stacks_record(t, ea, 0, 100, 0);
    gcm_stacks_record(t, ea, 2, 300, 1);
    gcm_stacks_record(t, ea, 0, 200, 0);
    e = gcm_stacks_entry(t, ea);
    GCM_CHECK_EQ_U64(e->explicit_count, 1);
    GCM_CHECK_EQ_U64(e->count[0], 2);
    GCM_CHECK_EQ_U64(e->count[2], 1);
    GCM_CHECK_EQ_U64(e->total_ns, 600);
    GCM_CHECK_EQ_U64(e->max_ns, 300);
    GCM_CHECK_EQ_U64(gcm_stacks_frames_const(t, ea)[1].offset, 20);
    GCM_CHECK(gcm_stacks_entry(t, 3) == NULL);
    free(t);
}

static void test_full_table_keeps_totals_exact(void)
{
    gcm_stack_table *t = make(16, 2, 4);
    uint64_t total = 0, counted = 0, n = 0;
    uint32_t i, g;
    int added;

    for (i = 0; i < 1000; i++) {
        gcm_stack_frame f[2] = {{0, i % 100, -1}, {1, 0, -1}};
        uint32_t e = gcm_stacks_find(t, f, 2, 0, &added);
        uint64_t ns = 1000 + i;

        gcm_stacks_record(t, e, i % 3, ns, 0);
        total += ns;
        n++;
    }
    GCM_CHECK_EQ_U64(t->used, 16);
    total -= t->other_total_ns;
    for (i = 0; i < t->used; i++) {
        const gcm_stack_entry *e = gcm_stacks_entry(t, i);

        for (g = 0; g < GCM_GENERATIONS; g++)
            counted += e->count[g];
        total -= e->total_ns;
    }
    for (g = 0; g < GCM_GENERATIONS; g++)
        counted += t->other_count[g];
    GCM_CHECK_EQ_U64(counted, n);
    GCM_CHECK_EQ_U64(total, 0);
    GCM_CHECK_EQ_U64(t->other_stacks, 1000 - 16 * 10);
    GCM_CHECK_EQ_U64(t->other_max_ns, 1999);

    /* A fork child: the stacks go, the sites stay. */
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "a.py", 4, "f", 1), 0);
    gcm_stacks_forget_stacks(t);
    GCM_CHECK_EQ_U64(t->used, 0);
    GCM_CHECK_EQ_U64(t->other_stacks, 0);
    GCM_CHECK_EQ_U64(t->other_total_ns, 0);
    GCM_CHECK_STREQ(gcm_stacks_site(t, 0)->file, "a.py");
    {
        gcm_stack_frame f[1] = {{0, 4, 7}};
        GCM_CHECK_EQ_U64(gcm_stacks_find(t, f, 1, 0, &added), 0);
        GCM_CHECK_EQ_INT(added, 1);
    }
    free(t);
}

static void test_site_names(void)
{
    gcm_stack_table *t = make(4, 4, 3);
    char file[600];
    char func[200];
    const gcm_stack_site *s;
    size_t i;

    /* A long path keeps its tail, which names the file; a long function its head. */
    for (i = 0; i < sizeof file; i++)
        file[i] = (char)('a' + i % 26);
    memcpy(file + sizeof file - 8, "/last.py", 8);
    /* "é" (two bytes) where a cut at 63 bytes would split it. */
    memset(func, 'x', sizeof func);
    func[62] = (char)0xC3;
    func[63] = (char)0xA9;
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, file, sizeof file, func, sizeof func), 0);
    s = gcm_stacks_site(t, 0);
    GCM_CHECK_EQ_U64(strlen(s->file), GCM_STACK_FILE_SIZE - 1);
    GCM_CHECK(strncmp(s->file, "...", 3) == 0);
    GCM_CHECK_STREQ(s->file + strlen(s->file) - 8, "/last.py");
    GCM_CHECK_EQ_U64(strlen(s->func), 62);
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "b.py", 4, "g", 1), 1);
    GCM_CHECK_STREQ(gcm_stacks_site(t, 1)->func, "g");
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "c.py", 4, "h", 1), 2);
    /* Full: no more names. */
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "d.py", 4, "i", 1), GCM_STACK_NO_SITE);
    GCM_CHECK(gcm_stacks_site(t, 3) == NULL);
    free(t);
}

/* A table of two stacks over two sites, with figures, for the check and the merge. */
static gcm_stack_table *two_stacks(size_t *size, const char *func_a, uint64_t ns)
{
    gcm_stack_table *t;
    gcm_stack_frame s1[2] = {{0, 10, 4}, {1, 2, 9}};
    gcm_stack_frame s2[1] = {{1, 6, 11}};
    int added;
    uint32_t e;

    *size = gcm_stacks_size(4, 2, 4);
    t = make(4, 2, 4);
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "app.py", 6, func_a, strlen(func_a)), 0);
    GCM_CHECK_EQ_U64(gcm_stacks_add_site(t, "app.py", 6, "<module>", 8), 1);
    e = gcm_stacks_find(t, s1, 2, 0, &added);
    gcm_stacks_record(t, e, 0, ns, 0);
    gcm_stacks_record(t, e, 2, 3 * ns, 1);
    e = gcm_stacks_find(t, s2, 1, 0, &added);
    gcm_stacks_record(t, e, 1, 2 * ns, 0);
    return t;
}

static void test_check_refuses_what_no_writer_makes(void)
{
    size_t size;
    gcm_stack_table *t = two_stacks(&size, "make", 100);
    gcm_stack_table *copy = malloc(size);
    gcm_stack_site *s;

    GCM_CHECK(copy != NULL);
    GCM_CHECK_EQ_INT(gcm_stacks_check(t, size), 0);
    GCM_CHECK_EQ_INT(gcm_stacks_check(t, size - 1), GCM_ECORRUPT);
    GCM_CHECK_EQ_INT(gcm_stacks_check(t, sizeof *t - 1), GCM_ECORRUPT);
#define DAMAGED(field, value)                                                                      \
    do {                                                                                           \
        memcpy(copy, t, size);                                                                     \
        copy->field = (value);                                                                     \
        GCM_CHECK_EQ_INT(gcm_stacks_check(copy, size), GCM_ECORRUPT);                              \
    } while (0)
    DAMAGED(size, size + 8);
    DAMAGED(entries, 5);
    DAMAGED(depth, 200);
    DAMAGED(sites, 0);
    DAMAGED(index_slots, 4);
    DAMAGED(used, 5);
    DAMAGED(sites_used, 5);
#undef DAMAGED
    /* An entry deeper than the table, a frame naming a site never named. */
    memcpy(copy, t, size);
    ((gcm_stack_entry *)(uintptr_t)gcm_stacks_entry(copy, 1))->depth = 3;
    GCM_CHECK_EQ_INT(gcm_stacks_check(copy, size), GCM_ECORRUPT);
    memcpy(copy, t, size);
    gcm_stacks_frames(copy, 0)[1].site = 2;
    GCM_CHECK_EQ_INT(gcm_stacks_check(copy, size), GCM_ECORRUPT);
    gcm_stacks_frames(copy, 0)[1].site = GCM_STACK_NO_SITE;
    GCM_CHECK_EQ_INT(gcm_stacks_check(copy, size), 0);
    /* Names: unterminated, with an escape sequence, with bytes that are not
     * UTF-8 (a lone continuation byte, an overlong '/', a surrogate) come out
     * printable and terminated; valid UTF-8 stays. */
    memcpy(copy, t, size);
    s = (gcm_stack_site *)(uintptr_t)gcm_stacks_site(copy, 0);
    memset(s->file, 'a', sizeof s->file);
    memcpy(s->func, "\033[2Jx\x80y\xC0\xAFz\xED\xA0\x80\xC3\xA9", 16);
    GCM_CHECK_EQ_INT(gcm_stacks_check(copy, size), 0);
    GCM_CHECK_EQ_U64(strlen(s->file), GCM_STACK_FILE_SIZE - 1);
    GCM_CHECK_STREQ(s->func, "?[2Jx?y??z???\xC3\xA9");
    free(copy);
    free(t);
}

static void test_merge_adds_up_by_call_site(void)
{
    size_t size;
    gcm_stack_table *a = two_stacks(&size, "make", 100);
    gcm_stack_table *b = two_stacks(&size, "make", 1000);
    gcm_stack_table *c = two_stacks(&size, "other", 7);
    gcm_stack_table *all = make(4, 2, 8);
    gcm_stack_table *tiny = make(1, 2, 8);
    uint64_t total = 0;
    uint32_t i;

    /* c's first site has another name: its stack stays apart. */
    c->other_count[1] = 2;
    c->other_stacks = 2;
    c->other_total_ns = 50;
    c->other_max_ns = 30;
    GCM_CHECK_EQ_INT(gcm_stacks_merge(all, a), 0);
    GCM_CHECK_EQ_INT(gcm_stacks_merge(all, b), 0);
    GCM_CHECK_EQ_INT(gcm_stacks_merge(all, c), 0);
    GCM_CHECK_EQ_U64(all->sites_used, 3);
    GCM_CHECK_EQ_U64(all->used, 3);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 0)->count[0], 2);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 0)->count[2], 2);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 0)->total_ns, 4400);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 0)->max_ns, 3000);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 0)->explicit_count, 2);
    GCM_CHECK_EQ_U64(gcm_stacks_frames_const(all, 0)[0].line, 4);
    GCM_CHECK_EQ_U64(gcm_stacks_entry(all, 1)->total_ns, 2214);
    GCM_CHECK_STREQ(gcm_stacks_site(all, gcm_stacks_frames_const(all, 2)[0].site)->func, "other");
    GCM_CHECK_EQ_U64(all->other_stacks, 2);
    GCM_CHECK_EQ_U64(all->other_total_ns, 50);
    /* A table too small for every stack keeps the totals in "other". */
    GCM_CHECK_EQ_INT(gcm_stacks_merge(tiny, a), 0);
    GCM_CHECK_EQ_INT(gcm_stacks_merge(tiny, c), 0);
    GCM_CHECK_EQ_U64(tiny->used, 1);
    for (i = 0; i < tiny->used; i++)
        total += gcm_stacks_entry(tiny, i)->total_ns;
    GCM_CHECK_EQ_U64(total + tiny->other_total_ns, 600 + 42 + 50);
    GCM_CHECK_EQ_U64(tiny->other_stacks, 1 + 2 + 1 + 2);
    GCM_CHECK_EQ_INT(gcm_stacks_merge(NULL, a), GCM_EINVAL);
    free(a);
    free(b);
    free(c);
    free(all);
    free(tiny);
}

int main(void)
{
    GCM_RUN(test_dimensions);
    GCM_RUN(test_same_stack_same_entry);
    GCM_RUN(test_full_table_keeps_totals_exact);
    GCM_RUN(test_site_names);
    GCM_RUN(test_check_refuses_what_no_writer_makes);
    GCM_RUN(test_merge_adds_up_by_call_site);
    return 0;
}
