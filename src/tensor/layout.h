/*
 * layout.h — kernel-native weight layouts: Q8_0, Q4_0, IQ4_NL, Q4_K, Q6_K
 * matrices with their rows interleaved in groups of LAYOUT_ROWS (mote's
 * types MOTE_TYPE_Q8_0_R16, MOTE_TYPE_Q4_0_R16, MOTE_TYPE_IQ4_NL_R16,
 * MOTE_TYPE_Q4_K_R16 and MOTE_TYPE_Q6_K_R16, written by `mote optimize`).
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
 * Q4_K's blocks are its 256-element super-blocks; a group's super-block i
 * (the 2304 bytes of 16 plain ones) is stored as:
 *
 *   16 F16 d, then 16 F16 dmin (row j's at j);
 *   scales: 8 groups g of [16 rows] bytes: the 6-bit scale of group g,
 *           bits 4-5 of its 6-bit min in the top two bits;
 *   mins:   4 pairs p of [16 rows] bytes: the low 4 bits of group 2p's
 *           min, those of group 2p + 1 in the high nibble;
 *   quants: 32 steps of [16 rows][4 bytes]: step s holds the plain
 *           block's quant bytes 4s .. 4s + 3 (low nibbles: elements
 *           64 (s / 8) + 4 (s % 8) + b; high nibbles: 32 more).
 *
 * Q6_K's group super-block (16 plain ones, 3360 bytes) is 8 pairs of rows
 * (2p, 2p + 1), each 420 bytes: the two rows' ql in alternate 32-byte
 * chunks (row 2p's bytes 0..31, row 2p + 1's, row 2p's 32..63, ...), then
 * their qh likewise, then row 2p's 16 scales and row 2p + 1's, then the
 * two F16 d. A 64-byte load of the quants holds 32 consecutive bytes of
 * each row, one row per 256-bit half.
 *
 * Every kernel table multiplies these to the bits of the plain type: a
 * layout matrix's outputs are those the plain matrix gives for the same
 * tokens (see kernels.c): each row's vec_dot for Q8_0, Q4_0, IQ4_NL and Q6_K,
 * whose batch results are the same; for Q4_K the batch's own order (the
 * table's vec_dot_x4 for the batch's first n - n % 4 tokens), and vec_dot
 * for matmul_alone.
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
/* Byte offsets in a Q4_K group super-block (above). */
#define LAYOUT_Q4K_D 0
#define LAYOUT_Q4K_DMIN (2 * LAYOUT_ROWS)
#define LAYOUT_Q4K_SC (4 * LAYOUT_ROWS)
#define LAYOUT_Q4K_MN (12 * LAYOUT_ROWS)
#define LAYOUT_Q4K_QS (16 * LAYOUT_ROWS)
/* Byte offsets in a Q6_K pair (above) and its size. */
#define LAYOUT_Q6K_QL 0
#define LAYOUT_Q6K_QH 256
#define LAYOUT_Q6K_SC 384
#define LAYOUT_Q6K_D 416
#define LAYOUT_Q6K_PAIR 420

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
