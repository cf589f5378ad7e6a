/*
 * store_vec.h — every stored embedding in memory, for the vector part of
 * a search: one contiguous int8 matrix with a scale per row, the row's
 * chunk, source and time window, scanned by the i8_dot_rows kernel
 * (src/kernels/dot_i8.h) without a single SQLite read.
 *
 * Quantisation (mem_vec_quantize): symmetric, one scale per vector,
 * scale = max |x| / 127, q = round(x / scale) in -127..127 (never -128),
 * so x ≈ q * scale with error at most scale / 2 per element. A query is
 * quantised the same way; its score against a row is
 *   dot(q_query, q_row) * scale_query * scale_row  ≈  cosine
 * for L2-normalised embeddings.
 *
 * The index mirrors the database's vectors table: loaded whole on open
 * (mem_vec_load), then kept in step by the store after each commit of its
 * own (mem_vec_add / mem_vec_drop_source), and reloaded when another
 * connection committed (the store compares PRAGMA data_version).
 */
#ifndef MOTE_MEMORY_STORE_VEC_H
#define MOTE_MEMORY_STORE_VEC_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "mote.h"

/* A stored source, as the filters need it. */
typedef struct mem_vec_source {
    int64_t id;   /* sources.id, 0 for a free slot */
    char *path;   /* sources.path */
    int kind;     /* enum mem_kind */
} mem_vec_source;

typedef struct mem_vec_index {
    int dim;                 /* elements per vector (0 until the first) */
    size_t n, cap;           /* rows held, rows allocated */
    int8_t *q;               /* (cap, dim) quantised vectors, 64-byte aligned */
    float *scale;            /* (cap) x ≈ q * scale */
    int64_t *chunk;          /* (cap) chunks.id of each row */
    uint32_t *src;           /* (cap) the row's source: an index into sources */
    int64_t *t_lo, *t_hi;    /* (cap) the chunk's time window (mem_chunk) */
    int32_t *dots;           /* (cap) scratch: the last scan's int8 dot products */
    mem_vec_source *sources; /* (n_sources) slots, free ones with id 0 */
    size_t n_sources, cap_sources;
    size_t last_slot;        /* the slot mem_vec_add found last (a put adds many rows of one source) */
} mem_vec_index;

/* One candidate of a vector ranking. */
typedef struct mem_vec_hit {
    int64_t chunk;  /* chunks.id */
    float score;    /* approximate cosine */
} mem_vec_hit;

/* What a vector search keeps (store.h's mem_query filters). */
typedef struct mem_vec_filter {
    const char *path_prefix; /* or NULL */
    int kind;                /* or -1 */
    int has_time;
    int64_t t_lo, t_hi;
} mem_vec_filter;

/* x (dim floats, finite) as int8 q (dim) and its scale (0 for a zero vector). */
void mem_vec_quantize(const float *x, int dim, int8_t *q, float *scale);

void mem_vec_free(mem_vec_index *ix);
/* Empty ix and fill it from the database's sources and vectors tables.
 * On failure ix is empty and the status says why (without a prefix). */
mote_status mem_vec_load(mem_vec_index *ix, sqlite3 *db);

/* Record source id (path, kind) if it is not known yet. */
mote_status mem_vec_source_set(mem_vec_index *ix, int64_t id, const char *path, int kind);
/* Drop source id and all its rows. */
void mem_vec_drop_source(mem_vec_index *ix, int64_t id);
/* Append one row: chunk of source id (mem_vec_source_set first), its
 * quantised vector (ix->dim bytes) and window. */
mote_status mem_vec_add(mem_vec_index *ix, int64_t chunk, int64_t source, const int8_t *q, float scale,
                        int64_t t_lo, int64_t t_hi);

/* The best n rows for query vector x (ix->dim finite floats) that pass
 * the filter (may be NULL), best first (higher score, then smaller chunk
 * id), into out (room for n); how many in *n_out. */
mote_status mem_vec_search(mem_vec_index *ix, const float *x, const mem_vec_filter *f, mem_vec_hit *out, size_t n,
                           size_t *n_out);

/* The enum mem_kind that mem_kind_name calls name, or -1. */
int mem_kind_from_name(const char *name);

/* 1 if a chunk's window [t_lo, t_hi) (the second at t_lo if t_hi <= t_lo;
 * none if both are 0) overlaps [lo, hi). */
int mem_time_overlaps(int64_t t_lo, int64_t t_hi, int64_t lo, int64_t hi);

#endif
