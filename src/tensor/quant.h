/*
 * quant.h — block formats of the quantized tensor types, and conversion of
 * rows between them and F32 (the scalar reference).
 *
 * The layouts are those of ggml (ggml-common.h), which GGUF files store
 * verbatim: a row of n elements is n / block_size blocks, each holding a
 * scale (F16, or F32 for Q8_K) and packed integer quants. Element values
 * are scale * quant (minus a min for the "_1" and K types with mins).
 *
 * mote's own FP8 type (not ggml's) is described in its section below.
 *
 * Dequantizers are bit-exact with ggml's dequantize_row_*. The quantizers of
 * the activation formats (Q8_0, Q8_1, Q8_K) are bit-exact with ggml's
 * quantize_row_*_ref; the weight quantizers are byte-exact with what
 * ggml_quantize_chunk writes: its *_ref algorithms (or, for IQ4_NL/IQ4_XS,
 * its impl with x^2 weights) without importance weights, its
 * quantize_row_*_impl with them (<type>_quantize_weighted).
 *
 * Naming: <type>_dequantize / <type>_quantize convert one row of n elements
 * (n a multiple of the type's block size; callers check, see
 * tensor_row_check).
 */
#ifndef MOTE_TENSOR_QUANT_H
#define MOTE_TENSOR_QUANT_H

#include <stdint.h>

#include "gguf/ggml_type.h"
#include "mote.h"
#include "tensor/fp16.h"

/* ------------------------------------------------------------------------
 * Block layouts (ggml-common.h). Element order within a block is given per
 * type; "low nibble" means bits 0..3 of a byte.
 * ---------------------------------------------------------------------- */

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK4_NL 32
#define K_SCALE_SIZE 12 /* bytes of packed 6-bit scales and mins in Q4_K/Q5_K */

/* Q4_0: x[j] = d * (q[j] - 8), q 4-bit. Element j < 16 is the low nibble of
 * qs[j], element j + 16 the high nibble. */
typedef struct block_q4_0 {
    mote_f16 d;             /* scale */
    uint8_t qs[QK4_0 / 2];  /* nibbles */
} block_q4_0;

/* Q4_1: x[j] = d * q[j] + m, q 4-bit; nibble order as Q4_0. */
typedef struct block_q4_1 {
    mote_f16 d;             /* scale */
    mote_f16 m;             /* min (added) */
    uint8_t qs[QK4_1 / 2];  /* nibbles */
} block_q4_1;

/* Q5_0: x[j] = d * (q[j] - 16), q 5-bit: low 4 bits as Q4_0, bit 4 of
 * element j is bit j of qh (little-endian u32). */
typedef struct block_q5_0 {
    mote_f16 d;             /* scale */
    uint8_t qh[4];          /* fifth bits, one per element */
    uint8_t qs[QK5_0 / 2];  /* low nibbles */
} block_q5_0;

/* Q5_1: x[j] = d * q[j] + m, q 5-bit packed as Q5_0. */
typedef struct block_q5_1 {
    mote_f16 d;             /* scale */
    mote_f16 m;             /* min (added) */
    uint8_t qh[4];          /* fifth bits */
    uint8_t qs[QK5_1 / 2];  /* low nibbles */
} block_q5_1;

/* Q8_0: x[j] = d * qs[j]. Also the activation format of Q4_0/Q5_0/Q8_0/IQ4_NL. */
typedef struct block_q8_0 {
    mote_f16 d;             /* scale */
    int8_t qs[QK8_0];       /* quants */
} block_q8_0;

/* Q8_1: x[j] = d * qs[j]; s caches d * sum(qs) for the min term of
 * Q4_1/Q5_1 dot products. Activation format only. */
typedef struct block_q8_1 {
    mote_f16 d;             /* scale */
    mote_f16 s;             /* d * sum of qs, rounded to F16 */
    int8_t qs[QK8_1];       /* quants */
} block_q8_1;

