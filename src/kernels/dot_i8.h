/*
 * dot_i8.h — exact int8 dot products of one query vector with many rows:
 * the memory store's vector scan (src/memory/store_vec.c) scores every
 * stored embedding against a query with one call.
 *
 *   out[r] = sum over i < dim of q[i] * rows[r * dim + i],  r < n_rows
 *
 * q: dim int8; rows: n_rows * dim int8, row r at rows + r * dim (no
 * padding, no alignment needed); out: n_rows int32. Every value -128..127
 * is allowed. Each product is at most 128 * 128 = 2^14 in magnitude, so
 * the sums are exact in int32 up to I8_DOT_DIM_MAX elements; integer sums
 * do not depend on their order, so every ISA's kernel returns the scalar
 * reference's results bit for bit (tests/test_kernels_i8.c holds them to
 * it).
 *
 * Kernels, one file each: dot_i8_scalar.c (the reference, and the
 * dispatch below), dot_i8_avx2.c (widen to int16, vpmaddwd),
 * dot_i8_avx512.c (VNNI vpdpbusd on an offset query), dot_i8_neon.c
 * (widening multiplies), dot_i8_dotprod.c (SDOT). Each table's i8_rows
 * slot (kernels.h) names its kernel.
 */
#ifndef MOTE_KERNELS_DOT_I8_H
#define MOTE_KERNELS_DOT_I8_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/kernels.h"

/* Longest vectors the kernels take: 2^16 * 2^14 = 2^30 stays clear of
 * int32's range, with room for the AVX-512 kernel's offset sums
 * (255 * 128 * 2^16 < 2^31, see dot_i8_avx512.c). */
#define I8_DOT_DIM_MAX 65536

/* The kernel of table ops (its i8_rows slot, else the scalar one). */
i8_rows_fn i8_rows_kernel(const kernel_ops *ops);
/* The kernel of this process's table (kernels_get(), MOTE_ISA). */
void i8_dot_rows(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);

void i8_dot_rows_scalar(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);
#if defined(__x86_64__)
void i8_dot_rows_avx2(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);
void i8_dot_rows_avx512(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);
#endif
#if defined(__aarch64__)
void i8_dot_rows_neon(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);
void i8_dot_rows_dotprod(const int8_t *q, const int8_t *rows, size_t n_rows, size_t dim, int32_t *out);
#endif

#endif
