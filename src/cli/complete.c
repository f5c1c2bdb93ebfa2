/* src/cli/complete.c: the shell completions and the man page, written from the option tables.
 *
 *     pygcprofiler completion bash|zsh|fish    a completion script on stdout
 *     pygcprofiler --man                       pygcprofiler(1) in roff (hidden; the build runs it)
 *
 * Both read the same rows every verb parses its command line with and lays
 * out its --help from (options.h), so an option added to a table is
 * completed and documented without a second list to keep in step.  What the
 * tables do not hold, a verb's one-line summary and what its operands are, is
 * the table below.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gc_monitor/errors.h"
#include "options.h"

#ifndef GCM_VERSION
#define GCM_VERSION "unknown"
#endif

/* Room for the longest verb's table. */
#define ROWS_MAX 64
/* One generated line; option help is shorter than this. */
#define LINE_MAX_LEN 2048

typedef struct doc_verb {
    const char *name;
    const char *summary;
    size_t (*rows)(gcm__opt *rows, size_t size);
    const char *operand_words; /* the words an operand may be, or NULL for file names */
} doc_verb;

static size_t run_rows(gcm__opt *rows, size_t size)
{
    return gcm__run_options(NULL, rows, size);
}

/* No options but -h/--help. */
static size_t completion_rows(gcm__opt *rows, size_t size)
{
    static const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        GCM__OPT_HELP_ROW,
    };
    size_t count = sizeof table / sizeof table[0];

    if (count > size)
        count = size;
    memcpy(rows, table, count * sizeof table[0]);
    return count;
}

/* In the order of main.c's verbs and help.c's usage lines. */
static const doc_verb verbs[] = {
    {"run", "run a Python program and report every garbage collection", run_rows, NULL},
    {"report", "render a capture file written by run -o FILE", gcm__report_rows, NULL},
    {"compare", "compare two runs and fail on a regression", gcm__compare_rows, NULL},
    {"live", "watch running captures or processes as they record", gcm__live_rows, NULL},
    {"watch", "record a CPython 3.15+ process from outside into a capture", gcm__watch_rows, NULL},
    {"attach", "make a running CPython 3.14+ process record itself", gcm__attach_rows, NULL},
    {"detach", "make an attached process stop recording", gcm__detach_rows, NULL},
    {"export", "serve capture files' figures to Prometheus", gcm__export_rows, NULL},
    {"completion", "write the completion script of a shell", completion_rows, "bash zsh fish"},
};

/* Where the text goes; the first failed write is kept and ends the output. */
typedef struct out {
    int fd;
    int status;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(out *o, const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    va_list ap;
    int n;

    if (o->status != 0)
        return;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line || gcm__write_all(o->fd, line, (size_t)n) != 0)
        o->status = GCM_EIO;
}

/* Copies `text` into `buf` with each byte of `special` preceded by `escape`
 * (a shell's or roff's quoting), cut to fit. */
static const char *quoted(char *buf, size_t size, const char *text, const char *special,
                          const char *escape)
{
    size_t used = 0;
    size_t elen = strlen(escape);

    for (const char *p = text; *p != '\0'; p++) {
        size_t need = (strchr(special, *p) != NULL ? elen : 0) + 1;
        if (used + need >= size)
            break;
        if (strchr(special, *p) != NULL) {
            memcpy(buf + used, escape, elen);
            used += elen;
        }
        buf[used++] = *p;
    }
    buf[used] = '\0';
    return buf;
}

/* Whether a row's value is a file name: the tables call those PATH or FILE. */
static int takes_file(const gcm__opt *row)
{
    const char *metavar = gcm__opt_metavar(row);

    return gcm__opt_takes_value(row) && metavar != NULL &&
           (strcmp(metavar, "PATH") == 0 || strcmp(metavar, "FILE") == 0);
}

/* Writes the spellings of every option row of `rows` that `want` accepts,
 * each followed by a space: "--name " and "-n ". */
