/* test_files.c: the one policy for the files pygcprofiler writes and reads
 * (src/base/files.c), on real files, symlinks, FIFOs, sockets, directories
 * and devices in a scratch directory removed at the end.
 *
 * Every kind of path is tried in every output mode and as an input: only a
 * regular file (or nothing, for an output) is ever opened, and whatever else
 * is there is still there, unchanged, afterwards.  No case may block: a FIFO
 * without a writer is opened by none of them. */
/* mknod(2) and makedev(3) are outside POSIX. */
#define _DEFAULT_SOURCE

#include "gcm_test.h"
#include "gcm_test_dir.h"

#include "base/base.h"
#include "gc_monitor/errors.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    GCM_CHECK(fd >= 0);
    GCM_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    GCM_CHECK(close(fd) == 0);
}

static int count_entries(void)
{
    char cmd[512];
    FILE *p;
    int n = -1;

    (void)snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", gcm_test_dir);
    p = popen(cmd, "r");
    GCM_CHECK(p != NULL);
    GCM_CHECK(fscanf(p, "%d", &n) == 1);
    (void)pclose(p);
    return n;
}

/* The kinds of path that are not regular files, made fresh for each case. */
enum { FIFO, DIRECTORY, SOCKET, SYMLINK, DANGLING, DEVICE, KINDS };

/* Makes the path `name` of `kind`; returns 0, or -1 when this kind cannot be
 * made here (a device node needs root). */
static int make_kind(const char *path, int kind, char *victim, size_t size)
{
    struct sockaddr_un addr;
    int fd;

    gcm_test_path(victim, size, "victim");
    switch (kind) {
    case FIFO:
        GCM_CHECK(mkfifo(path, 0600) == 0);
        return 0;
    case DIRECTORY:
        GCM_CHECK(mkdir(path, 0700) == 0);
        return 0;
    case SOCKET:
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        GCM_CHECK(fd >= 0);
        memset(&addr, 0, sizeof addr);
        addr.sun_family = AF_UNIX;
        GCM_CHECK(strlen(path) < sizeof addr.sun_path);
        memcpy(addr.sun_path, path, strlen(path) + 1);
        GCM_CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
        (void)close(fd);
        return 0;
    case SYMLINK:
        write_file(victim, "precious\n");
        GCM_CHECK(symlink(victim, path) == 0);
        return 0;
    case DANGLING:
        GCM_CHECK(symlink(victim, path) == 0);
        return 0;
    default:
        /* A copy of /dev/null: the real one must never be a test's target. */
        return mknod(path, S_IFCHR | 0600, makedev(1, 3)) == 0 ? 0 : -1;
    }
}

/* Checks that `path` is still of `kind` and removes it (and the victim). */
static void check_and_remove_kind(const char *path, int kind, const char *victim)
{
    struct stat st;

    GCM_CHECK(lstat(path, &st) == 0);
    switch (kind) {
    case FIFO:
        GCM_CHECK(S_ISFIFO(st.st_mode));
        break;
    case DIRECTORY:
        GCM_CHECK(S_ISDIR(st.st_mode));
        GCM_CHECK(rmdir(path) == 0);
        return;
    case SOCKET:
        GCM_CHECK(S_ISSOCK(st.st_mode));
        break;
    case SYMLINK:
        GCM_CHECK(S_ISLNK(st.st_mode));
        gcm_test_content(victim, "precious\n");
        GCM_CHECK(unlink(victim) == 0);
        break;
    case DANGLING:
        GCM_CHECK(S_ISLNK(st.st_mode));
        /* Never created through the link. */
        GCM_CHECK(access(victim, F_OK) != 0);
        break;
    default:
        GCM_CHECK(S_ISCHR(st.st_mode));
        break;
    }
    GCM_CHECK(unlink(path) == 0);
}

