/*
 * gemm_small_avx512.c — Q8_0 batch products of a few tokens (a short
 * prompt: up to SMALL_NT tokens a call) with AVX512-VNNI, read straight
 * from the weight rows, bit for bit in the scalar table's 8-lane order
 * (see gemm_lanes_avx512.c and dot_scalar.c): lane l of block i gets
 * fma(d_i, (float)isum_il, lane_l), isum_il the exact integer sum of w * x
 * over elements 4l..4l+3, d_i = f16(w.d) * f16(x.d) rounded once; then
 * hsum8.
 *
 * gemm_lanes_avx512.c unpacks each panel of weight rows (groups duplicated,
 * sums and scales gathered) before it multiplies; over a 16-token batch
 * that unpacking costs about as much as the products (SmolLM2-135M's
 * 1536 x 576 at 16 tokens: ~180 of ~350 us). Here nothing is unpacked: one
 * zmm holds two outputs, two weight rows against one token, lanes
 * interleaved: dword 2l + h is lane l of row r + h. So
 *   weights:      the two rows' blocks interleaved by 4-byte group (one
 *                 permute per row pair and block, shared by the tokens),
 *                 plus 128 (unsigned);
 *   activations:  each group of x duplicated (dwords 2l, 2l + 1), once a
 *                 call;
 *   correction:   vpdpbusd gives sum (w + 128) * x = isum + 128 * sum x,
 *                 so the accumulator starts from -128 * (group sums of x),
 *                 per token and block, also once a call: the integer sums
 *                 are exact for all inputs;
 *   block scales: {d(r, t), d(r + 1, t)} broadcast as one 64-bit pair,
 *                 the products formed 16 at a time (two rows by 8 tokens).
 * Per output pair and block: loads of x, its correction and the scale
 * pair, one vpdpbusd, one conversion and one FMA, as in gemm_lanes'
 * micro-tile. Micro-tiles are 2 row pairs by up to 8 tokens (16
 * accumulators) over the whole reduction; the call's prepared activations
 * (~100 KB at k = 1536, 16 tokens) stay in L2.
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

#define QK 32        /* elements per block */
#define SMALL_NT 16  /* most tokens a call: more, and gemm_lanes' unpacking pays */
#define SMALL_KB 64  /* most blocks per row (k <= 2048): the corrections fit in L1/L2 */
#define TILE_PAIRS 2 /* row pairs per micro-tile */
#define TILE_T 8     /* tokens per micro-tile */

#define ALIGN64 __attribute__((aligned(64)))

/* The call's activations, block by block per token, in the lanes' order. */
typedef struct small_acts {
    int8_t q[SMALL_NT][SMALL_KB][64] ALIGN64;   /* each group twice */
    int32_t corr[SMALL_NT][SMALL_KB][16] ALIGN64; /* -128 * the group sums, twice */
    float d[SMALL_KB][2 * SMALL_NT] ALIGN64;    /* f16(x.d), each token twice */
} small_acts;

static void prep_acts(const uint8_t *X, size_t x_stride, int nt, int64_t nbk, small_acts *a)
{
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i u128 = _mm512_set1_epi8((char)0x80);
    for (int t = 0; t < nt; t++) {
        const block_q8_0 *x = (const block_q8_0 *)(X + (size_t)t * x_stride);
        for (int64_t i = 0; i < nbk; i++) {
            const __m512i q = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(x86_load256(x[i].qs)));
            const __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u128, q);
            _mm512_store_si512(a->q[t][i], q);
            _mm512_store_si512(a->corr[t][i], _mm512_sub_epi32(_mm512_setzero_si512(), s));
            a->d[i][2 * t] = a->d[i][2 * t + 1] = x86_f16(x[i].d);
        }
    }
    /* a short last tile's scale products read past its tokens: zeros */
    for (int t = nt; t % TILE_T; t++)
        for (int64_t i = 0; i < nbk; i++) a->d[i][2 * t] = a->d[i][2 * t + 1] = 0.0f;
}

/* hsum8 of each row's lanes of v: element 0 row r, element 1 row r + 1. */
static inline __m128 hsum8_pair(__m512 v)
{
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    return _mm_add_ps(q, _mm_movehl_ps(q, q));
}

/* One micro-tile: P row pairs (rows w[0 .. 2P)) by T tokens from t0, over
 * every block; outputs of rows r0 .. r0 + nr_valid. */
