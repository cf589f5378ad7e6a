/*
 * gemm_k_avx512.c — batched products (prompt processing) of Q4_K and Q6_K
 * weights with Q8_K activations, in the scalar table's batch order (so the
 * default "avx512" table may use them: every output is bit-identical to
 * the scalar dot product that batch_dot() picks for it).
 *
 * Q4_K (llama.cpp's repacked q4_K_8x8 order, see dot_k_scalar.c): two
 * float chains per output fed by exact integer sums, advanced once per
 * super-block (rows of a batch past its last multiple of 4) or once per
 * 64 elements (the batch's first n - n % 4 rows). Weights are packed 16
 * rows to a vector (32-bit lane r: four consecutive quants of row r), the
 * activations broadcast four bytes at a time, so vpdpbusd gives each row's
 * sum in its lane with no horizontal reduction; group scales are applied
 * per 32 elements (vpmulld), mins through the bsums (vpdpwssd).
 *
 * Q6_K (ggml's AVX2 lanes, see q6_K_dot_scalar): 8 float lanes per output,
 * lane l fed by the elements e with (e % 32) / 4 == l. Weights are packed
 * two rows to a vector (one per 256-bit half, 32 consecutive quants each),
 * activations loaded 32 at a time into both halves, so 32-bit lane l of a
 * half is exactly integer lane l of that row's output: maddubs (pairs into
 * 16 bits), then vpdpwssd with the 16-bit group scales, the -32 offset
 * applied through the bsums by one more vpdpwssd, one FMA per super-block
 * into the output's 8 float lanes, hsum8 at the end.
 *
 * Q4_K_R16 and Q6_K_R16 (tensor/layout.h): the same products, the packed
 * vectors read from the stored groups (masked and shifted, nothing
 * transposed or shuffled). Q4_K_R16: the gemm in the batch order, the
 * alone gemm (vec_dot_rt) in vec_dot's; Q6_K_R16: vec_dot's (its batch
 * order too).
 *
 * Calls cover up to GEMM_MR rows and GEMM_NT tokens (gemm_fn, kernels.h).
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/layout.h"
#include "tensor/quant.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* ------------------------------------------------------------------------
 * Q4_K: packing 16 rows of one super-block
 * ---------------------------------------------------------------------- */

#define Q4K_ROWS 16 /* rows per packed vector */
#define Q4K_NT 8    /* tokens per register block */
#define Q4K_MR 64   /* rows per pass (the chains' scratch stays small) */
#define Q4K_GROUP_SB (Q4K_ROWS * sizeof(block_q4_K)) /* bytes of a Q4_K_R16 group's super-block */
_Static_assert(Q4K_ROWS == LAYOUT_ROWS, "a packed vector is a layout group");

typedef struct q4k_packed {
    __m512i uq[QK_K / 4];   /* step s: quants 4s..4s+3 of each row (row r in lane r) */
    __m512i sc[8];          /* group scales */
    __m512i mnw[4];         /* mins of groups 2c, 2c + 1 as 16-bit words */
    __m512 d, dmin;         /* super-scales */
} q4k_packed;

/* Super-block sb of rows 0..nr-1 (w_stride bytes apart; rows nr..15 are
 * zero padding). */
static void q4k_pack(const uint8_t *W, size_t w_stride, int nr, int64_t sb, q4k_packed *p)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512i v[16], c[16];
    /* quants: a 64-byte load at qs + 64m holds elements 128m + [0..31 | 64..95]
     * in its low nibbles and 128m + [32..63 | 96..127] in its high nibbles;
     * column c (c < 8: elements base + 4c, else base + 64 + 4(c - 8)) of
     * the transpose is one packed step */
    for (int part = 0; part < 4; part++) {
        const int m = part / 2, high = part % 2;
        for (int r = 0; r < 16; r++) {
            if (r >= nr) {
                v[r] = _mm512_setzero_si512();
                continue;
            }
            const block_q4_K *b = (const block_q4_K *)(W + (size_t)r * w_stride) + sb;
            const __m512i q = _mm512_loadu_si512(b->qs + 64 * m);
            v[r] = _mm512_and_si512(high ? _mm512_srli_epi16(q, 4) : q, m4);
        }
        avx512_transpose16(v, c);
        const int base = 32 * m + 8 * high; /* step of column 0 */
        for (int k = 0; k < 16; k++) p->uq[base + (k < 8 ? k : 16 + k - 8)] = c[k];
    }
    /* scales and mins: one row's 16 bytes per vector, transposed */
    uint32_t h[16];
    for (int r = 0; r < 16; r++) {
        if (r >= nr) {
            v[r] = _mm512_setzero_si512();
            h[r] = 0;
            continue;
        }
        const block_q4_K *b = (const block_q4_K *)(W + (size_t)r * w_stride) + sb;
        v[r] = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(avx512_q4_K_scales_mins(b->scales)));
        memcpy(&h[r], b, sizeof h[r]); /* d, dmin */
    }
    avx512_transpose16(v, c);
    for (int g = 0; g < 8; g++) p->sc[g] = c[g < 4 ? g : g + 4];
    for (int j = 0; j < 4; j++) {
        const __m512i lo = c[j < 2 ? 4 + 2 * j : 8 + 2 * j], hi = c[j < 2 ? 5 + 2 * j : 9 + 2 * j];
        p->mnw[j] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
    }
    const __m512i hv = _mm512_loadu_si512(h);
    p->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(hv));
    p->dmin = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(hv, 16)));
}

