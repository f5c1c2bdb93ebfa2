/* src/config/envcode.c: the configuration as one line of text, and back.
 *
 * The launcher hands the recorder its configuration through the environment
 * (PYGCPROFILER_CONFIG), and a capture keeps it in its metadata: "name=value"
 * pairs joined by ';', with '%', ';', '=' and control bytes escaped as %XX.
 * Encoding then decoding gives back the same gcm_config, numbers included.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "config_internal.h"
#include "gc_monitor/block.h"
#include "gc_monitor/budget.h"
#include "gc_monitor/errors.h"

/* An output cursor that counts every byte but stores only what fits, so one
 * pass both fills the buffer and measures what it would need. */
typedef struct out_text {
    char *buf;
    size_t size;
    size_t len;
} out_text;

static void put_byte(out_text *out, char c)
{
    if (out->len + 1 < out->size) {
        out->buf[out->len] = c;
    }
    out->len++;
}

static void put_raw(out_text *out, const char *s)
{
    for (; *s != '\0'; s++) {
        put_byte(out, *s);
    }
}

static int needs_escape(unsigned char c)
{
    return c == '%' || c == ';' || c == '=' || c < 0x20 || c == 0x7f;
}

static void put_escaped(out_text *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (needs_escape(c)) {
            put_byte(out, '%');
            put_byte(out, hex[c >> 4]);
            put_byte(out, hex[c & 0xf]);
        } else {
            put_byte(out, (char)c);
        }
    }
}

/* Writes one option's current value as text the parser accepts back. */
static void put_value(out_text *out, const gcm_config *cfg, size_t index)
{
    const option_rule *rule = &gcm__rules[index];
    const char *field = (const char *)cfg + rule->offset;
    char text[NUMBER_TEXT_MAX];

    switch (gcm__options[index].kind) {
    case GCM_OPT_FLAG: {
        int v;
        memcpy(&v, field, sizeof v);
        put_raw(out, v ? "1" : "0");
        break;
    }
    case GCM_OPT_NUMBER: {
        double v;
        memcpy(&v, field, sizeof v);
        gcm__format_double(text, sizeof text, v);
        put_raw(out, text);
        break;
    }
    case GCM_OPT_INTEGER: {
        uint64_t v;
        if (rule->size == sizeof(uint32_t)) {
            uint32_t v32;
            memcpy(&v32, field, sizeof v32);
            v = v32;
        } else {
            memcpy(&v, field, sizeof v);
        }
        (void)snprintf(text, sizeof text, "%llu", (unsigned long long)v);
        put_raw(out, text);
        break;
    }
    case GCM_OPT_PATH: {
        /* The field is a fixed array; never read past it even if a caller
         * filled it without a terminator. */
        char path[GCM_PATH_MAX];
        memcpy(path, field, sizeof path);
        path[sizeof path - 1] = '\0';
        put_escaped(out, path);
        break;
    }
    case GCM_OPT_LIST: {
        const double *values = (const double *)(const void *)field;
        uint32_t count;
        uint32_t i;
        memcpy(&count, (const char *)cfg + rule->count_offset, sizeof count);
        if (count > GCM_MAX_BUCKETS) {
            count = GCM_MAX_BUCKETS;
        }
        for (i = 0; i < count; i++) {
            if (i > 0) {
                put_byte(out, ',');
            }
            gcm__format_double(text, sizeof text, values[i]);
            put_raw(out, text);
        }
        break;
    }
    case GCM_OPT_RULES: {
        /* Each rule's canonical text parses back to the same bytes; a rule
         * holds no ',' so the texts join like a list. */
        const gcm_budget_rule *list = (const gcm_budget_rule *)(const void *)field;
        char rule_text[GCM_RULE_TEXT_MAX];
        uint32_t count;
        uint32_t i;
        memcpy(&count, (const char *)cfg + rule->count_offset, sizeof count);
        if (count > GCM_MAX_RULES) {
            count = GCM_MAX_RULES;
        }
        for (i = 0; i < count; i++) {
            if (i > 0) {
                put_byte(out, ',');
            }
            memcpy(rule_text, list[i].text, sizeof rule_text);
            rule_text[sizeof rule_text - 1] = '\0';
            put_escaped(out, rule_text);
        }
        break;
    }
    default:
        break;
    }
}

