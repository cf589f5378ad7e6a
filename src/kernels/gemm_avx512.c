/*
 * gemm_avx512.c — batched matrix products (prompt processing) with
 * AVX512-VNNI for the quantized weight types.
 *
 * Every weight type is viewed as unsigned bytes uq with a zero point zp
 * and per-group float scales (and offsets, for types with mins): weight
 * element = scale_g * (uq - zp) + offs_g. Activations are the Q8_0 /
 * Q8_K blocks matmul converted them to (int8 y, scale d per block). Then
 *
 *   dot = sum over groups g of
 *           (scale_g * d_g) * (sum uq * y - zp * sum y)   [integer, exact]
 *         + offs_g * (d_g * sum y)
 *
 * with sum uq * y from vpdpbusd (unsigned weight bytes times signed
 * activation bytes, four products per 32-bit lane).
 *
 * Tiling: a call covers up to GEMM_MR weight rows and GEMM_NT tokens. The
 * reduction runs in chunks of KC elements; per chunk, the rows are
 * unpacked and interleaved 16 at a time (one row per 32-bit lane of a
 * vector: step s of the packed chunk holds elements 4s..4s+3 of each of
 * the 16 rows), then 8 tokens at a time take the 16 rows: per group, an
 * integer accumulator per token, then the two FMAs above into a float
 * accumulator per token. Partial sums live in Y between chunks.
 *
 * Summation order: per output, one float chain over the groups in order
 * (for Q4_0 and IQ4_NL that is llama.cpp's repacked kernels' order, so the
 * default table uses these two; the others serve avx512fast), two FMAs per group (scale term, then offset term); the
 * scale products scale_g * d_g are rounded once. It does not depend on the
 * tiling, the row or token position, or the thread count.
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

#define KC 256       /* reduction elements per chunk */
#define LANES 16     /* rows per vector */
#define NSUB (GEMM_MR / LANES)
#define NTB 8        /* tokens per register block */
#define MAXG (KC / 16)

enum { ACT_Q8_0, ACT_Q8_K };

/* Elements e0 .. e0 + len of one weight row (whole groups): the bytes uq in
 * element order, the scale of each group and (types with mins) its offset. */
typedef void (*unpack_fn)(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs);

typedef struct gemm_type {
    int group;        /* elements per scale: 16 or 32 */
    int zp;           /* weight value = uq - zp */
    int act;          /* activation format (ACT_*) */
    int has_offs;     /* 1 if groups have offsets */
    unpack_fn unpack; /* see unpack_fn */
} gemm_type;

/* ------------------------------------------------------------------------
 * Unpacking weight rows
 * ---------------------------------------------------------------------- */

static void unpack_q4_0(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_q4_0 *b = (const block_q4_0 *)row + e0 / 32;
    for (int i = 0; i < len / 32; i++, uq += 32) {
        _mm256_storeu_si256((__m256i *)uq, x86_nibbles(b[i].qs));
        scale[i] = x86_f16(b[i].d);
    }
}

static void unpack_iq4_nl(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_iq4_nl *b = (const block_iq4_nl *)row + e0 / 32;
    const __m256i table = x86_iq4nl_u8();
    for (int i = 0; i < len / 32; i++, uq += 32) {
        _mm256_storeu_si256((__m256i *)uq, _mm256_shuffle_epi8(table, x86_nibbles(b[i].qs)));
        scale[i] = x86_f16(b[i].d);
    }
}

/* K types: e0 is a multiple of QK_K and len == QK_K. */
static void unpack_q2_K(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_q2_K *b = (const block_q2_K *)row + e0 / QK_K;
    const float d = x86_f16(b->d), dmin = x86_f16(b->dmin);
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++) uq[128 * h + 32 * k + l] = (b->qs[32 * h + l] >> (2 * k)) & 3;
    for (int g = 0; g < 16; g++) {
        scale[g] = d * (float)(b->scales[g] & 0xf);
        offs[g] = -dmin * (float)(b->scales[g] >> 4);
    }
}

