/* src/cli/report_cmd.c: `pygcprofiler report FILE [--format F] [options]`.
 *
 * The command line of `report`: it reads the options and the capture files,
 * and hands each capture to the reader library (src/capture/report.c, and
 * tree.c for several) with stdout as the report's destination.  Anything
 * that cannot be read gives one line on stderr and exit 2, anything that can
 * be partly read gives a report and a warning.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/capture.h"
#include "gc_monitor/errors.h"
#include "gc_monitor/reader.h"

#define FILES_MAX 4096 /* captures in one merged report */

/* Room for report's option table. */
#define REPORT_ROWS 21

typedef struct report_args {
    const char *file;             /* the capture being rendered */
    const char *files[FILES_MAX]; /* every capture named, in tree order once merged */
    size_t file_count;
    int format; /* a gcm_capture_format: the index of its word in `formats` */
    int help;
    gcm_config cli;        /* the options given on this command line, over defaults */
    const char *given[32]; /* flags given, to apply over the recorded ones */
    size_t given_count;
} report_args;

/* The words of --format, in the order of gcm_capture_format. */
static const char *const formats[] = {"text",     "json",       "folded", "terminal",
                                      "perfetto", "speedscope", NULL};
_Static_assert(GCM_CAPTURE_TEXT == 0 && GCM_CAPTURE_JSON == 1 && GCM_CAPTURE_FOLDED == 2 &&
                   GCM_CAPTURE_TERMINAL == 3 && GCM_CAPTURE_PERFETTO == 4 &&
                   GCM_CAPTURE_SPEEDSCOPE == 5,
               "formats[] lists the words in the order of gcm_capture_format");

static void warn(const char *msg)
{
    char line[GCM__MSG_MAX + 64];
    int n = snprintf(line, sizeof line, "warning: %s\n", msg);
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Fills `rows` with report's options, stored into `a`: --format and those
 * of run's options that change how a report is rendered.  The others
 * describe how to record, which a capture already did.  Parsing and --help
 * both read the table.  Returns the number of rows. */
static size_t report_options(report_args *a, gcm__opt rows[REPORT_ROWS])
{
    const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_ENUM,
         .name = "format",
         .metavar = "FORMAT",
         .words = formats,
         .store = &a->format,
         .default_text = "text",
         .help = "text, json (JSON Lines), folded (flame graph input), terminal (text with "
                 "the terminal flame graph), perfetto (a trace for ui.perfetto.dev) or "
                 "speedscope (profiles for speedscope.app); of several captures, perfetto and "
                 "speedscope make one file of the whole tree"},
        {.kind = GCM__OPT_SET,
         .name = "json",
         .store = &a->format,
         .value = GCM_CAPTURE_JSON,
         .help = "the same as --format json"},
        {.kind = GCM__OPT_CONFIG,
         .name = "stats-only",
         .store = &a->cli,
         .help = "only the summary, not each collection"},
        {.kind = GCM__OPT_CONFIG,
         .name = "interval",
         .store = &a->cli,
         .help = "width of a timeline bucket"},
        {.kind = GCM__OPT_CONFIG,
         .name = "alert-threshold-ms",
         .store = &a->cli,
         .help = "count alerts for this threshold instead of the recorded one (recomputed "
                 "from the histogram: approximate)"},
        {.kind = GCM__OPT_CONFIG,
         .name = "slo-ms",
         .store = &a->cli,
         .help = "judge the verdict by this pause budget instead of the recorded one"},
        {.kind = GCM__OPT_CONFIG,
         .name = "duration-buckets",
         .store = &a->cli,
         .help = "bucket bounds instead of the recorded ones (recomputed from the histogram: "
                 "approximate)"},
        /* These say what they say for `run`, in the option table's words. */
        {.kind = GCM__OPT_CONFIG, .name = "flamegraph-file", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "html-file", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "flamegraph-bucket", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "terminal-flamegraph", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "terminal-flamegraph-width", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "terminal-flamegraph-color", .store = &a->cli},
        {.kind = GCM__OPT_CONFIG, .name = "prompt", .store = &a->cli},
        GCM__OPT_HELP_ROW,
    };
    _Static_assert(sizeof table / sizeof table[0] <= REPORT_ROWS, "REPORT_ROWS is too small");

    memcpy(rows, table, sizeof table);
    return sizeof table / sizeof table[0];
}

