/*
 * layout.h — kernel-native weight layouts: Q8_0, Q4_0 and IQ4_NL matrices
 * with their rows interleaved in groups of LAYOUT_ROWS (mote's types
 * MOTE_TYPE_Q8_0_R16, MOTE_TYPE_Q4_0_R16 and MOTE_TYPE_IQ4_NL_R16, written
 * by `mote optimize`).
 *
 * A matrix of m rows of k elements is m / 16 groups of 16 rows, then the
 * m % 16 tail rows as plain rows. A group takes exactly the bytes of its
 * 16 plain rows, so row r of a group still starts its group at byte
 * (r - r % 16) * row_bytes, and a tensor's size and row count are those
 * of the plain type. Within a group, block i (elements 32i .. 32i + 31 of
 * every row) is stored as:
 *
 *   scales: 16 F16, row j's block scale at j;
 *   Q8_0:   8 steps of [16 rows][4 bytes]: step s holds elements
 *           4s .. 4s + 3 of each row as unsigned bytes w + 128 (one
 *           64-byte load is vpdpbusd's unsigned operand for 16 rows, one
 *           row per 32-bit lane);
 *   Q4_0:   4 steps of [16 rows][4 bytes]: the plain block's quant bytes
 *           4s .. 4s + 3 (low nibbles: elements 4s + b; high nibbles:
 *           elements 16 + 4s + b), so one load masked gives step s and
 *           shifted gives step s + 4;
 *   IQ4_NL: as Q4_0 (the same block bytes; the nibbles index the IQ4_NL
 *           table).
 *
 * Every kernel table multiplies these to the bits of the plain type: the
 * outputs of a layout matrix are each the plain type's vec_dot of the row
 * (see kernels.c), which for Q8_0, Q4_0 and IQ4_NL is also every batch
 * result.
 */
#ifndef MOTE_TENSOR_LAYOUT_H
#define MOTE_TENSOR_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define LAYOUT_ROWS 16 /* rows per interleaved group */
/* Longest row (elements) of a layout matrix: the kernels keep a row (and
 * the AVX-512 gemm a few activation rows) of this length on the stack.
 * `mote optimize` leaves longer matrices plain; the loader refuses them. */
#define LAYOUT_K_MAX 32768

/* 1 if t is a layout type. */
int layout_is(uint32_t t);
/* The plain type a layout type interleaves (t itself for other types). */
uint32_t layout_plain(uint32_t t);
/* The layout type of a plain type, or 0 if it has none. */
uint32_t layout_of(uint32_t plain);
/* 1 if a view of rows [row0, row0 + rows) of a layout matrix of m rows is
 * itself a layout matrix (whole groups, then the matrix's own tail). */
int layout_view_ok(int64_t m, int64_t row0, int64_t rows);

/* The m rows of k elements of plain type at src, interleaved into dst (the
 * same number of bytes; no overlap). layout_type: layout_of(plain). */
void layout_pack(uint32_t layout_type, const void *src, int64_t m, int64_t k, void *dst);
/* Row r of the layout matrix W (m rows of k) as a plain row into row. */
void layout_row(uint32_t layout_type, const void *W, int64_t m, int64_t k, int64_t r, void *row);

#endif
