/* src/cli/export.c: `pygcprofiler export [--prometheus ADDRESS] CAPTURE...`.
 *
 * Serves the figures of running (and recently ended) processes to
 * Prometheus: a small blocking HTTP/1.1 server, one connection at a time,
 * that answers GET /metrics with the text exposition format built by
 * export_procs.c from the capture files.  It reads the captures as any
 * report does, with seqlock snapshots, so the monitored processes do no
 * work for it.  It listens on loopback unless told another address, and
 * runs until SIGINT or SIGTERM.  docs/metrics.md lists the metrics.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export.h"
#include "gc_monitor/clock.h"
#include "gc_monitor/errors.h"

#define EXPORT_ROWS 5
#define EXPORT_DEFAULT_HOST "127.0.0.1"
#define EXPORT_DEFAULT_PORT "9464"
/* A request line and its headers must fit here and arrive within this
 * many milliseconds, so one slow client cannot hold the server long. */
#define REQUEST_MAX 8192
#define REQUEST_WAIT_MS 5000
/* The accept loop looks at the stop flag at least this often (ms). */
#define STOP_POLL_MS 500

typedef struct export_args {
    const char *address;
    double keep_s;
    char host[256];
    char port[16];
} export_args;

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

/* Splits "HOST:PORT", "[V6]:PORT" or "PORT" into a->host and a->port. */
static int take_address(void *store, const char *value, char *msg, size_t msg_size)
{
    export_args *a = (export_args *)store;
    char shown[GCM__SHOWN_MAX];
    const char *colon = strrchr(value, ':');
    const char *port = colon != NULL ? colon + 1 : value;
    size_t host_len = colon != NULL ? (size_t)(colon - value) : 0;
    const char *host = value;
    long n = 0;

    if (a->address != NULL) {
        (void)snprintf(msg, msg_size, "option '--prometheus' given twice ('%s')",
                       gcm__subject(shown, value));
        return GCM_EINVAL;
    }
    if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
        host++;
        host_len -= 2;
    }
    for (const char *c = port; *c != '\0' && n <= 65535; c++)
        n = (*c >= '0' && *c <= '9') ? n * 10 + (*c - '0') : 65536;
    if (port[0] == '\0' || n > 65535 || strlen(port) > 5 || (colon != NULL && host_len == 0) ||
        host_len >= sizeof a->host) {
        (void)snprintf(msg, msg_size,
                       "option '--prometheus' takes HOST:PORT or PORT (such as 127.0.0.1:9464), "
                       "got '%s'",
                       gcm__subject(shown, value));
        return GCM_EINVAL;
    }
    if (colon != NULL) {
        memcpy(a->host, host, host_len);
        a->host[host_len] = '\0';
    }
    /* n <= 65535 here; as an unsigned int the compiler sees it fits. */
    (void)snprintf(a->port, sizeof a->port, "%u", (unsigned int)n);
    a->address = value;
    return 0;
}

static size_t export_options(export_args *a, gcm__opt rows[EXPORT_ROWS])
{
    const gcm__opt table[] = {
        {.kind = GCM__OPT_GROUP, .help = "Options"},
        {.kind = GCM__OPT_LIST,
         .name = "prometheus",
         .metavar = "[HOST:]PORT",
         .store = a,
         .add = take_address,
         .help = "where /metrics is served; HOST defaults to 127.0.0.1 (loopback only)",
         .default_text = EXPORT_DEFAULT_HOST ":" EXPORT_DEFAULT_PORT},
        {.kind = GCM__OPT_NUMBER,
         .name = "keep-ended",
         .metavar = "SECONDS",
         .store = &a->keep_s,
         .min = 0,
         .max = 604800,
         .refusal = "must be seconds from 0 to 604800 (a week)",
         .default_text = "300",
         .help = "how long an ended process keeps its final figures"},
        GCM__OPT_HELP_ROW,
    };
    _Static_assert(sizeof table / sizeof table[0] <= EXPORT_ROWS, "EXPORT_ROWS is too small");

    memcpy(rows, table, sizeof table);
    return sizeof table / sizeof table[0];
}

size_t gcm__export_rows(gcm__opt *rows, size_t size)
{
    /* The values would be stored here, and never are. */
    static export_args unused;
    gcm__opt all[EXPORT_ROWS];

    return gcm__opts_lend(rows, size, all, export_options(&unused, all));
}