size_t gcm__report_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static report_args unused;
    gcm__opt all[REPORT_ROWS];

    return gcm__opts_lend(rows, size, all, report_options(&unused, all));
}

static int print_report_help(report_args *a)
{
    static const char head[] =
        "usage: pygcprofiler report [options] FILE [FILE...]\n"
        "\n"
        "Renders the capture FILE that 'pygcprofiler run -o FILE' recorded, without\n"
        "starting Python: after the program exited, while it still runs, or after it\n"
        "was killed.  The report goes to stdout and says how the program ended.\n"
        "Several captures of a process tree (FILE FILE.<pid>..., as 'report FILE*'\n"
        "names them) give one merged report: a table of the processes and totals\n"
        "across the tree, then each process's section (JSON: a 'tree' object last);\n"
        "--format perfetto or speedscope, and --html-file, make one file of the tree.\n";
    static const char tail[] =
        "\n"
        "Exit status: 0 when the report was written, 2 for bad input (a missing,\n"
        "truncated, corrupted or newer-format file, or a bad option).\n";
    gcm__opt rows[REPORT_ROWS];
    size_t count = report_options(a, rows);

    return gcm__opts_help(1, head, rows, count, tail);
}

/* An option of `run` that `report` has no use for gets its own refusal. */
static int refuse_run_option(void *ctx, const char *name, char *msg, size_t msg_size)
{
    const gcm_option *opt = gcm_config_find_in(name, GCM_SCOPE_CLI);

    (void)ctx;
    if (opt == NULL)
        return 0;
    (void)snprintf(msg, msg_size, "option '--%s' is for 'pygcprofiler run', not for 'report'",
                   opt->flag);
    return 1;
}

/* Remembers each of run's options given, to apply over the recorded ones. */
static void note_given(void *ctx, const gcm__opt *row)
{
    report_args *a = (report_args *)ctx;

    if (row->kind == GCM__OPT_CONFIG && a->given_count < sizeof a->given / sizeof a->given[0])
        a->given[a->given_count++] = row->name;
}

/* Takes one capture FILE. */
static int add_file(void *ctx, const char *word, char *msg, size_t msg_size)
{
    report_args *a = (report_args *)ctx;

    if (a->file_count == FILES_MAX) {
        (void)snprintf(msg, msg_size, "too many capture files: at most %d at a time", FILES_MAX);
        return GCM_EINVAL;
    }
    a->files[a->file_count++] = word;
    a->file = a->files[0];
    return 0;
}

