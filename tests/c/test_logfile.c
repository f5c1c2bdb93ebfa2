/* test_logfile.c: derived --log-file names for children, and opening without
 * following symbolic links, in a scratch directory removed at the end. */
#include "gcm_test.h"
#include "gcm_test_dir.h"

#include "gc_monitor/errors.h"
#include "gc_monitor/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void derive_case(const char *path, int64_t pid, int n, const char *expected)
{
    char out[256];

    GCM_CHECK_EQ_INT(gcm_logfile_derive(path, pid, n, out, sizeof out), 0);
    GCM_CHECK_STREQ(out, expected);
}

static void test_derive_names(void)
{
    derive_case("gc.log", 1234, 0, "gc.1234.log");
    derive_case("gc.log", 1234, 2, "gc.1234.2.log");
    derive_case("/var/log/app/gc.jsonl", 7, 0, "/var/log/app/gc.7.jsonl");
    derive_case("logs/gc.2026.log", 7, 0, "logs/gc.2026.7.log");
    derive_case("gc", 42, 0, "gc.42");
    derive_case("gc", 42, 3, "gc.42.3");
    /* A dot in a directory name is not the file's extension. */
    derive_case("run.d/gclog", 5, 0, "run.d/gclog.5");
    /* Nor is the leading dot of a hidden file. */
    derive_case(".gclog", 5, 0, ".gclog.5");
    derive_case("dir/.gclog", 5, 1, "dir/.gclog.5.1");
}

static void test_derive_refusals(void)
{
    char out[16];

    GCM_CHECK_EQ_INT(gcm_logfile_derive("", 1, 0, out, sizeof out), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_logfile_derive("logs/", 1, 0, out, sizeof out), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_logfile_derive("gc.log", -1, 0, out, sizeof out), GCM_EINVAL);
    GCM_CHECK_EQ_INT(gcm_logfile_derive("gc.log", 1, -1, out, sizeof out), GCM_EINVAL);
    /* "gc.123456.log" and its terminator need 14 bytes. */
    GCM_CHECK_EQ_INT(gcm_logfile_derive("gc.log", 123456, 0, out, 13), GCM_ENOMEM);
    GCM_CHECK_EQ_INT(gcm_logfile_derive("gc.log", 123456, 0, out, 14), 0);
    GCM_CHECK_STREQ(out, "gc.123456.log");
}

static mode_t mode_of(const char *path)
{
    struct stat st;

    GCM_CHECK(lstat(path, &st) == 0);
    return st.st_mode;
}

static void write_all(int fd, const char *text)
{
    size_t len = strlen(text);

    GCM_CHECK(write(fd, text, len) == (ssize_t)len);
}

static void test_open_appends_private_file(void)
{
    char path[512];
    int a = -1;
    int b = -1;

    gcm_test_path(path, sizeof path, "gc.log");
    GCM_CHECK_EQ_INT(gcm_logfile_open(path, &a), 0);
    GCM_CHECK_EQ_INT(mode_of(path) & 07777, 0600);
    GCM_CHECK(fcntl(a, F_GETFD) & FD_CLOEXEC);
    write_all(a, "first\n");
    /* A second opener appends after the first's lines: nothing truncates. */
    GCM_CHECK_EQ_INT(gcm_logfile_open(path, &b), 0);
    write_all(b, "second\n");
    write_all(a, "third\n");
    gcm_test_content(path, "first\nsecond\nthird\n");
    (void)close(a);
    (void)close(b);
    GCM_CHECK(unlink(path) == 0);
}