static void put_names(out *o, const gcm__opt *rows, size_t count, int (*want)(const gcm__opt *))
{
    for (size_t i = 0; i < count; i++) {
        if (rows[i].kind == GCM__OPT_GROUP || (want != NULL && !want(&rows[i])))
            continue;
        if (rows[i].name != NULL)
            put(o, "--%s ", rows[i].name);
        if (rows[i].short_name != 0)
            put(o, "-%c ", rows[i].short_name);
    }
}

/* Writes `words` (NULL-terminated) joined by spaces. */
static void put_words(out *o, const char *const *words)
{
    for (size_t w = 0; words[w] != NULL; w++)
        put(o, "%s%s", w == 0 ? "" : " ", words[w]);
}

static void bash_script(out *o)
{
    gcm__opt rows[ROWS_MAX];

    put(o, "# bash completion for pygcprofiler and gc-monitor: 'pygcprofiler completion bash'\n"
           "_pygcprofiler() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
           "    local verb opts values files words i skip=0 eq=0\n"
           "    COMPREPLY=()\n"
           "    if ((COMP_CWORD == 1)); then\n"
           "        COMPREPLY=($(compgen -W '");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        put(o, "%s ", verbs[v].name);
    /* A value given as --name=VALUE splits into "--name", "=" and VALUE. */
    put(o, "--help --version' -- \"$cur\"))\n"
           "        return 0\n"
           "    fi\n"
           "    verb=${COMP_WORDS[1]}\n"
           "    if [[ $prev == = ]]; then\n"
           "        prev=${COMP_WORDS[COMP_CWORD-2]}\n"
           "        eq=1\n"
           "    fi\n"
           "    case $verb in\n");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        size_t count = verbs[v].rows(rows, ROWS_MAX);
        put(o, "    %s)\n        opts='", verbs[v].name);
        put_names(o, rows, count, NULL);
        put(o, "'\n        values=' ");
        put_names(o, rows, count, gcm__opt_takes_value);
        put(o, "'\n        files=' ");
        put_names(o, rows, count, takes_file);
        put(o, "'\n        words='%s'\n",
            verbs[v].operand_words != NULL ? verbs[v].operand_words : "");
        /* The words of an ENUM row complete its value. */
        put(o, "        case $prev in\n");
        for (size_t i = 0; i < count; i++) {
            if (rows[i].kind != GCM__OPT_ENUM || rows[i].name == NULL)
                continue;
            put(o, "        --%s) COMPREPLY=($(compgen -W '", rows[i].name);
            put_words(o, rows[i].words);
            put(o, "' -- \"$cur\")); return 0 ;;\n");
        }
        put(o, "        esac\n        ;;\n");
    }
    put(o, "    *) return 0 ;;\n"
           "    esac\n"
           "    if ((eq)); then\n"
           "        [[ $files == *\" $prev \"* ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "        return 0\n"
           "    fi\n"
           "    for ((i = 2; i < COMP_CWORD; i++)); do\n"
           "        if ((skip)); then skip=0; continue; fi\n"
           "        case ${COMP_WORDS[i]} in\n"
           "        --) [[ $verb == run ]] && return 0 ;;\n"
           "        -*) [[ $values == *\" ${COMP_WORDS[i]} \"* ]] && skip=1 ;;\n"
           "        =) ;;\n"
           "        *) [[ $verb == run ]] && return 0 ;;\n"
           "        esac\n"
           "    done\n"
           "    if ((skip)); then\n"
           "        [[ $files == *\" $prev \"* ]] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "        return 0\n"
           "    fi\n"
           "    if [[ $cur == -* ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
           "    elif [[ -n $words ]]; then\n"
           "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
           "    else\n"
           "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
           "    fi\n"
           "    return 0\n"
           "}\n"
           "complete -o default -F _pygcprofiler pygcprofiler gc-monitor\n");
}