static void test_every_mode_refuses_every_other_kind(void)
{
    static const gcm__output_mode modes[] = {GCM__OUTPUT_NEW, GCM__OUTPUT_APPEND,
                                             GCM__OUTPUT_REPLACE};
    char path[512];
    char victim[512];
    char why[160];
    gcm__output out;

    gcm_test_path(path, sizeof path, "out");
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        for (int kind = 0; kind < KINDS; kind++) {
            if (make_kind(path, kind, victim, sizeof victim) != 0)
                continue;
            GCM_CHECK_EQ_INT(gcm__check_output(path, modes[m]), GCM_EIO);
            GCM_CHECK_EQ_INT(gcm__create_output(&out, path, modes[m], O_WRONLY | O_CLOEXEC),
                             GCM_EIO);
            GCM_CHECK_EQ_INT(out.fd, -1);
            (void)gcm__path_error_text(path, errno, why, sizeof why);
            if (kind == SYMLINK || kind == DANGLING)
                GCM_CHECK(strstr(why, "symbolic link") != NULL);
            else
                GCM_CHECK(strstr(why, "not a regular file") != NULL);
            check_and_remove_kind(path, kind, victim);
            /* Nothing left behind: no temporary, no new file. */
            GCM_CHECK_EQ_INT(count_entries(), 0);
        }
    }
}

static void test_regular_files_by_mode(void)
{
    char path[512];
    struct stat st;
    gcm__output out;

    gcm_test_path(path, sizeof path, "out");
    /* New files are private, in every mode. */
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_NEW, O_WRONLY), 0);
    GCM_CHECK(out.created);
    GCM_CHECK(fstat(out.fd, &st) == 0 && (st.st_mode & 0777) == 0600);
    GCM_CHECK_EQ_INT(gcm__output_commit(&out), 0);
    /* NEW: an existing file is refused, untouched. */
    write_file(path, "old\n");
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_NEW, O_WRONLY), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, EEXIST);
    gcm_test_content(path, "old\n");
    /* APPEND: written after what is there. */
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_APPEND, O_WRONLY), 0);
    GCM_CHECK(!out.created);
    GCM_CHECK(write(out.fd, "new\n", 4) == 4);
    GCM_CHECK_EQ_INT(gcm__output_commit(&out), 0);
    gcm_test_content(path, "old\nnew\n");
    /* REPLACE: nothing changes until the commit, which renames a private
     * temporary over the path. */
    GCM_CHECK(chmod(path, 0644) == 0);
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_REPLACE, O_WRONLY), 0);
    GCM_CHECK(write(out.fd, "whole\n", 6) == 6);
    gcm_test_content(path, "old\nnew\n");
    GCM_CHECK_EQ_INT(count_entries(), 2);
    GCM_CHECK_EQ_INT(gcm__output_commit(&out), 0);
    gcm_test_content(path, "whole\n");
    GCM_CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    GCM_CHECK_EQ_INT(count_entries(), 1);
    /* A discarded replacement leaves the old file and no temporary. */
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_REPLACE, O_WRONLY), 0);
    GCM_CHECK(write(out.fd, "half", 4) == 4);
    gcm__output_discard(&out);
    gcm_test_content(path, "whole\n");
    GCM_CHECK_EQ_INT(count_entries(), 1);
    GCM_CHECK(unlink(path) == 0);
    /* A discarded new file is removed again: a refusal leaves nothing. */
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_APPEND, O_WRONLY), 0);
    GCM_CHECK(out.created);
    gcm__output_discard(&out);
    GCM_CHECK_EQ_INT(count_entries(), 0);
}

static void test_replace_refuses_a_path_that_changed_kind(void)
{
    char path[512];
    struct stat st;
    gcm__output out;

    /* The path turns into a FIFO while the replacement is written: the
     * commit looks again and leaves the FIFO alone. */
    gcm_test_path(path, sizeof path, "out");
    GCM_CHECK_EQ_INT(gcm__create_output(&out, path, GCM__OUTPUT_REPLACE, O_WRONLY), 0);
    GCM_CHECK(mkfifo(path, 0600) == 0);
    GCM_CHECK_EQ_INT(gcm__output_commit(&out), GCM_EIO);
    GCM_CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    GCM_CHECK(unlink(path) == 0);
    GCM_CHECK_EQ_INT(count_entries(), 0);
}