static void test_open_refuses_symlink(void)
{
    char path[512];
    char victim[512];
    int fd = -1;
    int fd2 = -1;

    gcm_test_path(path, sizeof path, "link.log");
    gcm_test_path(victim, sizeof victim, "victim");
    fd2 = open(victim, O_WRONLY | O_CREAT | O_EXCL, 0644);
    GCM_CHECK(fd2 >= 0);
    write_all(fd2, "untouched\n");
    (void)close(fd2);
    GCM_CHECK(symlink(victim, path) == 0);

    errno = 0;
    GCM_CHECK_EQ_INT(gcm_logfile_open(path, &fd), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ELOOP);
    GCM_CHECK_EQ_INT(fd, -1);
    gcm_test_content(victim, "untouched\n");
    GCM_CHECK_EQ_INT(gcm_logfile_open("", &fd), GCM_EINVAL);
    GCM_CHECK(unlink(path) == 0);
    GCM_CHECK(unlink(victim) == 0);
}

static void test_child_names_are_exclusive(void)
{
    char path[512];
    char expected[512];
    char name[512];
    int fds[3] = {-1, -1, -1};
    int i;

    gcm_test_path(path, sizeof path, "gc.log");
    /* The parent's own file exists and is left alone. */
    GCM_CHECK_EQ_INT(gcm_logfile_open(path, &fds[0]), 0);
    write_all(fds[0], "parent\n");
    (void)close(fds[0]);

    GCM_CHECK_EQ_INT(gcm_logfile_open_child(path, 4321, &fds[0], name, sizeof name), 0);
    gcm_test_path(expected, sizeof expected, "gc.4321.log");
    GCM_CHECK_STREQ(name, expected);
    GCM_CHECK_EQ_INT(mode_of(name) & 07777, 0600);
    GCM_CHECK(fcntl(fds[0], F_GETFD) & FD_CLOEXEC);

    /* The same pid again (pid reuse) gets the numbered names, in order. */
    for (i = 1; i <= 2; i++) {
        char leaf[64];

        GCM_CHECK_EQ_INT(gcm_logfile_open_child(path, 4321, &fds[i], name, sizeof name), 0);
        (void)snprintf(leaf, sizeof leaf, "gc.4321.%d.log", i);
        gcm_test_path(expected, sizeof expected, leaf);
        GCM_CHECK_STREQ(name, expected);
    }
    for (i = 0; i < 3; i++) {
        write_all(fds[i], "child\n");
        (void)close(fds[i]);
    }
    gcm_test_content(path, "parent\n");
    for (i = 0; i < 3; i++) {
        char leaf[64];

        if (i == 0)
            (void)snprintf(leaf, sizeof leaf, "gc.4321.log");
        else
            (void)snprintf(leaf, sizeof leaf, "gc.4321.%d.log", i);
        gcm_test_path(expected, sizeof expected, leaf);
        gcm_test_content(expected, "child\n");
        GCM_CHECK(unlink(expected) == 0);
    }
    GCM_CHECK(unlink(path) == 0);
}

static void test_child_skips_planted_symlink(void)
{
    char path[512];
    char planted[512];
    char victim[512];
    char expected[512];
    char name[512];
    int fd = -1;

    gcm_test_path(path, sizeof path, "gc.log");
    gcm_test_path(planted, sizeof planted, "gc.99.log");
    gcm_test_path(victim, sizeof victim, "victim");
    /* A dangling link: following it would create the victim. */
    GCM_CHECK(symlink(victim, planted) == 0);
    GCM_CHECK_EQ_INT(gcm_logfile_open_child(path, 99, &fd, name, sizeof name), 0);
    gcm_test_path(expected, sizeof expected, "gc.99.1.log");
    GCM_CHECK_STREQ(name, expected);
    GCM_CHECK(access(victim, F_OK) != 0 && errno == ENOENT);
    GCM_CHECK(S_ISLNK(mode_of(planted)));
    (void)close(fd);
    GCM_CHECK(unlink(name) == 0);
    GCM_CHECK(unlink(planted) == 0);
}

