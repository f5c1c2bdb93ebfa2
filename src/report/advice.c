/* advice.c: the section after the summary, where recommendations go.
 *
 * The reports part 2 work derives advice flags from the exact aggregates and
 * renders each piece of advice here, once, in a fixed order.  Until then the
 * section is empty: a report without advice has no advice heading at all, so
 * nothing here writes a line yet.
 */
#include "report_internal.h"

int gcm__render_advice_text(const gcm_report_input *in, const gcm_summary *sum,
                            const gcm_sink *sink)
{
    (void)in;
    (void)sum;
    (void)sink;
    return 0;
}

int gcm__render_advice_jsonl(const gcm_report_input *in, const gcm_summary *sum,
                             const gcm_sink *sink)
{
    (void)in;
    (void)sum;
    (void)sink;
    return 0;
}
