/* mapfile.h — a whole file mapped read-only (weights are used in place). */
#ifndef MOTE_BASE_MAPFILE_H
#define MOTE_BASE_MAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "mote.h"

typedef struct mapfile {
    const uint8_t *data; /* the file's bytes, read-only */
    size_t size;         /* bytes */
    int owned;           /* 1 if data is an mmap to unmap at close */
} mapfile;

mote_status mapfile_open(const char *path, mapfile *mf);
void mapfile_close(mapfile *mf);

/* Bytes of the mapping in RAM now (mincore); for a buffer the caller owns
 * (owned = 0) all of it. */
uint64_t mapfile_resident(const mapfile *mf);

/* Read the pages of [off, off + len) into RAM (asked for with
 * MADV_WILLNEED, then touched one byte a page). */
void mapfile_touch(const mapfile *mf, size_t off, size_t len);

#endif