static void unpack_q3_K(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_q3_K *b = (const block_q3_K *)row + e0 / QK_K;
    const float d = x86_f16(b->d);
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++) {
                const int lo = (b->qs[32 * h + l] >> (2 * k)) & 3, hi = (b->hmask[l] >> (4 * h + k)) & 1;
                uq[128 * h + 32 * k + l] = (uint8_t)(lo + 4 * hi); /* value lo - 4 * !hi = uq - 4 */
            }
    int8_t sc[16];
    q3_K_scales(b->scales, sc);
    for (int g = 0; g < 16; g++) scale[g] = d * (float)sc[g];
}

static void unpack_q5_K(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_q5_K *b = (const block_q5_K *)row + e0 / QK_K;
    const float d = x86_f16(b->d), dmin = x86_f16(b->dmin);
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            uq[64 * c + l] = (uint8_t)((b->qs[32 * c + l] & 0xf) | (((b->qh[l] >> (2 * c)) & 1) << 4));
            uq[64 * c + 32 + l] = (uint8_t)((b->qs[32 * c + l] >> 4) | (((b->qh[l] >> (2 * c + 1)) & 1) << 4));
        }
    for (int g = 0; g < 8; g++) {
        uint8_t sc, mn;
        q4_K_scale_min(g, b->scales, &sc, &mn);
        scale[g] = d * (float)sc;
        offs[g] = -dmin * (float)mn;
    }
}

static void unpack_iq4_xs(const void *row, int64_t e0, int len, uint8_t *uq, float *scale, float *offs)
{
    const block_iq4_xs *b = (const block_iq4_xs *)row + e0 / QK_K;
    const float d = x86_f16(b->d);
    for (int ib = 0; ib < 8; ib++) {
        for (int j = 0; j < 16; j++) {
            uq[32 * ib + j] = (uint8_t)(iq4nl_values[b->qs[16 * ib + j] & 0xf] + 128);
            uq[32 * ib + 16 + j] = (uint8_t)(iq4nl_values[b->qs[16 * ib + j] >> 4] + 128);
        }
        scale[ib] = d * (float)iq4_xs_scale(b, ib);
    }
}

/* ------------------------------------------------------------------------
 * The tile product
 * ---------------------------------------------------------------------- */

/* One chunk of 16 packed rows: steps [KC / 4][16 rows][4 bytes], and per
 * group the 16 rows' scales and offsets. */
typedef struct packed_rows {
    uint8_t uq[KC * LANES] __attribute__((aligned(64)));
    float scale[MAXG][LANES] __attribute__((aligned(64)));
    float offs[MAXG][LANES] __attribute__((aligned(64)));
} packed_rows;

/* One chunk of the activations of the tile's tokens, per group. */
typedef struct act_chunk {
    const int8_t *y[GEMM_NT][MAXG]; /* the group's quants */
    float d[GEMM_NT][MAXG];         /* its block scale */
    int32_t ys[GEMM_NT][MAXG];      /* the sum of its quants */
    float dys[GEMM_NT][MAXG];       /* d * ys: the offsets' factor (Q8_1: its F16 s, as llama.cpp) */
} act_chunk;

static void pack_rows(const gemm_type *ty, const uint8_t *W, size_t w_stride, int nr, int64_t e0, int len,
                      packed_rows *p)
{
    /* the 16 rows unpacked, then their 4-byte steps transposed 16 at a time */
    uint8_t uq[LANES][KC] __attribute__((aligned(64)));
    float sc[LANES][MAXG], of[LANES][MAXG];
    const int ng = len / ty->group, words = len / 4, padded = (words + 15) / 16 * 16;
    for (int r = 0; r < LANES; r++) {
        if (r < nr) {
            ty->unpack(W + (size_t)r * w_stride, e0, len, uq[r], sc[r], of[r]);
            memset(uq[r] + len, 0, (size_t)(4 * padded - len));
        } else { /* padding rows: zero scales */
            memset(uq[r], 0, (size_t)(4 * padded));
            for (int g = 0; g < ng; g++) sc[r][g] = of[r][g] = 0;
        }
    }
    for (int s0 = 0; s0 < words; s0 += 16) {
        __m512i v[16];
        for (int r = 0; r < LANES; r++) v[r] = _mm512_load_si512((const void *)(uq[r] + 4 * s0));
        avx512_transpose16(v, v);
        for (int j = 0; j < 16; j++) _mm512_store_si512((void *)(p->uq + (size_t)(s0 + j) * 4 * LANES), v[j]);
    }
    for (int g = 0; g < ng; g++)
        for (int r = 0; r < LANES; r++) {
            p->scale[g][r] = sc[r][g];
            p->offs[g][r] = ty->has_offs ? of[r][g] : 0;
        }
}

