/*
 * gemm_lanes_avx512.c — batched matrix products (prompt processing) with
 * AVX512-VNNI for the weight types whose one-row dot keeps 8 float lanes
 * (Q8_0, Q5_0, Q4_1, Q5_1; see dot_scalar.c), bit for bit in that order.
 *
 * The order, per output (weight row r, token t): lane l (0..7) of block i
 * gets fma(d_i, (float)isum_il, lane_l), isum_il the exact integer sum of
 * w * x over elements 4l..4l+3 of the block and d_i = f16(w.d) * f16(x.d)
 * rounded once, blocks in order from lanes of +0; then hsum8. Q4_1 / Q5_1
 * add a second chain summs = fma(f16(w.m), f16(x.s), summs) over the
 * blocks, added after the lane sum.
 *
 * One zmm holds two outputs, one weight row against a pair of tokens,
 * lanes interleaved: dword 2l + p is lane l of token p of the pair. So
 *   weights:      dwords 2l and 2l + 1 = the row's group l (duplicated),
 *   activations:  dword 2l + p = group l of token p, plus 128 (unsigned),
 *   block scales: {d(r, t0), d(r, t1)} broadcast as one 64-bit pair,
 * and vpdpbusd (unsigned x signed bytes, four products per dword) gives
 * sum (x + 128) * w = isum + 128 * sum w: the accumulator starts from the
 * packed -128 * (group sum of w), so the integer sums are exact for all
 * inputs. Per output pair and block: a register copy, one vpdpbusd, one
 * conversion, a broadcast load and one FMA. The scale products are formed
 * 16 at a time (two rows by 8 tokens) and stored for the broadcasts.
 *
 * Tiling: a call covers up to GEMM_MR rows and GEMM_NT tokens. Rows go in
 * panels of PANEL_ROWS, the reduction in chunks of up to CHUNK_BLOCKS
 * blocks. Per (panel, chunk) the rows are unpacked once (pack_panel); then
 * per token group of TILE_TOKENS the group's activations are interleaved
 * (prep_group, into a buffer small enough to stay in L1) and micro-tiles
 * of TILE_ROWS rows x TILE_PAIRS pairs run the chunk with their lane
 * accumulators in registers, saved between chunks in a lane buffer
 * (storing float lanes changes nothing). Padding rows and tokens compute
 * values that are never stored.
 *
 * Costs (Zen 5, one core, m = 2048, k = 2048, 128 tokens a call): the
 * micro-tile runs about 1.2 cycles per output pair and block (64 int8
 * multiply-adds), bound by instruction issue; unpacking the weights, the
 * token groups (once per panel), the scale products and the lane buffer
 * add about a third. Larger panels or chunks would save some of that but
 * need more than the ~145 KB of stack this uses (the lane buffer is 8
 * floats per output of a panel).
 */
#if defined(__x86_64__)

#include <string.h>

#include "kernels/dot_x86.h"
#include "kernels/kernels.h"
#include "kernels/simd_avx512.h"
#include "tensor/quant.h"

#define QK 32           /* elements per block (all types here) */
#define LANES 8         /* float lanes per output (the order's) */
#define TILE_ROWS 4     /* weight rows per micro-tile */
#define TILE_PAIRS 4    /* token pairs per micro-tile */
#define TILE_TOKENS (2 * TILE_PAIRS)
#define PANEL_ROWS 16   /* rows unpacked together */
#define CHUNK_BLOCKS 18 /* most blocks per reduction chunk (k = 576 in one) */
#define PACK_AHEAD 4    /* rows the pack prefetches ahead */
#define PANEL_TILES (PANEL_ROWS / TILE_ROWS)
#define MAX_PAIRS (GEMM_NT / 2)
#define MAX_GROUPS (GEMM_NT / TILE_TOKENS)

#define ALIGN64 __attribute__((aligned(64)))

/* One chunk of a panel of rows, [row / TILE_ROWS][block][row % TILE_ROWS]:
 * a micro-tile reads one contiguous stream per array. */
