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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mote_fail(MOTE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return mote_fail(MOTE_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return mote_fail(MOTE_E_IO, "%s: not a regular file", path);
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