static int32_t sum_i8_32(const int8_t *y)
{
    const __m256i v = _mm256_xor_si256(x86_load256(y), _mm256_set1_epi8((char)0x80));
    const __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    return x86_hsum_i32(s) - 32 * 128;
}

static void prep_act(const gemm_type *ty, const uint8_t *X, size_t x_stride, int nt, int64_t e0, int len,
                     act_chunk *a)
{
    const int G = ty->group, ng = len / G;
    for (int t = 0; t < nt; t++) {
        const uint8_t *row = X + (size_t)t * x_stride;
        for (int g = 0; g < ng; g++) {
            if (ty->act == ACT_Q8_K) {
                const block_q8_K *b = (const block_q8_K *)row + e0 / QK_K;
                a->y[t][g] = b->qs + G * g;
                a->d[t][g] = b->d;
                a->ys[t][g] = G == 16 ? b->bsums[g] : b->bsums[2 * g] + b->bsums[2 * g + 1];
                a->dys[t][g] = b->d * (float)a->ys[t][g];
            } else {
                const block_q8_0 *b = (const block_q8_0 *)row + e0 / 32 + g;
                a->y[t][g] = b->qs;
                a->d[t][g] = x86_f16(b->d);
                a->ys[t][g] = sum_i8_32(b->qs);
                a->dys[t][g] = a->d[t][g] * (float)a->ys[t][g];
            }
        }
    }
}

/* NT tokens (from t0) x 16 rows over the ng groups of one chunk. */
static inline __attribute__((always_inline)) void micro(const packed_rows *p, const act_chunk *a, int t0, int ng,
                                                        int zp, int has_offs, float *Y, int64_t ldy,
                                                        __mmask16 mask, int first, const int G, const int NT)
{
    __m512 facc[NTB];
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++)
        facc[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, Y + t * ldy);
    for (int g = 0; g < ng; g++) {
        __m512i acc[NTB];
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_si512();
        const uint8_t *wg = p->uq + (size_t)g * G * LANES;
#pragma GCC unroll 8
        for (int s = 0; s < G / 4; s++) {
            const __m512i wv = _mm512_load_si512((const void *)(wg + 64 * s));
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++)
                acc[t] = _mm512_dpbusd_epi32(acc[t], wv, avx512_bcast4(a->y[t0 + t][g] + 4 * s));
        }
        const __m512 sv = _mm512_load_ps(p->scale[g]);
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            const __m512i isum = _mm512_sub_epi32(acc[t], _mm512_set1_epi32(zp * a->ys[t0 + t][g]));
            const __m512 dd = _mm512_mul_ps(sv, _mm512_set1_ps(a->d[t0 + t][g]));
            facc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), dd, facc[t]);
        }
        if (has_offs) {
            const __m512 ov = _mm512_load_ps(p->offs[g]);
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++)
                facc[t] = _mm512_fmadd_ps(ov, _mm512_set1_ps(a->dys[t0 + t][g]), facc[t]);
        }
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) _mm512_mask_storeu_ps(Y + t * ldy, mask, facc[t]);
}