/* Group pair c (groups 2c, 2c + 1) of a stored Q4_K_R16 group's
 * super-block gb (tensor/layout.h): the two groups' scales and the mins
 * as q4k_packed.mnw[c] holds them, one row per 32-bit lane. */
static ALWAYS_INLINE void q4k_layout_scales(const uint8_t *gb, int c, __m512i *sc0, __m512i *sc1, __m512i *mnw)
{
    const __m512i m6 = _mm512_set1_epi32(63), l4 = _mm512_set1_epi32(15);
    const __m512i s0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(gb + LAYOUT_Q4K_SC + 32 * c)));
    const __m512i s1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(gb + LAYOUT_Q4K_SC + 32 * c + 16)));
    const __m512i n = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(gb + LAYOUT_Q4K_MN + 16 * c)));
    /* min bits 0-3 from the nibbles, 4-5 from the scale bytes' top bits */
    const __m512i lo = _mm512_or_si512(_mm512_and_si512(n, l4), _mm512_slli_epi32(_mm512_srli_epi32(s0, 6), 4));
    const __m512i hi = _mm512_or_si512(_mm512_srli_epi32(n, 4), _mm512_slli_epi32(_mm512_srli_epi32(s1, 6), 4));
    *mnw = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
    *sc0 = _mm512_and_si512(s0, m6);
    *sc1 = _mm512_and_si512(s1, m6);
}

/* The same as q4k_pack from a stored Q4_K_R16 group's super-block: the
 * quants are its steps masked and shifted, the scales and mins a widening
 * each, nothing transposed. */
static void q4k_unpack_layout(const uint8_t *gb, q4k_packed *p)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int c = 0; c < 4; c++) {
        for (int u = 0; u < 8; u++) {
            const __m512i v = _mm512_loadu_si512(gb + LAYOUT_Q4K_QS + (size_t)(8 * c + u) * 64);
            p->uq[16 * c + u] = _mm512_and_si512(v, m4);
            p->uq[16 * c + 8 + u] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
        q4k_layout_scales(gb, c, &p->sc[2 * c], &p->sc[2 * c + 1], &p->mnw[c]);
    }
    p->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + LAYOUT_Q4K_D)));
    p->dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + LAYOUT_Q4K_DMIN)));
}

/* ------------------------------------------------------------------------
 * Q4_K: the tile product
 * ---------------------------------------------------------------------- */

/* One token's super-block: its quants, scale, and the bsums pair sums of
 * groups 2c, 2c + 1 as two 16-bit words (|sum| < 2^15). */
typedef struct q4k_act {
    const int8_t *qs;
    float d;
    int32_t bp[4];
} q4k_act;

static void q4k_prep(const uint8_t *X, size_t x_stride, int nt, int64_t sb, q4k_act *a)
{
    for (int t = 0; t < nt; t++) {
        const block_q8_K *b = (const block_q8_K *)(X + (size_t)t * x_stride) + sb;
        const __m256i s = _mm256_madd_epi16(x86_load256(b->bsums), _mm256_set1_epi16(1));
        const __m256i w = _mm256_packs_epi32(s, s); /* words sum0..3 (twice) | sum4..7 (twice) */
        a[t].qs = b->qs;
        a[t].d = b->d;
        a[t].bp[0] = _mm256_extract_epi32(w, 0);
        a[t].bp[1] = _mm256_extract_epi32(w, 1);
        a[t].bp[2] = _mm256_extract_epi32(w, 4);
        a[t].bp[3] = _mm256_extract_epi32(w, 5);
    }
}

/* NT tokens x 16 rows over one super-block. x4: the chains advance every
 * 64 elements (else once). Scale chains in F, min chains in M (token
 * stride Q4K_MR, whole aligned vectors: a masked store does not forward
 * to the next load, which cost more than the arithmetic), read and
 * written at each advance; first: the first super-block (chains start at
 * zero). Eight tokens keep 8 vpdpbusd chains in flight. */