typedef struct panel {
    int8_t w[PANEL_TILES][CHUNK_BLOCKS][TILE_ROWS][64] ALIGN64;     /* groups duplicated (see top) */
    int32_t corr[PANEL_TILES][CHUNK_BLOCKS][TILE_ROWS][16] ALIGN64; /* -128 * group sums, duplicated */
    float d[PANEL_TILES][CHUNK_BLOCKS][TILE_ROWS][LANES] ALIGN64;   /* f16(w.d), 8 copies */
    float m[PANEL_TILES][CHUNK_BLOCKS][TILE_ROWS][LANES] ALIGN64;   /* f16(w.m), 8 copies (mins) */
} panel;

/* One chunk of one token group's activations. */
typedef struct act_group {
    uint8_t q[CHUNK_BLOCKS][TILE_PAIRS][64] ALIGN64; /* pairs interleaved, + 128 */
    float d[CHUNK_BLOCKS][TILE_TOKENS] ALIGN64;      /* f16(x.d) */
    float s[CHUNK_BLOCKS][TILE_TOKENS] ALIGN64;      /* f16(x.s) (Q8_1) */
} act_group;

/* Accumulators of a panel between chunks: per row and token pair the
 * lanes; per two rows and token group the min chains (one row per half). */
typedef struct lane_state {
    __m512 acc[PANEL_ROWS][MAX_PAIRS];
    __m512 mins[PANEL_ROWS / 2][MAX_GROUPS];
} lane_state;

/* A micro-tile's scale products, [block][row][token of its group]. */
typedef float scales[CHUNK_BLOCKS][TILE_ROWS][TILE_TOKENS];

enum wtype { W_Q8_0, W_Q5_0, W_Q4_1, W_Q5_1 };

/* ------------------------------------------------------------------------
 * Unpacking: weight rows into panels, activations into pairs
 * ---------------------------------------------------------------------- */

/* The 32 weights of block i of a row as signed bytes in element order;
 * *d its scale and *m its min (types with mins). */
static inline __attribute__((always_inline)) __m256i unpack_block(const enum wtype ty, const uint8_t *row,
                                                                  int64_t i, float *d, float *m)
{
    switch (ty) {
    case W_Q8_0: {
        const block_q8_0 *b = (const block_q8_0 *)row + i;
        *d = x86_f16(b->d);
        return x86_load256(b->qs);
    }
    case W_Q5_0: {
        const block_q5_0 *b = (const block_q5_0 *)row + i;
        *d = x86_f16(b->d);
        return _mm256_sub_epi8(x86_q5_values(b->qs, b->qh), _mm256_set1_epi8(16));
    }
    case W_Q4_1: {
        const block_q4_1 *b = (const block_q4_1 *)row + i;
        *d = x86_f16(b->d), *m = x86_f16(b->m);
        return x86_nibbles(b->qs);
    }
    default: {
        const block_q5_1 *b = (const block_q5_1 *)row + i;
        *d = x86_f16(b->d), *m = x86_f16(b->m);
        return x86_q5_values(b->qs, b->qh);
    }
    }
}

/* Blocks b0 .. b0 + nb of rows 0 .. nr of W into p; rows nr .. nr_pad
 * (a multiple of TILE_ROWS) zero. */
static inline __attribute__((always_inline)) void pack_panel(const enum wtype ty, const uint8_t *W,
                                                             size_t w_stride, size_t bsize, int nr, int nr_pad,
                                                             int64_t b0, int nb, panel *p)
{
    const __m512i dup = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i u128 = _mm512_set1_epi8((char)0x80);
    for (int r = 0; r < nr_pad; r++) {
        const uint8_t *row = W + (size_t)r * w_stride;
        const int g = r / TILE_ROWS, j = r % TILE_ROWS;
        if (r + PACK_AHEAD < nr) x86_prefetch_bytes(row + PACK_AHEAD * w_stride + b0 * bsize, (size_t)nb * bsize);
        for (int i = 0; i < nb; i++) {
            __m512i w = _mm512_setzero_si512();
            float d = 0, m = 0;
            if (r < nr) w = _mm512_permutexvar_epi32(dup, _mm512_castsi256_si512(unpack_block(ty, row, b0 + i, &d, &m)));
            const __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u128, w); /* 128 * group sums */
            _mm512_store_si512(p->w[g][i][j], w);
            _mm512_store_si512(p->corr[g][i][j], _mm512_sub_epi32(_mm512_setzero_si512(), sum));
            _mm256_store_ps(p->d[g][i][j], _mm256_set1_ps(d));
            if (ty == W_Q4_1 || ty == W_Q5_1) _mm256_store_ps(p->m[g][i][j], _mm256_set1_ps(m));
        }
    }
}

