/* src/base/numtext.c: decimal numbers as text, with '.' as the point in any locale.
 *
 * Configuration strings and budget rules are read and written with '.',
 * but a program may have called setlocale(LC_NUMERIC, "de_DE") before it
 * starts the monitor, and strtod() then wants ','.  The locale's point is
 * learnt from snprintf() rather than localeconv(), which is not
 * thread-safe, or newlocale(), which may allocate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

size_t gcm__decimal_length(const char *s)
{
    const char *p = s;
    int digits = 0;

    for (; is_digit(*p); p++)
        digits++;
    if (*p == '.') {
        for (p++; is_digit(*p); p++)
            digits++;
    }
    if (digits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        if (*q == '+' || *q == '-')
            q++;
        if (is_digit(*q)) {
            while (is_digit(*q))
                q++;
            p = q;
        }
    }
    return (size_t)(p - s);
}

void gcm__locale_radix(char *out, size_t size)
{
    char probe[16];
    size_t len;

    if (size == 0)
        return;
    (void)snprintf(probe, sizeof probe, "%.1f", 0.5);
    len = strlen(probe);
    /* "0.5" with a point of len - 2 bytes; anything odd falls back to '.'. */
    if (len < 3 || len - 2 >= size) {
        (void)snprintf(out, size, ".");
    } else {
        memcpy(out, probe + 1, len - 2);
        out[len - 2] = '\0';
    }
}

double gcm__strtod_c(const char *text, size_t len, int *whole)
{
    char radix[8];
    char buf[512];
    size_t radix_len;
    size_t n = 0;
    size_t i;
    char *end = NULL;
    double v;

    gcm__locale_radix(radix, sizeof radix);
    radix_len = strlen(radix);
    for (i = 0; i < len && n + radix_len < sizeof buf; i++) {
        if (text[i] == '.') {
            memcpy(buf + n, radix, radix_len);
            n += radix_len;
        } else {
            buf[n++] = text[i];
        }
    }
    buf[n] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    *whole = i == len && end != NULL && *end == '\0';
    return v;
}