static ALWAYS_INLINE void q4k_micro(const q4k_packed *p, const q4k_act *a, float *F, float *M, int first, int x4,
                                    const int NT)
{
    __m512 dd[Q4K_NT], ddm[Q4K_NT];
    __m512i isb[Q4K_NT];
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) {
        dd[t] = _mm512_mul_ps(p->d, _mm512_set1_ps(a[t].d));
        ddm[t] = _mm512_mul_ps(p->dmin, _mm512_set1_ps(a[t].d));
        isb[t] = _mm512_setzero_si512();
    }
    for (int c = 0; c < 4; c++) {
        for (int g = 2 * c; g < 2 * c + 2; g++) {
            __m512i acc[Q4K_NT];
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
            for (int s = 0; s < 8; s++) {
                const __m512i wv = p->uq[8 * g + s];
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++)
                    acc[t] = _mm512_dpbusd_epi32(acc[t], wv, avx512_bcast4(a[t].qs + 32 * g + 4 * s));
            }
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) isb[t] = _mm512_add_epi32(isb[t], _mm512_mullo_epi32(acc[t], p->sc[g]));
        }
        if (!x4 && c < 3) continue;
        const int c0 = x4 ? c : 0; /* the pairs of groups this advance covers */
        const int from_zero = first && (!x4 || c == 0);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            __m512i imn = _mm512_setzero_si512();
            for (int j = c0; j <= c; j++) imn = _mm512_dpwssd_epi32(imn, p->mnw[j], _mm512_set1_epi32(a[t].bp[j]));
            const __m512 fa = from_zero ? _mm512_setzero_ps() : _mm512_load_ps(F + t * Q4K_MR);
            const __m512 fm = from_zero ? _mm512_setzero_ps() : _mm512_load_ps(M + t * Q4K_MR);
            _mm512_store_ps(F + t * Q4K_MR, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isb[t]), dd[t], fa));
            _mm512_store_ps(M + t * Q4K_MR, _mm512_fmadd_ps(_mm512_cvtepi32_ps(imn), ddm[t], fm));
            isb[t] = _mm512_setzero_si512();
        }
    }
}

#define Q4K_SUBS (Q4K_MR / Q4K_ROWS)

/* Rows 0 .. nr - 1 (nr <= Q4K_MR) of a call, plain rows or (layout)
 * whole groups of a Q4_K_R16 matrix; batch: the batch order (the chains
 * advance every 64 elements for the tokens before the call's last
 * multiple of 4), else every token in vec_dot's. */
static void q4k_gemm_rows(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y,
                          int64_t ldy, int nr, int nt, int layout, int batch)
{
    q4k_packed p[Q4K_SUBS];
    q4k_act a[GEMM_NT];
    float F[GEMM_NT * Q4K_MR] __attribute__((aligned(64))); /* scale chains [token][row] */
    float M[GEMM_NT * Q4K_MR] __attribute__((aligned(64))); /* min chains */
    const int nsub = (nr + Q4K_ROWS - 1) / Q4K_ROWS, n4 = nt - nt % 4;
    for (int64_t sb = 0; sb < k / QK_K; sb++) {
        q4k_prep(X, x_stride, nt, sb, a);
        /* the rows' next super-block: 16 rows apart, a stride the hardware
         * prefetchers do not follow */
        if (sb + 1 < k / QK_K) {
            if (layout) /* each group's super-blocks follow one another */
                for (int s = 0; s < nsub; s++)
                    x86_prefetch_bytes((const uint8_t *)W + (size_t)(Q4K_ROWS * s) * w_stride + (size_t)(sb + 1) * Q4K_GROUP_SB,
                                       Q4K_GROUP_SB);
            else
                for (int r = 0; r < nr; r++)
                    x86_prefetch_bytes((const block_q4_K *)((const uint8_t *)W + (size_t)r * w_stride) + sb + 1,
                                       sizeof(block_q4_K));
        }
        for (int s = 0; s < nsub; s++) {
            const uint8_t *ws = (const uint8_t *)W + (size_t)(Q4K_ROWS * s) * w_stride;
            const int rows = nr - Q4K_ROWS * s < Q4K_ROWS ? nr - Q4K_ROWS * s : Q4K_ROWS;
            if (layout) q4k_unpack_layout(ws + (size_t)sb * Q4K_GROUP_SB, &p[s]);
            else q4k_pack(ws, w_stride, rows, sb, &p[s]);
        }
        for (int s = 0; s < nsub; s++) {
            for (int t0 = 0; t0 < nt;) {
                /* a call's tokens start at a multiple of the gemm's token
                 * tile, a multiple of 4 (tuning.h), so the batch's first
                 * n - n % 4 rows are t < n4: blocks stop there */
                const int x4 = batch && t0 < n4, end = x4 ? n4 : nt;
                const int n = end - t0 < Q4K_NT ? end - t0 : Q4K_NT;
                const int o = t0 * Q4K_MR + Q4K_ROWS * s;
#define Q4K_MICRO(NT) q4k_micro(&p[s], a + t0, F + o, M + o, sb == 0, x4, NT)
                switch (n) {
                case 8: Q4K_MICRO(8); break;
                case 7: Q4K_MICRO(7); break;
                case 6: Q4K_MICRO(6); break;
                case 5: Q4K_MICRO(5); break;
                case 4: Q4K_MICRO(4); break;
                case 3: Q4K_MICRO(3); break;
                case 2: Q4K_MICRO(2); break;
                default: Q4K_MICRO(1); break;
                }
#undef Q4K_MICRO
                t0 += n;
            }
        }
    }
    /* the chains' difference */
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < nr; r += Q4K_ROWS) {
            const __mmask16 mask = (__mmask16)(nr - r >= Q4K_ROWS ? 0xffff : (1u << (nr - r)) - 1);
            const float *f = F + t * Q4K_MR + r, *m = M + t * Q4K_MR + r;
            _mm512_mask_storeu_ps(Y + t * ldy + r, mask, _mm512_sub_ps(_mm512_load_ps(f), _mm512_load_ps(m)));
        }
}

