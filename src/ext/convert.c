/* src/ext/convert.c: the JSON summary as a Python dict, for GCMonitor.snapshot().
 *
 * The core builds the one JSON summary object (src/report/summary_json.c);
 * converting that tree here, rather than computing figures a second time,
 * keeps snapshot()'s keys and values exactly those of the JSON report.
 * This runs at snapshot time, never on the recording path.
 */
#include "ext.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static PyObject *convert(const cJSON *item, const char *key);

/* Returns 1 when a number under `key` is a measurement (milliseconds, seconds,
 * a share) rather than a count: those stay floats even when integral, so a
 * value's type does not depend on its magnitude. */
static int
key_is_measure(const char *key)
{
    size_t n;

    if (key == NULL)
        return 0;
    n = strlen(key);
    if (n >= 3 && strcmp(key + n - 3, "_ms") == 0)
        return 1;
    if (n >= 2 && strcmp(key + n - 2, "_s") == 0)
        return 1;
    if (n >= 4 && strcmp(key + n - 4, "_pct") == 0)
        return 1;
    return strcmp(key, "share") == 0;
}

static PyObject *
convert_number(const cJSON *item, const char *key)
{
    double d = item->valuedouble;

    /* cJSON keeps numbers as doubles; counts stay exact below 2^53. */
    if (!key_is_measure(key) && isfinite(d) && d == floor(d) && fabs(d) < 9007199254740992.0)
        return PyLong_FromLongLong((long long)d);
    return PyFloat_FromDouble(d);
}

static PyObject *
convert_object(const cJSON *item, int top)
{
    PyObject *dict = PyDict_New();
    PyObject *result = NULL;
    const cJSON *child;

    if (dict == NULL)
        goto done;
    cJSON_ArrayForEach(child, item)
    {
        PyObject *value;
        int rc;

        if (child->string == NULL)
            continue;
        if (top &&
            (strcmp(child->string, "type") == 0 || strcmp(child->string, "schema_version") == 0))
            continue;
        value = convert(child, child->string);
        if (value == NULL)
            goto done;
        rc = PyDict_SetItemString(dict, child->string, value);
        Py_DECREF(value);
        if (rc != 0)
            goto done;
    }
    result = dict;
    dict = NULL;
done:
    Py_XDECREF(dict);
    return result;
}

static PyObject *
convert_array(const cJSON *item, const char *key)
{
    PyObject *list = PyList_New(0);
    PyObject *result = NULL;
    const cJSON *child;

    if (list == NULL)
        goto done;
    cJSON_ArrayForEach(child, item)
    {
        /* Elements of an array inherit its key for the count/measure rule. */
        PyObject *value = convert(child, key);
        int rc;

        if (value == NULL)
            goto done;
        rc = PyList_Append(list, value);
        Py_DECREF(value);
        if (rc != 0)
            goto done;
    }
    result = list;
    list = NULL;
done:
    Py_XDECREF(list);
    return result;
}

static PyObject *
convert(const cJSON *item, const char *key)
{
    if (cJSON_IsNull(item))
        Py_RETURN_NONE;
    if (cJSON_IsTrue(item))
        Py_RETURN_TRUE;
    if (cJSON_IsFalse(item))
        Py_RETURN_FALSE;
    if (cJSON_IsNumber(item))
        return convert_number(item, key);
    if (cJSON_IsString(item))
        return PyUnicode_DecodeUTF8(item->valuestring, (Py_ssize_t)strlen(item->valuestring),
                                    "replace");
    if (cJSON_IsArray(item))
        return convert_array(item, key);
    if (cJSON_IsObject(item))
        return convert_object(item, 0);
    PyErr_SetString(PyExc_ValueError, "gc_monitor: unexpected node in the JSON summary");
    return NULL;
}

PyObject *
gcm__summary_to_dict(const cJSON *json)
{
    if (json == NULL || !cJSON_IsObject(json)) {
        PyErr_SetString(PyExc_ValueError, "gc_monitor: the JSON summary is not an object");
        return NULL;
    }
    return convert_object(json, 1);
}