int gcm_config_encode(const gcm_config *cfg, char *buf, size_t size, size_t *needed)
{
    out_text out = {buf, size, 0};
    size_t i;

    if (cfg == NULL || (buf == NULL && size != 0)) {
        return GCM_EINVAL;
    }
    for (i = 0; i < gcm__option_count; i++) {
        if (i > 0) {
            put_byte(&out, ';');
        }
        put_raw(&out, gcm__options[i].flag);
        put_byte(&out, '=');
        put_value(&out, cfg, i);
    }
    if (needed != NULL) {
        *needed = out.len;
    }
    if (size > 0) {
        buf[out.len < size ? out.len : size - 1] = '\0';
    }
    return out.len < size ? 0 : GCM_ENOMEM;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Undoes put_escaped on `len` bytes of `src`.  Returns 0, or GCM_ECONFIG
 * with the reason in `why`. */
static int unescape(const char *src, size_t len, char *dst, size_t dst_size, char *why,
                    size_t why_size)
{
    size_t i;
    size_t n = 0;
    int status = GCM_ECONFIG;

    for (i = 0; i < len; i++) {
        int c = (unsigned char)src[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_value(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value(src[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                gcm__copy_cut(why, why_size, "has a bad %-escape");
                goto done;
            }
            c = hi * 16 + lo;
            if (c == 0) {
                gcm__copy_cut(why, why_size, "contains a NUL byte");
                goto done;
            }
            i += 2;
        }
        if (n + 1 >= dst_size) {
            (void)snprintf(why, why_size, "is longer than %zu bytes", dst_size - 2);
            goto done;
        }
        dst[n++] = (char)c;
    }
    dst[n] = '\0';
    status = 0;
done:
    return status;
}

int gcm_config_decode(gcm_config *cfg, const char *text, gcm_config_error *err)
{
    /* Work on a copy so a refused string leaves the caller's settings alone.
     * The value buffer holds one byte more than any valid path, so an
     * over-long path reaches the path check and gets its usual message. */
    gcm_config tmp;
    char value[GCM_PATH_MAX + 1];
    const char *p = text;
    int status = GCM_EINVAL;

    if (cfg == NULL || text == NULL) {
        goto done;
    }
    gcm_config_init(&tmp);
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t item_len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', item_len);
        size_t name_len = eq != NULL ? (size_t)(eq - p) : item_len;
        const gcm_option *opt = NULL;
        size_t i;

        /* The encoder names options by flag only, so that is all we accept. */
        for (i = 0; i < gcm__option_count; i++) {
            if (strlen(gcm__options[i].flag) == name_len &&
                strncmp(gcm__options[i].flag, p, name_len) == 0) {
                opt = &gcm__options[i];
                break;
            }
        }
        if (item_len == 0) {
            /* An empty item (";;") carries nothing; skip it. */
        } else if (opt == NULL) {
            status = gcm__config_refuse_unknown(err, p, name_len);
            goto done;
        } else if (eq == NULL) {
            status = gcm__config_refuse(err, opt, NULL, "requires a value");
            goto done;
        } else {
            char why[sizeof err->reason];
            size_t raw_len = item_len - name_len - 1;
            if (unescape(eq + 1, raw_len, value, sizeof value, why, sizeof why) != 0) {
                /* Show the text as it came, since it could not be decoded. */
                char raw[sizeof err->value];
                if (raw_len >= sizeof raw) {
                    raw_len = sizeof raw - 1;
                }
                memcpy(raw, eq + 1, raw_len);
                raw[raw_len] = '\0';
                status = gcm__config_refuse(err, opt, raw, why);
                goto done;
            }
            status = gcm__config_set_value(&tmp, opt, value, 1, err);
            if (status != 0) {
                goto done;
            }
        }
        p += item_len;
        if (*p == ';') {
            p++;
        }
    }
    memcpy(cfg, &tmp, sizeof tmp);
    status = 0;
done:
    return status;
}
