/*
 * attention_body.h — the ISA-independent half of a streaming attention
 * kernel (attention.h), written once and compiled per ISA: included by
 * attention_avx512.c, attention_avx2.c and attention_neon.c, each of which
 * first defines
 *   ATTN_SUFFIX   the ISA: names the kernels attn_chunk_{f16,q8_0}_SUFFIX;
 *   NARROW_ALIGN  head dimensions its bodies take are multiples of it
 *                 (others go to the reference kernels);
 *   WIDE_ALIGN, WIDE_HD_MAX  the wide body's head dimensions (multiples of
 *                 WIDE_ALIGN up to WIDE_HD_MAX; others run the narrow body
 *                 ATTN_GMAX queries at a time);
 *   WIDE_Q        queries per wide_tile call (at most 8);
 *   TILE_ALIGN    alignment of the tile buffers (a vector's bytes);
 *   INLINE        static inline, always inlined;
 * and the inline functions
 *   chunk_body(type, G, q, q_stride, k, v, row_bytes, n, hd, scale, part)
 *     the narrow body: G <= ATTN_GMAX queries (G a constant per call
 *     site), each K row read once for all of them;
 *   widen_tile(type, k, v, row_bytes, i0, nt, hd, kt, vt)
 *     K rows i0..i0+nt-1 widened and transposed into kt[d * ATTN_TILE + i]
 *     (zeros past nt), V rows widened into vt[i * hd + d];
 *   wide_tile(Q, q, q_stride, kt, vt, nt, hd, scale, m, l, acc, ps)
 *     scores, online-softmax step and p·V of Q queries over that tile.
 */
#ifndef ATTN_SUFFIX
#error "define ATTN_SUFFIX and the ISA's bodies before including attention_body.h"
#endif

#define ATTN_CAT2(a, b) a##_##b
#define ATTN_CAT(a, b) ATTN_CAT2(a, b)

_Static_assert(WIDE_Q >= 1 && WIDE_Q <= 8, "wide_tile instances are written out for 1..7 leftover queries");

/* One token's heads (g <= ATTN_GMAX): the body instantiated per G. */
static void chunk_narrow(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                         size_t row_bytes, int n, int hd, float scale, float *part)
{
    switch (g) {
    case 1: chunk_body(type, 1, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 2: chunk_body(type, 2, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 3: chunk_body(type, 3, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 4: chunk_body(type, 4, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 5: chunk_body(type, 5, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 6: chunk_body(type, 6, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    case 7: chunk_body(type, 7, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    default: chunk_body(type, 8, q, q_stride, k, v, row_bytes, n, hd, scale, part); break;
    }
}

/* wide_tile of the last r < WIDE_Q queries. */
#define WIDE_REST(R)                                                                                               \
    case R:                                                                                                        \
        if (R < WIDE_Q) wide_tile(R < WIDE_Q ? R : 1, q, q_stride, kt, vt, nt, hd, scale, m, l, acc, ps);          \
        break

static void wide_rest(int r, const float *q, int64_t q_stride, const float *kt, const float *vt, int nt, int hd,
                      float scale, float *m, float *l, float *acc, size_t ps)
{
    switch (r) {
        WIDE_REST(1);
        WIDE_REST(2);
        WIDE_REST(3);
        WIDE_REST(4);
        WIDE_REST(5);
        WIDE_REST(6);
        WIDE_REST(7);
    default: break;
    }
}

/* g queries (up to ATTN_QMAX) against each widened tile in turn. */
static void chunk_wide(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                       size_t row_bytes, int n, int hd, float scale, float *part)
{
    const size_t ps = attn_part_stride(hd);
    float kt[WIDE_HD_MAX * ATTN_TILE] __attribute__((aligned(TILE_ALIGN)));
    float vt[ATTN_TILE * WIDE_HD_MAX] __attribute__((aligned(TILE_ALIGN)));
    float m[ATTN_QMAX], l[ATTN_QMAX];
    attn_part_start(part, g, hd, m, l);
    for (int i0 = 0; i0 < n; i0 += ATTN_TILE) {
        const int nt = n - i0 < ATTN_TILE ? n - i0 : ATTN_TILE;
        widen_tile(type, k, v, row_bytes, i0, nt, hd, kt, vt);
        int j = 0;
        for (; j + WIDE_Q <= g; j += WIDE_Q)
            wide_tile(WIDE_Q, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps);
        wide_rest(g - j, q + j * q_stride, q_stride, kt, vt, nt, hd, scale, m + j, l + j, part + j * ps, ps);
    }
    attn_part_close(part, g, hd, m, l);
}

static void chunk_any(uint32_t type, const float *q, int64_t q_stride, int g, const char *k, const char *v,
                      size_t row_bytes, int n, int hd, float scale, float *part)
{
    if (g <= ATTN_GMAX) {
        chunk_narrow(type, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    } else if (hd % WIDE_ALIGN == 0 && hd <= WIDE_HD_MAX) {
        chunk_wide(type, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    } else {
        const size_t ps = attn_part_stride(hd);
        for (int j = 0; j < g; j += ATTN_GMAX)
            chunk_narrow(type, q + j * q_stride, q_stride, g - j < ATTN_GMAX ? g - j : ATTN_GMAX, k, v, row_bytes,
                         n, hd, scale, part + j * ps);
    }
}

void ATTN_CAT(attn_chunk_f16, ATTN_SUFFIX)(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                                           size_t row_bytes, int n, int hd, float scale, float *part)
{
    if (hd % NARROW_ALIGN != 0)
        attn_chunk_f16_ref(q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    else
        chunk_any(GGML_TYPE_F16, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
}

void ATTN_CAT(attn_chunk_q8_0, ATTN_SUFFIX)(const float *q, int64_t q_stride, int g, const void *k, const void *v,
                                            size_t row_bytes, int n, int hd, float scale, float *part)
{
    if (hd % NARROW_ALIGN != 0)
        attn_chunk_q8_0_ref(q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
    else
        chunk_any(GGML_TYPE_Q8_0, q, q_stride, g, k, v, row_bytes, n, hd, scale, part);
}
