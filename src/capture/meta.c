/* src/capture/meta.c: the capture header's metadata text ("key=value" lines).
 *
 * The writer stores what it knows of itself (docs/capture-format.md); a
 * reader copies it out bounded and cleaned, since the bytes may be hostile.
 */
#include "gc_monitor/capture.h"

#include <stdatomic.h>
#include <string.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

void gcm_capture_meta_copy(const gcm_block *b, char *out, size_t size)
{
    const unsigned char *src;
    size_t n;
    size_t i = 0;

    if (out == NULL || size == 0)
        return;
    out[0] = '\0';
    if (b == NULL)
        return;
    src = (const unsigned char *)b->header.meta;
    /* The writer NUL-terminates, but a damaged file need not: stop at the
     * first NUL or at the end of the area, whichever comes first. */
    n = strnlen((const char *)src, size - 1u < GCM_META_SIZE ? size - 1u : GCM_META_SIZE);
    /* Control bytes other than newlines and malformed UTF-8 become '?', so
     * the text stays on its lines and is valid in a JSON string. */
    while (i < n) {
        size_t len = gcm__utf8_length(src + i, n - i);
        if (len == 0 || (src[i] < 0x20 && src[i] != '\n') || src[i] == 0x7f) {
            out[i] = '?';
            i++;
        } else {
            memcpy(out + i, src + i, len);
            i += len;
        }
    }
    out[i] = '\0';
}

int gcm_capture_meta_get(const char *meta, const char *key, char *out, size_t size)
{
    const char *line = meta;
    size_t key_len;
    int status = GCM_EINVAL;

    if (out == NULL || size == 0)
        goto done;
    out[0] = '\0';
    if (meta == NULL || key == NULL)
        goto done;
    key_len = strlen(key);
    while (*line != '\0') {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

        if (len > key_len && strncmp(line, key, key_len) == 0 && line[key_len] == '=') {
            size_t vlen = len - key_len - 1u;
            if (vlen >= size) {
                /* Cut between characters, never inside one. */
                vlen = size - 1u;
                while (vlen > 0 && ((unsigned char)line[key_len + 1u + vlen] & 0xc0) == 0x80)
                    vlen--;
            }
            memcpy(out, line + key_len + 1u, vlen);
            out[vlen] = '\0';
            status = 0;
            goto done;
        }
        line += len;
        if (*line == '\n')
            line++;
    }
done:
    return status;
}

int gcm_capture_meta_append(gcm_block *b, const char *key, const char *value)
{
    char *meta;
    size_t len;
    size_t key_len;
    size_t value_len;
    size_t line_len;
    char found[2];
    int status = GCM_EINVAL;

    if (b == NULL || key == NULL || value == NULL)
        goto done;
    key_len = strlen(key);
    value_len = strlen(value);
    if (key_len == 0 || value_len == 0 || strpbrk(key, "=\n") != NULL ||
        strchr(value, '\n') != NULL)
        goto done;
    meta = b->header.meta;
    len = strnlen(meta, GCM_META_SIZE);
    if (len == GCM_META_SIZE)
        goto done;
    /* A second line of one key would leave readers, who take the first,
     * with the older value. */
    if (gcm_capture_meta_get(meta, key, found, sizeof found) == 0)
        goto done;
    line_len = key_len + 1u + value_len + 1u;
    if (line_len + 1u > GCM_META_SIZE - len) {
        status = GCM_ENOMEM;
        goto done;
    }
    /* Everything but the line's first byte, which now ends the text... */
    memcpy(meta + len + 1u, key + 1, key_len - 1u);
    meta[len + key_len] = '=';
    memcpy(meta + len + key_len + 1u, value, value_len);
    meta[len + line_len - 1u] = '\n';
    meta[len + line_len] = '\0';
    /* ...which joins the line to the text once the rest is in place. */
    atomic_thread_fence(memory_order_release);
    meta[len] = key[0];
    status = 0;
done:
    return status;
}