static int print_export_help(export_args *a)
{
    static const char head[] =
        "usage: pygcprofiler export [--prometheus [HOST:]PORT] [--keep-ended SECONDS]\n"
        "                           CAPTURE...\n"
        "\n"
        "Serves the garbage collection figures of the processes recording into the\n"
        "captures (pygcprofiler run -o FILE) at http://HOST:PORT/metrics, in the\n"
        "Prometheus text format: collections, objects collected, uncollectable, pause\n"
        "time, the longest pause, a pause histogram per generation and the GC share of\n"
        "wall time, labelled by pid.  Each scrape reads the captures anew; the monitored\n"
        "processes do nothing for it.\n"
        "\n"
        "A CAPTURE is a capture file, a directory of captures, or a quoted glob pattern\n"
        "('gc.capture*'); new matches and the FILE.<pid> captures of child processes\n"
        "are picked up as they appear.  Each must name at least one capture at start.\n";
    static const char tail[] =
        "\n"
        "A process that ended keeps its final figures for --keep-ended seconds after\n"
        "its end, then leaves the metrics.  It runs until Ctrl-C or SIGTERM.\n"
        "See docs/metrics.md for every metric.\n"
        "\n"
        "Exit status: 0 when stopped by a signal, 1 when serving failed, 2 for bad\n"
        "input (a bad option, an address in use, a file that is not a capture).\n";
    gcm__opt rows[EXPORT_ROWS];
    size_t count = export_options(a, rows);

    return gcm__opts_help(1, head, rows, count, tail);
}

static int take_capture(void *ctx, const char *word, char *msg, size_t msg_size)
{
    export_state *st = (export_state *)ctx;
    char shown[GCM__SHOWN_MAX];

    if (word[0] == '\0') {
        (void)snprintf(msg, msg_size, "a capture name cannot be empty, got ''");
        return GCM_EINVAL;
    }
    if (st->arg_count >= EXPORT_MAX_ARGS) {
        (void)snprintf(msg, msg_size, "too many captures at '%s': at most %d arguments",
                       gcm__subject(shown, word), EXPORT_MAX_ARGS);
        return GCM_EINVAL;
    }
    st->args[st->arg_count++] = word;
    return 0;
}

/* Binds and listens on the address of `a`.  Returns the socket, or -1 with
 * one line in `msg`. */
static int open_listener(const export_args *a, char *msg, size_t msg_size)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    char shown[GCM__SHOWN_MAX];
    char why[128];
    int fd = -1;
    int one = 1;
    int rc;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(a->host, a->port, &hints, &res);
    if (rc != 0 || res == NULL) {
        (void)snprintf(msg, msg_size, "cannot listen on '%s': %s",
                       gcm__subject(shown, a->address != NULL ? a->address : a->host),
                       rc != 0 ? gai_strerror(rc) : "no address");
        goto done;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, (socklen_t)sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
        int err = errno;
        (void)snprintf(msg, msg_size, "cannot listen on '%s:%s': %s%s", a->host, a->port,
                       gcm__errno_text(err, why, sizeof why),
                       err == EADDRINUSE ? " (another program uses this port: pick another)" : "");
        if (fd >= 0)
            (void)close(fd);
        fd = -1;
    }
done:
    if (res != NULL)
        freeaddrinfo(res);
    return fd;
}

/* Reads one request's head from `fd` into `buf`.  Returns its length, or
 * -1 when the client sent nothing usable in time. */
static long read_request(int fd, char *buf, size_t size)
{
    size_t len = 0;
    uint64_t deadline = gcm_clock_monotonic_ns() + (uint64_t)REQUEST_WAIT_MS * 1000000u;

    while (len + 1 < size) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        uint64_t now = gcm_clock_monotonic_ns();
        ssize_t n;

        if (now >= deadline || stop_signal != 0)
            return -1;
        if (poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1) <= 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n") != NULL || strstr(buf, "\n\n") != NULL)
            return (long)len;
    }
    return -1;
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len,
                    int head_only)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, type, len);

    if (n <= 0 || (size_t)n >= sizeof head || gcm__write_all(fd, head, (size_t)n) != 0)
        return;
    if (!head_only && len > 0)
        (void)gcm__write_all(fd, body, len);
}