/* Q2_K: 16 groups of 16; x = d*sc[g] * q - dmin*m[g], q 2-bit. scales[g]
 * holds sc (low nibble) and m (high nibble). Quants: within each half of
 * 128 elements, byte l of its 32 bytes holds elements l, l+32, l+64, l+96
 * in bit pairs 0-1, 2-3, 4-5, 6-7. */
typedef struct block_q2_K {
    uint8_t scales[QK_K / 16]; /* 4-bit scale | 4-bit min << 4, per group */
    uint8_t qs[QK_K / 4];      /* 2-bit quants */
    mote_f16 d;                /* super-scale of the scales */
    mote_f16 dmin;             /* super-scale of the mins */
} block_q2_K;

/* Q3_K: 16 groups of 16; x = d * (sc[g] - 32) * (q - 4 * !hbit), q 2-bit
 * packed as Q2_K, the high bit of element j in bit j/32 of hmask[j%32]
 * (a clear high bit subtracts 4). Scales are 6-bit, see q3_K_scales(). */
typedef struct block_q3_K {
    uint8_t hmask[QK_K / 8];   /* high bits */
    uint8_t qs[QK_K / 4];      /* low 2 bits */
    uint8_t scales[12];        /* 16 packed 6-bit scales */
    mote_f16 d;                /* super-scale */
} block_q3_K;

/* Q4_K: 8 groups of 32; x = d*sc[g] * q - dmin*m[g], q 4-bit, sc and m
 * 6-bit (see q4_K_scale_min()). Quants: for each 64 elements, 32 bytes
 * whose low nibbles are the first 32 elements, high nibbles the next 32. */
typedef struct block_q4_K {
    mote_f16 d;                   /* super-scale of the scales */
    mote_f16 dmin;                /* super-scale of the mins */
    uint8_t scales[K_SCALE_SIZE]; /* 8 scales and 8 mins, 6 bits each */
    uint8_t qs[QK_K / 2];         /* low 4 bits */
} block_q4_K;

/* Q5_K: as Q4_K with a fifth bit: element 64*c + 32*h + l (c = 0..3,
 * h = 0/1) has its bit 4 in bit 2c+h of qh[l]. */
typedef struct block_q5_K {
    mote_f16 d;                   /* super-scale of the scales */
    mote_f16 dmin;                /* super-scale of the mins */
    uint8_t scales[K_SCALE_SIZE]; /* 8 scales and 8 mins, 6 bits each */
    uint8_t qh[QK_K / 8];         /* fifth bits */
    uint8_t qs[QK_K / 2];         /* low 4 bits */
} block_q5_K;

/* Q6_K: 16 groups of 16; x = d * scales[g] * (q - 32), q 6-bit. For each
 * half of 128 elements (ql 64 bytes, qh 32 bytes): element l, l+32, l+64,
 * l+96 (l < 32) take low nibbles of ql[l], ql[l+32], high nibbles of ql[l],
 * ql[l+32], and bit pairs 0-1, 2-3, 4-5, 6-7 of qh[l] as bits 4-5. */
typedef struct block_q6_K {
    uint8_t ql[QK_K / 2];      /* low 4 bits */
    uint8_t qh[QK_K / 4];      /* high 2 bits */
    int8_t scales[QK_K / 16];  /* 8-bit signed group scales */
    mote_f16 d;                /* super-scale */
} block_q6_K;

/* Q8_K: x[j] = d * qs[j] with an F32 scale; bsums[g] = sum of qs in group
 * g of 16 (used for the min terms of K-quant dot products). Activation
 * format only. */
typedef struct block_q8_K {
    float d;                   /* scale */
    int8_t qs[QK_K];           /* quants */
    int16_t bsums[QK_K / 16];  /* sums of 16 quants */
} block_q8_K;