#define MICRO_CASES(G)                                                                                   \
    switch (nt) {                                                                                        \
    case 8: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 8); break;                               \
    case 7: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 7); break;                               \
    case 6: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 6); break;                               \
    case 5: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 5); break;                               \
    case 4: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 4); break;                               \
    case 3: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 3); break;                               \
    case 2: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 2); break;                               \
    default: micro(p, a, t0, ng, zp, of, Y, ldy, mask, first, G, 1); break;                              \
    }

static void micro_g16(const packed_rows *p, const act_chunk *a, int t0, int nt, int ng, int zp, int of, float *Y,
                      int64_t ldy, __mmask16 mask, int first)
{
    MICRO_CASES(16)
}

static void micro_g32(const packed_rows *p, const act_chunk *a, int t0, int nt, int ng, int zp, int of, float *Y,
                      int64_t ldy, __mmask16 mask, int first)
{
    MICRO_CASES(32)
}

static void gemm_q(const gemm_type *ty, int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,
                   float *Y, int64_t ldy, int nr, int nt)
{
    packed_rows p[NSUB];
    act_chunk a;
    const int nsub = (nr + LANES - 1) / LANES;
    for (int64_t e0 = 0; e0 < k; e0 += KC) {
        const int len = k - e0 < KC ? (int)(k - e0) : KC, ng = len / ty->group;
        prep_act(ty, X, x_stride, nt, e0, len, &a);
        for (int sb = 0; sb < nsub; sb++) {
            const int rows = nr - LANES * sb < LANES ? nr - LANES * sb : LANES;
            pack_rows(ty, (const uint8_t *)W + (size_t)(LANES * sb) * w_stride, w_stride, rows, e0, len, &p[sb]);
        }
        for (int sb = 0; sb < nsub; sb++) {
            const int rows = nr - LANES * sb < LANES ? nr - LANES * sb : LANES;
            const __mmask16 mask = (__mmask16)((1u << rows) - 1);
            for (int t0 = 0; t0 < nt; t0 += NTB) {
                const int n = nt - t0 < NTB ? nt - t0 : NTB;
                float *y = Y + t0 * ldy + LANES * sb;
                if (ty->group == 16) micro_g16(&p[sb], &a, t0, n, ng, ty->zp, ty->has_offs, y, ldy, mask, e0 == 0);
                else micro_g32(&p[sb], &a, t0, n, ng, ty->zp, ty->has_offs, y, ldy, mask, e0 == 0);
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Q2_K in llama.cpp's order (Q4_K's own gemm: gemm_k_avx512.c)
 *
 * llama.cpp's repacked Q4_K / Q2_K kernels keep two float chains per
 * output, fed by exact integer sums with the integer group scales and mins
 * applied (see dot_k_scalar.c): once per super-block for a lone row, once
 * per chunk of P groups for the rows it takes in fours. These are cheap to
 * follow here (the scales are multiplied in the integer domain), so this
 * gemm gives the scalar table's batch results bit for bit: tokens
 * 0 .. nt - nt % 4 of a call take the 4-row order (a call's tokens start
 * at a multiple of GEMM_NT, so that is the batch's n - n % 4 rule), the
 * rest the one-row order.
 * ---------------------------------------------------------------------- */

#define NTK 4 /* tokens per register block (5 accumulators per token) */

typedef struct packed_k {
    uint8_t uq[KC * LANES] __attribute__((aligned(64)));
    int32_t sc[MAXG][LANES] __attribute__((aligned(64))); /* integer group scales */
    int32_t mn[MAXG][LANES] __attribute__((aligned(64))); /* integer group mins */
    float d[LANES] __attribute__((aligned(64)));          /* super-scale of the scales */
    float dmin[LANES] __attribute__((aligned(64)));       /* super-scale of the mins */
} packed_k;

static void unpack_k_q2_K(const void *row, int64_t e0, uint8_t *uq, int32_t *sc, int32_t *mn, float *d, float *dmin)
{
    const block_q2_K *b = (const block_q2_K *)row + e0 / QK_K;
    float fs[16], fo[16];
    unpack_q2_K(row, e0, QK_K, uq, fs, fo);
    for (int g = 0; g < 16; g++) sc[g] = b->scales[g] & 0xf, mn[g] = b->scales[g] >> 4;
    *d = x86_f16(b->d), *dmin = x86_f16(b->dmin);
}

typedef void (*unpack_k_fn)(const void *row, int64_t e0, uint8_t *uq, int32_t *sc, int32_t *mn, float *d,
                            float *dmin);

static void pack_k(unpack_k_fn unpack, int G, const uint8_t *W, size_t w_stride, int nr, int64_t e0, packed_k *p)
{
    uint8_t uq[QK_K] __attribute__((aligned(64)));
    int32_t sc[MAXG], mn[MAXG];
    float d, dmin;
    const int ng = QK_K / G;
    for (int r = 0; r < LANES; r++) {
        if (r < nr) {
            unpack(W + (size_t)r * w_stride, e0, uq, sc, mn, &d, &dmin);
        } else {
            memset(uq, 0, sizeof uq);
            memset(sc, 0, sizeof sc);
            memset(mn, 0, sizeof mn);
            d = dmin = 0;
        }
        uint32_t *dst = (uint32_t *)p->uq + r;
        for (int s4 = 0; s4 < QK_K / 4; s4++) memcpy(dst + LANES * s4, uq + 4 * s4, 4);
        for (int g = 0; g < ng; g++) p->sc[g][r] = sc[g], p->mn[g][r] = mn[g];
        p->d[r] = d, p->dmin[r] = dmin;
    }
}

/* NT tokens x 16 rows over one super-block; the float chains advance every
 * P groups. acc chain in Y, min chain in M (row stride GEMM_MR). */
static inline __attribute__((always_inline)) void micro_k(const packed_k *p, const act_chunk *a, int t0, int P,
                                                          float *Y, int64_t ldy, float *M, __mmask16 mask,
                                                          int first, const int G, const int NT)
{
    __m512 facc[NTK], fmin[NTK];
    __m512i isb[NTK], imn[NTK];
#pragma GCC unroll 4
    for (int t = 0; t < NT; t++) {
        facc[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mask, Y + t * ldy);
        fmin[t] = first ? _mm512_setzero_ps() : _mm512_load_ps(M + t * GEMM_MR);
        isb[t] = imn[t] = _mm512_setzero_si512();
    }
    const __m512 dv = _mm512_load_ps(p->d), dmv = _mm512_load_ps(p->dmin);
    for (int g = 0; g < QK_K / G; g++) {
        __m512i acc[NTK];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_si512();
        const uint8_t *wg = p->uq + (size_t)g * G * LANES;
#pragma GCC unroll 8
        for (int s4 = 0; s4 < G / 4; s4++) {
            const __m512i wv = _mm512_load_si512((const void *)(wg + 64 * s4));
        #pragma GCC unroll 4
    for (int t = 0; t < NT; t++)
                acc[t] = _mm512_dpbusd_epi32(acc[t], wv, avx512_bcast4(a->y[t0 + t][g] + 4 * s4));
        }
        const __m512i scv = _mm512_load_si512(p->sc[g]), mnv = _mm512_load_si512(p->mn[g]);
    #pragma GCC unroll 4
    for (int t = 0; t < NT; t++) {
            isb[t] = _mm512_add_epi32(isb[t], _mm512_mullo_epi32(acc[t], scv));
            imn[t] = _mm512_add_epi32(imn[t], _mm512_mullo_epi32(mnv, _mm512_set1_epi32(a->ys[t0 + t][g])));
        }
        if ((g + 1) % P == 0) {
        #pragma GCC unroll 4
    for (int t = 0; t < NT; t++) {
                const __m512 dt = _mm512_set1_ps(a->d[t0 + t][g]);
                facc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isb[t]), _mm512_mul_ps(dv, dt), facc[t]);
                fmin[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(imn[t]), _mm512_mul_ps(dmv, dt), fmin[t]);
                isb[t] = imn[t] = _mm512_setzero_si512();
            }
        }
    }
#pragma GCC unroll 4
    for (int t = 0; t < NT; t++) {
        _mm512_mask_storeu_ps(Y + t * ldy, mask, facc[t]);
        _mm512_store_ps(M + t * GEMM_MR, fmin[t]);
    }
}

/* Y -= M over the tile (the chains' difference, once they are complete). */
static void finish_k(float *Y, int64_t ldy, const float *M, int nr, int nt)
{
    for (int t = 0; t < nt; t++)
        for (int r = 0; r < nr; r++) Y[t * ldy + r] = Y[t * ldy + r] - M[t * GEMM_MR + r];
}

static void gemm_k(unpack_k_fn unpack, int G, int P4, int64_t k, const void *W, size_t w_stride, const void *X,
                   size_t x_stride, float *Y, int64_t ldy, int nr, int nt)
{
    static const gemm_type act_k = {0, 0, ACT_Q8_K, 0, NULL};
    gemm_type ty = act_k;
    ty.group = G;
    packed_k p[NSUB];
    act_chunk a;
    float M[GEMM_NT * GEMM_MR] __attribute__((aligned(64)));
    const int nsub = (nr + LANES - 1) / LANES, n4 = nt - nt % 4;
    for (int64_t e0 = 0; e0 < k; e0 += QK_K) {
        prep_act(&ty, X, x_stride, nt, e0, QK_K, &a);
        for (int sb = 0; sb < nsub; sb++) {
            const int rows = nr - LANES * sb < LANES ? nr - LANES * sb : LANES;
            pack_k(unpack, G, (const uint8_t *)W + (size_t)(LANES * sb) * w_stride, w_stride, rows, e0, &p[sb]);
        }
        for (int sb = 0; sb < nsub; sb++) {
            const int rows = nr - LANES * sb < LANES ? nr - LANES * sb : LANES;
            const __mmask16 mask = (__mmask16)((1u << rows) - 1);
            for (int t0 = 0; t0 < nt; t0 += NTK) {
                const int n = nt - t0 < NTK ? nt - t0 : NTK;
                const int P = t0 < n4 ? P4 : QK_K / G; /* blocks never straddle n4 (a multiple of NTK) */
                float *y = Y + t0 * ldy + LANES * sb, *mm = M + t0 * GEMM_MR + LANES * sb;
#define MK(GG, NN) micro_k(&p[sb], &a, t0, P, y, ldy, mm, mask, e0 == 0, GG, NN)
                if (G == 16) {
                    switch (n) {
                    case 4: MK(16, 4); break;
                    case 3: MK(16, 3); break;
                    case 2: MK(16, 2); break;
                    default: MK(16, 1); break;
                    }
                } else {
                    switch (n) {
                    case 4: MK(32, 4); break;
                    case 3: MK(32, 3); break;
                    case 2: MK(32, 2); break;
                    default: MK(32, 1); break;
                    }
                }
#undef MK
            }
        }
    }
    finish_k(Y, ldy, M, nr, nt);
}

void q2_K_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    gemm_k(unpack_k_q2_K, 16, 8, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
}

/* ------------------------------------------------------------------------
 * Per type
 * ---------------------------------------------------------------------- */

#define GEMM_TYPE(name, G, ZP, ACT, OFFS)                                                                \
    static const gemm_type name##_gt = {G, ZP, ACT, OFFS, unpack_##name};                                \
    void name##_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride,   \
                            const float *Xf, float *Y, int64_t ldy, int nr, int nt)                      \
    {                                                                                                    \
        gemm_q(&name##_gt, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);                                 \
    }

GEMM_TYPE(q4_0, 32, 8, ACT_Q8_0, 0)
GEMM_TYPE(iq4_nl, 32, 128, ACT_Q8_0, 0)
GEMM_TYPE(q3_K, 16, 4, ACT_Q8_K, 0)
GEMM_TYPE(q5_K, 32, 0, ACT_Q8_K, 1)
GEMM_TYPE(iq4_xs, 32, 128, ACT_Q8_K, 0)

#endif /* __x86_64__ */