/* Generation on Q4_K_R16: NT (1 to 3) tokens against ng (up to
 * GEN_GROUPS) groups, gs bytes apart from g, in vec_dot's order (the
 * chains advance once per super-block, as q4k_micro's with x4 0), the
 * weights taken from the stored groups into registers (no packed copy).
 * Each group is one stream of super-blocks; the ng groups side by side
 * are ng streams, which memory serves faster than one (measured: one
 * group at a time read 0.92x of the plain four-row kernel's speed from
 * memory, one thread). */
#define Q4K_GEN_NT 3
/* a call of fewer than 4 tokens starts at a multiple of 4 (tuning.h's
 * gemm_n) and so is the batch's tail past its last multiple of 4, or all
 * of it: vec_dot's order */
_Static_assert(Q4K_GEN_NT < 4, "the generation path's tokens are past the batch order");
#define GEN_GROUPS 4
static ALWAYS_INLINE void q4k_r16_gen(int64_t k, const uint8_t *g, size_t gs, int ng, const void *X, size_t x_stride,
                                      float *Y, int64_t ldy, const int NT)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 F[GEN_GROUPS][Q4K_GEN_NT], M[GEN_GROUPS][Q4K_GEN_NT];
    for (int gi = 0; gi < ng; gi++)
        for (int t = 0; t < NT; t++) F[gi][t] = M[gi][t] = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < k / QK_K; sb++) {
        q4k_act a[Q4K_GEN_NT];
        q4k_prep(X, x_stride, NT, sb, a);
        for (int gi = 0; gi < ng; gi++) {
            const uint8_t *gb = g + gi * gs + (size_t)sb * Q4K_GROUP_SB;
            __m512i isb[Q4K_GEN_NT], imn[Q4K_GEN_NT];
            for (int t = 0; t < NT; t++) isb[t] = imn[t] = _mm512_setzero_si512();
            /* stored steps 8c .. 8c + 7: low nibbles group 2c, high 2c + 1 */
            for (int c = 0; c < 4; c++) {
                __m512i acc0[Q4K_GEN_NT], acc1[Q4K_GEN_NT];
                for (int t = 0; t < NT; t++) acc0[t] = acc1[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int u = 0; u < 8; u++) {
                    const __m512i v = _mm512_loadu_si512(gb + LAYOUT_Q4K_QS + (size_t)(8 * c + u) * 64);
                    const __m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                    for (int t = 0; t < NT; t++) {
                        acc0[t] = _mm512_dpbusd_epi32(acc0[t], lo, avx512_bcast4(a[t].qs + 64 * c + 4 * u));
                        acc1[t] = _mm512_dpbusd_epi32(acc1[t], hi, avx512_bcast4(a[t].qs + 64 * c + 32 + 4 * u));
                    }
                }
                __m512i sc0, sc1, mnw;
                q4k_layout_scales(gb, c, &sc0, &sc1, &mnw);
                for (int t = 0; t < NT; t++) {
                    isb[t] = _mm512_add_epi32(isb[t], _mm512_mullo_epi32(acc0[t], sc0));
                    isb[t] = _mm512_add_epi32(isb[t], _mm512_mullo_epi32(acc1[t], sc1));
                    imn[t] = _mm512_dpwssd_epi32(imn[t], mnw, _mm512_set1_epi32(a[t].bp[c]));
                }
            }
            const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + LAYOUT_Q4K_D)));
            const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(gb + LAYOUT_Q4K_DMIN)));
            for (int t = 0; t < NT; t++) {
                F[gi][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isb[t]), _mm512_mul_ps(d, _mm512_set1_ps(a[t].d)), F[gi][t]);
                M[gi][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imn[t]), _mm512_mul_ps(dmin, _mm512_set1_ps(a[t].d)), M[gi][t]);
            }
        }
    }
    for (int gi = 0; gi < ng; gi++)
        for (int t = 0; t < NT; t++) _mm512_storeu_ps(Y + t * ldy + gi * Q4K_ROWS, _mm512_sub_ps(F[gi][t], M[gi][t]));
}

/* nr (whole groups) rows of a Q4_K_R16 matrix for nt tokens in vec_dot's
 * order, Q4K_GEN_NT tokens and GEN_GROUPS groups at a time. */