/* One option of `_arguments`: '--name=[help]:METAVAR:action'. */
static void zsh_option(out *o, const gcm__opt *row, const char *spelling)
{
    char bare[LINE_MAX_LEN / 4];
    char help[LINE_MAX_LEN / 2];
    const char *text = gcm__opt_help_text(row);
    const char *metavar = gcm__opt_metavar(row);

    /* Inside the brackets of a spec, then inside the shell's single quotes. */
    (void)quoted(bare, sizeof bare, text != NULL ? text : "", "[]:\\", "\\");
    (void)quoted(help, sizeof help, bare, "'", "'\\'");
    if (!gcm__opt_takes_value(row)) {
        put(o, "        '%s[%s]' \\\n", spelling, help);
        return;
    }
    put(o, "        '%s%s[%s]:%s:", spelling, spelling[1] == '-' ? "=" : "+", help,
        metavar != NULL ? metavar : "VALUE");
    if (row->kind == GCM__OPT_ENUM) {
        put(o, "(");
        put_words(o, row->words);
        put(o, ")");
    } else if (takes_file(row)) {
        put(o, "_files");
    } else {
        put(o, " ");
    }
    put(o, "' \\\n");
}

static void zsh_script(out *o)
{
    gcm__opt rows[ROWS_MAX];
    char spelling[80];

    put(o, "#compdef pygcprofiler gc-monitor\n"
           "# zsh completion for pygcprofiler: 'pygcprofiler completion zsh'\n"
           "_pygcprofiler() {\n"
           "    local -a verbs\n"
           "    verbs=(\n");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        char bare[LINE_MAX_LEN / 2];
        char help[LINE_MAX_LEN / 2];

        /* A _describe entry's colon and backslash, then the shell's quote. */
        (void)quoted(bare, sizeof bare, verbs[v].summary, ":\\", "\\");
        put(o, "        '%s:%s'\n", verbs[v].name, quoted(help, sizeof help, bare, "'", "'\\'"));
    }
    put(o, "    )\n"
           "    if ((CURRENT == 2)); then\n"
           "        _describe -t commands 'pygcprofiler command' verbs\n"
           "        compadd -- --help --version\n"
           "        return\n"
           "    fi\n"
           "    local verb=${words[2]}\n"
           "    shift words\n"
           "    ((CURRENT--))\n"
           "    case $verb in\n");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        size_t count = verbs[v].rows(rows, ROWS_MAX);
        put(o, "    %s)\n        _arguments -S \\\n", verbs[v].name);
        for (size_t i = 0; i < count; i++) {
            if (rows[i].kind == GCM__OPT_GROUP)
                continue;
            if (rows[i].name != NULL) {
                (void)snprintf(spelling, sizeof spelling, "--%s", rows[i].name);
                zsh_option(o, &rows[i], spelling);
            }
            if (rows[i].short_name != 0) {
                (void)snprintf(spelling, sizeof spelling, "-%c", rows[i].short_name);
                zsh_option(o, &rows[i], spelling);
            }
        }
        if (verbs[v].operand_words != NULL)
            put(o, "        '1:argument:(%s)'\n        ;;\n", verbs[v].operand_words);
        else
            put(o, "        '*::argument:_files'\n        ;;\n");
    }
    put(o, "    esac\n"
           "}\n"
           "compdef _pygcprofiler pygcprofiler gc-monitor\n");
}