static int parse_args(report_args *a, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    gcm__opt rows[REPORT_ROWS];
    gcm__opt_spec spec;

    memset(a, 0, sizeof *a);
    gcm_config_init(&a->cli);
    spec = (gcm__opt_spec){.rows = rows,
                           .count = report_options(a, rows),
                           .ctx = a,
                           .operand = add_file,
                           .foreign = refuse_run_option,
                           .given = note_given};
    if (gcm__opts_parse_verb(&spec, argc, argv, &a->help, msg, msg_size) != 0)
        goto done;
    if (a->help) {
        status = 0;
        goto done;
    }
    if (a->file_count > 1 && a->cli.flamegraph_file[0] != '\0') {
        (void)snprintf(msg, msg_size, "option '--flamegraph-file' takes one capture file, got %zu",
                       a->file_count);
        goto done;
    }
    if (a->file == NULL) {
        (void)snprintf(msg, msg_size, "missing capture file: give the FILE of 'run -o FILE'");
        goto done;
    }
    /* The flame graph file is checked before anything is read or written,
     * by the one output policy: only a regular file or nothing at the path
     * is replaced, and never the capture being read. */
    if (gcm__cli_check_output("flamegraph-file", a->cli.flamegraph_file, GCM__OUTPUT_REPLACE, msg,
                              msg_size) != 0)
        goto done;
    if (a->cli.flamegraph_file[0] != '\0' && gcm__same_file(a->cli.flamegraph_file, a->file)) {
        (void)snprintf(msg, msg_size, "'--flamegraph-file' '%s' is the capture being read",
                       a->cli.flamegraph_file);
        goto done;
    }
    if (gcm__cli_check_output("html-file", a->cli.html_file, GCM__OUTPUT_REPLACE, msg, msg_size) !=
        0)
        goto done;
    for (size_t i = 0; a->cli.html_file[0] != '\0' && i < a->file_count; i++) {
        if (gcm__same_file(a->cli.html_file, a->files[i])) {
            (void)snprintf(msg, msg_size, "'--html-file' '%s' is the capture being read",
                           a->cli.html_file);
            goto done;
        }
    }
    status = 0;
done:
    return status;
}

/* Renders the open capture `cap` (a->file) to stdout as `a` asks.  Returns
 * the exit status. */
static int render_capture(const report_args *a, const gcm_capture *cap)
{
    gcm_capture_request req;
    gcm_capture_problem problem;
    int rc;

    memset(&req, 0, sizeof req);
    req.format = (gcm_capture_format)a->format;
    req.given = &a->cli;
    req.given_flags = a->given;
    req.given_count = a->given_count;
    rc = gcm_capture_report(cap, a->file, &req, 1, &problem);
    if (rc == 0)
        return 0;
    if (problem.warning)
        warn(problem.text);
    else if (problem.text[0] != '\0')
        gcm__complain("report", problem.text);
    return problem.bad_input ? GCM__EXIT_USAGE : 1;
}

/* Maps and renders one capture of `a` (a->file).  Returns the exit status. */
static int report_one(report_args *a)
{
    char msg[GCM__MSG_MAX];
    gcm_capture cap;
    int status = GCM__EXIT_USAGE;
    int rc;

    memset(&cap, 0, sizeof cap);
    /* Someone truncating the file while we read it would turn our next load
     * into SIGBUS: that is bad input too, said in one line. */
    (void)snprintf(msg, sizeof msg, "capture '%s' shrank while it was being read", a->file);
    gcm__sigbus_message(msg);
    rc = gcm_capture_open(&cap, a->file);
    if (rc != 0) {
        gcm_capture_open_error(a->file, rc, errno, msg, sizeof msg);
        gcm__complain("report", msg);
        goto done;
    }
    status = render_capture(a, &cap);
done:
    gcm_capture_close(&cap);
    return status;
}

/* A trace or speedscope file of a whole tree (to stdout), or its HTML page
 * (to `html`, when not NULL): one file, every process in it, in tree order.
 * Returns the exit status. */
static int render_whole_tree(const report_args *a, const gcm_capture_tree *tree, const char *html)
{
    const gcm_capture *caps[FILES_MAX];
    gcm_capture_request req;
    gcm_capture_problem problem;
    int rc;

    for (size_t i = 0; i < a->file_count; i++)
        caps[i] = gcm_capture_tree_capture(tree, i);
    memset(&req, 0, sizeof req);
    req.format = (gcm_capture_format)a->format;
    req.given = &a->cli;
    req.given_flags = a->given;
    req.given_count = a->given_count;
    rc = html != NULL ? gcm_capture_tree_html(caps, a->file_count, &req, html, &problem)
                      : gcm_capture_reports_render(caps, a->file_count, &req, 1, &problem);
    if (rc == 0)
        return 0;
    if (problem.warning)
        warn(problem.text);
    else if (problem.text[0] != '\0')
        gcm__complain("report", problem.text);
    return problem.bad_input ? GCM__EXIT_USAGE : 1;
}

