/*
 * quant.c — the type registry, the float formats (F32, F16, BF16) and the
 * 32-element block formats Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
 *
 * Algorithms follow ggml's ggml-quants.c (dequantize_row_* and
 * quantize_row_*_ref); floating-point expressions are evaluated in the same
 * order so the results are bit-identical.
 */
#include "tensor/quant.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "base/status.h"
#include "tensor/quant_impl.h"

/* The block sizes must agree with the GGUF type table (ggml_type.c). */
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
static_assert(sizeof(block_q8_1) == 36, "block_q8_1 layout");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
static_assert(sizeof(block_q8_K) == 292, "block_q8_K layout");
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl layout");
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs layout");

/* ------------------------------------------------------------------------
 * Registry
 * ---------------------------------------------------------------------- */

typedef struct type_ops {
    dequantize_row_fn dequantize;  /* NULL: not handled */
    quantize_row_fn quantize;      /* NULL: not handled */
    quantize_weighted_fn weighted; /* NULL: importance weights ignored (weight types) or refused */
    int weight;                    /* 1: usable as a model weight type */
} type_ops;

static const type_ops registry[MOTE_TYPE_COUNT] = {
    [GGML_TYPE_F32] = {f32_dequantize, f32_quantize, NULL, 1},
    [GGML_TYPE_F16] = {f16_dequantize, f16_quantize, NULL, 1},
    [GGML_TYPE_BF16] = {bf16_dequantize, bf16_quantize, NULL, 1},
    [GGML_TYPE_Q4_0] = {q4_0_dequantize, q4_0_quantize, q4_0_quantize_weighted, 1},
    [GGML_TYPE_Q4_1] = {q4_1_dequantize, q4_1_quantize, q4_1_quantize_weighted, 1},
    [GGML_TYPE_Q5_0] = {q5_0_dequantize, q5_0_quantize, q5_0_quantize_weighted, 1},
    [GGML_TYPE_Q5_1] = {q5_1_dequantize, q5_1_quantize, q5_1_quantize_weighted, 1},
    [GGML_TYPE_Q8_0] = {q8_0_dequantize, q8_0_quantize, NULL, 1},
    [GGML_TYPE_Q8_1] = {q8_1_dequantize, q8_1_quantize, NULL, 0},
    [GGML_TYPE_Q2_K] = {q2_K_dequantize, q2_K_quantize, q2_K_quantize_weighted, 1},
    [GGML_TYPE_Q3_K] = {q3_K_dequantize, q3_K_quantize, q3_K_quantize_weighted, 1},
    [GGML_TYPE_Q4_K] = {q4_K_dequantize, q4_K_quantize, q4_K_quantize_weighted, 1},
    [GGML_TYPE_Q5_K] = {q5_K_dequantize, q5_K_quantize, q5_K_quantize_weighted, 1},
    [GGML_TYPE_Q6_K] = {q6_K_dequantize, q6_K_quantize, q6_K_quantize_weighted, 1},
    [GGML_TYPE_Q8_K] = {q8_K_dequantize, q8_K_quantize, NULL, 0},
    [GGML_TYPE_IQ4_NL] = {iq4_nl_dequantize, iq4_nl_quantize, iq4_nl_quantize_weighted, 1},
    [GGML_TYPE_IQ4_XS] = {iq4_xs_dequantize, iq4_xs_quantize, iq4_xs_quantize_weighted, 1},
    [MOTE_TYPE_FP8] = {fp8_dequantize, fp8_quantize, NULL, 1},
};

dequantize_row_fn tensor_dequantizer(uint32_t type)
{
    return type < MOTE_TYPE_COUNT ? registry[type].dequantize : NULL;
}

quantize_row_fn tensor_quantizer(uint32_t type)
{
    return type < MOTE_TYPE_COUNT ? registry[type].quantize : NULL;
}

quantize_weighted_fn tensor_quantizer_weighted(uint32_t type)
{
    return type < MOTE_TYPE_COUNT ? registry[type].weighted : NULL;
}

