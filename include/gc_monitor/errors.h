/* gc_monitor/errors.h: error codes shared by every part of the core.
 *
 * Every function of the core that can fail returns 0 on success or one of the
 * negative GCM_E* codes below; nothing in the core prints, exits or raises.
 * gcm_strerror() turns a code into a short lowercase sentence for the caller to
 * show.  The codes are stable: they are part of the capture-file tooling's
 * exit-status logic and of the Python extension's exception mapping.
 *
 * Thread safety: everything here is pure and may be called from any thread.
 */
#ifndef GC_MONITOR_ERRORS_H
#define GC_MONITOR_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GCM_OK = 0,
    GCM_EINVAL = -1,     /* an argument is out of its documented range */
    GCM_ENOMEM = -2,     /* caller-provided storage is too small, or malloc failed */
    GCM_EBADMAGIC = -3,  /* the memory does not start with a recording block */
    GCM_EVERSION = -4,   /* the block's layout version is newer than this build */
    GCM_EBYTEORDER = -5, /* the block was written on a machine of other endianness */
    GCM_ETRUNCATED = -6, /* the block is shorter than its header says */
    GCM_ECORRUPT = -7,   /* a header field contradicts another */
    GCM_EBUSY = -8,      /* a writer kept the sequence counter odd: it died mid-record */
    GCM_ECONFIG = -9,    /* an option's value is invalid; see gcm_config_error */
    GCM_EUNKNOWN = -10,  /* an option name is not known */
    GCM_EIO = -11,       /* a write to an output stream failed */
    GCM_ERANGE = -12     /* a value does not fit the output format */
};

/* Returns a static, lowercase description of `code`; never NULL. */
const char *gcm_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif /* GC_MONITOR_ERRORS_H */
