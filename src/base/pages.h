/*
 * pages.h — mapping memory's pages ahead of use.
 *
 * A page's first touch traps into the kernel (about a microsecond each on
 * a virtual machine, with memory-cgroup accounting), and a fresh heap page
 * that is read before it is written traps twice: the read maps the shared
 * zero page, the write then copies it. Where a buffer is about to be used
 * all over (a hash table being filled, the weights of a first evaluation),
 * one madvise call maps every page for a fraction of that.
 */
#ifndef MOTE_BASE_PAGES_H
#define MOTE_BASE_PAGES_H

#include <stddef.h>

/* Map the whole pages of [p, p + n), a heap buffer, writable now. Best
 * effort: a no-op where the kernel lacks MADV_POPULATE_WRITE (Linux < 5.14)
 * or for buffers under a few pages; the contents are unchanged. */
void pages_prefault_write(void *p, size_t n);

/* Map the pages of [p, p + n), part of a read-only file mapping, now
 * (MADV_POPULATE_READ: reads from the file what the page cache lacks).
 * Returns 0, or -1 where the kernel cannot (then nothing was done). */
int pages_prefault_read(const void *p, size_t n);

#endif