static void fish_script(out *o)
{
    gcm__opt rows[ROWS_MAX];
    char help[LINE_MAX_LEN / 2];

    put(o, "# fish completion for pygcprofiler: 'pygcprofiler completion fish'\n"
           "complete -c pygcprofiler -f\n"
           "complete -c pygcprofiler -n __fish_use_subcommand -l help -s h -d 'show the help'\n"
           "complete -c pygcprofiler -n __fish_use_subcommand -l version -s V -d 'show the "
           "version'\n");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++)
        put(o, "complete -c pygcprofiler -n __fish_use_subcommand -a %s -d '%s'\n", verbs[v].name,
            quoted(help, sizeof help, verbs[v].summary, "'\\", "\\"));
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        size_t count = verbs[v].rows(rows, ROWS_MAX);
        for (size_t i = 0; i < count; i++) {
            const char *text = gcm__opt_help_text(&rows[i]);
            if (rows[i].kind == GCM__OPT_GROUP)
                continue;
            put(o, "complete -c pygcprofiler -n '__fish_seen_subcommand_from %s'", verbs[v].name);
            if (rows[i].name != NULL)
                put(o, " -l %s", rows[i].name);
            if (rows[i].short_name != 0)
                put(o, " -s %c", rows[i].short_name);
            if (rows[i].kind == GCM__OPT_ENUM) {
                put(o, " -x -a '");
                put_words(o, rows[i].words);
                put(o, "'");
            } else if (takes_file(&rows[i])) {
                put(o, " -r -F");
            } else if (gcm__opt_takes_value(&rows[i])) {
                put(o, " -x");
            }
            put(o, " -d '%s'\n", quoted(help, sizeof help, text != NULL ? text : "", "'\\", "\\"));
        }
        if (verbs[v].operand_words != NULL)
            put(o, "complete -c pygcprofiler -n '__fish_seen_subcommand_from %s' -a '%s'\n",
                verbs[v].name, verbs[v].operand_words);
        else
            put(o, "complete -c pygcprofiler -n '__fish_seen_subcommand_from %s' -F\n",
                verbs[v].name);
    }
    put(o, "complete -c gc-monitor -w pygcprofiler\n");
}

int gcm__completion_main(int argc, char **argv)
{
    static const char head[] = "usage: pygcprofiler completion bash|zsh|fish\n"
                               "\n"
                               "Writes the completion script of a shell to stdout: every verb, "
                               "every\n"
                               "option, the words of --format and file names where a path "
                               "goes.\n";
    static const char tail[] =
        "\n"
        "Install:\n"
        "  bash  source <(pygcprofiler completion bash)         # in ~/.bashrc\n"
        "  zsh   pygcprofiler completion zsh > ~/.zfunc/_pygcprofiler\n"
        "        # with fpath=(~/.zfunc $fpath) before compinit in ~/.zshrc\n"
        "  fish  pygcprofiler completion fish \\\n"
        "          > ~/.config/fish/completions/pygcprofiler.fish\n";
    gcm__opt rows[ROWS_MAX];
    int status = GCM__EXIT_USAGE;
    char msg[GCM__MSG_MAX];
    char shown[GCM__SHOWN_MAX];
    out o = {1, 0};

    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        status = gcm__opts_help(1, head, rows, completion_rows(rows, ROWS_MAX), tail) == 0 ? 0 : 1;
        goto done;
    }
    if (argc < 2) {
        gcm__complain("completion", "'completion' needs a shell: bash, zsh or fish");
        goto done;
    }
    if (argc > 2) {
        (void)snprintf(msg, sizeof msg, "'completion' takes one shell, got '%s' too",
                       gcm__subject(shown, argv[2]));
        gcm__complain("completion", msg);
        goto done;
    }
    if (strcmp(argv[1], "bash") == 0) {
        bash_script(&o);
    } else if (strcmp(argv[1], "zsh") == 0) {
        zsh_script(&o);
    } else if (strcmp(argv[1], "fish") == 0) {
        fish_script(&o);
    } else {
        (void)snprintf(msg, sizeof msg, "unknown shell '%s': must be bash, zsh or fish",
                       gcm__subject(shown, argv[1]));
        gcm__complain("completion", msg);
        goto done;
    }
    status = o.status == 0 ? 0 : 1;
done:
    return status;
}

/* roff's special characters: a backslash, and a hyphen that must stay one. */
static const char *roff(char *buf, size_t size, const char *text)
{
    size_t used = 0;

    /* A line starting with '.' or '\'' would be a request. */
    if ((text[0] == '.' || text[0] == '\'') && size > 2) {
        memcpy(buf, "\\&", 2);
        used = 2;
    }
    buf[used] = '\0';
    (void)quoted(buf + used, size - used, text, "\\-", "\\");
    /* "\" before a backslash makes "\\"; roff wants "\e" for a printed one. */
    for (char *p = buf; (p = strstr(p, "\\\\")) != NULL; p += 2)
        p[1] = 'e';
    return buf;
}