int tensor_type_supported(uint32_t type)
{
    return type < MOTE_TYPE_COUNT && registry[type].weight;
}

mote_status tensor_type_check(uint32_t type, const char *tensor_name)
{
    if (tensor_type_supported(type)) return MOTE_OK;
    return mote_fail(MOTE_E_UNSUPPORTED,
                     "tensor '%s': type %s (%u) is not supported (mote handles F32, F16, "
                     "BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, "
                     "IQ4_NL, IQ4_XS, FP8)",
                     tensor_name ? tensor_name : "?", ggml_type_name(type), type);
}

mote_status tensor_row_check(uint32_t type, int64_t n)
{
    const ggml_type_traits *tr = ggml_type_get(type);
    if (!tr) return mote_fail(MOTE_E_INVALID, "tensor row: unknown type id %u", type);
    if (n < 0 || n % tr->block_size != 0)
        return mote_fail(MOTE_E_INVALID,
                         "tensor row: %lld elements is not a whole number of %s blocks of %d",
                         (long long)n, tr->name, tr->block_size);
    return MOTE_OK;
}

mote_status dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    dequantize_row_fn fn = tensor_dequantizer(type);
    if (!fn)
        return mote_fail(MOTE_E_UNSUPPORTED, "dequantize: type %s (%u) is not supported",
                         ggml_type_name(type), type);
    MOTE_TRY(tensor_row_check(type, n));
    fn(src, dst, n);
    return MOTE_OK;
}

mote_status quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    quantize_row_fn fn = tensor_quantizer(type);
    if (!fn)
        return mote_fail(MOTE_E_UNSUPPORTED, "quantize: type %s (%u) is not supported",
                         ggml_type_name(type), type);
    MOTE_TRY(tensor_row_check(type, n));
    fn(src, dst, n);
    return MOTE_OK;
}

mote_status quantize_rows(uint32_t type, const float *src, void *dst, int64_t nrows,
                          int64_t n_per_row, const float *imatrix, size_t *written)
{
    quantize_row_fn fn = tensor_quantizer(type);
    if (!fn)
        return mote_fail(MOTE_E_UNSUPPORTED, "quantize: type %s (%u) is not supported",
                         ggml_type_name(type), type);
    MOTE_TRY(tensor_row_check(type, n_per_row));
    quantize_weighted_fn wfn = imatrix ? tensor_quantizer_weighted(type) : NULL;
    if (imatrix && !wfn && !tensor_type_supported(type))
        return mote_fail(MOTE_E_UNSUPPORTED,
                         "quantize: type %s is an activation format and takes no importance "
                         "weights",
                         ggml_type_name(type));
    const size_t row_size = ggml_row_size(type, n_per_row);
    for (int64_t r = 0; r < nrows; r++) {
        const float *x = src + r * n_per_row;
        void *y = (uint8_t *)dst + (size_t)r * row_size;
        if (wfn) wfn(x, y, n_per_row, imatrix);
        else fn(x, y, n_per_row);
    }
    if (written) *written = (size_t)nrows * row_size;
    return MOTE_OK;
}

/* ------------------------------------------------------------------------
 * F32, F16, BF16
 * ---------------------------------------------------------------------- */

