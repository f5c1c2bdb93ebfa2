/* src/ext/config.c: a recorder's configuration from Python values.
 *
 * GCMonitor's keywords (a dict of str) and the launcher's config text both
 * go through the core's one option parser (src/config/), so the extension
 * accepts exactly what the launcher does; a refusal becomes TypeError or
 * ValueError with the core's message.
 *
 * Paths are bytes on Linux, and the config text carries them as bytes: a str
 * reaches the core encoded as os.fsencode() would (the filesystem encoding
 * with surrogateescape), so a path that came from os.environ, sys.argv or
 * os.getcwd() with undecodable bytes gets back exactly those bytes; bytes are
 * taken as they are.
 */
#include "ext.h"
#include "recorder.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump.h"
#include "gc_monitor/logfile.h"

/* Raises the exception that matches a config error: TypeError for an unknown
 * or non-keyword option, ValueError otherwise, with the core's message. */
static void
raise_config_error(int code, const gcm_config_error *err)
{
    char msg[512];

    gcm_config_error_format(err, 1, msg, sizeof msg);
    PyErr_SetString(code == GCM_EUNKNOWN ? PyExc_TypeError : PyExc_ValueError, msg);
}

PyObject *
gcm__fs_bytes(PyObject *value)
{
    PyObject *bytes = NULL;

    /* PyUnicode_FSConverter: str (surrogateescape), bytes, os.PathLike; it
     * refuses an embedded NUL, which no path or option text can hold. */
    if (PyUnicode_FSConverter(value, &bytes) == 0)
        return NULL;
    return bytes;
}

gcm_config *
gcm__config_from_text(PyObject *text)
{
    gcm_config_error err;
    gcm_config *cfg = NULL;
    gcm_config *result = NULL;
    PyObject *bytes;
    char msg[512];
    int rc;

    bytes = gcm__fs_bytes(text);
    if (bytes == NULL)
        goto done;
    cfg = PyMem_Malloc(sizeof *cfg);
    if (cfg == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(&err, 0, sizeof err);
    rc = gcm_config_decode(cfg, PyBytes_AS_STRING(bytes), &err);
    if (rc != 0) {
        /* The text comes from the launcher, not from keywords: any refusal,
         * unknown names included, is a bad value. */
        gcm_config_error_format(&err, 1, msg, sizeof msg);
        PyErr_SetString(PyExc_ValueError, msg);
        goto done;
    }
    memset(&err, 0, sizeof err);
    rc = gcm_config_check(cfg, &err);
    if (rc != 0) {
        gcm_config_error_format(&err, 1, msg, sizeof msg);
        PyErr_SetString(PyExc_ValueError, msg);
        goto done;
    }
    result = cfg;
    cfg = NULL;
done:
    Py_XDECREF(bytes);
    PyMem_Free(cfg);
    return result;
}

/* Applies the GCMonitor keywords in `options` (a dict of str to str, or to
 * bytes for a path given as bytes) to `cfg`. */
int
gcm__config_from_options(gcm_config *cfg, PyObject *options)
{
    PyObject *key;
    PyObject *value;
    Py_ssize_t pos = 0;
    gcm_config_error clash;
    int status = -1;

    gcm_config_init(cfg);
    while (PyDict_Next(options, &pos, &key, &value)) {
        const gcm_option *opt;
        const char *name;
        PyObject *bytes;
        gcm_config_error err;
        int rc;

        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "GCMonitor() keywords must be strings");
            goto done;
        }
        name = PyUnicode_AsUTF8(key);
        if (name == NULL)
            goto done;
        /* Only keywords are accepted here: a flag spelling ("alert-threshold-ms")
         * or a launcher-only option is as unknown as a typo. */
        opt = gcm_config_find_in(name, GCM_SCOPE_API);
        if (opt == NULL) {
            PyErr_Format(PyExc_TypeError, "GCMonitor() got an unexpected keyword argument '%s'",
                         name);
            goto done;
        }
        if (!PyUnicode_Check(value) && !PyBytes_Check(value)) {
            PyErr_Format(PyExc_TypeError, "option '%s' must be given as a str here", name);
            goto done;
        }
        bytes = gcm__fs_bytes(value);
        if (bytes == NULL)
            goto done;
        memset(&err, 0, sizeof err);
        rc = gcm_config_set(cfg, opt, PyBytes_AS_STRING(bytes), &err);
        Py_DECREF(bytes);
        if (rc != 0) {
            raise_config_error(rc, &err);
            goto done;
        }
    }
    /* The options that need each other, once all of them are known. */
    memset(&clash, 0, sizeof clash);
    if (gcm_config_check(cfg, &clash) != 0) {
        raise_config_error(GCM_ECONFIG, &clash);
        goto done;
    }
    status = 0;
done:
    return status;
}