/* Several captures (src/capture/tree.c): checks that each can be read, orders
 * them parents first, and writes the tree's table before the sections (text)
 * or its object after them (JSON).  Returns the exit status. */
static int report_tree(report_args *a)
{
    char msg[GCM__MSG_MAX];
    char html[sizeof a->cli.html_file];
    gcm_capture_tree *tree = NULL;
    int status = GCM__EXIT_USAGE;
    int json = a->format == GCM_CAPTURE_JSON;
    int rc;

    for (size_t i = 0; i < a->file_count; i++) {
        gcm_capture cap;

        memset(&cap, 0, sizeof cap);
        rc = gcm_capture_open(&cap, a->files[i]);
        gcm_capture_close(&cap);
        if (rc != 0) {
            gcm_capture_open_error(a->files[i], rc, errno, msg, sizeof msg);
            gcm__complain("report", msg);
            goto done;
        }
    }
    /* Read once: the JSON tree object, written last, describes the same
     * moment as the order of the sections. */
    gcm__sigbus_message("a capture shrank while it was being read");
    rc = gcm_capture_tree_load(a->files, a->file_count, &tree);
    if (rc == 0 && (a->format == GCM_CAPTURE_PERFETTO || a->format == GCM_CAPTURE_SPEEDSCOPE)) {
        status = render_whole_tree(a, tree, NULL);
        /* The page too, as for one capture, after the file on stdout. */
        if (status == 0 && a->cli.html_file[0] != '\0')
            status = render_whole_tree(a, tree, a->cli.html_file);
        goto done;
    }
    if (rc == 0 && !json && a->format != GCM_CAPTURE_FOLDED)
        rc = gcm_capture_tree_write(1, tree, a->cli.slo_ms, 0);
    if (rc != 0) {
        status = 1;
        if (rc != GCM_EIO)
            warn(gcm_strerror(rc));
        goto done;
    }
    /* The page is the whole tree's, written after the sections: none of
     * them writes one of its own. */
    memcpy(html, a->cli.html_file, sizeof html);
    a->cli.html_file[0] = '\0';
    /* Each section renders the capture the tree already holds open. */
    for (size_t i = 0; i < a->file_count; i++) {
        a->file = a->files[i];
        (void)snprintf(msg, sizeof msg, "capture '%s' shrank while it was being read", a->file);
        gcm__sigbus_message(msg);
        status = render_capture(a, gcm_capture_tree_capture(tree, i));
        if (status != 0)
            goto done;
    }
    if (html[0] != '\0') {
        status = render_whole_tree(a, tree, html);
        if (status != 0)
            goto done;
    }
    if (json) {
        rc = gcm_capture_tree_write(1, tree, a->cli.slo_ms, 1);
        if (rc != 0) {
            status = 1;
            if (rc != GCM_EIO)
                warn(gcm_strerror(rc));
            goto done;
        }
    }
    status = 0;
done:
    gcm_capture_tree_free(tree);
    return status;
}

int gcm__report_main(int argc, char **argv)
{
    static report_args args;
    char msg[GCM__MSG_MAX];
    struct sigaction sa;
    int status = GCM__EXIT_USAGE;

    if (parse_args(&args, argc, argv, msg, sizeof msg) != 0) {
        gcm__complain("report", msg);
        goto done;
    }
    if (args.help) {
        status = print_report_help(&args) == 0 ? 0 : 1;
        goto done;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = gcm__on_sigbus;
    (void)sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGBUS, &sa, NULL);
    /* A reader of a closed pipe (`report F | head`) ends the report; it
     * must not kill us before we can tell. */
    (void)signal(SIGPIPE, SIG_IGN);

    if (args.file_count > 1)
        status = report_tree(&args);
    else
        status = report_one(&args);
done:
    return status;
}