/* IQ4_NL: x[j] = d * iq4nl_values[q[j]], q a 4-bit index; nibble order as Q4_0. */
typedef struct block_iq4_nl {
    mote_f16 d;               /* scale */
    uint8_t qs[QK4_NL / 2];   /* 4-bit indices */
} block_iq4_nl;

/* IQ4_XS: 8 groups of 32; x = d * (ls[g] - 32) * iq4nl_values[q], ls 6-bit
 * (low 4 bits in nibble g%2 of scales_l[g/2], high 2 bits in bits 2g..2g+1
 * of scales_h). Each group's 16 bytes: low nibbles elements 0..15, high
 * nibbles 16..31. */
typedef struct block_iq4_xs {
    mote_f16 d;                 /* super-scale */
    uint16_t scales_h;          /* high 2 bits of the 8 group scales */
    uint8_t scales_l[QK_K / 64];/* low 4 bits of the group scales */
    uint8_t qs[QK_K / 2];       /* 4-bit indices */
} block_iq4_xs;

/* The 16 levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl), non-uniform. */
extern const int8_t iq4nl_values[16];

/* ------------------------------------------------------------------------
 * FP8: mote's own type (MOTE_TYPE_FP8, id 128; not a ggml type)
 *
 * A block of 32 elements is 33 bytes: one scale byte e, then 32 codes of
 * OCP FP8 E4M3 (OCP 8-bit Floating Point Specification 1.0: sign, 4-bit
 * exponent of bias 7, 3-bit mantissa; subnormals; no infinities; 0x7F and
 * 0xFF are NaN; the largest finite value 448). x[j] = 2^(e - 127) *
 * E4M3(q[j]): e is the E8M0 scale of OCP's Microscaling formats, so a block
 * holds the values of an MXFP8 (E4M3) block. Scales e >= FP8_SCALE_MAX
 * (2^120 and up: no block of finite floats needs one) and 255 read as NaN.
 * A file with FP8 tensors records this layout under "mote.type.128" (see
 * ggml_type.h); the quantizer never writes a NaN code.
 *
 * Why a power-of-two scale: scaling is then exact, so an element's only
 * error is its own E4M3 rounding (relative 2^-4 at most), and the kernels
 * see each code as a half-precision number: its bits shifted into an F16
 * ((c & 0x80) << 8 | (c & 0x7F) << 7) are exactly E4M3(c) * 2^-8, which
 * every ISA converts to F32 in a few instructions (fp8_half); the block's
 * 2^-8 goes into the scale (fp8_scale). The activations stay F32.
 * ---------------------------------------------------------------------- */

#define QK_FP8 32
#define FP8_MAX 448.0f       /* largest finite E4M3 value */
#define FP8_SCALE_BIAS 127   /* E8M0: scale 2^(e - 127) */
#define FP8_SCALE_MAX 247    /* e from here on reads as NaN */

typedef struct block_fp8 {
    uint8_t e;              /* E8M0 scale: 2^(e - 127) */
    uint8_t qs[QK_FP8];     /* E4M3 codes */
} block_fp8;

/* E4M3 code c as F16 bits of E4M3(c) * 2^-8 (exact, subnormals included);
 * the NaN codes give an F16 NaN. */
static inline mote_f16 fp8_half(uint8_t c)
{
    mote_f16 h = (mote_f16)((c & 0x80) << 8 | (c & 0x7F) << 7);
    if ((c & 0x7F) == 0x7F) h |= 0x7C00;
    return h;
}

/* The float that multiplies a block's fp8_half values: 2^(e - 127) * 2^8,
 * a normal float for every e < FP8_SCALE_MAX, NaN from there on. */
static inline float fp8_scale(uint8_t e)
{
    return f32_from_bits(e < FP8_SCALE_MAX ? (uint32_t)(e + 8) << 23 : 0x7fc00000u);
}

/* The E4M3 code nearest to v (ties to even), saturating at +-448; NaN
 * gives 0. */
uint8_t fp8_e4m3_from_f32(float v);