static void test_child_refusals(void)
{
    char path[512];
    char name[8];
    char missing[512];
    int fd = -1;

    gcm_test_path(path, sizeof path, "gc.log");
    /* A name buffer too small is refused before anything is created. */
    GCM_CHECK_EQ_INT(gcm_logfile_open_child(path, 1, &fd, name, sizeof name), GCM_ENOMEM);
    GCM_CHECK_EQ_INT(fd, -1);
    GCM_CHECK(access(path, F_OK) != 0);
    gcm_test_path(missing, sizeof missing, "no-such-dir/gc.log");
    errno = 0;
    GCM_CHECK_EQ_INT(gcm_logfile_open_child(missing, 1, &fd, NULL, 0), GCM_EIO);
    GCM_CHECK_EQ_INT(errno, ENOENT);
    GCM_CHECK_EQ_INT(gcm_logfile_open_child("", 1, &fd, NULL, 0), GCM_EINVAL);
}

static void test_child_runs_out_of_names(void)
{
    char path[512];
    char name[512];
    int fd = -1;
    int n;

    gcm_test_path(path, sizeof path, "full.log");
    for (n = 0; n <= GCM_LOGFILE_MAX_SUFFIX; n++) {
        GCM_CHECK_EQ_INT(gcm_logfile_derive(path, 8, n, name, sizeof name), 0);
        fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0600);
        GCM_CHECK(fd >= 0);
        (void)close(fd);
    }
    fd = -1;
    GCM_CHECK_EQ_INT(gcm_logfile_open_child(path, 8, &fd, NULL, 0), GCM_ERANGE);
    GCM_CHECK_EQ_INT(fd, -1);
    for (n = 0; n <= GCM_LOGFILE_MAX_SUFFIX; n++) {
        GCM_CHECK_EQ_INT(gcm_logfile_derive(path, 8, n, name, sizeof name), 0);
        GCM_CHECK(unlink(name) == 0);
    }
}

static void test_absolute_paths(void)
{
    char cwd[512];
    char path[600];
    char expected[700];
    char small[8];

    GCM_CHECK(getcwd(cwd, sizeof cwd) != NULL);
    (void)snprintf(path, sizeof path, "logs/gc.log");
    GCM_CHECK_EQ_INT(gcm_logfile_absolute(path, sizeof path), 0);
    (void)snprintf(expected, sizeof expected, "%s/logs/gc.log", cwd);
    GCM_CHECK_STREQ(path, expected);
    /* Absolute and empty paths stay as they are. */
    GCM_CHECK_EQ_INT(gcm_logfile_absolute(path, sizeof path), 0);
    GCM_CHECK_STREQ(path, expected);
    path[0] = '\0';
    GCM_CHECK_EQ_INT(gcm_logfile_absolute(path, sizeof path), 0);
    GCM_CHECK_STREQ(path, "");
    /* Too long for the buffer: refused, unchanged. */
    (void)snprintf(small, sizeof small, "gc.log");
    GCM_CHECK_EQ_INT(gcm_logfile_absolute(small, sizeof small), GCM_ENOMEM);
    GCM_CHECK_STREQ(small, "gc.log");
    /* In the root directory no second '/' is added. */
    GCM_CHECK(chdir("/") == 0);
    (void)snprintf(path, sizeof path, "gc.log");
    GCM_CHECK_EQ_INT(gcm_logfile_absolute(path, sizeof path), 0);
    GCM_CHECK_STREQ(path, "/gc.log");
    GCM_CHECK(chdir(cwd) == 0);
}

int main(void)
{
    gcm_test_dir_make("gcm-logfile");
    /* The 0600 checks must see the mode we ask for, not the caller's umask. */
    (void)umask(0);
    GCM_RUN(test_derive_names);
    GCM_RUN(test_derive_refusals);
    GCM_RUN(test_open_appends_private_file);
    GCM_RUN(test_open_refuses_symlink);
    GCM_RUN(test_child_names_are_exclusive);
    GCM_RUN(test_child_skips_planted_symlink);
    GCM_RUN(test_child_refusals);
    GCM_RUN(test_child_runs_out_of_names);
    GCM_RUN(test_absolute_paths);
    /* Every case removed its files: rmdir fails if one was left behind. */
    GCM_CHECK(rmdir(gcm_test_dir) == 0);
    return 0;
}
