/* pages.c — mapping memory's pages ahead of use (see pages.h). */
#include "base/pages.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Linux 5.14's values, for C libraries older than the kernel. */
#if defined(__linux__) && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

#define PREFAULT_MIN_PAGES 16 /* smaller buffers: the faults cost less than the call */

static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* The whole pages inside [p, p + n): *start, and their bytes (0 if none). */
static size_t whole_pages(const void *p, size_t n, uintptr_t *start)
{
    const uintptr_t ps = page_size(), a = (uintptr_t)p;
    const uintptr_t lo = (a + ps - 1) / ps * ps, hi = (a + n) / ps * ps;
    *start = lo;
    return hi > lo ? hi - lo : 0;
}

void pages_prefault_write(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t start;
    const size_t len = whole_pages(p, n, &start);
    if (len >= PREFAULT_MIN_PAGES * page_size()) (void)madvise((void *)start, len, MADV_POPULATE_WRITE);
#else
    (void)p, (void)n;
#endif
}

int pages_prefault_read(const void *p, size_t n)
{
#ifdef MADV_POPULATE_READ
    const uintptr_t ps = page_size(), a = (uintptr_t)p / ps * ps;
    return madvise((void *)a, (uintptr_t)p + n - a, MADV_POPULATE_READ) == 0 ? 0 : -1;
#else
    (void)p, (void)n;
    return -1;
#endif
}
