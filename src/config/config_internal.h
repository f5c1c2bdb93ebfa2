/* src/config/config_internal.h: what the option engine's files share.
 *
 * The public table (gcm_option, options.c) says what an option is called and
 * how --help shows it; the private rule table beside it, row for row, says
 * where its value lives in gcm_config and which range it must fall in.
 * parse.c reads one value of each kind against its rule, envcode.c writes
 * and reads the environment encoding through the same rules, and messages.c
 * turns a refusal into one line.  Nothing here is public API.
 */
#ifndef GCM_CONFIG_INTERNAL_H
#define GCM_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "gc_monitor/config.h"

/* Limits that keep every value convertible to nanoseconds in 64 bits, with
 * plenty of room: a day for a pause, a million seconds for a time bucket. */
#define MAX_SECONDS 1e6
#define MAX_PAUSE_MS 86400000.0
#define MAX_WIDTH 1000.0

/* Longest number text we parse; anything longer is not a sensible number. */
#define NUMBER_TEXT_MAX 64

enum {
    RULE_POW2 = 0x1u, /* round an integer up to a valid ring capacity */
    RULE_READ = 0x2u  /* a path that is read, not created: its reader says what is wrong */
};

/* Where an option's value lives and which values it accepts.  For a list,
 * `offset` is the array of doubles and `count_offset` its uint32_t length. */
typedef struct option_rule {
    size_t offset;
    size_t size;         /* of the field, so integers may be 32 or 64 bits wide */
    size_t count_offset; /* lists only */
    double min;
    int min_exclusive; /* 1 when `min` itself is refused: "greater than" */
    double max;
    unsigned flags;     /* RULE_* */
    double ns_per_unit; /* for durations: a value below 1 ns after rounding is refused */
} option_rule;

/* The option table and its rules, row for row, and their length. */
extern const gcm_option gcm__options[];
extern const option_rule gcm__rules[];
extern const size_t gcm__option_count;

/* Parses `value` for `opt` and stores it in `cfg` (parse.c).  `empty_path_ok`
 * lets the environment decoder restore an unset path, which a user may not
 * give explicitly.  Returns 0, or GCM_ECONFIG with `err` filled in (when not
 * NULL). */
int gcm__config_set_value(gcm_config *cfg, const gcm_option *opt, const char *value,
                          int empty_path_ok, gcm_config_error *err);

/* Fills `err` (when not NULL) for a refused `value` of `opt` (NULL when it
 * was missing) and returns GCM_ECONFIG. */
int gcm__config_refuse(gcm_config_error *err, const gcm_option *opt, const char *value,
                       const char *reason);

/* Fills `err` for an unknown option name (`name_len` bytes of `name`) and
 * returns GCM_ECONFIG. */
int gcm__config_refuse_unknown(gcm_config_error *err, const char *name, size_t name_len);

/* Writes `v` with '.' as the point, in as few digits as read back to the same
 * double, so that an encoded configuration decodes to the same values. */
void gcm__format_double(char *buf, size_t size, double v);

/* Milliseconds to nanoseconds, rounded to nearest; callers keep ms within
 * [0, MAX_PAUSE_MS] so the result fits easily. */
static inline uint64_t gcm__ms_to_ns(double ms)
{
    return (uint64_t)(ms * 1e6 + 0.5);
}

#endif /* GCM_CONFIG_INTERNAL_H */