static inline __attribute__((always_inline)) void tile(const block_q8_0 *const w[2 * TILE_PAIRS],
                                                       const uint8_t *pf, size_t w_stride, const small_acts *a,
                                                       int64_t nbk, float *Y, int64_t ldy, int r0, int nr_valid,
                                                       int t0, const int P, const int T)
{
    const __m512i u128 = _mm512_set1_epi8((char)0x80);
    __m512 acc[TILE_PAIRS][TILE_T];
#pragma GCC unroll 2
    for (int p = 0; p < P; p++)
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) acc[p][t] = _mm512_setzero_ps();

    const __m512i mix = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    for (int64_t i = 0; i < nbk; i++) {
        __m512i wu[TILE_PAIRS];
        float sc[TILE_PAIRS][2 * TILE_T] ALIGN64; /* d(r + h, t0 + t) at 2t + h */
        const __m512 xd = _mm512_load_ps(&a->d[i][2 * t0]);
        if (pf) /* the next micro-tile's rows, a block at a time: they stream in meanwhile */
            for (int j = 0; j < 2 * TILE_PAIRS; j++)
                _mm_prefetch((const char *)(pf + (size_t)j * w_stride) + i * sizeof(block_q8_0), _MM_HINT_T0);
#pragma GCC unroll 2
        for (int p = 0; p < P; p++) {
            const block_q8_0 *lo = w[2 * p] + i, *hi = w[2 * p + 1] + i;
            wu[p] = _mm512_xor_si512(_mm512_permutex2var_epi32(_mm512_castsi256_si512(x86_load256(lo->qs)), mix,
                                                               _mm512_castsi256_si512(x86_load256(hi->qs))),
                                     u128);
            const __m512 wd = _mm512_castpd_ps(_mm512_broadcastsd_pd(_mm_castps_pd(x86_f16x4(lo->d, hi->d, 0, 0))));
            _mm512_store_ps(sc[p], _mm512_mul_ps(wd, xd));
        }
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            const __m512i xv = _mm512_load_si512(a->q[t0 + t][i]);
#pragma GCC unroll 2
            for (int p = 0; p < P; p++) {
                const __m512i isum = _mm512_dpbusd_epi32(_mm512_load_si512(a->corr[t0 + t][i]), wu[p], xv);
                double dd; /* {d(r, t), d(r + 1, t)} */
                memcpy(&dd, &sc[p][2 * t], sizeof dd);
                acc[p][t] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(dd)), _mm512_cvtepi32_ps(isum), acc[p][t]);
            }
        }
    }

#pragma GCC unroll 2
    for (int p = 0; p < P; p++)
#pragma GCC unroll 8
        for (int t = 0; t < T; t++) {
            float s[4];
            _mm_storeu_ps(s, hsum8_pair(acc[p][t]));
            float *y = Y + (int64_t)(t0 + t) * ldy + r0 + 2 * p;
            if (2 * p < nr_valid) y[0] = s[0];
            if (2 * p + 1 < nr_valid) y[1] = s[1];
        }
}

/* The micro-tile for P row pairs and T tokens, P and T known. */
#define SMALL_TILE(P, T) tile(w, pf, w_stride, a, nbk, Y, ldy, r0, nr_valid, t0, P, T)
#define SMALL_TILES(P)                                                                                   \
    switch (T) {                                                                                         \
    case 8: SMALL_TILE(P, 8); break;                                                                     \
    case 7: SMALL_TILE(P, 7); break;                                                                     \
    case 6: SMALL_TILE(P, 6); break;                                                                     \
    case 5: SMALL_TILE(P, 5); break;                                                                     \
    case 4: SMALL_TILE(P, 4); break;                                                                     \
    case 3: SMALL_TILE(P, 3); break;                                                                     \
    case 2: SMALL_TILE(P, 2); break;                                                                     \
    default: SMALL_TILE(P, 1); break;                                                                    \
    }

static void gemm_small(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, float *Y,
                       int64_t ldy, int nr, int nt)
{
    const int64_t nbk = k / QK;
    small_acts a_ ALIGN64, *a = &a_;
    prep_acts(X, x_stride, nt, nbk, a);
    for (int r0 = 0; r0 < nr; r0 += 2 * TILE_PAIRS) {
        const int nr_valid = nr - r0 < 2 * TILE_PAIRS ? nr - r0 : 2 * TILE_PAIRS;
        /* rows past the end read the tile's first row; their outputs are dropped */
        const block_q8_0 *w[2 * TILE_PAIRS];
        for (int j = 0; j < 2 * TILE_PAIRS; j++)
            w[j] = (const block_q8_0 *)((const uint8_t *)W + (size_t)(r0 + (j < nr_valid ? j : 0)) * w_stride);
        /* prefetched while the first token tile runs; rows past the end: none */
        const int next = r0 + 2 * TILE_PAIRS;
        const uint8_t *const pf_next = next + 2 * TILE_PAIRS <= nr ? (const uint8_t *)W + (size_t)next * w_stride : NULL;
        for (int t0 = 0; t0 < nt; t0 += TILE_T) {
            const int T = nt - t0 < TILE_T ? nt - t0 : TILE_T;
            const uint8_t *const pf = t0 == 0 ? pf_next : NULL;
            if (nr_valid > 2) {
                SMALL_TILES(2)
            } else {
                SMALL_TILES(1)
            }
        }
    }
}

#undef SMALL_TILES
#undef SMALL_TILE

/* Q8_0's gemm slot: the few-token kernel above where it applies, else
 * gemm_lanes' panels (the same results either way). */
void q8_0_gemm_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, const float *Xf,
                      float *Y, int64_t ldy, int nr, int nt)
{
    if (nt <= SMALL_NT && k / QK <= SMALL_KB) gemm_small(k, W, w_stride, X, x_stride, Y, ldy, nr, nt);
    else q8_0_gemm_lanes_avx512(k, W, w_stride, X, x_stride, Xf, Y, ldy, nr, nt);
}

#endif /* __x86_64__ */