/* Blocks b0 .. b0 + nb of tokens t0 .. t0 + n (n <= TILE_TOKENS) of X
 * (Q8_0 blocks, or Q8_1 when q8_1) into a, pairs interleaved; the group's
 * other tokens zero. Block by block: the 8 tokens' F16 scales are collected
 * in general registers and converted as one vector (scalar stores read
 * back as a vector would stall on store forwarding; gathers are slow). */
static inline __attribute__((always_inline)) void prep_group_n(const int q8_1, const uint8_t *X, size_t x_stride,
                                                               int t0, int n, int64_t b0, int nb, act_group *a)
{
    const __m512i mix = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i u128 = _mm512_set1_epi8((char)0x80);
    const size_t bsize = q8_1 ? sizeof(block_q8_1) : sizeof(block_q8_0), qoff = bsize - QK;
    const uint8_t *x0 = X + (size_t)t0 * x_stride + b0 * bsize;
    for (int i = 0; i < nb; i++) {
        const uint8_t *b = x0 + i * bsize;
        uint64_t d4[2] = {0, 0}, s4[2] = {0, 0}; /* F16 scales, 4 tokens per word */
#pragma GCC unroll 4
        for (int p = 0; p < TILE_PAIRS; p++) {
            __m256i q[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const int j = 2 * p + h;
                if (j >= n) break;
                const uint8_t *blk = b + (size_t)j * x_stride;
                uint16_t d, s;
                memcpy(&d, blk, 2);
                d4[j / 4] |= (uint64_t)d << (16 * (j % 4));
                if (q8_1) {
                    memcpy(&s, blk + 2, 2);
                    s4[j / 4] |= (uint64_t)s << (16 * (j % 4));
                }
                q[h] = x86_load256(blk + qoff);
            }
            const __m512i v = _mm512_permutex2var_epi32(_mm512_castsi256_si512(q[0]), mix, _mm512_castsi256_si512(q[1]));
            _mm512_store_si512(a->q[i][p], _mm512_xor_si512(v, u128));
        }
        _mm256_store_ps(a->d[i], _mm256_cvtph_ps(_mm_set_epi64x((long long)d4[1], (long long)d4[0])));
        if (q8_1) _mm256_store_ps(a->s[i], _mm256_cvtph_ps(_mm_set_epi64x((long long)s4[1], (long long)s4[0])));
    }
}

/* The token group from t0 of the call's nt tokens (see prep_group_n). */
static void prep_group(int q8_1, const uint8_t *X, size_t x_stride, int t0, int nt, int64_t b0, int nb,
                       act_group *a)
{
    const int n = nt - t0; /* a full group (the common case: no tests per token) or fewer */
    if (q8_1) {
        if (n >= TILE_TOKENS) prep_group_n(1, X, x_stride, t0, TILE_TOKENS, b0, nb, a);
        else prep_group_n(1, X, x_stride, t0, n, b0, nb, a);
    } else {
        if (n >= TILE_TOKENS) prep_group_n(0, X, x_stride, t0, TILE_TOKENS, b0, nb, a);
        else prep_group_n(0, X, x_stride, t0, n, b0, nb, a);
    }
}

/* ------------------------------------------------------------------------
 * The micro-tile: TILE_ROWS rows x P token pairs over one chunk
 * ---------------------------------------------------------------------- */

/* Scale products of block i of the tile at row tile rg with activations a:
 * 16 at a time (two rows of 8 tokens). */
static inline __attribute__((always_inline)) void scale_block(const panel *p, int rg, const act_group *a, int i,
                                                              scales d)
{
    const __m512 xd = _mm512_broadcast_f32x8(_mm256_load_ps(a->d[i]));
    _mm512_store_ps(d[i][0], _mm512_mul_ps(_mm512_load_ps(p->d[rg][i][0]), xd));
    _mm512_store_ps(d[i][2], _mm512_mul_ps(_mm512_load_ps(p->d[rg][i][2]), xd));
}

