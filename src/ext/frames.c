/* src/ext/frames.c: the Python frames of the running thread, read without allocating.
 *
 * From 3.11 on, PyEval_GetFrame() and PyFrame_GetBack() may create frame
 * objects for frames that have none yet: allocations, and GC-tracked ones,
 * inside a GC callback.  So this file walks the interpreter's own frame chain
 * (the thread state's current frame and each frame's `previous`), which needs
 * CPython's internal header for the frame's layout; that is why it is the one
 * file of the extension built with Py_BUILD_CORE.  Frames owned by C (the
 * entry frames of 3.12+) and frames not yet started are skipped, as CPython's
 * own tracebacks skip them.  Before 3.11 every frame is an object already,
 * and its fields are public.
 *
 * 3.14 moved the frame's layout to another header and tags its code pointer;
 * it is not walked here yet: gcm__frames_supported() says no, and the
 * recorder refuses --stacks rather than fall back to a walk that allocates.
 */
#define Py_BUILD_CORE 1
#include "ext.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
#define GCM__WALK_INTERNAL 1
#ifdef __GNUC__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include "internal/pycore_frame.h"
#ifdef __GNUC__
#pragma GCC diagnostic pop
#endif
#elif PY_VERSION_HEX < 0x030B0000
#define GCM__WALK_OBJECTS 1
#include <frameobject.h>
#endif

int
gcm__frames_supported(void)
{
#if defined(GCM__WALK_INTERNAL) || defined(GCM__WALK_OBJECTS)
    return 1;
#else
    return 0;
#endif
}

#if defined(GCM__WALK_INTERNAL)
/* The frame's code object, or NULL for a frame that runs none (3.13's
 * f_executable may be None). */
static inline PyCodeObject *
frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyCode_Check(f->f_executable) ? (PyCodeObject *)f->f_executable : NULL;
#else
    return f->f_code;
#endif
}

/* 1 for a frame that is C's or not yet started: nothing a user wrote runs there. */
static inline int
frame_skipped(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 1;
#endif
    return frame_code(f) == NULL || _PyFrame_IsIncomplete(f);
}
#endif

uint32_t
gcm__frames_walk(gcm__raw_frame *out, uint32_t max, uint32_t *truncated)
{
    uint32_t n = 0;
#if defined(GCM__WALK_INTERNAL)
    PyThreadState *ts = PyThreadState_Get();
    _PyInterpreterFrame *f;

#if PY_VERSION_HEX >= 0x030D0000
    f = ts->current_frame;
#else
    f = ts->cframe != NULL ? ts->cframe->current_frame : NULL;
#endif
    for (; f != NULL; f = f->previous) {
        if (frame_skipped(f))
            continue;
        if (n == max) {
            *truncated = 1;
            return n;
        }
        out[n].code = (PyObject *)frame_code(f);
        out[n].offset = (uint32_t)_PyInterpreterFrame_LASTI(f) * (uint32_t)sizeof(_Py_CODEUNIT);
        n++;
    }
#elif defined(GCM__WALK_OBJECTS)
    PyThreadState *ts = PyThreadState_Get();
    PyFrameObject *f = ts->frame;

    for (; f != NULL; f = f->f_back) {
        int lasti = f->f_lasti < 0 ? 0 : f->f_lasti;

        if (n == max) {
            *truncated = 1;
            return n;
        }
        out[n].code = (PyObject *)f->f_code;
#if PY_VERSION_HEX >= 0x030A0000
        /* 3.10 counts f_lasti in code units, 3.9 in bytes. */
        out[n].offset = (uint32_t)lasti * 2u;
#else
        out[n].offset = (uint32_t)lasti;
#endif
        n++;
    }
#else
    (void)out;
    (void)max;
#endif
    *truncated = 0;
    return n;
}

int
gcm__frames_line(PyObject *code, uint32_t offset)
{
    /* PyCode_Addr2Line reads the code's line table; it allocates nothing. */
    return PyCode_Addr2Line((PyCodeObject *)code, (int)offset);
}
