/* src/report/facts.c: what the report's input says about the interpreter.
 *
 * Whether the generation columns mean what they say depends on the build
 * that recorded them; the summary, the text report and the advice ask here.
 */
#include <stdlib.h>

#include "report_internal.h"

/* Reads "3.14.2" (or "3.14.0rc1") into its first three numbers; 0 if unreadable. */
static int parse_version(const char *text, long out[3])
{
    const char *p = text;
    char *end;
    int i;

    for (i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return 0;
        out[i] = strtol(p, &end, 10);
        p = end;
        if (i < 2) {
            if (*p != '.')
                return 0;
            p++;
        }
    }
    return 1;
}

int gcm__version_of(const gcm_report_input *in, long v[3])
{
    return in->python_version != NULL && parse_version(in->python_version, v);
}

int gcm__generations_mislead(const gcm_report_input *in)
{
    long v[3];

    if (in->free_threaded)
        return GCM__GENS_FREE_THREADED;
    /* Only the default build of 3.14.0 to 3.14.4 has the incremental
     * collector; the free-threaded one above keeps its single generation. */
    if (in->python_version != NULL && parse_version(in->python_version, v) && v[0] == 3 &&
        v[1] == 14 && v[2] <= 4)
        return GCM__GENS_INCREMENTAL;
    return GCM__GENS_MEANINGFUL;
}