static void q4k_r16_gen_rows(int64_t k, const uint8_t *W, size_t w_stride, const uint8_t *X, size_t x_stride, float *Y,
                             int64_t ldy, int nr, int nt)
{
    const size_t gs = Q4K_ROWS * w_stride;
    for (int t0 = 0; t0 < nt; t0 += Q4K_GEN_NT)
        for (int r = 0; r < nr; r += GEN_GROUPS * Q4K_ROWS) {
            const uint8_t *g = W + (size_t)r * w_stride, *x = X + (size_t)t0 * x_stride;
            const int ng = (nr - r) / Q4K_ROWS < GEN_GROUPS ? (nr - r) / Q4K_ROWS : GEN_GROUPS;
            float *y = Y + t0 * ldy + r;
            switch (nt - t0 < Q4K_GEN_NT ? nt - t0 : Q4K_GEN_NT) {
            case 3: q4k_r16_gen(k, g, gs, ng, x, x_stride, y, ldy, 3); break;
            case 2: q4k_r16_gen(k, g, gs, ng, x, x_stride, y, ldy, 2); break;
            default: q4k_r16_gen(k, g, gs, ng, x, x_stride, y, ldy, 1); break;
            }
        }
}

static void q4k_gemm(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y, int64_t ldy,
                     int nr, int nt, int layout, int batch)
{
    for (int r0 = 0; r0 < nr; r0 += Q4K_MR)
        q4k_gemm_rows(k, (const uint8_t *)W + (size_t)r0 * w_stride, w_stride, X, x_stride, Y + r0, ldy,
                      nr - r0 < Q4K_MR ? nr - r0 : Q4K_MR, nt, layout, batch);
}

void q4_K_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    q4k_gemm(k, W, w_stride, X, x_stride, Y, ldy, nr, nt, 0, 1);
}

/* (A call of fewer than 4 tokens is the batch's tail past its last
 * multiple of 4, or all of it: vec_dot's order.) */
void q4_K_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                          float *Y, int64_t ldy, int nr, int nt)
{
    if (nt <= Q4K_GEN_NT) q4k_r16_gen_rows(k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
    else q4k_gemm(k, W, w_stride, X, x_stride, Y, ldy, nr, nt, 1, 1);
}

void q4_K_r16_dot_rt_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y,
                            int64_t ldy, int nr, int nt)
{
    if (nt <= Q4K_GEN_NT) {
        q4k_r16_gen_rows(k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
        return;
    }
    for (int t0 = 0; t0 < nt; t0 += GEMM_NT)
        q4k_gemm(k, W, w_stride, (const uint8_t *)X + (size_t)t0 * x_stride, x_stride, Y + t0 * ldy, ldy, nr,
                 nt - t0 < GEMM_NT ? nt - t0 : GEMM_NT, 1, 0);
}

/* ------------------------------------------------------------------------
 * Q6_K
 *
 * Rows are taken four at a time (two vectors of two rows) and packed a
 * chunk of Q6K_KCH super-blocks at a time (once per call); tokens run four
 * at a time over the chunk; each output's 8 float lanes live in F between
 * chunks.
 * ---------------------------------------------------------------------- */

#define Q6K_KCH 8 /* super-blocks per packed chunk */
#define Q6K_NT 4  /* tokens per register block */

/* One super-block of a pair of rows (row 0 in the low 256 bits). */
typedef struct q6k_pair {
    __m512i q[8];  /* elements 32j..32j+31 of each row, 0..63 */
    __m512i sc[8]; /* 16-bit scales of those elements: groups 2j, 2j + 1 per row, 8 words each */
    __m512i neg;   /* -32 times the 16 scales of each row (16-bit), for the offset through bsums */
    __m512 d;      /* each row's super-scale, 8 times */
} q6k_pair;

/* The scales of a pair: row a's 16 then row b's as int8 in s, and their
 * super-scales. */
static ALWAYS_INLINE void q6k_pair_scales(__m256i s, float da, float db, q6k_pair *p)
{
    const __m512i s16 = _mm512_cvtepi8_epi16(s); /* words: row a's 16, row b's 16 */
#pragma GCC unroll 8 /* the indices are constants */
    for (int j = 0; j < 8; j++) {
        /* 128-bit lanes: a's group 2j, 2j + 1, b's group 2j, 2j + 1 */
        const __m512i idx = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_set_m128i(_mm_set1_epi16((short)(2 * j + 1)), _mm_set1_epi16((short)(2 * j)))),
            _mm256_set_m128i(_mm_set1_epi16((short)(16 + 2 * j + 1)), _mm_set1_epi16((short)(16 + 2 * j))), 1);
        p->sc[j] = _mm512_permutexvar_epi16(idx, s16);
    }
    p->neg = _mm512_sub_epi16(_mm512_setzero_si512(), _mm512_slli_epi16(s16, 5));
    p->d = _mm512_insertf32x8(_mm512_set1_ps(da), _mm256_set1_ps(db), 1);
}