/* ------------------------------------------------------------------------
 * Scale unpacking shared by the dequantizers and the dot kernels
 * ---------------------------------------------------------------------- */

/* Q4_K/Q5_K group j (0..7): 6-bit scale and min. Groups 0..3 are the low 6
 * bits of bytes j and j+4; groups 4..7 take their low 4 bits from byte j+4
 * (scale: low nibble, min: high nibble) and their top 2 bits from the top
 * bits of bytes j-4 (scale) and j (min). */
static inline void q4_K_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q3_K: the 16 signed group scales (6-bit value minus 32). Group j's low
 * 4 bits are the low nibble of byte j (j < 8) or the high nibble of byte
 * j-8; its top 2 bits are bits 2*(j/4)..+1 of byte 8 + j%4. */
static inline void q3_K_scales(const uint8_t packed[12], int8_t out[16])
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? packed[j] & 0xf : packed[j - 8] >> 4;
        int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | (hi << 4)) - 32);
    }
}

/* IQ4_XS group ib (0..7): the signed group scale (6-bit value minus 32). */
static inline int iq4_xs_scale(const block_iq4_xs *b, int ib)
{
    int lo = (b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xf;
    int hi = (b->scales_h >> (2 * ib)) & 3;
    return (lo | (hi << 4)) - 32;
}

/* Round to nearest, ties to even, as ggml's nearest_int (valid for
 * |x| < 2^22): adding 1.5 * 2^23 leaves the rounded integer in the low
 * mantissa bits. */
static inline int quant_nearest_int(float x)
{
    uint32_t u = f32_bits(x + 12582912.0f);
    return (int)(u & 0x007fffffu) - 0x00400000;
}

/* ------------------------------------------------------------------------
 * Row conversion
 * ---------------------------------------------------------------------- */

typedef void (*dequantize_row_fn)(const void *src, float *dst, int64_t n);
typedef void (*quantize_row_fn)(const float *src, void *dst, int64_t n);
/* One whole row of n elements with its n importance weights qw (the mean
 * squared activations of the input columns; the legacy types weigh by the
 * row's mean x^2, so src must be a whole row). qw NULL gives the type's
 * unweighted quantizer. Re-entrant: all scratch is on the stack. */
typedef void (*quantize_weighted_fn)(const float *src, void *dst, int64_t n, const float *qw);

void f32_dequantize(const void *src, float *dst, int64_t n);
void f16_dequantize(const void *src, float *dst, int64_t n);
void bf16_dequantize(const void *src, float *dst, int64_t n);
void q4_0_dequantize(const void *src, float *dst, int64_t n);
void q4_1_dequantize(const void *src, float *dst, int64_t n);
void q5_0_dequantize(const void *src, float *dst, int64_t n);
void q5_1_dequantize(const void *src, float *dst, int64_t n);
void q8_0_dequantize(const void *src, float *dst, int64_t n);
void q8_1_dequantize(const void *src, float *dst, int64_t n);
void q2_K_dequantize(const void *src, float *dst, int64_t n);
void q3_K_dequantize(const void *src, float *dst, int64_t n);
void q4_K_dequantize(const void *src, float *dst, int64_t n);
void q5_K_dequantize(const void *src, float *dst, int64_t n);
void q6_K_dequantize(const void *src, float *dst, int64_t n);
void q8_K_dequantize(const void *src, float *dst, int64_t n);
void iq4_nl_dequantize(const void *src, float *dst, int64_t n);
void iq4_xs_dequantize(const void *src, float *dst, int64_t n);
void fp8_dequantize(const void *src, float *dst, int64_t n);

void f32_quantize(const float *src, void *dst, int64_t n);
void f16_quantize(const float *src, void *dst, int64_t n);
void bf16_quantize(const float *src, void *dst, int64_t n);
void q4_0_quantize(const float *src, void *dst, int64_t n);
void q4_1_quantize(const float *src, void *dst, int64_t n);
void q5_0_quantize(const float *src, void *dst, int64_t n);
void q5_1_quantize(const float *src, void *dst, int64_t n);
void q8_0_quantize(const float *src, void *dst, int64_t n);  /* = quantize_row_q8_0_ref */
void q8_1_quantize(const float *src, void *dst, int64_t n);  /* = quantize_row_q8_1_ref */
void q2_K_quantize(const float *src, void *dst, int64_t n);
void q3_K_quantize(const float *src, void *dst, int64_t n);
void q4_K_quantize(const float *src, void *dst, int64_t n);
void q5_K_quantize(const float *src, void *dst, int64_t n);
void q6_K_quantize(const float *src, void *dst, int64_t n);
void q8_K_quantize(const float *src, void *dst, int64_t n);  /* = quantize_row_q8_K_ref */
void iq4_nl_quantize(const float *src, void *dst, int64_t n);
void iq4_xs_quantize(const float *src, void *dst, int64_t n);
void fp8_quantize(const float *src, void *dst, int64_t n);

void q4_0_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q4_1_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q5_0_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q5_1_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q2_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q3_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q4_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q5_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void q6_K_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void iq4_nl_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);
void iq4_xs_quantize_weighted(const float *src, void *dst, int64_t n, const float *qw);