/* Answers one connection. */
static void serve_one(export_state *st, int fd)
{
    static const char text_type[] = "text/plain; charset=utf-8";
    char req[REQUEST_MAX];
    char method[16];
    char target[256];
    export_buf out = {0};
    int head_only;

    if (read_request(fd, req, sizeof req) < 0)
        return;
    if (sscanf(req, "%15s %255s", method, target) != 2) {
        respond(fd, "400 Bad Request", text_type, "bad request\n", 12, 0);
        return;
    }
    head_only = strcmp(method, "HEAD") == 0;
    if (strcmp(method, "GET") != 0 && !head_only) {
        respond(fd, "405 Method Not Allowed", text_type, "only GET and HEAD\n", 18, 0);
        return;
    }
    if (strcmp(target, "/") == 0) {
        static const char home[] = "pygcprofiler export: the metrics are at /metrics\n";
        respond(fd, "200 OK", text_type, home, sizeof home - 1, head_only);
        return;
    }
    if (strcmp(target, "/metrics") != 0 && strncmp(target, "/metrics?", 9) != 0) {
        respond(fd, "404 Not Found", text_type, "not found: try /metrics\n", 24, head_only);
        return;
    }
    gcm__export_refresh(st);
    gcm__export_metrics(st, &out);
    if (out.failed)
        respond(fd, "500 Internal Server Error", text_type, "out of memory\n", 14, head_only);
    else
        respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", out.data, out.len,
                head_only);
    free(out.data);
}

static int install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    (void)sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a signal ends the wait in poll at once. */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return GCM_EIO;
    /* A client that hangs up mid-answer is an EPIPE, never a death. */
    sa.sa_handler = SIG_IGN;
    if (sigaction(SIGPIPE, &sa, NULL) != 0)
        return GCM_EIO;
    sa.sa_handler = gcm__on_sigbus;
    if (sigaction(SIGBUS, &sa, NULL) != 0)
        return GCM_EIO;
    return 0;
}

/* Says where it serves, with the port the system chose for port 0. */
static void announce(int fd, const export_args *a)
{
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)sizeof ss;
    char host[256];
    char port[16];
    char line[400];
    int n;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        (void)snprintf(host, sizeof host, "%s", a->host);
        (void)snprintf(port, sizeof port, "%s", a->port);
    }
    n = snprintf(line, sizeof line, "pygcprofiler export: serving http://%s%s%s:%s/metrics\n",
                 strchr(host, ':') != NULL ? "[" : "", host, strchr(host, ':') != NULL ? "]" : "",
                 port);
    if (n > 0 && (size_t)n < sizeof line)
        (void)gcm__write_all(2, line, (size_t)n);
}

int gcm__export_main(int argc, char **argv)
{
    export_args a;
    export_state *st = NULL;
    gcm__opt rows[EXPORT_ROWS];
    gcm__opt_spec spec;
    char msg[GCM__MSG_MAX];
    char why[128];
    int help = 0;
    int listener = -1;
    int status = GCM__EXIT_USAGE;

    memset(&a, 0, sizeof a);
    a.keep_s = EXPORT_KEEP_DEFAULT;
    (void)snprintf(a.host, sizeof a.host, "%s", EXPORT_DEFAULT_HOST);
    (void)snprintf(a.port, sizeof a.port, "%s", EXPORT_DEFAULT_PORT);
    st = calloc(1, sizeof *st);
    if (st == NULL) {
        gcm__complain("export", "out of memory");
        status = 1;
        goto done;
    }
    spec = (gcm__opt_spec){
        .rows = rows, .count = export_options(&a, rows), .ctx = st, .operand = take_capture};
    if (gcm__opts_parse_verb(&spec, argc, argv, &help, msg, sizeof msg) != 0) {
        gcm__complain("export", msg);
        goto done;
    }
    if (help) {
        status = print_export_help(&a) == 0 ? 0 : 1;
        goto done;
    }
    if (st->arg_count == 0) {
        gcm__complain("export",
                      "'export' needs at least one capture (from 'pygcprofiler run -o FILE')");
        goto done;
    }
    st->keep_ns = (uint64_t)(a.keep_s * 1e9);
    if (install_signals() != 0) {
        (void)snprintf(msg, sizeof msg, "cannot install signal handlers: %s",
                       gcm__errno_text(errno, why, sizeof why));
        gcm__complain(NULL, msg);
        status = 1;
        goto done;
    }
    gcm__sigbus_message("a capture shrank while it was being read");
    if (gcm__export_start(st, msg, sizeof msg) != 0) {
        gcm__complain("export", msg);
        goto done;
    }
    listener = open_listener(&a, msg, sizeof msg);
    if (listener < 0) {
        gcm__complain("export", msg);
        goto done;
    }
    announce(listener, &a);
    status = 0;
    while (stop_signal == 0) {
        struct pollfd pfd = {.fd = listener, .events = POLLIN};
        int conn;

        if (poll(&pfd, 1, STOP_POLL_MS) <= 0)
            continue;
        conn = accept(listener, NULL, NULL);
        if (conn < 0)
            continue;
        serve_one(st, conn);
        (void)shutdown(conn, SHUT_WR);
        (void)close(conn);
    }
done:
    if (listener >= 0)
        (void)close(listener);
    if (st != NULL) {
        gcm__export_free(st);
        free(st);
    }
    return status;
}