void f32_dequantize(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void f32_quantize(const float *src, void *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

void f16_dequantize(const void *src, float *dst, int64_t n)
{
    const mote_f16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(h[i]);
}

void f16_quantize(const float *src, void *dst, int64_t n)
{
    mote_f16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = fp32_to_fp16(src[i]);
}

void bf16_dequantize(const void *src, float *dst, int64_t n)
{
    const mote_bf16 *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(h[i]);
}

void bf16_quantize(const float *src, void *dst, int64_t n)
{
    mote_bf16 *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = fp32_to_bf16(src[i]);
}

/* ------------------------------------------------------------------------
 * Q4_0, Q4_1
 * ---------------------------------------------------------------------- */

/* The legacy types' importance weighting (ggml's quantize_row_q*_impl):
 * qw * sqrt(sigma2 + x^2), sigma2 the mean x^2 of the whole row. */
static float row_mean_square(const float *x, int64_t n)
{
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; j++) sum_x2 += x[j] * x[j];
    return sum_x2 / n;
}

static void block_weights(const float *xb, const float *qw, float sigma2, float weight[32])
{
    for (int j = 0; j < 32; j++) weight[j] = qw[j] * sqrtf(sigma2 + xb[j] * xb[j]);
}

/* One block of the weighted Q4_0/Q5_0: the symmetric search (make_qx_quants)
 * over 2*nmax levels, stored 0..2*nmax-1 in L; returns the F16 scale (as
 * found: there is no re-quantization against it). */
static mote_f16 symmetric_block_weighted(const float *xb, const float *qw, float sigma2, int nmax,
                                         uint8_t *L)
{
    float weight[32];
    block_weights(xb, qw, sigma2, weight);
    return fp32_to_fp16(quant_fit_symmetric(32, nmax, xb, weight, (int8_t *)L));
}

/* One block of the weighted Q4_1/Q5_1: the affine search (make_qkx3_quants,
 * 37 steps) over levels 0..nmax into L; the F16 scale and min (added). */
static void affine_block_weighted(const float *xb, const float *qw, float sigma2, int nmax,
                                  uint8_t *L, mote_f16 *d, mote_f16 *m)
{
    float weight[32], min;
    uint8_t Laux[32];
    block_weights(xb, qw, sigma2, weight);
    *d = fp32_to_fp16(quant_fit_affine(32, nmax, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, 0));
    *m = fp32_to_fp16(-min);
}

void q4_0_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q4_0 *b = src;
    for (int64_t i = 0; i < n / QK4_0; i++, dst += QK4_0) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            dst[j] = ((b[i].qs[j] & 0xf) - 8) * d;
            dst[j + QK4_0 / 2] = ((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Symmetric: the element of largest magnitude maps to -8 exactly, so the
 * scale's sign carries that element's sign. */
void q4_0_quantize(const float *src, void *dst, int64_t n)
{
    block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(src[j])) {
                amax = fabsf(src[j]);
                max = src[j];
            }
        }
        const float d = max / -8;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK4_0 / 2; j++) {
            int lo = quant_trunc_clamp(src[j] * id + 8.5f, 15);
            int hi = quant_trunc_clamp(src[j + QK4_0 / 2] * id + 8.5f, 15);
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* ggml's quantize_row_q4_0_impl. */
void q4_0_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q4_0_quantize(src, dst, n);
        return;
    }
    block_q4_0 *b = dst;
    const float sigma2 = row_mean_square(src, n);
    uint8_t L[QK4_0];
    for (int64_t i = 0; i < n / QK4_0; i++, src += QK4_0, qw += QK4_0) {
        b[i].d = symmetric_block_weighted(src, qw, sigma2, 8, L);
        quant_pack_nibbles32(L, b[i].qs);
    }
}

