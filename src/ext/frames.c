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
 * 3.14 moved the frame's layout to another header (pycore_interpframe.h)
 * and holds the code as a tagged stack reference, read with CPython's own
 * borrow; its entry frames are owned by the interpreter.  A version whose
 * layout is not known here (3.16 on) is not walked: gcm__frames_supported()
 * says no, and the recorder refuses --stacks rather than fall back to a walk
 * that allocates.
 */
#define Py_BUILD_CORE 1
#include "ext.h"

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x03100000
#define GCM__WALK_INTERNAL 1
#ifdef __GNUC__
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_interpframe.h"
#else
#include "internal/pycore_frame.h"
#endif
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
 * f_executable may be None; 3.14's entry frames are the interpreter's). */
static inline PyCodeObject *
frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030E0000
    PyObject *executable;

    if (f->owner >= FRAME_OWNED_BY_INTERPRETER)
        return NULL;
    executable = PyStackRef_AsPyObjectBorrow(f->f_executable);
    return executable != NULL && PyCode_Check(executable) ? (PyCodeObject *)executable : NULL;
#elif PY_VERSION_HEX >= 0x030D0000
    return PyCode_Check(f->f_executable) ? (PyCodeObject *)f->f_executable : NULL;
#else
    return f->f_code;
#endif
}

/* 1 for a frame that is C's or not yet started: nothing a user wrote runs there. */
static inline int
frame_skipped(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return 1;
#endif
    return frame_code(f) == NULL || _PyFrame_IsIncomplete(f);
}
#endif

/* One step of the stack's hash, taken per frame as the walk goes: the code
 * pointer and the offset mixed by a multiply.  Equal hashes are always
 * confirmed by comparing the frames, so it only has to spread them. */
static inline uint64_t
hash_step(uint64_t h, const void *code, uint32_t offset)
{
    return (h ^ (uint64_t)(uintptr_t)code ^ ((uint64_t)offset << 47)) * 0x9E3779B97F4A7C15ull;
}

void
gcm__frames_walk(gcm__raw_stack *out, uint32_t max)
{
    uint32_t n = 0;
    uint64_t h = 0;
#if defined(GCM__WALK_INTERNAL)
    PyThreadState *ts = PyThreadState_Get();
    _PyInterpreterFrame *f;

#if PY_VERSION_HEX >= 0x030D0000
    f = ts->current_frame;
#else
    f = ts->cframe != NULL ? ts->cframe->current_frame : NULL;
#endif
    out->truncated = 0;
    for (; f != NULL; f = f->previous) {
        PyCodeObject *code;
        uint32_t offset;

        if (frame_skipped(f))
            continue;
        if (n == max) {
            out->truncated = 1;
            break;
        }
        code = frame_code(f);
        offset = (uint32_t)_PyInterpreterFrame_LASTI(f) * (uint32_t)sizeof(_Py_CODEUNIT);
        out->codes[n] = (PyObject *)code;
        out->offsets[n] = offset;
        h = hash_step(h, code, offset);
        n++;
    }
#elif defined(GCM__WALK_OBJECTS)
    PyThreadState *ts = PyThreadState_Get();
    PyFrameObject *f = ts->frame;

    out->truncated = 0;
    for (; f != NULL; f = f->f_back) {
        int lasti = f->f_lasti < 0 ? 0 : f->f_lasti;
        uint32_t offset;

        if (n == max) {
            out->truncated = 1;
            break;
        }
#if PY_VERSION_HEX >= 0x030A0000
        /* 3.10 counts f_lasti in code units, 3.9 in bytes. */
        offset = (uint32_t)lasti * 2u;
#else
        offset = (uint32_t)lasti;
#endif
        out->codes[n] = (PyObject *)f->f_code;
        out->offsets[n] = offset;
        h = hash_step(h, f->f_code, offset);
        n++;
    }
#else
    (void)max;
    (void)hash_step;
    out->truncated = 0;
#endif
    out->depth = n;
    out->hash = h ^ (h >> 29) ^ n;
}

int
gcm__frames_line(PyObject *code, uint32_t offset)
{
    /* PyCode_Addr2Line reads the code's line table; it allocates nothing. */
    return PyCode_Addr2Line((PyCodeObject *)code, (int)offset);
}
