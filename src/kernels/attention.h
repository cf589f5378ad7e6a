/*
 * attention.h — attention over an F16 or Q8_0 KV cache in one streaming
 * pass (online softmax, as flash attention does it).
 *
 * For a query q and the cached keys/values of positions 0..n-1 the output
 * is softmax(q·Kᵀ·scale)·V. Instead of materialising the n scores, the
 * kernel walks the positions in tiles of ATTN_TILE, keeping per query a
 * running maximum m of the scaled scores, the sum l of exp(score - m) and
 * the unnormalised output acc = Σ exp(score - m)·v; when a tile raises m,
 * l and acc are rescaled by exp(m_old - m_new). Memory traffic is one read
 * of each K and V row, and no buffer grows with the context.
 *
 * Positions are cut into chunks of ATTN_CHUNK; a kernel call covers (at
 * most) one chunk and leaves a "partial" (acc, m, l). Partials of the
 * chunks are folded left to right with attn_merge, whether one thread
 * walks all chunks or the chunks were computed by several threads (the
 * generation step splits long contexts this way): the result is the same,
 * bit for bit, for any number of threads.
 *
 * A kernel call serves the g <= ATTN_GMAX query heads that share one KV
 * head (grouped-query attention), so each K/V row is read once for all.
 */
#ifndef MOTE_KERNELS_ATTENTION_H
#define MOTE_KERNELS_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_TILE 32    /* positions whose scores are held at once */
#define ATTN_CHUNK 256  /* positions per partial (a multiple of ATTN_TILE) */
#define ATTN_GMAX 8     /* query heads per kernel call */
#define ATTN_HD_MAX 512 /* largest head dimension */

/* Floats per partial of one query: acc[0..hd), then m at [hd], l at
 * [hd + 1], padded to a multiple of 16 floats (64 bytes). */
static inline size_t attn_part_stride(int hd) { return ((size_t)hd + 2 + 15) & ~(size_t)15; }

/* Partials of g queries (part: g slots of attn_part_stride(hd) floats) over
 * positions 0..n-1 (n may be 0: an empty partial) of one KV head.
 * q: query j at q + j * q_stride (hd floats). k, v: position 0's key and
 * value of this head; position i's are row_bytes further on per i. The
 * element type is fixed by the kernel (F16 or Q8_0). scale: 1/sqrt(hd). */
typedef void (*attn_chunk_fn)(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                              size_t row_bytes, int n, int hd, float scale, float *part);

/* The kernel for cache type kv_type (GGML_TYPE_F16 or GGML_TYPE_Q8_0) and
 * head dimension hd; NULL for other types. isa: a kernel level name
 * ("scalar", "avx512", ...; kernels.h), NULL for the level the matmul
 * dispatcher chose (MOTE_ISA or the best). The AVX-512 levels get the
 * AVX-512 kernel where this CPU runs it and hd % 16 == 0; everything else
 * (for now also "avx2" and "neon") the plain C reference. */
attn_chunk_fn attn_chunk_kernel(uint32_t kv_type, int hd, const char *isa);

/* dst = the partial of dst's positions followed by src's (g queries). */
void attn_merge(float *dst, const float *src, int g, int hd);
/* out (query j at out + j * out_stride) = acc / l of g partials; an empty
 * partial (l = 0) gives zeros. */
void attn_finish(float *out, int64_t out_stride, const float *part, int g, int hd);

/* ------------------------------------------------------------------------
 * F32 cache: the two products of the exact two-pass attention
 *
 * Bit-identical to ops.h's op_dot_f32 and op_attn_values (llama.cpp's
 * summation order), only faster: the score of each position, and the
 * weighted sum of values.
 * ---------------------------------------------------------------------- */

typedef struct attn_exact_ops {
    float (*dot)(const float *a, const float *b, int n);
    void (*values)(float *out, const float *p, const float *v, int64_t stride, int n, int hd);
} attn_exact_ops;

/* For isa as attn_chunk_kernel chooses (ops.h's functions for "scalar"). */
attn_exact_ops attn_exact_kernels(const char *isa);

/* The x86 kernels (attention_avx512.c); NULL type / NULL functions: none. */
attn_chunk_fn attn_chunk_avx512(uint32_t kv_type);
attn_exact_ops attn_exact_avx512(void);

#endif