void q4_1_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q4_1 *b = src;
    for (int64_t i = 0; i < n / QK4_1; i++, dst += QK4_1) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        for (int j = 0; j < QK4_1 / 2; j++) {
            dst[j] = (b[i].qs[j] & 0xf) * d + m;
            dst[j + QK4_1 / 2] = (b[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Affine: [min, max] maps onto 0..15. */
void q4_1_quantize(const float *src, void *dst, int64_t n)
{
    block_q4_1 *b = dst;
    for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1) {
        float min, max;
        quant_min_max(src, QK4_1, &min, &max);
        const float d = (max - min) / 15;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(min);
        for (int j = 0; j < QK4_1 / 2; j++) {
            int lo = quant_trunc_clamp((src[j] - min) * id + 0.5f, 15);
            int hi = quant_trunc_clamp((src[j + QK4_1 / 2] - min) * id + 0.5f, 15);
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* ggml's quantize_row_q4_1_impl. */
void q4_1_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q4_1_quantize(src, dst, n);
        return;
    }
    block_q4_1 *b = dst;
    const float sigma2 = row_mean_square(src, n);
    uint8_t L[QK4_1];
    for (int64_t i = 0; i < n / QK4_1; i++, src += QK4_1, qw += QK4_1) {
        affine_block_weighted(src, qw, sigma2, 15, L, &b[i].d, &b[i].m);
        quant_pack_nibbles32(L, b[i].qs);
    }
}

/* ------------------------------------------------------------------------
 * Q5_0, Q5_1
 * ---------------------------------------------------------------------- */

/* Bit 4 of element j (0..31) of a Q5 block. */
static inline int q5_high_bit(uint32_t qh, int j)
{
    return (int)((qh >> j) & 1u) << 4;
}

static inline uint32_t load_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* 32 levels (< 32) of a Q5 block: low 4 bits as Q4_0, bit 4 of element j
 * into bit j of qh. */
static void q5_pack(const uint8_t *L, uint8_t qs[16], uint8_t qh[4])
{
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((L[j] & 0xf) | ((L[j + 16] & 0xf) << 4));
        h |= (uint32_t)(L[j] >> 4) << j;
        h |= (uint32_t)(L[j + 16] >> 4) << (j + 16);
    }
    store_u32le(qh, h);
}

void q5_0_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q5_0 *b = src;
    for (int64_t i = 0; i < n / QK5_0; i++, dst += QK5_0) {
        const float d = fp16_to_fp32(b[i].d);
        const uint32_t qh = load_u32le(b[i].qh);
        for (int j = 0; j < QK5_0 / 2; j++) {
            int x0 = ((b[i].qs[j] & 0xf) | q5_high_bit(qh, j)) - 16;
            int x1 = ((b[i].qs[j] >> 4) | q5_high_bit(qh, j + 16)) - 16;
            dst[j] = x0 * d;
            dst[j + QK5_0 / 2] = x1 * d;
        }
    }
}

void q5_0_quantize(const float *src, void *dst, int64_t n)
{
    block_q5_0 *b = dst;
    for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK5_0; j++) {
            if (amax < fabsf(src[j])) {
                amax = fabsf(src[j]);
                max = src[j];
            }
        }
        const float d = max / -16;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        uint8_t L[QK5_0];
        for (int j = 0; j < QK5_0; j++) L[j] = (uint8_t)quant_trunc_clamp(src[j] * id + 16.5f, 31);
        q5_pack(L, b[i].qs, b[i].qh);
    }
}

/* ggml's quantize_row_q5_0_impl. */
void q5_0_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q5_0_quantize(src, dst, n);
        return;
    }
    block_q5_0 *b = dst;
    const float sigma2 = row_mean_square(src, n);
    uint8_t L[QK5_0];
    for (int64_t i = 0; i < n / QK5_0; i++, src += QK5_0, qw += QK5_0) {
        b[i].d = symmetric_block_weighted(src, qw, sigma2, 16, L);
        q5_pack(L, b[i].qs, b[i].qh);
    }
}

void q5_1_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q5_1 *b = src;
    for (int64_t i = 0; i < n / QK5_1; i++, dst += QK5_1) {
        const float d = fp16_to_fp32(b[i].d);
        const float m = fp16_to_fp32(b[i].m);
        const uint32_t qh = load_u32le(b[i].qh);
        for (int j = 0; j < QK5_1 / 2; j++) {
            int x0 = (b[i].qs[j] & 0xf) | q5_high_bit(qh, j);
            int x1 = (b[i].qs[j] >> 4) | q5_high_bit(qh, j + 16);
            dst[j] = x0 * d + m;
            dst[j + QK5_1 / 2] = x1 * d + m;
        }
    }
}