static void man_option(out *o, const gcm__opt *row)
{
    char a[LINE_MAX_LEN / 4];
    char b[LINE_MAX_LEN / 2];
    const char *metavar = gcm__opt_metavar(row);
    const char *text = gcm__opt_help_text(row);

    put(o, ".TP\n");
    if (row->short_name != 0 && row->name != NULL)
        put(o, "\\fB\\-%c\\fR, \\fB\\-\\-%s\\fR", row->short_name, roff(a, sizeof a, row->name));
    else if (row->name != NULL)
        put(o, "\\fB\\-\\-%s\\fR", roff(a, sizeof a, row->name));
    else
        put(o, "\\fB\\-%c\\fR", row->short_name);
    if (gcm__opt_takes_value(row) && metavar != NULL)
        put(o, " \\fI%s\\fR", roff(a, sizeof a, metavar));
    put(o, "\n%s", roff(b, sizeof b, text != NULL ? text : ""));
    if (row->default_text != NULL)
        put(o, " (default: %s)", roff(a, sizeof a, row->default_text));
    put(o, "\n");
}

int gcm__print_man(int fd)
{
    out o = {fd, 0};
    gcm__opt rows[ROWS_MAX];
    char a[LINE_MAX_LEN / 2];

    put(&o,
        ".TH PYGCPROFILER 1 \"\" \"pygcprofiler %s\" \"User Commands\"\n"
        ".SH NAME\n"
        "pygcprofiler, gc\\-monitor \\- see Python's garbage collector in action without "
        "getting in its way\n"
        ".SH SYNOPSIS\n"
        ".nf\n",
        GCM_VERSION);
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        const char *synopsis = gcm__verb_synopsis(verbs[v].name);
        if (synopsis != NULL)
            put(&o, "\\fBpygcprofiler\\fR %s\n", roff(a, sizeof a, synopsis));
    }
    put(&o, "\\fBpygcprofiler\\fR \\-\\-help | \\-\\-version\n"
            ".fi\n"
            ".SH DESCRIPTION\n"
            "\\fBpygcprofiler run\\fR runs a Python program exactly as python would, while a\n"
            "callback written in C records every garbage collection into one block of\n"
            "memory allocated at start, and prints a report when the program exits.\n"
            "The other commands read what it recorded: a capture file written with\n"
            "\\fB\\-o\\fR \\fIFILE\\fR, while the program runs or after it ended.\n"
            "\\fBgc\\-monitor\\fR is the same program.\n"
            "Each command prints its own help with \\fB\\-\\-help\\fR.\n"
            ".SH COMMANDS\n");
    for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
        size_t count = verbs[v].rows(rows, ROWS_MAX);
        put(&o, ".SS %s\n%s.\n", verbs[v].name, roff(a, sizeof a, verbs[v].summary));
        for (size_t i = 0; i < count; i++) {
            if (rows[i].hidden)
                continue;
            if (rows[i].kind == GCM__OPT_GROUP)
                put(&o, ".PP\n\\fI%s\\fR\n", roff(a, sizeof a, rows[i].help));
            else
                man_option(&o, &rows[i]);
        }
    }
    put(&o, ".SH ENVIRONMENT\n"
            ".TP\n"
            ".B " GCM_ENV_PYTHON "\n"
            "the interpreter of \\fBrun\\fR when \\fB\\-\\-python\\fR is not given\n"
            ".SH EXIT STATUS\n"
            "\\fBrun\\fR exits with the program's own status, 2 for bad input (the program\n"
            "never starts), or 3 when the program succeeded but broke a \\fB\\-\\-fail\\-on\\fR "
            "rule.\n"
            "\\fBcompare\\fR exits 3 when a metric regressed.\n"
            "Every command exits 2 for bad input.\n"
            ".SH SEE ALSO\n"
            ".BR python3 (1)\n");
    return o.status;
}
