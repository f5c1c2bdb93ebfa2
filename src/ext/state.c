/* src/ext/state.c: the module's state and the facts every file may ask for.
 *
 * Every file of the extension reaches the module state through gcm__state()
 * here rather than through module.c, so that module.c, which calls into all
 * of them, is called by none.
 */
#include "ext.h"

#include <pthread.h>
#include <string.h>

static char python_version[32];
static pthread_once_t python_version_once = PTHREAD_ONCE_INIT;

static void
python_version_init(void)
{
    const char *v = Py_GetVersion();
    size_t n = strcspn(v, " ");

    if (n >= sizeof python_version)
        n = sizeof python_version - 1;
    memcpy(python_version, v, n);
    python_version[n] = '\0';
}

const char *
gcm__python_version(void)
{
    (void)pthread_once(&python_version_once, python_version_init);
    return python_version;
}

gcm__module_state *
gcm__state(PyObject *module)
{
    return (gcm__module_state *)PyModule_GetState(module);
}
