/* src/base/text.c: the text helpers of messages and screens, written once.
 *
 * Paths, commands and option values come from users and from files that may
 * be hostile; everything that shows them goes through these helpers, so a
 * control byte never reaches a terminal and malformed UTF-8 never reaches a
 * JSON string or a Python str.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

size_t gcm__utf8_length(const unsigned char *s, size_t n)
{
    unsigned char lo = 0x80;
    unsigned char hi = 0xbf;
    size_t len;
    size_t k;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        lo = s[0] == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = s[0] == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        lo = s[0] == 0xf0 ? 0x90 : 0x80;
        hi = s[0] == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (k = 2; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    }
    return len;
}

void gcm__copy_shown(char *dst, size_t size, const char *src, size_t len, int mode)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t limit = len < size ? len : size - 4;
    size_t i = 0;
    size_t o = 0;

    while (i < len) {
        size_t n = mode == GCM__SHOWN_ASCII && s[i] >= 0x80 ? 0 : gcm__utf8_length(s + i, len - i);
        size_t width = n == 0 ? 1 : n;

        if (o + width > limit)
            break;
        if (n <= 1)
            dst[o] = (n == 0 || s[i] < 0x20 || s[i] == 0x7f) ? '?' : (char)s[i];
        else
            memcpy(dst + o, s + i, n);
        o += width;
        i += width;
    }
    if (len >= size) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

void gcm__copy_cut(char *dst, size_t size, const char *src)
{
    size_t len = strlen(src);

    if (size == 0)
        return;
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

void gcm__copy_printable(char *dst, size_t size, const char *src)
{
    size_t i = 0;

    if (size == 0)
        return;
    for (; src[i] != '\0' && i + 1 < size; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

size_t gcm__copy_path_shown(char *dst, size_t size, const char *src, int json)
{
    static const char hex_digits[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strlen(src);
    size_t len = 0;

    if (size == 0)
        return 0;
    while (n > 0) {
        size_t seq = gcm__utf8_length(s, n);
        char piece[4];
        size_t piece_len;

        if (seq == 0 && json) {
            memcpy(piece, "\xef\xbf\xbd", 3); /* U+FFFD */
            piece_len = 3;
        } else if (seq == 0) {
            piece[0] = '\\';
            piece[1] = 'x';
            piece[2] = hex_digits[*s >> 4];
            piece[3] = hex_digits[*s & 0xf];
            piece_len = 4;
        } else if (seq == 1 && !json) {
            piece_len = gcm__escape_control(*s, piece);
        } else {
            memcpy(piece, s, seq);
            piece_len = seq;
        }
        if (len + piece_len + 1 > size)
            break; /* cut between characters, never inside one */
        memcpy(dst + len, piece, piece_len);
        len += piece_len;
        if (seq == 0)
            seq = 1;
        s += seq;
        n -= seq;
    }
    dst[len] = '\0';
    return len;
}

size_t gcm__edit_distance(const char *a, size_t alen, const char *b, size_t limit)
{
    size_t row[64];
    size_t blen = strlen(b);

    if (alen + 1 > sizeof row / sizeof row[0] || blen + 1 > sizeof row / sizeof row[0])
        return limit + 1;
    for (size_t j = 0; j <= blen; j++)
        row[j] = j;
    for (size_t i = 1; i <= alen; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= blen; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[blen] > limit ? limit + 1 : row[blen];
}

void gcm__format_duration_short(uint64_t ns, char *buf, size_t size)
{
    if (ns < 1000u)
        (void)snprintf(buf, size, "%lluns", (unsigned long long)ns);
    else if (ns < 1000000u)
        (void)snprintf(buf, size, "%.1fus", (double)ns / 1e3);
    else if (ns < 1000000000u)
        (void)snprintf(buf, size, "%.2fms", (double)ns / 1e6);
    else
        (void)snprintf(buf, size, "%.2fs", (double)ns / 1e9);
}

void gcm__format_count(uint64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t out = 0;

    if (size == 0)
        return;
    for (int i = 0; i < n && out + 2 < size; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
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

size_t gcm__escape_control(unsigned char c, char out[4])
{
    static const char hex_digits[] = "0123456789abcdef";

    if (c == '\n' || c == '\t') {
        out[0] = '\\';
        out[1] = c == '\n' ? 'n' : 't';
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex_digits[c >> 4];
        out[3] = hex_digits[c & 0xf];
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

const char *gcm__subject(char *dst, const char *text)
{
    char escaped[4 * GCM__SUBJECT_MAX];

    size_t len = gcm__copy_path_shown(escaped, sizeof escaped, text, 0);

    gcm__copy_shown(dst, GCM__SUBJECT_MAX, escaped, len, GCM__SHOWN_UTF8);
    return dst;
}
