/* mapfile.c — read-only memory maps. */
#include "base/mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/status.h"

mote_status mapfile_open(const char *path, mapfile *mf)
{
    memset(mf, 0, sizeof *mf);
    /* O_NONBLOCK: a FIFO without a writer would block open() forever; this
     * way it opens at once and is refused below. mmap ignores the flag. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return mote_fail(MOTE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mote_fail(MOTE_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mote_fail(MOTE_E_IO, "%s: not a regular file (a model must be one)", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return mote_fail(MOTE_E_FORMAT, "%s: empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return mote_fail(MOTE_E_IO, "%s: cannot map: %s", path, strerror(e));
    mf->data = p;
    mf->size = (size_t)st.st_size;
    mf->owned = 1;
    return MOTE_OK;
}

void mapfile_close(mapfile *mf)
{
    if (mf->owned && mf->data) munmap((void *)mf->data, mf->size);
    memset(mf, 0, sizeof *mf);
}

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

uint64_t mapfile_resident(const mapfile *mf)
{
    if (!mf->data) return 0;
    if (!mf->owned) return mf->size;
    const size_t ps = page_size(), pages = (mf->size + ps - 1) / ps;
    enum { STEP = 4096 }; /* pages per mincore call: a small stack vector */
    unsigned char vec[STEP];
    uint64_t in = 0;
    for (size_t p0 = 0; p0 < pages; p0 += STEP) {
        const size_t n = pages - p0 < STEP ? pages - p0 : STEP;
        const size_t len = n * ps < mf->size - p0 * ps ? n * ps : mf->size - p0 * ps;
        if (mincore((void *)(mf->data + p0 * ps), len, vec) != 0) return 0;
        for (size_t i = 0; i < n; i++) in += vec[i] & 1;
    }
    in *= ps;
    return in < mf->size ? in : mf->size;
}

void mapfile_touch(const mapfile *mf, size_t off, size_t len)
{
    if (!mf->data || off >= mf->size) return;
    if (len > mf->size - off) len = mf->size - off;
    const size_t ps = page_size(), start = off / ps * ps;
    if (mf->owned) madvise((void *)(mf->data + start), off + len - start, MADV_WILLNEED);
    volatile unsigned char sink = 0;
    for (size_t p = start; p < off + len; p += ps) sink ^= mf->data[p];
    (void)sink;
}
