/* src/cli/util.c: small helpers of the launcher's own output.
 *
 * The launcher's messages follow one house rule: a single lowercase line.
 * The C library's strerror() texts start with a capital letter, so they are
 * lowercased here, and the one error that needs explaining (a --log-file that
 * is a symlink, refused by O_NOFOLLOW) gets its own words.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gc_monitor/errors.h"

int gcm__write_all(int fd, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return GCM_EIO;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

const char *gcm__errno_text(int err, char *buf, size_t size)
{
    if (size == 0)
        return "";
    if (err == ELOOP)
        (void)snprintf(buf, size, "it is a symbolic link (not followed)");
    else
        (void)snprintf(buf, size, "%s", strerror(err));
    buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}
