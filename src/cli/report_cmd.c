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

#define FILES_MAX 4096            /* captures in one merged report */


/* The options `report` accepts besides --format: only those that change how
 * a report is rendered.  The others describe how to record, which a capture
 * already did. */
static const char *const report_flags[] = {
    "interval",           "json",
    "stats-only",         "alert-threshold-ms",
    "flamegraph-file",    "flamegraph-bucket",
    "terminal-flamegraph", "terminal-flamegraph-width",
    "terminal-flamegraph-color", "duration-buckets",
    "prompt",
};

typedef struct report_args {
    const char *file;        /* the capture being rendered */
    const char *files[FILES_MAX]; /* every capture named, in tree order once merged */
    size_t file_count;
    gcm_capture_format format;
    int format_given;
    int help;
    gcm_config cli;          /* the options given on this command line, over defaults */
    const char *given[32];   /* flags given, to apply over the recorded ones */
    size_t given_count;
} report_args;



static void warn(const char *msg)
{
    char line[GCM__MSG_MAX + 64];
    int n = snprintf(line, sizeof line, "warning: %s\n", msg);
    if (n > 0)
        (void)gcm__write_all(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static int print_report_help(void)
{
    static const char text[] =
        "usage: pygcprofiler report [options] FILE [FILE...]\n"
        "\n"
        "Renders the capture FILE that 'pygcprofiler run -o FILE' recorded, without\n"
        "starting Python: after the program exited, while it still runs, or after it\n"
        "was killed.  The report goes to stdout and says how the program ended.\n"
        "Several captures of a process tree (FILE FILE.<pid>..., as 'report FILE*'\n"
        "names them) give one merged report: a table of the processes and totals\n"
        "across the tree, then each process's section (JSON: a 'tree' object last).\n"
        "\n"
        "options:\n"
        "  --format FORMAT       text (default), json (JSON Lines), folded (flame graph\n"
        "                        input) or terminal (text with the terminal flame graph)\n"
        "  --json                the same as --format json\n"
        "  --stats-only          only the summary, not each collection\n"
        "  --interval SECONDS    width of a timeline bucket\n"
        "  --alert-threshold-ms MS\n"
        "                        count alerts for this threshold instead of the recorded\n"
        "                        one (recomputed from the histogram: approximate)\n"
        "  --duration-buckets MS,MS,...\n"
        "                        bucket bounds instead of the recorded ones (recomputed\n"
        "                        from the histogram: approximate)\n"
        "  --flamegraph-file PATH, --flamegraph-bucket SECONDS,\n"
        "  --terminal-flamegraph, --terminal-flamegraph-width COLUMNS,\n"
        "  --terminal-flamegraph-color, --prompt\n"
        "                        as for 'pygcprofiler run'\n"
        "  -h, --help            show this help\n"
        "\n"
        "Exit status: 0 when the report was written, 2 for bad input (a missing,\n"
        "truncated, corrupted or newer-format file, or a bad option).\n";
    return gcm__write_all(1, text, sizeof text - 1);
}

static int is_report_flag(const char *flag)
{
    for (size_t i = 0; i < sizeof report_flags / sizeof report_flags[0]; i++) {
        if (strcmp(report_flags[i], flag) == 0)
            return 1;
    }
    return 0;
}

static int parse_format(const char *value, gcm_capture_format *out)
{
    static const struct {
        const char *name;
        gcm_capture_format format;
    } formats[] = {{"text", GCM_CAPTURE_TEXT},
                   {"json", GCM_CAPTURE_JSON},
                   {"folded", GCM_CAPTURE_FOLDED},
                   {"terminal", GCM_CAPTURE_TERMINAL}};

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        if (strcmp(formats[i].name, value) == 0) {
            *out = formats[i].format;
            return 0;
        }
    }
    return GCM_EINVAL;
}

/* Reads one "--name", "--name=value" or "--name value" at argv[*i]. */
static int parse_option(report_args *a, int argc, char **argv, int *i, char *msg,
                        size_t msg_size)
{
    int status = GCM_EINVAL;
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t name_len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const char *value = eq != NULL ? eq + 1 : NULL;
    char flag[64];
    const gcm_option *opt;
    gcm_config_error err;

    if (name_len >= sizeof flag) {
        (void)snprintf(msg, msg_size, "unknown option '--%.40s...'", name);
        goto done;
    }
    memcpy(flag, name, name_len);
    flag[name_len] = '\0';
    if (strcmp(flag, "format") == 0) {
        if (value == NULL) {
            if (*i + 1 >= argc) {
                (void)snprintf(msg, msg_size,
                               "option '--format' needs a value (text, json, folded or terminal)");
                goto done;
            }
            value = argv[++*i];
        }
        if (parse_format(value, &a->format) != 0) {
            (void)snprintf(msg, msg_size,
                           "invalid value '%.100s' for '--format': must be text, json, folded "
                           "or terminal",
                           value);
            goto done;
        }
        a->format_given = 1;
        status = 0;
        goto done;
    }
    opt = gcm_config_find_in(flag, GCM_SCOPE_CLI);
    if (opt == NULL) {
        (void)snprintf(msg, msg_size, "unknown option '--%s'", flag);
        goto done;
    }
    if (!is_report_flag(opt->flag)) {
        (void)snprintf(msg, msg_size,
                       "option '--%s' is for 'pygcprofiler run', not for 'report'", opt->flag);
        goto done;
    }
    if (opt->kind == GCM_OPT_FLAG) {
        if (value != NULL) {
            (void)snprintf(msg, msg_size, "option '--%s' takes no value, got '%.100s'", opt->flag,
                           value);
            goto done;
        }
    } else if (value == NULL) {
        if (*i + 1 >= argc) {
            (void)snprintf(msg, msg_size, "option '--%s' needs a value (%s)", opt->flag,
                           opt->metavar != NULL ? opt->metavar : "VALUE");
            goto done;
        }
        value = argv[++*i];
    }
    memset(&err, 0, sizeof err);
    if (gcm_config_set(&a->cli, opt, value, &err) != 0) {
        (void)gcm_config_error_format(&err, 0, msg, msg_size);
        goto done;
    }
    if (strcmp(opt->flag, "json") == 0) {
        a->format = GCM_CAPTURE_JSON;
        a->format_given = 1;
    }
    if (a->given_count < sizeof a->given / sizeof a->given[0])
        a->given[a->given_count++] = opt->flag;
    status = 0;
done:
    return status;
}

static int parse_args(report_args *a, int argc, char **argv, char *msg, size_t msg_size)
{
    int status = GCM_EINVAL;
    int only_files = 0;

    memset(a, 0, sizeof *a);
    gcm_config_init(&a->cli);
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (!only_files && (strcmp(word, "--help") == 0 || strcmp(word, "-h") == 0)) {
            a->help = 1;
            status = 0;
            goto done;
        }
        if (!only_files && strcmp(word, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (!only_files && word[0] == '-' && word[1] == '-') {
            if (parse_option(a, argc, argv, &i, msg, msg_size) != 0)
                goto done;
            continue;
        }
        if (!only_files && word[0] == '-' && word[1] != '\0') {
            (void)snprintf(msg, msg_size, "unknown option '%.100s'", word);
            goto done;
        }
        if (a->file_count == FILES_MAX) {
            (void)snprintf(msg, msg_size, "too many capture files: at most %d at a time",
                           FILES_MAX);
            goto done;
        }
        a->files[a->file_count++] = word;
        a->file = a->files[0];
    }
    if (a->file_count > 1 && a->cli.flamegraph_file[0] != '\0') {
        (void)snprintf(msg, msg_size,
                       "option '--flamegraph-file' takes one capture file, got %zu",
                       a->file_count);
        goto done;
    }
    if (a->file == NULL) {
        (void)snprintf(msg, msg_size, "missing capture file: give the FILE of 'run -o FILE'");
        goto done;
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
    req.format = a->format;
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

/* Several captures (src/cli/merge.c): checks that each can be read, orders
 * them parents first, and writes the tree's table before the sections (text)
 * or its object after them (JSON).  Returns the exit status. */
static int report_tree(report_args *a)
{
    char msg[GCM__MSG_MAX];
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
    if (rc == 0 && !json && a->format != GCM_CAPTURE_FOLDED)
        rc = gcm_capture_tree_write(1, tree, 0);
    if (rc != 0) {
        status = 1;
        if (rc != GCM_EIO)
            warn(gcm_strerror(rc));
        goto done;
    }
    /* Each section renders the capture the tree already holds open. */
    for (size_t i = 0; i < a->file_count; i++) {
        a->file = a->files[i];
        (void)snprintf(msg, sizeof msg, "capture '%s' shrank while it was being read", a->file);
        gcm__sigbus_message(msg);
        status = render_capture(a, gcm_capture_tree_capture(tree, i));
        if (status != 0)
            goto done;
    }
    if (json) {
        rc = gcm_capture_tree_write(1, tree, 1);
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
        status = print_report_help() == 0 ? 0 : 1;
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