void q5_1_quantize(const float *src, void *dst, int64_t n)
{
    block_q5_1 *b = dst;
    for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1) {
        float min, max;
        quant_min_max(src, QK5_1, &min, &max);
        const float d = (max - min) / 31;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        b[i].m = fp32_to_fp16(min);
        /* ggml truncates to uint8 without clamping: values reach 31 at most */
        uint8_t L[QK5_1];
        for (int j = 0; j < QK5_1; j++) L[j] = (uint8_t)quant_trunc_clamp((src[j] - min) * id + 0.5f, 31);
        q5_pack(L, b[i].qs, b[i].qh);
    }
}

/* ggml's quantize_row_q5_1_impl. */
void q5_1_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw)
{
    if (!qw) {
        q5_1_quantize(src, dst, n);
        return;
    }
    block_q5_1 *b = dst;
    const float sigma2 = row_mean_square(src, n);
    uint8_t L[QK5_1];
    for (int64_t i = 0; i < n / QK5_1; i++, src += QK5_1, qw += QK5_1) {
        affine_block_weighted(src, qw, sigma2, 31, L, &b[i].d, &b[i].m);
        q5_pack(L, b[i].qs, b[i].qh);
    }
}

/* ------------------------------------------------------------------------
 * Q8_0, Q8_1 (activation formats; Q8_0 is also a weight type)
 * ---------------------------------------------------------------------- */

void q8_0_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < n / QK8_0; i++, dst += QK8_0) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_0; j++) dst[j] = b[i].qs[j] * d;
    }
}

void q8_1_dequantize(const void *src, float *dst, int64_t n)
{
    const block_q8_1 *b = src;
    for (int64_t i = 0; i < n / QK8_1; i++, dst += QK8_1) {
        const float d = fp16_to_fp32(b[i].d);
        for (int j = 0; j < QK8_1; j++) dst[j] = b[i].qs[j] * d;
    }
}

/* Largest |x| of a 32-element block. */
static float amax32(const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        float a = fabsf(x[j]);
        amax = amax > a ? amax : a; /* as ggml's MAX(amax, a) */
    }
    return amax;
}

/* ggml's reference: d = amax/127, quants round(x * (1/d)), ties away from zero. */
void q8_0_quantize(const float *src, void *dst, int64_t n)
{
    block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0) {
        const float d = amax32(src) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) b[i].qs[j] = quant_sat_i8(roundf(src[j] * id));
    }
}

void q8_1_quantize(const float *src, void *dst, int64_t n)
{
    block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float d = amax32(src) / 127;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = fp32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < QK8_1; j++) {
            b[i].qs[j] = quant_sat_i8(roundf(src[j] * id));
            sum += b[i].qs[j];
        }
        b[i].s = fp32_to_fp16(sum * d);
    }
}

/* ggml's AVX/AVX2 arithmetic: id = 127/amax, ties to even. */
static float q8_x86_block(const float *x, int8_t *qs, int *sum)
{
    const float amax = amax32(x);
    const float d = amax / 127.f;
    const float id = amax != 0.0f ? 127.f / amax : 0.0f;
    int s = 0;
    for (int j = 0; j < 32; j++) {
        float v = x[j] * id;
        qs[j] = quant_sat_i8((float)quant_nearest_int_safe(v));
        s += qs[j];
    }
    *sum = s;
    return d;
}

void q8_0_quantize_x86(const float *src, void *dst, int64_t n)
{
    block_q8_0 *b = dst;
    int sum;
    for (int64_t i = 0; i < n / QK8_0; i++, src += QK8_0)
        b[i].d = fp32_to_fp16(q8_x86_block(src, b[i].qs, &sum));
}

void q8_1_quantize_x86(const float *src, void *dst, int64_t n)
{
    block_q8_1 *b = dst;
    int sum;
    for (int64_t i = 0; i < n / QK8_1; i++, src += QK8_1) {
        const float d = q8_x86_block(src, b[i].qs, &sum);
        b[i].d = fp32_to_fp16(d);
        b[i].s = fp32_to_fp16(d * sum);
    }
}