/* One super-block of rows a, b (NULL: zero padding). */
static void q6k_pack_pair(const block_q6_K *ra, const block_q6_K *rb, q6k_pair *p)
{
    __m512i za[4], zb[4];
    for (int h = 0; h < 2; h++) {
        if (ra) avx512_q6_K_half(ra, h, &za[2 * h], &za[2 * h + 1]);
        else za[2 * h] = za[2 * h + 1] = _mm512_setzero_si512();
        if (rb) avx512_q6_K_half(rb, h, &zb[2 * h], &zb[2 * h + 1]);
        else zb[2 * h] = zb[2 * h + 1] = _mm512_setzero_si512();
    }
    for (int j = 0; j < 8; j++)
        p->q[j] = j % 2 ? _mm512_shuffle_i64x2(za[j / 2], zb[j / 2], 0xee) : _mm512_shuffle_i64x2(za[j / 2], zb[j / 2], 0x44);
    const __m128i sa = ra ? _mm_loadu_si128((const __m128i *)ra->scales) : _mm_setzero_si128();
    const __m128i sb = rb ? _mm_loadu_si128((const __m128i *)rb->scales) : _mm_setzero_si128();
    q6k_pair_scales(_mm256_set_m128i(sb, sa), ra ? x86_f16(ra->d) : 0.0f, rb ? x86_f16(rb->d) : 0.0f, p);
}

/* The same from a stored Q6_K_R16 pair (tensor/layout.h): each 64-byte
 * load of its quants is already the two rows' 32 bytes side by side. */
static ALWAYS_INLINE void q6k_unpack_pair(const uint8_t *pair, q6k_pair *p)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    /* ql chunk c of half h (c = 2h + s): low nibbles elements 128h + 32s + i,
     * high nibbles 64 more */
#pragma GCC unroll 4 /* (constant indices: p stays in registers when inlined) */
    for (int c = 0; c < 4; c++) {
        const __m512i v = _mm512_loadu_si512(pair + LAYOUT_Q6K_QL + 64 * c);
        p->q[4 * (c / 2) + c % 2] = _mm512_and_si512(v, m4);
        p->q[4 * (c / 2) + 2 + c % 2] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    }
    /* qh chunk h: bit pair u of byte i is bits 4-5 of element 128h + 32u + i
     * (value | (bits & 0x30): ternary-logic table of a | (b & c)) */
#pragma GCC unroll 2
    for (int h = 0; h < 2; h++) {
        const __m512i v = _mm512_loadu_si512(pair + LAYOUT_Q6K_QH + 64 * h);
        const __m512i b[4] = {_mm512_slli_epi16(v, 4), _mm512_slli_epi16(v, 2), v, _mm512_srli_epi16(v, 2)};
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++) p->q[4 * h + u] = _mm512_ternarylogic_epi32(p->q[4 * h + u], b[u], m30, 0xf8);
    }
    mote_f16 d[2];
    memcpy(d, pair + LAYOUT_Q6K_D, sizeof d);
    q6k_pair_scales(_mm256_loadu_si256((const __m256i *)(pair + LAYOUT_Q6K_SC)), x86_f16(d[0]), x86_f16(d[1]), p);
}

/* NT tokens x 2 pairs of rows over nsb packed super-blocks (p[sb][pair]);
 * x[t]: token t's first block of the chunk; F[2t + j]: pair j's float
 * lanes for token t (both rows, 8 lanes each), updated in place. */
static ALWAYS_INLINE void q6k_micro(const q6k_pair (*p)[2], int nsb, const block_q8_K *const *x, __m512 *F,
                                    const int NT)
{
    __m512 f0[Q6K_NT], f1[Q6K_NT];
#pragma GCC unroll 4
    for (int t = 0; t < NT; t++) f0[t] = F[2 * t], f1[t] = F[2 * t + 1];
    for (int sb = 0; sb < nsb; sb++) {
        const q6k_pair *p0 = &p[sb][0], *p1 = &p[sb][1];
        __m512i a0[Q6K_NT], a1[Q6K_NT];
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            /* the -32 offset: lane l += bsums[2l] (-32 sc[2l]) + bsums[2l+1] (-32 sc[2l+1]) */
            const __m512i bs = avx512_load256x2(x[t][sb].bsums);
            a0[t] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, p0->neg);
            a1[t] = _mm512_dpwssd_epi32(_mm512_setzero_si512(), bs, p1->neg);
        }
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            const __m512i q0 = p0->q[j], q1 = p1->q[j], s0 = p0->sc[j], s1 = p1->sc[j];
#pragma GCC unroll 4
            for (int t = 0; t < NT; t++) {
                const __m512i y = avx512_load256x2(x[t][sb].qs + 32 * j);
                a0[t] = _mm512_dpwssd_epi32(a0[t], _mm512_maddubs_epi16(q0, y), s0);
                a1[t] = _mm512_dpwssd_epi32(a1[t], _mm512_maddubs_epi16(q1, y), s1);
            }
        }
#pragma GCC unroll 4
        for (int t = 0; t < NT; t++) {
            const __m512 dx = _mm512_set1_ps(x[t][sb].d);
            f0[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, p0->d), _mm512_cvtepi32_ps(a0[t]), f0[t]);
            f1[t] = _mm512_fmadd_ps(_mm512_mul_ps(dx, p1->d), _mm512_cvtepi32_ps(a1[t]), f1[t]);
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < NT; t++) F[2 * t] = f0[t], F[2 * t + 1] = f1[t];
}