/* The variants of the Q8_0/Q8_1 activation quantizers that ggml's x86
 * AVX/AVX2 code computes: inverse scale 127/amax (instead of 1/(amax/127))
 * and ties rounded to even. Scalar models for testing SIMD kernels against. */
void q8_0_quantize_x86(const float *src, void *dst, int64_t n);
void q8_1_quantize_x86(const float *src, void *dst, int64_t n);

/* The row converters of a type, NULL where mote has none. Dequantizers
 * exist for every supported weight type and the activation formats Q8_1
 * and Q8_K; quantizers likewise. */
dequantize_row_fn tensor_dequantizer(uint32_t type);
quantize_row_fn tensor_quantizer(uint32_t type);
/* The importance-weighted quantizer of a type, NULL where ggml has none
 * (F32, F16, BF16 and Q8_0 ignore importance weights; the activation
 * formats take none). */
quantize_weighted_fn tensor_quantizer_weighted(uint32_t type);

/* 1 if tensors of this type can be loaded and used as weights by mote:
 * F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K, IQ4_NL, IQ4_XS,
 * and mote's FP8. */
int tensor_type_supported(uint32_t type);
/* MOTE_OK if supported; otherwise MOTE_E_UNSUPPORTED with a message naming
 * the tensor and the type ("tensor 'x': type IQ2_XXS (16) is not supported"). */
mote_status tensor_type_check(uint32_t type, const char *tensor_name);
/* MOTE_OK if n elements form whole blocks of type; MOTE_E_INVALID otherwise. */
mote_status tensor_row_check(uint32_t type, int64_t n);

/* Checked conversion of one row: MOTE_E_UNSUPPORTED for a type without a
 * converter, MOTE_E_INVALID when n is not a whole number of blocks. */
mote_status dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);
mote_status quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* Quantize nrows rows of n_per_row elements each into dst (nrows row sizes
 * of type), byte for byte as ggml_quantize_chunk(type, src, dst, 0, nrows,
 * n_per_row, imatrix) does for a model file: imatrix, when not NULL, holds
 * n_per_row importance weights (mean squared activations of each input
 * column) that steer the types' scale searches (F32, F16, BF16 and Q8_0
 * ignore them, as ggml). *written (may be NULL) receives the bytes written.
 * Re-entrant: threads may quantize disjoint row ranges at once.
 * MOTE_E_UNSUPPORTED for a type without a quantizer or an imatrix for an
 * activation format, MOTE_E_INVALID for rows that are not whole blocks. */
mote_status quantize_rows(uint32_t type, const float *src, void *dst, int64_t nrows,
                          int64_t n_per_row, const float *imatrix, size_t *written);

#endif