/* The tile (row tile rg, activations a) over the chunk, with its scale
 * products d; meanwhile the next tile's (rgn, an) into dn: stored well
 * before they are read, among the FMAs (a pass of their own would leave
 * the FMA pipes idle while it stores). mins: rows 0-1 and 2-3 by 8 tokens,
 * advanced block by block (each lane is one output's chain). */
static inline __attribute__((always_inline)) void tile(const panel *p, int rg, const act_group *a, int nb,
                                                       __m512 acc[TILE_ROWS][TILE_PAIRS], __m512 mins[2],
                                                       scales d, int rgn, const act_group *an, scales dn,
                                                       const int has_mins, const int P)
{
    for (int i = 0; i < nb; i++) {
        scale_block(p, rgn, an, i, dn);
        if (has_mins) {
            const __m512 xs = _mm512_broadcast_f32x8(_mm256_load_ps(a->s[i]));
            mins[0] = _mm512_fmadd_ps(_mm512_load_ps(p->m[rg][i][0]), xs, mins[0]);
            mins[1] = _mm512_fmadd_ps(_mm512_load_ps(p->m[rg][i][2]), xs, mins[1]);
        }
        __m512i corr[TILE_ROWS];
#pragma GCC unroll 4
        for (int r = 0; r < TILE_ROWS; r++) {
            corr[r] = _mm512_load_si512(p->corr[rg][i][r]);
            /* kept in a register and copied per pair: reloading it would
             * add to the loads, the scarcer resource here */
            __asm__("" : "+v"(corr[r]));
        }
#pragma GCC unroll 4
        for (int q = 0; q < P; q++) {
            const __m512i x = _mm512_load_si512(a->q[i][q]);
#pragma GCC unroll 4
            for (int r = 0; r < TILE_ROWS; r++) {
                const __m512i isum = _mm512_dpbusd_epi32(corr[r], x, _mm512_load_si512(p->w[rg][i][r]));
                double dd; /* {d(r, token 2q), d(r, token 2q + 1)} */
                memcpy(&dd, &d[i][r][2 * q], sizeof dd);
                acc[r][q] = _mm512_fmadd_ps(_mm512_castpd_ps(_mm512_set1_pd(dd)), _mm512_cvtepi32_ps(isum), acc[r][q]);
            }
        }
    }
}

/* hsum8 of each token's lanes of v: element 0 token 0, element 1 token 1. */
static inline __m128 hsum8_pair(__m512 v)
{
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    return _mm_add_ps(q, _mm_movehl_ps(q, q));
}

/* ------------------------------------------------------------------------
 * The tile product
 * ---------------------------------------------------------------------- */

typedef struct gemm_state {
    panel p;
    act_group a[2]; /* the current token group and the next */
    lane_state ls;
    scales d[2];    /* the current micro-tile's and the next one's */
} gemm_state;

/* One (panel, chunk): where it stands in the reduction, where its outputs
 * go. */
typedef struct chunk_job {
    int64_t b0;      /* first block */
    int nb;          /* blocks */
    int first, last; /* the reduction's first / last chunk */
    float *Y;        /* the panel's outputs: Y[t * ldy + r] */
    int64_t ldy;
    int nr, nr_pad;  /* valid rows of the panel; rounded up to TILE_ROWS */
    int nt;          /* tokens of the call */
    /* the weights the next pack reads (prefetched a slice per micro-tile,
     * so that they stream in while this chunk computes): nw_rows rows from
     * nw, nw_len bytes each; nw_rows 0 if none */
    const uint8_t *nw;
    size_t w_stride, nw_len;
    int nw_rows;
    /* the blocks of the next chunk (nx_nb 0 if none): the activations of
     * the next token group are prefetched as the current one starts */
    int64_t nx_b0;
    int nx_nb;
} chunk_job;