/* x86_hsum8 of each half of v (the scalar tree), in lanes 0 and 8. */
static inline __m512 hsum8x2(__m512 v)
{
    v = _mm512_add_ps(_mm512_shuffle_f32x4(v, v, 0xb1), v); /* l[i + 4] + l[i] */
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4e));       /* h0 + h2, h1 + h3 */
    return _mm512_add_ps(v, _mm512_movehdup_ps(v));
}

/* Super-block sb of the pair of rows 2 pair, 2 pair + 1 of the Q6_K_R16
 * group that starts at g (w_stride: the plain row's bytes). */
static inline const uint8_t *q6k_layout_pair(const uint8_t *g, int64_t sb, int pair)
{
    return g + (size_t)sb * LAYOUT_ROWS * sizeof(block_q6_K) + (size_t)pair * LAYOUT_Q6K_PAIR;
}

/* Plain rows, or (layout) whole groups of a Q6_K_R16 matrix. */
static void q6k_gemm(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y, int64_t ldy,
                     int nr, int nt, int layout)
{
    q6k_pair p[Q6K_KCH][2];
    __m512 F[GEMM_NT][2]; /* per token: the two pairs' float lanes */
    const int64_t nsb = k / QK_K;
    for (int r0 = 0; r0 < nr; r0 += 4) {
        const block_q6_K *row[4];
        for (int r = 0; r < 4; r++)
            row[r] = r0 + r < nr ? (const block_q6_K *)((const uint8_t *)W + (size_t)(r0 + r) * w_stride) : NULL;
        /* layout: rows r0 .. r0 + 3 are pairs pr, pr + 1 of the group at g */
        const uint8_t *g = (const uint8_t *)W + (size_t)(r0 - r0 % LAYOUT_ROWS) * w_stride;
        const int pr = r0 % LAYOUT_ROWS / 2;
        for (int t = 0; t < nt; t++) F[t][0] = F[t][1] = _mm512_setzero_ps();
        for (int64_t c0 = 0; c0 < nsb; c0 += Q6K_KCH) {
            const int nc = nsb - c0 < Q6K_KCH ? (int)(nsb - c0) : Q6K_KCH;
            for (int sb = 0; sb < nc; sb++)
                for (int j = 0; j < 2; j++)
                    if (layout)
                        q6k_unpack_pair(q6k_layout_pair(g, c0 + sb, pr + j), &p[sb][j]);
                    else
                        q6k_pack_pair(row[2 * j] ? row[2 * j] + c0 + sb : NULL,
                                      row[2 * j + 1] ? row[2 * j + 1] + c0 + sb : NULL, &p[sb][j]);
            /* what the next pack reads (the next chunk of these rows, else
             * the next rows' first), while the tokens run over this one */
            {
                const int more = c0 + Q6K_KCH < nsb;
                const int64_t nc0 = more ? c0 + Q6K_KCH : 0;
                const int nn = nsb - nc0 < Q6K_KCH ? (int)(nsb - nc0) : Q6K_KCH;
                if (layout) {
                    const int r4 = more ? r0 : r0 + 4; /* the next pack's rows */
                    const uint8_t *ng = (const uint8_t *)W + (size_t)(r4 - r4 % LAYOUT_ROWS) * w_stride;
                    for (int sb = 0; r4 < nr && sb < nn; sb++)
                        x86_prefetch_bytes(q6k_layout_pair(ng, nc0 + sb, r4 % LAYOUT_ROWS / 2), 2 * LAYOUT_Q6K_PAIR);
                } else {
                    for (int r = more ? r0 : r0 + 4; r < (more ? r0 + 4 : r0 + 8) && r < nr; r++)
                        x86_prefetch_bytes((const block_q6_K *)((const uint8_t *)W + (size_t)r * w_stride) + nc0,
                                           (size_t)nn * sizeof(block_q6_K));
                }
            }
            for (int t0 = 0; t0 < nt; t0 += Q6K_NT) {
                const int n = nt - t0 < Q6K_NT ? nt - t0 : Q6K_NT;
                const block_q8_K *x[Q6K_NT];
                for (int t = 0; t < n; t++) x[t] = (const block_q8_K *)((const uint8_t *)X + (size_t)(t0 + t) * x_stride) + c0;
                switch (n) {
                case 4: q6k_micro(p, nc, x, F[t0], 4); break;
                case 3: q6k_micro(p, nc, x, F[t0], 3); break;
                case 2: q6k_micro(p, nc, x, F[t0], 2); break;
                default: q6k_micro(p, nc, x, F[t0], 1); break;
                }
            }
        }
        for (int t = 0; t < nt; t++) {
            float h[2][16];
            _mm512_storeu_ps(h[0], hsum8x2(F[t][0]));
            _mm512_storeu_ps(h[1], hsum8x2(F[t][1]));
            for (int r = 0; r < 4 && r0 + r < nr; r++) Y[t * ldy + r0 + r] = h[r / 2][8 * (r % 2)];
        }
    }
}

