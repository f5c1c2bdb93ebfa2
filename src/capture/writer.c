/* src/capture/writer.c: creating a capture file, the writer's half.
 *
 * It runs once, at start: it pays for every page of the file up front
 * (posix_fallocate, then a store into each page) so that the GC callback only
 * ever stores into memory that is already there.  A child process's capture
 * takes the first free name of the child-capture rule (names.c).
 */
#include "gc_monitor/capture.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "gc_monitor/errors.h"

int gcm_capture_create(gcm_capture *cap, const char *path, const gcm_block_params *params,
                       const char *meta)
{
    int status = GCM_EINVAL;
    gcm__output out;
    int fd = -1;
    void *mem = MAP_FAILED;
    size_t size = 0;
    size_t page;
    size_t off;
    long pagesize;
    int rc;

    if (cap == NULL || path == NULL || params == NULL)
        goto done;
    memset(cap, 0, sizeof *cap);
    size = gcm_block_alloc_size(params);
    if (size == 0)
        goto done;
    /* The one output policy (src/base/files.c), for a file that must be
     * new: any existing name, a symlink included (even a dangling one), is
     * refused, so the file is always ours and never overwrites anything. */
    status = gcm__create_output(&out, path, GCM__OUTPUT_NEW, O_RDWR | O_CLOEXEC);
    if (status != 0)
        goto done;
    fd = out.fd;
    status = GCM_EIO;
    /* Every block of the file is allocated now: a full disk or a file-size
     * limit fails here, at start, instead of as SIGBUS in the callback. */
    do {
        rc = posix_fallocate(fd, 0, (off_t)size);
    } while (rc == EINTR);
    if (rc != 0) {
        errno = rc;
        goto done;
    }
    mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED)
        goto done;
    /* Touch every page, so each has its page-cache page and the callback's
     * first store into it is not a fault.  gcm_block_init zeroes the block
     * again, but this loop says why it must be done here. */
    pagesize = sysconf(_SC_PAGESIZE);
    page = pagesize > 0 ? (size_t)pagesize : 4096u;
    for (off = 0; off < size; off += page)
        ((volatile unsigned char *)mem)[off] = 0;
    /* Best effort: keep the pages resident so memory pressure cannot evict
     * them and make a later store fault.  Without the privilege or the
     * RLIMIT_MEMLOCK room this fails, and the pages stay merely touched. */
    (void)mlock(mem, size);
    status = gcm_block_init((gcm_block *)mem, size, params);
    if (status != 0)
        goto done;
    if (meta != NULL) {
        char *dst = ((gcm_block *)mem)->header.meta;
        size_t len = strnlen(meta, GCM_META_SIZE - 1u);
        memcpy(dst, meta, len);
        dst[len] = '\0';
    }
    cap->block = (gcm_block *)mem;
    cap->size = size;
    cap->writable = 1;
    cap->held_slots = params->capacity;
    mem = MAP_FAILED;
    status = 0;
done:
    gcm__unmap_keep_errno(mem, size);
    /* A capture that could not be made whole is removed again. */
    if (fd >= 0 && status != 0)
        gcm__output_discard(&out);
    else
        gcm__close_keep_errno(fd);
    return status;
}

void gcm_capture_unmap(gcm_block *block, size_t size)
{
    if (block != NULL)
        (void)munmap(block, size);
}

int gcm_capture_create_child(gcm_capture *cap, const char *base, const gcm_block_params *params,
                             const char *meta, char *name, size_t name_size)
{
    int status = GCM_ERANGE;
    int n;

    for (n = 0; n <= GCM_CAPTURE_MAX_SUFFIX; n++) {
        int rc = gcm_capture_child_name(base, params->pid, n, name, name_size);

        if (rc != 0) {
            status = rc;
            goto done;
        }
        rc = gcm_capture_create(cap, name, params, meta);
        /* A name taken by anything (a file, a symlink, a FIFO...) is not
         * ours: the next one is tried. */
        if (rc == 0 || rc != GCM_EIO ||
            (errno != EEXIST && errno != ELOOP && errno != EISDIR && errno != EINVAL)) {
            status = rc;
            goto done;
        }
    }
done:
    return status;
}