/* One micro-tile: row tile rg of the panel, token group g (P pairs). */
static inline __attribute__((always_inline)) void run_tile(gemm_state *st, const chunk_job *j, int rg, int g,
                                                           scales d, int rgn, const act_group *an, scales dn,
                                                           const int has_mins, const int P)
{
    const int r0 = rg * TILE_ROWS, pair0 = g * TILE_PAIRS;
    __m512 acc[TILE_ROWS][TILE_PAIRS], mins[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
#pragma GCC unroll 4
    for (int r = 0; r < TILE_ROWS; r++)
#pragma GCC unroll 4
        for (int q = 0; q < P; q++) acc[r][q] = j->first ? _mm512_setzero_ps() : st->ls.acc[r0 + r][pair0 + q];
    if (has_mins)
        for (int h = 0; h < 2; h++) mins[h] = j->first ? _mm512_setzero_ps() : st->ls.mins[r0 / 2 + h][g];
    tile(&st->p, rg, &st->a[g & 1], j->nb, acc, mins, d, rgn, an, dn, has_mins, P);
    if (!j->last) {
#pragma GCC unroll 4
        for (int r = 0; r < TILE_ROWS; r++)
#pragma GCC unroll 4
            for (int q = 0; q < P; q++) st->ls.acc[r0 + r][pair0 + q] = acc[r][q];
        if (has_mins)
            for (int h = 0; h < 2; h++) st->ls.mins[r0 / 2 + h][g] = mins[h];
        return;
    }
    float mn[TILE_ROWS][TILE_TOKENS];
    if (has_mins)
        for (int h = 0; h < 2; h++) _mm512_storeu_ps(mn[2 * h], mins[h]);
#pragma GCC unroll 4
    for (int r = 0; r < TILE_ROWS; r++) {
        if (r0 + r >= j->nr) break;
#pragma GCC unroll 4
        for (int q = 0; q < P; q++) {
            float s[4];
            _mm_storeu_ps(s, hsum8_pair(acc[r][q]));
            if (has_mins) s[0] += mn[r][2 * q], s[1] += mn[r][2 * q + 1];
            const int t = 2 * (pair0 + q);
            j->Y[(int64_t)t * j->ldy + r0 + r] = s[0];
            if (t + 1 < j->nt) j->Y[(int64_t)(t + 1) * j->ldy + r0 + r] = s[1];
        }
    }
}

/* The packed panel's chunk against every token group: groups in order,
 * row tiles within; each micro-tile computes the next one's scale
 * products, and the next group is interleaved before the last tile of the
 * current one (which needs its scales). */
static inline __attribute__((always_inline)) void run_chunk(gemm_state *st, const chunk_job *j, int q8_1,
                                                            const uint8_t *X, size_t x_stride, const int has_mins)
{
    const int np = (j->nt + 1) / 2, ng = (np + TILE_PAIRS - 1) / TILE_PAIRS, nrt = j->nr_pad / TILE_ROWS;
    const int ntiles = ng * nrt;
    const size_t xsize = q8_1 ? sizeof(block_q8_1) : sizeof(block_q8_0);
    prep_group(q8_1, X, x_stride, 0, j->nt, j->b0, j->nb, &st->a[0]);
    for (int i = 0; i < j->nb; i++) scale_block(&st->p, 0, &st->a[0], i, st->d[0]);
    for (int g = 0, n = 0; g < ng; g++) {
        for (int rg = 0; rg < nrt; rg++, n++) {
            for (int r = j->nw_rows * n / ntiles; r < j->nw_rows * (n + 1) / ntiles; r++)
                x86_prefetch_bytes(j->nw + (size_t)r * j->w_stride, j->nw_len);
            if (rg == 0) {
                /* the next group's tokens, or the next chunk's first group */
                const int t1 = g + 1 < ng ? (g + 1) * TILE_TOKENS : 0;
                const int64_t pb0 = g + 1 < ng ? j->b0 : j->nx_b0;
                const int pnb = g + 1 < ng ? j->nb : j->nx_nb;
                for (int t = t1; t < t1 + TILE_TOKENS && t < j->nt && pnb > 0; t++)
                    x86_prefetch_bytes(X + (size_t)t * x_stride + pb0 * xsize, (size_t)pnb * xsize);
            }
            if (rg == nrt - 1 && g + 1 < ng)
                prep_group(q8_1, X, x_stride, (g + 1) * TILE_TOKENS, j->nt, j->b0, j->nb, &st->a[(g + 1) & 1]);
            /* the next tile; the last one recomputes its own into the spare buffer */
            const int last = g + 1 == ng && rg + 1 == nrt;
            const int rgn = last ? rg : (rg + 1) % nrt, gn = last ? g : rg + 1 < nrt ? g : g + 1;
            const act_group *an = &st->a[gn & 1];
            float(*d)[TILE_ROWS][TILE_TOKENS] = st->d[n & 1], (*dn)[TILE_ROWS][TILE_TOKENS] = st->d[(n + 1) & 1];
#define RUN_TILE(P) run_tile(st, j, rg, g, d, rgn, an, dn, has_mins, P)
            switch (np - g * TILE_PAIRS < TILE_PAIRS ? np - g * TILE_PAIRS : TILE_PAIRS) {
            case 4: RUN_TILE(4); break;
            case 3: RUN_TILE(3); break;
            case 2: RUN_TILE(2); break;
            default: RUN_TILE(1); break;
            }
#undef RUN_TILE
        }
    }
}

/* run_chunk for Q8_0 activations and weights without mins, and for Q8_1
 * activations with mins (one copy each of the tile code). */
static void run_chunk_plain(gemm_state *st, const chunk_job *j, const uint8_t *X, size_t x_stride)
{
    run_chunk(st, j, 0, X, x_stride, 0);
}

static void run_chunk_mins(gemm_state *st, const chunk_job *j, const uint8_t *X, size_t x_stride)
{
    run_chunk(st, j, 1, X, x_stride, 1);
}

static inline __attribute__((always_inline)) void gemm_lanes(const enum wtype ty, int64_t k, const void *W,
                                                             size_t w_stride, const void *X, size_t x_stride,
                                                             float *Y, int64_t ldy, int nr, int nt)
{
    static const size_t bsizes[] = {sizeof(block_q8_0), sizeof(block_q5_0), sizeof(block_q4_1), sizeof(block_q5_1)};
    const size_t bsize = bsizes[ty];
    const int has_mins = ty == W_Q4_1 || ty == W_Q5_1;
    const int64_t nbk = k / QK;
    const int nch = (int)((nbk + CHUNK_BLOCKS - 1) / CHUNK_BLOCKS);
    gemm_state st;
    for (int pr = 0; pr < nr; pr += PANEL_ROWS) {
        const int rows = nr - pr < PANEL_ROWS ? nr - pr : PANEL_ROWS;
        for (int c = 0; c < nch; c++) {
            /* equal chunks: no short tail */
            const int64_t b0 = nbk * c / nch, b1 = nbk * (c + 1) / nch;
            /* the next (panel, chunk) */
            const int cn = (c + 1) % nch, pn = c + 1 < nch ? pr : pr + PANEL_ROWS;
            const int64_t bn0 = nbk * cn / nch, bn1 = nbk * (cn + 1) / nch;
            const chunk_job j = {
                b0, (int)(b1 - b0), c == 0, c == nch - 1, Y + pr, ldy,
                rows, (rows + TILE_ROWS - 1) / TILE_ROWS * TILE_ROWS, nt,
                pn < nr ? (const uint8_t *)W + (size_t)pn * w_stride + bn0 * bsize : NULL, w_stride,
                (size_t)(bn1 - bn0) * bsize, pn < nr ? (nr - pn < PANEL_ROWS ? nr - pn : PANEL_ROWS) : 0,
                bn0, pn < nr ? (int)(bn1 - bn0) : 0,
            };
            pack_panel(ty, (const uint8_t *)W + (size_t)pr * w_stride, w_stride, bsize, j.nr, j.nr_pad, b0, j.nb,
                       &st.p);
            if (has_mins) run_chunk_mins(&st, &j, X, x_stride);
            else run_chunk_plain(&st, &j, X, x_stride);
        }
    }
}

/* ------------------------------------------------------------------------
 * Per type
 * ---------------------------------------------------------------------- */

#define GEMM_LANES(name, TY)                                                                             \
    void name##_gemm_lanes_avx512(int64_t k, const void *W, size_t w_stride, const void *X, size_t x_stride, \
                                  const float *Xf, float *Y, int64_t ldy, int nr, int nt)                    \
    {                                                                                                      \
        gemm_lanes(TY, k, W, w_stride, X, x_stride, Y, ldy, nr, nt);                                       \
    }

GEMM_LANES(q8_0, W_Q8_0)
GEMM_LANES(q5_0, W_Q5_0)
GEMM_LANES(q4_1, W_Q4_1)
GEMM_LANES(q5_1, W_Q5_1)

#endif /* __x86_64__ */