void q6_K_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    q6k_gemm(k, W, w_stride, X, x_stride, Y, ldy, nr, nt, 0);
}

/* Generation on Q6_K_R16: NT (1 to 3) tokens against ng (up to
 * GEN_GROUPS) groups, gs bytes apart from g, in q6k_micro's order, the
 * weights taken from the stored pairs into registers; super-block by
 * super-block and pair by pair, so each group is one stream (ng side by
 * side, as q4k_r16_gen). */
#define Q6K_GEN_NT 3
#define Q6K_GEN_PF 2 /* super-blocks prefetched ahead */
static ALWAYS_INLINE void q6k_r16_gen(int64_t k, const uint8_t *g, size_t gs, int ng, const uint8_t *X,
                                      size_t x_stride, float *Y, int64_t ldy, const int NT)
{
    __m512 F[GEN_GROUPS][LAYOUT_ROWS / 2][Q6K_GEN_NT]; /* per pair and token: both rows' 8 lanes */
    for (int gi = 0; gi < ng; gi++)
        for (int pr = 0; pr < LAYOUT_ROWS / 2; pr++)
            for (int t = 0; t < NT; t++) F[gi][pr][t] = _mm512_setzero_ps();
    for (int64_t sb = 0; sb < k / QK_K; sb++) {
        const block_q8_K *y[Q6K_GEN_NT];
        for (int t = 0; t < NT; t++) y[t] = (const block_q8_K *)(X + (size_t)t * x_stride) + sb;
        for (int gi = 0; gi < ng; gi++)
            for (int pr = 0; pr < LAYOUT_ROWS / 2; pr++) {
                q6k_pair p;
                x86_prefetch_bytes(q6k_layout_pair(g + gi * gs, sb + Q6K_GEN_PF, pr), LAYOUT_Q6K_PAIR);
                q6k_unpack_pair(q6k_layout_pair(g + gi * gs, sb, pr), &p);
                for (int t = 0; t < NT; t++) {
                    /* two integer chains (exact: their sum is the one chain's) */
                    __m512i a0 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), avx512_load256x2(y[t]->bsums), p.neg);
                    __m512i a1 = _mm512_setzero_si512();
#pragma GCC unroll 8
                    for (int j = 0; j < 8; j += 2) {
                        a0 = _mm512_dpwssd_epi32(a0, _mm512_maddubs_epi16(p.q[j], avx512_load256x2(y[t]->qs + 32 * j)),
                                                 p.sc[j]);
                        a1 = _mm512_dpwssd_epi32(
                            a1, _mm512_maddubs_epi16(p.q[j + 1], avx512_load256x2(y[t]->qs + 32 * j + 32)), p.sc[j + 1]);
                    }
                    F[gi][pr][t] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(y[t]->d), p.d),
                                                   _mm512_cvtepi32_ps(_mm512_add_epi32(a0, a1)), F[gi][pr][t]);
                }
            }
    }
    for (int gi = 0; gi < ng; gi++)
        for (int t = 0; t < NT; t++)
            for (int pr = 0; pr < LAYOUT_ROWS / 2; pr++) {
                float h[16];
                _mm512_storeu_ps(h, hsum8x2(F[gi][pr][t]));
                Y[t * ldy + gi * LAYOUT_ROWS + 2 * pr] = h[0];
                Y[t * ldy + gi * LAYOUT_ROWS + 2 * pr + 1] = h[8];
            }
}

void q6_K_r16_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                          float *Y, int64_t ldy, int nr, int nt)
{
    if (nt <= Q6K_GEN_NT) {
        const size_t gs = LAYOUT_ROWS * w_stride;
        for (int r = 0; r < nr; r += GEN_GROUPS * LAYOUT_ROWS) {
            const uint8_t *g = (const uint8_t *)W + (size_t)r * w_stride;
            const int ng = (nr - r) / LAYOUT_ROWS < GEN_GROUPS ? (nr - r) / LAYOUT_ROWS : GEN_GROUPS;
            switch (nt) {
            case 3: q6k_r16_gen(k, g, gs, ng, X, x_stride, Y + r, ldy, 3); break;
            case 2: q6k_r16_gen(k, g, gs, ng, X, x_stride, Y + r, ldy, 2); break;
            default: q6k_r16_gen(k, g, gs, ng, X, x_stride, Y + r, ldy, 1); break;
            }
        }
        return;
    }
    for (int t0 = 0; t0 < nt; t0 += GEMM_NT) /* any nt (a layout's gemm runs for every n) */
        q6k_gemm(k, W, w_stride, (const uint8_t *)X + (size_t)t0 * x_stride, x_stride, Y + t0 * ldy, ldy, nr,
                 nt - t0 < GEMM_NT ? nt - t0 : GEMM_NT, 1);
}

#endif /* __x86_64__ */
