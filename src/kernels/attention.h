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
 * A kernel call serves the g <= ATTN_QMAX queries that share one KV head:
 * the query heads of a group (grouped-query attention), and in a prompt
 * batch those of several tokens that see the same positions, so each K/V
 * row is read (and widened to floats) once for all of them. Kernels may
 * take a different path for g > ATTN_GMAX (a tile of K transposed, the
 * scores of many queries without horizontal sums); each query's result
 * still agrees with the reference to float rounding.
 */
#ifndef MOTE_KERNELS_ATTENTION_H
#define MOTE_KERNELS_ATTENTION_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

#define ATTN_TILE 32    /* positions whose scores are held at once */
#define ATTN_CHUNK 256  /* positions per partial (a multiple of ATTN_TILE) */
#define ATTN_GMAX 8     /* query heads of one token per kernel call */
#define ATTN_QMAX 64    /* queries per kernel call (tokens x heads) */
#define ATTN_HD_MAX 512 /* largest head dimension */

/* The factor for what was summed under the running maximum m once the
 * maximum is mx >= m: e^(m - mx); 0 from an empty start (m = -inf); 1,
 * without calling expf, while the maximum stays (expf(0) is 1 exactly). */
static inline float attn_rescale(float m, float mx) { return m == -INFINITY ? 0.0f : m == mx ? 1.0f : expf(m - mx); }

/* Floats per partial of one query: acc[0..hd), then m at [hd], l at
 * [hd + 1], padded to a multiple of 16 floats (64 bytes). */
static inline size_t attn_part_stride(int hd) { return ((size_t)hd + 2 + 15) & ~(size_t)15; }

/* A kernel's running state for g queries: partials zeroed, maxima -inf,
 * sums 0 (start); m and l stored into the partials (close). */
static inline void attn_part_start(float *part, int g, int hd, float *m, float *l)
{
    for (int j = 0; j < g; j++) {
        m[j] = -INFINITY;
        l[j] = 0.0f;
        memset(part + (size_t)j * attn_part_stride(hd), 0, sizeof(float) * (size_t)hd);
    }
}

static inline void attn_part_close(float *part, int g, int hd, const float *m, const float *l)
{
    for (int j = 0; j < g; j++) {
        part[(size_t)j * attn_part_stride(hd) + hd] = m[j];
        part[(size_t)j * attn_part_stride(hd) + hd + 1] = l[j];
    }
}

/* The streaming kernel of table ops for cache type kv_type: its
 * attn_chunk slot, or the scalar table's; NULL for types other than
 * GGML_TYPE_F16 and GGML_TYPE_Q8_0.
 * A kernel (attn_chunk_fn, kernels.h) computes the partials of g queries
 * (part: g slots of attn_part_stride(hd) floats) over positions 0..n-1 (n
 * may be 0: an empty partial) of one KV head. q: query j at q + j *
 * q_stride (hd floats). k, v: position 0's key and value of this head;
 * position i's are row_bytes further on per i. The element type is fixed
 * by the kernel. scale: 1/sqrt(hd). */
attn_chunk_fn attn_chunk_kernel(uint32_t kv_type, const kernel_ops *ops);

/* The plain C reference kernels (the scalar table's slots; SIMD kernels
 * fall back to them for head dimensions they do not handle). */
void attn_chunk_f16_ref(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                        int n, int hd, float scale, float *part);
void attn_chunk_q8_0_ref(const float *q, int64_t q_stride, int g, const void *k, const void *v, size_t row_bytes,
                         int n, int hd, float scale, float *part);

/* dst = the partial of dst's positions followed by src's (g queries). */
void attn_merge(float *dst, const float *src, int g, int hd);
/* out (query j at out + j * out_stride) = acc / l of g partials; an empty
 * partial (l = 0) gives zeros. */
void attn_finish(float *out, int64_t out_stride, const float *part, int g, int hd);

/* F32 cache: the products of the exact two-pass attention of table ops
 * (its attn_exact slot, the scalar table's for NULL members). */
attn_exact_ops attn_exact_kernels(const kernel_ops *ops);

#endif
