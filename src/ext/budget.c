/* src/ext/budget.c: GC budgets for Python callers (the bootstrap, the pytest plugin).
 *
 * Parsing and checking stay in the core (src/config/budget.c); this file only
 * turns rule texts into gcm_budget_rule values and verdicts into dicts, so
 * `pygcprofiler run --fail-on` and the pytest plugin can never disagree about
 * what a rule means.  Everything runs with the GIL held, at report time.
 */
#include "ext.h"

#include <string.h>

/* Parses one rule text (str) into `rule`.  Returns 0, or -1 with ValueError
 * ("invalid rule 'x': reason") or TypeError set. */
static int
parse_rule_object(PyObject *text, gcm_budget_rule *rule)
{
    char why[160];
    const char *utf8;
    int status = -1;

    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "a budget rule must be a str, not %.80s",
                     Py_TYPE(text)->tp_name);
        goto done;
    }
    utf8 = PyUnicode_AsUTF8(text);
    if (utf8 == NULL)
        goto done;
    if (gcm_budget_parse(utf8, rule, why, sizeof why) != 0) {
        PyErr_Format(PyExc_ValueError, "invalid rule %R: %s", text, why);
        goto done;
    }
    status = 0;
done:
    return status;
}

PyObject *
gcm__parse_rule(PyObject *Py_UNUSED(module), PyObject *text)
{
    gcm_budget_rule rule;

    if (parse_rule_object(text, &rule) != 0)
        return NULL;
    return PyUnicode_FromString(rule.text);
}

/* Builds {"rule", "message", "measured", "limit", "unit"} for one broken
 * rule, the figures in the unit the rule was written in. */
static PyObject *
verdict_dict(const gcm_budget_rule *rule, const gcm_budget_verdict *verdict)
{
    static const double scale[] = {1.0, 1.0, 1e3, 1e6, 1e9, 1.0};
    char message[192];
    double unit_scale =
        (unsigned)rule->unit < sizeof scale / sizeof scale[0] ? scale[rule->unit] : 1.0;

    (void)gcm_budget_describe(rule, verdict, message, sizeof message);
    return Py_BuildValue("{s:s,s:s,s:d,s:d,s:s}", "rule", rule->text, "message", message,
                         "measured", verdict->measured / unit_scale, "limit",
                         rule->limit / unit_scale, "unit", gcm_budget_unit_text(rule->unit));
}

/* Returns 1 when a rule names a figure of the verdict, which needs the
 * retained events as well as the aggregates. */
static int
needs_verdict(const gcm_budget_rule *rules, size_t count)
{
    size_t i;

    for (i = 0; i < count; i++)
        if (rules[i].metric == GCM_METRIC_WINDOW || rules[i].metric == GCM_METRIC_VERDICT)
            return 1;
    return 0;
}

/* Completes `sum` with the verdict the report gives, from a copy of the
 * retained events.  Returns 0, or -1 with MemoryError set. */
static int
fill_verdict(gcm__recorder *self, const gcm_snapshot *snap, gcm_summary *sum)
{
    uint64_t capacity = self->block->header.capacity;
    gcm_event *events = PyMem_RawMalloc((size_t)capacity * sizeof *events);
    gcm_report_input in;
    size_t count = 0;
    uint64_t first = 0;

    if (events == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    (void)gcm_block_copy_events(self->block, events, (size_t)capacity, &count, &first);
    memset(&in, 0, sizeof in);
    in.snapshot = snap;
    in.events = events;
    in.event_count = count;
    in.first_event_index = first;
    in.config = &self->config;
    (void)gcm_verdict_fill(&in, sum);
    PyMem_RawFree(events);
    return 0;
}

PyObject *
gcm__recorder_check_budgets(PyObject *op, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"rules", NULL};
    gcm__recorder *self = (gcm__recorder *)op;
    PyObject *given = Py_None;
    PyObject *seq = NULL;
    PyObject *result = NULL;
    PyObject *list = NULL;
    gcm_budget_rule *rules = NULL;
    gcm_budget_verdict *verdicts = NULL;
    gcm_snapshot *snap = NULL;
    gcm_summary sum;
    size_t count;
    size_t i;
    int broken;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:check_budgets", kwlist, &given))
        goto done;
    if (given == Py_None) {
        /* The rules of --fail-on, kept in the recorder's own config. */
        count = self->config.fail_on_count <= GCM_MAX_RULES ? self->config.fail_on_count
                                                            : GCM_MAX_RULES;
    } else {
        if (PyUnicode_Check(given)) {
            PyErr_SetString(PyExc_TypeError, "check_budgets() takes a list of rules, not a str");
            goto done;
        }
        seq = PySequence_Fast(given, "check_budgets() takes a list of rules");
        if (seq == NULL)
            goto done;
        count = (size_t)PySequence_Fast_GET_SIZE(seq);
    }
    rules = PyMem_Calloc(count > 0 ? count : 1, sizeof *rules);
    verdicts = PyMem_Calloc(count > 0 ? count : 1, sizeof *verdicts);
    snap = PyMem_Malloc(sizeof *snap);
    if (rules == NULL || verdicts == NULL || snap == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (seq == NULL) {
        memcpy(rules, self->config.fail_on, count * sizeof *rules);
    } else {
        for (i = 0; i < count; i++) {
            if (parse_rule_object(PySequence_Fast_GET_ITEM(seq, (Py_ssize_t)i), &rules[i]) != 0)
                goto done;
        }
    }
    /* After a fork, the figures are this process's, as the report's are. */
    if (gcm__recorder_own_block(self) != 0)
        goto done;
    /* A torn snapshot (a writer that died mid-record) is still the best
     * figure there is, as it is for the report. */
    (void)gcm_block_snapshot(self->block, snap);
    if (gcm_summarize(snap, &sum) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "gc_monitor: cannot summarize the recording");
        goto done;
    }
    if (needs_verdict(rules, count) && fill_verdict(self, snap, &sum) != 0)
        goto done;
    broken = gcm_budget_evaluate(rules, count, &sum, verdicts);
    if (broken < 0) {
        PyErr_Format(PyExc_RuntimeError, "gc_monitor: %s", gcm_strerror(broken));
        goto done;
    }
    list = PyList_New(0);
    if (list == NULL)
        goto done;
    for (i = 0; i < count; i++) {
        PyObject *item;
        if (!verdicts[i].broken)
            continue;
        item = verdict_dict(&rules[i], &verdicts[i]);
        if (item == NULL || PyList_Append(list, item) != 0) {
            Py_XDECREF(item);
            goto done;
        }
        Py_DECREF(item);
    }
    result = list;
    list = NULL;
done:
    Py_XDECREF(list);
    Py_XDECREF(seq);
    PyMem_Free(snap);
    PyMem_Free(verdicts);
    PyMem_Free(rules);
    return result;
}
