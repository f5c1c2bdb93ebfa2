/* src/base/errors.c: the text of every GCM_E* code. */
#include "gc_monitor/errors.h"

const char *gcm_strerror(int code)
{
    switch (code) {
    case GCM_OK:
        return "success";
    case GCM_EINVAL:
        return "invalid argument";
    case GCM_ENOMEM:
        return "not enough memory";
    case GCM_EBADMAGIC:
        return "not a pygcprofiler recording block";
    case GCM_EVERSION:
        return "recording block layout version not supported by this build";
    case GCM_EBYTEORDER:
        return "recording block written on a machine of other byte order";
    case GCM_ETRUNCATED:
        return "recording block is truncated";
    case GCM_ECORRUPT:
        return "recording block is corrupt";
    case GCM_EBUSY:
        return "writer stopped in the middle of a record";
    case GCM_ECONFIG:
        return "invalid option value";
    case GCM_EUNKNOWN:
        return "unknown option";
    case GCM_EIO:
        return "write to output failed";
    case GCM_ERANGE:
        return "value out of range for the output format";
    default:
        return "unknown error";
    }
}