static void test_inputs(void)
{
    char path[512];
    char victim[512];
    char why[160];
    struct stat st;
    int fd = -1;

    gcm_test_path(path, sizeof path, "in");
    for (int kind = 0; kind < KINDS; kind++) {
        if (make_kind(path, kind, victim, sizeof victim) != 0)
            continue;
        GCM_CHECK_EQ_INT(gcm__open_input(path, 0, &fd, NULL), GCM_EIO);
        GCM_CHECK_EQ_INT(fd, -1);
        (void)gcm__path_error_text(path, errno, why, sizeof why);
        GCM_CHECK(strstr(why, kind == SYMLINK || kind == DANGLING ? "symbolic link"
                                                                  : "not a regular file") != NULL);
        if (kind == FIFO)
            GCM_CHECK(strstr(why, "FIFO") != NULL);
        /* Following links (a script) still refuses what is not regular. */
        if (kind != SYMLINK && kind != DANGLING)
            GCM_CHECK_EQ_INT(gcm__open_input(path, GCM__INPUT_FOLLOW, &fd, NULL), GCM_EIO);
        check_and_remove_kind(path, kind, victim);
    }
    write_file(path, "data\n");
    GCM_CHECK_EQ_INT(gcm__open_input(path, 0, &fd, &st), 0);
    GCM_CHECK(fd >= 0 && st.st_size == 5);
    GCM_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    (void)close(fd);
    /* A symlink to a regular file is followed only when asked. */
    gcm_test_path(victim, sizeof victim, "link");
    GCM_CHECK(symlink(path, victim) == 0);
    GCM_CHECK_EQ_INT(gcm__open_input(victim, 0, &fd, NULL), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ELOOP);
    GCM_CHECK_EQ_INT(gcm__open_input(victim, GCM__INPUT_FOLLOW, &fd, NULL), 0);
    (void)close(fd);
    GCM_CHECK(unlink(victim) == 0);
    GCM_CHECK(unlink(path) == 0);
}

static void test_same_file(void)
{
    char a[512];
    char b[512];
    char sub[512];

    gcm_test_path(a, sizeof a, "x");
    /* Not there yet: one name in one directory, however it is spelled. */
    (void)snprintf(b, sizeof b, "%s/./x", gcm_test_dir);
    GCM_CHECK(gcm__same_file(a, b));
    gcm_test_path(sub, sizeof sub, "sub");
    GCM_CHECK(mkdir(sub, 0700) == 0);
    (void)snprintf(b, sizeof b, "%s/sub/../x", gcm_test_dir);
    GCM_CHECK(gcm__same_file(a, b));
    (void)snprintf(b, sizeof b, "%s/sub/x", gcm_test_dir);
    GCM_CHECK(!gcm__same_file(a, b));
    /* There: the same inode. */
    write_file(a, "");
    (void)snprintf(b, sizeof b, "%s/sub/y", gcm_test_dir);
    GCM_CHECK(link(a, b) == 0);
    GCM_CHECK(gcm__same_file(a, b));
    GCM_CHECK(unlink(b) == 0);
    GCM_CHECK(!gcm__same_file(a, b));
    GCM_CHECK(rmdir(sub) == 0);
    GCM_CHECK(unlink(a) == 0);
}

int main(void)
{
    gcm_test_dir_make("gcm-files");
    (void)umask(0);
    GCM_RUN(test_every_mode_refuses_every_other_kind);
    GCM_RUN(test_regular_files_by_mode);
    GCM_RUN(test_replace_refuses_a_path_that_changed_kind);
    GCM_RUN(test_inputs);
    GCM_RUN(test_same_file);
    GCM_CHECK(rmdir(gcm_test_dir) == 0);
    return 0;
}
