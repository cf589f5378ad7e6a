/*
 * imatrix.h — importance matrices: the sums a collector keeps and the
 * files llama.cpp reads (the public side, mote_imatrix and the reader, is
 * in mote_tools.h).
 *
 * imatrix.c collects: it watches a session's forward passes
 * (fwd_observer) and sums the squared inputs of every weight per column.
 * imatrix_file.c reads and writes llama.cpp's two formats, as its
 * tools/imatrix/imatrix.cpp (save_imatrix, save_imatrix_legacy) and
 * common/imatrix-loader.cpp + tools/quantize/quantize.cpp (load_imatrix)
 * at the commit of bench/llama do.
 */
#ifndef MOTE_TOOLKIT_IMATRIX_H
#define MOTE_TOOLKIT_IMATRIX_H

#include <stddef.h>
#include <stdint.h>

#include "mote_tools.h"

/* GGUF keys and tensor suffixes (llama.cpp common/imatrix-loader.h). */
#define IMATRIX_KEY_TYPE "general.type"
#define IMATRIX_TYPE "imatrix"
#define IMATRIX_KEY_DATASETS "imatrix.datasets"
#define IMATRIX_KEY_CHUNK_COUNT "imatrix.chunk_count"
#define IMATRIX_KEY_CHUNK_SIZE "imatrix.chunk_size"
#define IMATRIX_SUFFIX_SUMS ".in_sum2"
#define IMATRIX_SUFFIX_COUNTS ".counts"

/* The sums of one weight as collected: llama.cpp's Stats. */
typedef struct imatrix_acc {
    char *name;        /* the weight's tensor name */
    int64_t n_in;      /* input columns */
    int64_t n_mat;     /* matrices (1: dense) */
    float *sums;       /* (n_mat, n_in) sum over rows of x[j]² */
    int64_t *counts;   /* (n_mat) rows summed */
} imatrix_acc;

/* What is written besides the sums. */
typedef struct imatrix_meta {
    const char *dataset;  /* the text's file, or NULL: none */
    int32_t chunk_size;   /* tokens per chunk */
} imatrix_meta;

/* Write n accumulators to path as llama-imatrix would (GGUF, or the
 * legacy .dat with legacy = 1): entries sorted by name, chunk_count the
 * largest count / chunk_size. The file is written under a temporary name
 * and renamed over path when complete; on failure path is as it was. */
mote_status imatrix_write(const char *path, int legacy, const imatrix_acc *acc, size_t n, const imatrix_meta *meta);

/* The chunks llama.cpp records for these sums (m_last_chunk). */
int32_t imatrix_chunk_count(const imatrix_acc *acc, size_t n, int32_t chunk_size);

void imatrix_acc_free(imatrix_acc *acc, size_t n);

#endif
