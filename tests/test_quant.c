/*
 * test_quant.c — tensor block formats: dequantization of hand-built blocks, quantize/dequantize round trips, the exactness of the
 * activation quantizers (and their SIMD forms at every kernel level this
 * CPU runs, bit for bit), and (with ../shared) llama.cpp's own files: mote's
 * quantizers must reproduce llama-quantize's bytes from the F32 model, and
 * dequantized tensors must be close to the F32 originals.
 *
 * Expected values of the hand-built blocks are computed here from the
 * format definitions (quant.h, ggml-common.h), never by the code under test.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"
#include "testutil.h"

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* F16 bit patterns used to build blocks (IEEE binary16). */
#define H_ONE 0x3c00    /* 1.0 */
#define H_HALF 0x3800   /* 0.5 */
#define H_QUARTER 0x3400 /* 0.25 */
#define H_TWO 0x4000    /* 2.0 */
#define H_M1_5 0xbe00   /* -1.5 */

static const uint32_t weight_types[] = {
    GGML_TYPE_F32,  GGML_TYPE_F16,  GGML_TYPE_BF16, GGML_TYPE_Q4_0,   GGML_TYPE_Q4_1,
    GGML_TYPE_Q5_0, GGML_TYPE_Q5_1, GGML_TYPE_Q8_0, GGML_TYPE_Q2_K,   GGML_TYPE_Q3_K,
    GGML_TYPE_Q4_K, GGML_TYPE_Q5_K, GGML_TYPE_Q6_K, GGML_TYPE_IQ4_NL, GGML_TYPE_IQ4_XS,
    MOTE_TYPE_FP8,
};
#define N_WEIGHT_TYPES (sizeof weight_types / sizeof weight_types[0])

static const int8_t IQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                 1,    13,   25,  38,  53,  69,  89,  113};

/* Dequantize n elements of blk with the code under test and compare with
 * expect[] exactly. */
static void check_dequant(uint32_t type, const void *blk, const float *expect, int n)
{
    float *got = malloc((size_t)n * sizeof *got);
    assert_non_null(got);
    assert_int_equal(dequantize_row(type, blk, got, n), MOTE_OK);
    for (int i = 0; i < n; i++)
        if (got[i] != expect[i])
            fail_msg("%s element %d: got %.9g, expected %.9g", ggml_type_name(type), i, got[i],
                     expect[i]);
    free(got);
}

static void fill_normal(float *x, int n, uint64_t seed, float scale)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++) x[i] = scale * test_rng_normal(&s);
}

/* ------------------------------------------------------------------------
 * Layouts and the type registry
 * ---------------------------------------------------------------------- */

static void test_block_sizes_match_type_table(void **state)
{
    (void)state;
    static const struct { uint32_t type; size_t size; int qk; } layouts[] = {
        {GGML_TYPE_Q4_0, sizeof(block_q4_0), QK4_0},     {GGML_TYPE_Q4_1, sizeof(block_q4_1), QK4_1},
        {GGML_TYPE_Q5_0, sizeof(block_q5_0), QK5_0},     {GGML_TYPE_Q5_1, sizeof(block_q5_1), QK5_1},
        {GGML_TYPE_Q8_0, sizeof(block_q8_0), QK8_0},     {GGML_TYPE_Q8_1, sizeof(block_q8_1), QK8_1},
        {GGML_TYPE_Q2_K, sizeof(block_q2_K), QK_K},      {GGML_TYPE_Q3_K, sizeof(block_q3_K), QK_K},
        {GGML_TYPE_Q4_K, sizeof(block_q4_K), QK_K},      {GGML_TYPE_Q5_K, sizeof(block_q5_K), QK_K},
        {GGML_TYPE_Q6_K, sizeof(block_q6_K), QK_K},      {GGML_TYPE_Q8_K, sizeof(block_q8_K), QK_K},
        {GGML_TYPE_IQ4_NL, sizeof(block_iq4_nl), QK4_NL}, {GGML_TYPE_IQ4_XS, sizeof(block_iq4_xs), QK_K},
        {GGML_TYPE_F16, sizeof(mote_f16), 1},            {GGML_TYPE_BF16, sizeof(mote_bf16), 1},
        {GGML_TYPE_F32, sizeof(float), 1},                {MOTE_TYPE_FP8, sizeof(block_fp8), QK_FP8},
    };
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        const ggml_type_traits *tr = ggml_type_get(layouts[i].type);
        assert_non_null(tr);
        assert_int_equal(tr->type_size, layouts[i].size);
        assert_int_equal(tr->block_size, layouts[i].qk);
        assert_non_null(tensor_dequantizer(layouts[i].type));
        assert_non_null(tensor_quantizer(layouts[i].type));
    }
}

static void test_type_support(void **state)
{
    (void)state;
    int n_supported = 0;
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT + 5; t++) n_supported += tensor_type_supported(t);
    assert_int_equal(n_supported, N_WEIGHT_TYPES);
    for (size_t i = 0; i < N_WEIGHT_TYPES; i++) {
        assert_true(tensor_type_supported(weight_types[i]));
        assert_int_equal(tensor_type_check(weight_types[i], "w"), MOTE_OK);
    }
    /* activation-only formats are not weight types */
    assert_false(tensor_type_supported(GGML_TYPE_Q8_1));
    assert_false(tensor_type_supported(GGML_TYPE_Q8_K));

    assert_int_equal(tensor_type_check(GGML_TYPE_IQ2_XXS, "blk.3.ffn_up.weight"), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "IQ2_XXS"));
    assert_non_null(strstr(mote_last_error(), "blk.3.ffn_up.weight"));
    assert_int_equal(tensor_type_check(1000, "x"), MOTE_E_UNSUPPORTED);
    assert_non_null(strstr(mote_last_error(), "unknown"));

    float out[64];
    uint8_t in[256] = {0};
    assert_int_equal(dequantize_row(GGML_TYPE_IQ2_XXS, in, out, 256), MOTE_E_UNSUPPORTED);
    assert_int_equal(dequantize_row(GGML_TYPE_Q4_0, in, out, 33), MOTE_E_INVALID);
    assert_non_null(strstr(mote_last_error(), "Q4_0"));
    assert_int_equal(quantize_row(GGML_TYPE_Q4_K, out, in, 64), MOTE_E_INVALID);
    assert_int_equal(quantize_row(GGML_TYPE_TQ1_0, out, in, 256), MOTE_E_UNSUPPORTED);
    assert_int_equal(dequantize_row(GGML_TYPE_Q4_0, in, out, 0), MOTE_OK);
}

/* ------------------------------------------------------------------------
 * Dequantization of hand-built blocks
 * ---------------------------------------------------------------------- */

static void test_dequant_float_types(void **state)
{
    (void)state;
    const mote_f16 h[4] = {H_ONE, H_M1_5, 0x0001, 0xfc00};
    const float eh[4] = {1.0f, -1.5f, 0x1p-24f, -INFINITY};
    check_dequant(GGML_TYPE_F16, h, eh, 4);
    const mote_bf16 b[3] = {0x3f80, 0xc0a0, 0x4049};
    const float eb[3] = {1.0f, -5.0f, 3.140625f};
    check_dequant(GGML_TYPE_BF16, b, eb, 3);
    const float f[3] = {1.25f, -7.0f, 1e-30f};
    check_dequant(GGML_TYPE_F32, f, f, 3);
}

static void test_dequant_q4_q5(void **state)
{
    (void)state;
    float e[64];
    /* Q4_0, two blocks: element j<16 is the low nibble of qs[j], j+16 the high. */
    block_q4_0 q40[2];
    q40[0].d = H_HALF;
    q40[1].d = H_M1_5;
    for (int j = 0; j < 16; j++) {
        q40[0].qs[j] = (uint8_t)(j | (15 - j) << 4);
        q40[1].qs[j] = 0x8f; /* low 15 -> +7, high 8 -> 0 */
        e[j] = (j - 8) * 0.5f;
        e[j + 16] = (7 - j) * 0.5f;
        e[32 + j] = 7 * -1.5f;
        e[48 + j] = 0.0f;
    }
    check_dequant(GGML_TYPE_Q4_0, q40, e, 64);
    assert_true(e[0] == -4.0f && e[31] == -4.0f && e[15] == 3.5f); /* by hand */

    /* Q4_1: d * q + m */
    block_q4_1 q41 = {.d = H_QUARTER, .m = H_M1_5};
    for (int j = 0; j < 16; j++) {
        q41.qs[j] = (uint8_t)((j % 16) | ((j * 3) % 16) << 4);
        e[j] = j * 0.25f - 1.5f;
        e[j + 16] = ((j * 3) % 16) * 0.25f - 1.5f;
    }
    check_dequant(GGML_TYPE_Q4_1, &q41, e, 32);

    /* Q5_0: bit 4 of element j is bit j of the little-endian qh word. */
    block_q5_0 q50 = {.d = H_TWO, .qh = {0x01, 0x80, 0x00, 0xff}};
    for (int j = 0; j < 16; j++) q50.qs[j] = (uint8_t)(j | 0xf0);
    for (int j = 0; j < 32; j++) {
        int low = j < 16 ? j : 15;
        int hbit = j == 0 || j == 15 || j >= 24;
        e[j] = 2.0f * ((low | hbit << 4) - 16);
    }
    check_dequant(GGML_TYPE_Q5_0, &q50, e, 32);
    assert_true(e[0] == 0.0f && e[1] == -30.0f && e[15] == 30.0f && e[16] == -2.0f && e[31] == 30.0f);

    /* Q5_1: d * q + m with the same packing */
    block_q5_1 q51 = {.d = H_HALF, .m = H_ONE, .qh = {0xaa, 0x55, 0x0f, 0xf0}};
    for (int j = 0; j < 16; j++) q51.qs[j] = (uint8_t)((15 - j) | (j << 4));
    const uint32_t qh = 0xf00f55aau;
    for (int j = 0; j < 32; j++) {
        int low = j < 16 ? 15 - j : j - 16;
        int q = low | (int)((qh >> j) & 1) << 4;
        e[j] = q * 0.5f + 1.0f;
    }
    check_dequant(GGML_TYPE_Q5_1, &q51, e, 32);
}

static void test_dequant_q8(void **state)
{
    (void)state;
    float e[QK_K];
    block_q8_0 q80 = {.d = H_QUARTER};
    block_q8_1 q81 = {.d = H_M1_5, .s = H_ONE};
    for (int j = 0; j < 32; j++) {
        q80.qs[j] = (int8_t)(j * 8 - 128);
        q81.qs[j] = (int8_t)(127 - j * 8);
    }
    for (int j = 0; j < 32; j++) e[j] = (j * 8 - 128) * 0.25f;
    check_dequant(GGML_TYPE_Q8_0, &q80, e, 32);
    for (int j = 0; j < 32; j++) e[j] = (127 - j * 8) * -1.5f;
    check_dequant(GGML_TYPE_Q8_1, &q81, e, 32);

    block_q8_K q8k = {.d = -0.125f};
    for (int j = 0; j < QK_K; j++) {
        q8k.qs[j] = (int8_t)(j - 128);
        e[j] = (j - 128) * -0.125f;
    }
    check_dequant(GGML_TYPE_Q8_K, &q8k, e, QK_K);
}

static void test_dequant_iq4(void **state)
{
    (void)state;
    float e[QK_K];
    block_iq4_nl nl = {.d = H_HALF};
    for (int j = 0; j < 16; j++) {
        nl.qs[j] = (uint8_t)(j | (15 - j) << 4);
        e[j] = 0.5f * IQ4NL[j];
        e[j + 16] = 0.5f * IQ4NL[15 - j];
    }
    check_dequant(GGML_TYPE_IQ4_NL, &nl, e, 32);
    assert_true(e[0] == -63.5f && e[16] == 56.5f); /* -127/2, 113/2 */

    /* IQ4_XS: 6-bit group scales ls (minus 32), low 4 bits in nibble g%2
     * of scales_l[g/2], top 2 bits in bits 2g..2g+1 of scales_h. */
    const int ls[8] = {0, 10, 20, 31, 32, 40, 50, 63};
    block_iq4_xs xs = {.d = H_QUARTER};
    for (int g = 0; g < 8; g++) {
        xs.scales_l[g / 2] = (uint8_t)(xs.scales_l[g / 2] | (ls[g] & 0xf) << (4 * (g % 2)));
        xs.scales_h = (uint16_t)(xs.scales_h | (ls[g] >> 4) << (2 * g));
        for (int j = 0; j < 16; j++) {
            int lo = (j + g) % 16, hi = (3 * j + g) % 16;
            xs.qs[16 * g + j] = (uint8_t)(lo | hi << 4);
            e[32 * g + j] = 0.25f * (ls[g] - 32) * IQ4NL[lo];
            e[32 * g + 16 + j] = 0.25f * (ls[g] - 32) * IQ4NL[hi];
        }
    }
    /* top bits 0,0,1,1,2,2,3,3 at bit 2g: 0x10 + 0x40 + 0x200 + 0x800 + 0x3000 + 0xc000 */
    assert_int_equal(xs.scales_h, 0xfa50);
    check_dequant(GGML_TYPE_IQ4_XS, &xs, e, QK_K);
    assert_true(e[0] == 0.25f * -32 * -127); /* group 0: ls 0 -> scale -32 */
}

static void test_dequant_q2_K(void **state)
{
    (void)state;
    /* group g = element/16 has scale g and min 15-g; d = 1, dmin = 0.5.
     * Element 128h + 32k + l takes bit pair k of qs[32h + l]. */
    block_q2_K b = {.d = H_ONE, .dmin = H_HALF};
    for (int g = 0; g < 16; g++) b.scales[g] = (uint8_t)(g | (15 - g) << 4);
    for (int i = 0; i < 64; i++) b.qs[i] = (uint8_t)(i * 37 + 11);
    float e[QK_K];
    for (int el = 0; el < QK_K; el++) {
        int h = el / 128, k = (el % 128) / 32, l = el % 32, g = el / 16;
        int q = (b.qs[32 * h + l] >> (2 * k)) & 3;
        e[el] = 1.0f * g * q - 0.5f * (15 - g);
    }
    check_dequant(GGML_TYPE_Q2_K, &b, e, QK_K);
    /* by hand: element 0: qs[0]=11=0b1011, pair 0 = 3, group 0: 0*3 - 7.5 */
    assert_true(e[0] == -7.5f);
    /* element 255: h1 k3 l31 -> qs[63] = (63*37+11)&255 = 34 = 0b00100010, pair 3 = 0; group 15 */
    assert_true(e[255] == 0.0f);
}

static void test_dequant_q3_K(void **state)
{
    (void)state;
    /* 16 six-bit scales sc6[j]; group j's scale is sc6[j] - 32. */
    int sc6[16];
    for (int j = 0; j < 16; j++) sc6[j] = (j * 37 + 11) % 64; /* top bits not symmetric in j%4, j/4 */
    block_q3_K b = {.d = H_HALF};
    for (int j = 0; j < 16; j++) {
        if (j < 8) b.scales[j] = (uint8_t)(b.scales[j] | (sc6[j] & 0xf));
        else b.scales[j - 8] = (uint8_t)(b.scales[j - 8] | (sc6[j] & 0xf) << 4);
        b.scales[8 + j % 4] = (uint8_t)(b.scales[8 + j % 4] | (sc6[j] >> 4) << (2 * (j / 4)));
    }
    for (int i = 0; i < 64; i++) b.qs[i] = (uint8_t)(i * 13 + 7);
    for (int i = 0; i < 32; i++) b.hmask[i] = (uint8_t)(i * 29 + 3);
    float e[QK_K];
    for (int el = 0; el < QK_K; el++) {
        int h = el / 128, k = (el % 128) / 32, l = el % 32;
        int lo = (b.qs[32 * h + l] >> (2 * k)) & 3;
        int hbit = (b.hmask[l] >> (4 * h + k)) & 1; /* == bit el/32 of hmask[el%32] */
        e[el] = 0.5f * (sc6[el / 16] - 32) * (lo - (hbit ? 0 : 4));
    }
    check_dequant(GGML_TYPE_Q3_K, &b, e, QK_K);
    /* by hand: element 0: qs[0]=7 pair 0 = 3, hmask[0]=3 bit 0 set -> q=3; sc6[0]=11 -> -21 */
    assert_true(e[0] == 0.5f * -21 * 3);
    /* element 40 (group 2, sc6=21 -> -11): qs[8]=111=0b01101111 pair 1 = 3,
     * hmask[8]=235=0b11101011 bit 1 set -> q=3 */
    assert_true(e[40] == 0.5f * -11 * 3);
    /* group 9's scale 24 = 0b011000: low nibble 8 in the high nibble of
     * byte 1, top bits 01 in bits 4-5 of byte 9 */
    assert_int_equal(b.scales[1] >> 4, 8);
    assert_int_equal((b.scales[9] >> 4) & 3, 1);
}

/* Q4_K/Q5_K scales: sc[g], m[g] 6-bit. Bytes 0..3: sc[0..3] | top2(sc[4..7])<<6;
 * bytes 4..7: m[0..3] | top2(m[4..7])<<6; bytes 8..11: low4(sc[4..7]) | low4(m[4..7])<<4. */
static void pack_k_scales(const int *sc, const int *m, uint8_t *out)
{
    for (int g = 0; g < 4; g++) {
        out[g] = (uint8_t)(sc[g] | (sc[g + 4] >> 4) << 6);
        out[g + 4] = (uint8_t)(m[g] | (m[g + 4] >> 4) << 6);
        out[g + 8] = (uint8_t)((sc[g + 4] & 0xf) | (m[g + 4] & 0xf) << 4);
    }
}

static void test_dequant_q4_K_q5_K(void **state)
{
    (void)state;
    const int sc[8] = {1, 17, 33, 63, 50, 5, 62, 31};
    const int m[8] = {63, 0, 16, 47, 21, 58, 2, 36};
    block_q4_K b4 = {.d = H_HALF, .dmin = H_QUARTER};
    pack_k_scales(sc, m, b4.scales);
    /* by hand for group 4 (sc 50 = 0b110010, m 21 = 0b010101): byte 0 =
     * 1 | 0b11<<6 = 0xc1, byte 4 = 63 | 0b01<<6 = 0x7f, byte 8 = 0x2 | 0x5<<4 = 0x52 */
    assert_int_equal(b4.scales[0], 0xc1);
    assert_int_equal(b4.scales[4], 0x7f);
    assert_int_equal(b4.scales[8], 0x52);
    for (int i = 0; i < 128; i++) b4.qs[i] = (uint8_t)(i * 7 + 3);
    float e[QK_K];
    /* element 64c + 32*hi + l: nibble hi of qs[32c + l]; group = element/32 */
    for (int el = 0; el < QK_K; el++) {
        int c = el / 64, hi = (el % 64) / 32, l = el % 32, g = el / 32;
        int q = (b4.qs[32 * c + l] >> (4 * hi)) & 0xf;
        e[el] = (0.5f * sc[g]) * q - 0.25f * m[g];
    }
    check_dequant(GGML_TYPE_Q4_K, &b4, e, QK_K);

    block_q5_K b5 = {.d = H_TWO, .dmin = H_ONE};
    pack_k_scales(sc, m, b5.scales);
    for (int i = 0; i < 128; i++) b5.qs[i] = (uint8_t)(i * 5 + 1);
    for (int i = 0; i < 32; i++) b5.qh[i] = (uint8_t)(i * 71 + 9);
    /* the fifth bit of element 64c + 32*hi + l is bit 2c + hi of qh[l] */
    for (int el = 0; el < QK_K; el++) {
        int c = el / 64, hi = (el % 64) / 32, l = el % 32, g = el / 32;
        int q = ((b5.qs[32 * c + l] >> (4 * hi)) & 0xf) | ((b5.qh[l] >> (2 * c + hi)) & 1) << 4;
        e[el] = (2.0f * sc[g]) * q - 1.0f * m[g];
    }
    check_dequant(GGML_TYPE_Q5_K, &b5, e, QK_K);
    /* by hand: element 0: qs[0]=1, qh[0]=9 bit 0 set -> q=17; 2*1*17 - 63 */
    assert_true(e[0] == -29.0f);
}

static void test_dequant_q6_K(void **state)
{
    (void)state;
    block_q6_K b = {.d = H_QUARTER};
    for (int g = 0; g < 16; g++) b.scales[g] = (int8_t)(g * 17 - 128);
    for (int i = 0; i < 128; i++) b.ql[i] = (uint8_t)(i * 11 + 2);
    for (int i = 0; i < 64; i++) b.qh[i] = (uint8_t)(i * 23 + 5);
    /* In each half h (128 elements), l < 32: elements l, l+32, l+64, l+96
     * take the low nibble of ql[64h+l], low of ql[64h+l+32], high of
     * ql[64h+l], high of ql[64h+l+32]; bits 4-5 from bit pairs 0..3 of qh[32h+l]. */
    float e[QK_K];
    for (int el = 0; el < QK_K; el++) {
        int h = el / 128, r = el % 128, part = r / 32, l = r % 32;
        int qlb = b.ql[64 * h + l + (part & 1) * 32];
        int lo = part < 2 ? qlb & 0xf : qlb >> 4;
        int hi = (b.qh[32 * h + l] >> (2 * part)) & 3;
        e[el] = 0.25f * b.scales[el / 16] * ((lo | hi << 4) - 32);
    }
    check_dequant(GGML_TYPE_Q6_K, &b, e, QK_K);
    /* by hand: element 0: ql[0]=2, qh[0]=5 pair 0 = 1 -> q = 18-32 = -14; scale -128 */
    assert_true(e[0] == 0.25f * -128 * -14);
}

/* ------------------------------------------------------------------------
 * Round trips
 * ---------------------------------------------------------------------- */

/* RMS error of quantize -> dequantize relative to the RMS of the data, for
 * normal data (and scaled copies: the scale must not matter). Bounds sit
 * ~1.3x above the errors these ggml algorithms reach (Q4_0 0.086, Q2_K 0.30). */
static void test_round_trip_error(void **state)
{
    (void)state;
    static const struct { uint32_t type; double max_rel_rms; } bounds[] = {
        {GGML_TYPE_F32, 0.0},      {GGML_TYPE_F16, 0.0003},   {GGML_TYPE_BF16, 0.0025},
        {GGML_TYPE_Q8_0, 0.007},   {GGML_TYPE_Q8_1, 0.007},   {GGML_TYPE_Q8_K, 0.009},
        {GGML_TYPE_Q6_K, 0.023},   {GGML_TYPE_Q5_0, 0.058},   {GGML_TYPE_Q5_1, 0.05},
        {GGML_TYPE_Q5_K, 0.047},   {GGML_TYPE_Q4_0, 0.115},   {GGML_TYPE_Q4_1, 0.105},
        {GGML_TYPE_Q4_K, 0.095},   {GGML_TYPE_IQ4_NL, 0.10},  {GGML_TYPE_IQ4_XS, 0.10},
        {GGML_TYPE_Q3_K, 0.20},    {GGML_TYPE_Q2_K, 0.39},    {MOTE_TYPE_FP8, 0.034},
    };
    enum { N = QK_K * 16 };
    static float x[N], y[N];
    static uint8_t q[N * 4 + 64];
    const float scales[3] = {1.0f, 0.02f, 300.0f};
    for (size_t t = 0; t < sizeof bounds / sizeof bounds[0]; t++) {
        for (int s = 0; s < 3; s++) {
            fill_normal(x, N, 1000 + t * 7 + (uint64_t)s, scales[s]);
            assert_int_equal(quantize_row(bounds[t].type, x, q, N), MOTE_OK);
            assert_int_equal(dequantize_row(bounds[t].type, q, y, N), MOTE_OK);
            double se = 0, sx = 0;
            for (int i = 0; i < N; i++) {
                se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
                sx += (double)x[i] * x[i];
            }
            double rel = sqrt(se / sx);
            if (rel > bounds[t].max_rel_rms)
                fail_msg("%s (scale %g): relative RMS error %.5f above %.5f",
                         ggml_type_name(bounds[t].type), scales[s], rel, bounds[t].max_rel_rms);
        }
    }
}

/* Special inputs: all-zero blocks give zeros; constant and one-hot blocks
 * give valid blocks; nothing produces NaN. */
static void test_round_trip_special(void **state)
{
    (void)state;
    enum { N = QK_K * 2 };
    static float x[N], y[N];
    static uint8_t q[N * 4];
    for (uint32_t t = 0; t < MOTE_TYPE_COUNT; t++) {
        if (!tensor_quantizer(t)) continue;
        memset(x, 0, sizeof x);
        assert_int_equal(quantize_row(t, x, q, N), MOTE_OK);
        assert_int_equal(dequantize_row(t, q, y, N), MOTE_OK);
        for (int i = 0; i < N; i++)
            if (y[i] != 0.0f) fail_msg("%s: zero input gave %g at %d", ggml_type_name(t), y[i], i);

        for (int i = 0; i < N; i++) x[i] = i == 77 ? -3.0f : i == 300 ? 5.0f : 0.0f;
        assert_int_equal(quantize_row(t, x, q, N), MOTE_OK);
        assert_int_equal(dequantize_row(t, q, y, N), MOTE_OK);
        for (int i = 0; i < N; i++) {
            assert_false(isnan(y[i]));
            if (fabsf(y[i] - x[i]) > 0.1f * 5.0f)
                fail_msg("%s one-hot: element %d = %g, expected %g", ggml_type_name(t), i, y[i], x[i]);
        }
        for (int i = 0; i < N; i++) x[i] = 0.75f;
        assert_int_equal(quantize_row(t, x, q, N), MOTE_OK);
        assert_int_equal(dequantize_row(t, q, y, N), MOTE_OK);
        for (int i = 0; i < N; i++)
            if (fabsf(y[i] - 0.75f) > 0.08f)
                fail_msg("%s constant: element %d = %g", ggml_type_name(t), i, y[i]);
    }
}

/* ------------------------------------------------------------------------
 * Activation quantizers: exact properties
 * ---------------------------------------------------------------------- */

static void test_q8_0_q8_1_exact(void **state)
{
    (void)state;
    enum { NB = 8, N = 32 * NB };
    float x[N];
    fill_normal(x, N, 77, 2.0f);
    x[5] = -9.0f;  /* block 0's extreme is negative */
    x[40] = 7.5f;  /* block 1's positive */
    for (int i = 64; i < 96; i++) x[i] = 0.0f; /* block 2 all zero */
    block_q8_0 a[NB];
    block_q8_1 b[NB];
    q8_0_quantize(x, a, N);
    q8_1_quantize(x, b, N);
    for (int blk = 0; blk < NB; blk++) {
        const float *xb = x + 32 * blk;
        float amax = 0;
        int imax = 0;
        for (int j = 0; j < 32; j++)
            if (fabsf(xb[j]) > amax) amax = fabsf(xb[j]), imax = j;
        const float d = amax / 127;
        assert_int_equal(a[blk].d, fp32_to_fp16(d));
        assert_int_equal(b[blk].d, fp32_to_fp16(d));
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            assert_int_equal(a[blk].qs[j], b[blk].qs[j]);
            sum += b[blk].qs[j];
            if (amax == 0) {
                assert_int_equal(a[blk].qs[j], 0);
                continue;
            }
            /* round(x/d), ties away from zero */
            assert_int_equal(a[blk].qs[j], (int)roundf(xb[j] * (1.0f / d)));
            assert_true(fabsf(a[blk].qs[j] - xb[j] / d) <= 0.5f + 1e-4f);
        }
        if (amax > 0) assert_int_equal(a[blk].qs[imax], xb[imax] > 0 ? 127 : -127);
        assert_int_equal(b[blk].s, fp32_to_fp16(sum * d));
    }
    assert_int_equal(a[0].qs[5], -127);
    assert_int_equal(a[1].qs[8], 127);
    assert_int_equal(a[2].d, 0);

    /* the x86 variant (127/amax, ties to even) differs only in rounding */
    block_q8_0 v[NB];
    block_q8_1 w[NB];
    q8_0_quantize_x86(x, v, N);
    q8_1_quantize_x86(x, w, N);
    for (int blk = 0; blk < NB; blk++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[32 * blk + j]));
        assert_int_equal(v[blk].d, a[blk].d);
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            assert_true(abs(v[blk].qs[j] - a[blk].qs[j]) <= 1);
            assert_int_equal(w[blk].qs[j], v[blk].qs[j]);
            sum += w[blk].qs[j];
        }
        assert_int_equal(w[blk].s, fp32_to_fp16(amax / 127 * sum));
    }
    /* ties: 0.5 and 2.5 units round to even in the x86 variant, away from zero in ggml's reference */
    float t[32] = {127.0f, 0.5f, 2.5f, -2.5f};
    q8_0_quantize(t, a, 32);
    q8_0_quantize_x86(t, v, 32);
    assert_int_equal(a[0].qs[1], 1);
    assert_int_equal(a[0].qs[2], 3);
    assert_int_equal(a[0].qs[3], -3);
    assert_int_equal(v[0].qs[1], 0);
    assert_int_equal(v[0].qs[2], 2);
    assert_int_equal(v[0].qs[3], -2);
}

static void test_q8_K_exact(void **state)
{
    (void)state;
    enum { NB = 3, N = QK_K * NB };
    static float x[N];
    fill_normal(x, N, 99, 0.3f);
    x[17] = 4.0f;                                    /* block 0 extreme positive */
    x[QK_K + 200] = -5.0f;                           /* block 1 extreme negative */
    for (int i = 2 * QK_K; i < N; i++) x[i] = 0.0f;  /* block 2 zero */
    block_q8_K b[NB];
    memset(b, 0x5a, sizeof b);
    q8_K_quantize(x, b, N);
    /* the extreme element maps to -127 and d carries the opposite sign */
    assert_int_equal(b[0].qs[17], -127);
    assert_true(b[0].d == 1 / (-127.f / 4.0f));
    assert_int_equal(b[1].qs[200], -127);
    assert_true(b[1].d == 1 / (-127.f / -5.0f));
    /* every quant is x * iscale rounded, within [-127, 127] */
    for (int blk = 0; blk < 2; blk++) {
        const float iscale = -127.f / (blk == 0 ? 4.0f : -5.0f);
        for (int j = 0; j < QK_K; j++) {
            assert_true(fabsf(b[blk].qs[j] - x[blk * QK_K + j] * iscale) <= 0.5f);
            assert_true(b[blk].qs[j] >= -127 && b[blk].qs[j] <= 127);
        }
    }
    for (int blk = 0; blk < NB; blk++)
        for (int g = 0; g < QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++) s += b[blk].qs[16 * g + l];
            assert_int_equal(b[blk].bsums[g], s);
        }
    assert_true(b[2].d == 0.0f);
    for (int j = 0; j < QK_K; j++) assert_int_equal(b[2].qs[j], 0);
    /* ties go to even: with max = -127 the inverse scale is exactly 1 */
    float t[QK_K] = {-127.0f, 1.5f, 2.5f, -3.5f};
    q8_K_quantize(t, b, QK_K);
    assert_true(b[0].d == 1.0f);
    assert_int_equal(b[0].qs[0], -127);
    assert_int_equal(b[0].qs[1], 2);
    assert_int_equal(b[0].qs[2], 2);
    assert_int_equal(b[0].qs[3], -4);
}

/* ------------------------------------------------------------------------
 * Activation quantizers of every kernel level
 * ---------------------------------------------------------------------- */

/* Each kernel table this CPU runs converts activations to F16, BF16,
 * Q8_0, Q8_1 and Q8_K with the scalar reference's exact bytes: random rows
 * of odd block counts, rows with ties, zero blocks, repeated extremes of
 * both signs, values that overflow F16, F16 subnormals, and BF16 rounding
 * edges. */
static void test_activation_quantizers_every_level(void **state)
{
    (void)state;
    enum { N = 5 * QK_K + 32 * 3 }; /* not a whole number of Q8_K blocks: Q8_K uses 5 * QK_K */
    static float x[N];
    static uint8_t got[N * 4], want[N * 4];
    static const uint32_t acts[] = {GGML_TYPE_F16, GGML_TYPE_BF16, GGML_TYPE_Q8_0, GGML_TYPE_Q8_1, GGML_TYPE_Q8_K};
    const kernel_ops *t[8];
    const int nt = kernels_available(t, 8);
    const kernel_ops *ref = kernels_scalar();
    printf("activation quantizers tested at:");
    for (int i = 0; i < nt; i++) printf(" %s", t[i]->isa);
    printf("\n");
    for (int variant = 0; variant < 4; variant++) {
        fill_normal(x, N, 1234 + variant, variant == 3 ? 1e4f : 1.0f);
        if (variant == 1) {
            for (int i = 0; i < N; i++) x[i] = (float)((i * 37) % 255 - 127) * 0.5f; /* ties */
            for (int i = 32; i < 64; i++) x[i] = 0.0f;                              /* a zero block */
            for (int i = QK_K; i < 2 * QK_K; i++) x[i] = 0.0f;                     /* a zero super-block */
            x[70] = 9.0f, x[71] = -9.0f, x[90] = 9.0f;                              /* equal extremes */
            x[2 * QK_K + 5] = -7.0f, x[2 * QK_K + 100] = 7.0f;
        } else if (variant == 2) {
            for (int i = 0; i < N; i++) x[i] *= (i % 3 == 0) ? 1e-6f : (i % 3 == 1) ? 7e4f : 1.0f;
            x[1] = 65519.0f, x[2] = 65520.0f, x[3] = -65536.0f, x[4] = 1e-8f, x[5] = 3e-5f;
            x[6] = f32_from_bits(0x3f808000u); /* BF16 tie, even */
            x[7] = f32_from_bits(0x3f818000u); /* BF16 tie, odd */
            x[8] = f32_from_bits(0x7f7fffffu); /* rounds to BF16 infinity */
        }
        for (int i = 0; i < nt; i++) {
            if (t[i] == ref) continue;
            for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++) {
                const uint32_t at = acts[a];
                const int64_t n = at == GGML_TYPE_Q8_K ? 5 * QK_K : N;
                const size_t bytes = ggml_row_size(at, n);
                memset(got, 0x11, bytes);
                memset(want, 0x22, bytes);
                t[i]->quantize[at](x, got, n);
                ref->quantize[at](x, want, n);
                if (memcmp(got, want, bytes) != 0) {
                    size_t j = 0;
                    while (got[j] == want[j]) j++;
                    fail_msg("%s: %s of input variant %d differs from scalar at byte %zu", t[i]->isa,
                             ggml_type_name(at), variant, j);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Real files (../shared)
 * ---------------------------------------------------------------------- */

/* llama-quantize --pure without an importance matrix runs ggml's reference
 * quantizers, so mote must reproduce its files byte for byte from the F32
 * model. */
static void check_same_quantization(const char *f32_rel, const char *q_rel, const char *tensor)
{
    gguf_file *ff = NULL, *fq = NULL;
    char f32_path[4096];
    snprintf(f32_path, sizeof f32_path, "%s", shared_path(f32_rel));
    if (gguf_open(f32_path, &ff) != MOTE_OK) fail_msg("%s", mote_last_error());
    if (gguf_open(shared_path(q_rel), &fq) != MOTE_OK) fail_msg("%s", mote_last_error());
    const gguf_tensor *tf = gguf_find_tensor(ff, tensor);
    const gguf_tensor *tq = gguf_find_tensor(fq, tensor);
    assert_non_null(tf);
    assert_non_null(tq);
    assert_int_equal(tf->type, GGML_TYPE_F32);
    const int64_t k = tq->ne[0];
    const size_t rb = ggml_row_size(tq->type, k);
    const int64_t rows = (int64_t)(tq->nbytes / rb);
    uint8_t *buf = malloc(rb);
    assert_non_null(buf);
    for (int64_t r = 0; r < rows; r++) {
        assert_int_equal(quantize_row(tq->type, (const float *)tf->data + r * k, buf, k), MOTE_OK);
        if (memcmp(buf, (const uint8_t *)tq->data + r * rb, rb) != 0)
            fail_msg("%s %s row %lld differs from llama-quantize's", q_rel, tensor, (long long)r);
    }
    free(buf);
    gguf_close(ff);
    gguf_close(fq);
}

static void test_shared_quantize_matches_llama(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    static const char *synth[] = {"Q8_0", "Q6_K", "Q5_K", "Q4_K", "Q4_0",  "IQ4_NL",
                                  "IQ4_XS", "Q3_K", "Q2_K", "F16"};
    char rel[256];
    for (size_t i = 0; i < sizeof synth / sizeof synth[0]; i++) {
        snprintf(rel, sizeof rel, "models/synth-llama-%s.gguf", synth[i]);
        check_same_quantization("models/synth-llama-F32.gguf", rel, "blk.0.attn_q.weight");
    }
    static const char *tiny[] = {"Q4_1", "Q5_0", "Q5_1", "BF16"};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        snprintf(rel, sizeof rel, "models/TinyStories-656K-%s.gguf", tiny[i]);
        check_same_quantization("models/TinyStories-656K-F32.gguf", rel, "blk.1.ffn_up.weight");
    }
}

/* Dequantized weights of a quantized file are close to the F32 file's. */
static void check_dequant_close(const char *f32_rel, const char *q_rel, const char *tensor,
                                double max_rel_rms)
{
    gguf_file *ff = NULL, *fq = NULL;
    char f32_path[4096];
    snprintf(f32_path, sizeof f32_path, "%s", shared_path(f32_rel));
    if (gguf_open(f32_path, &ff) != MOTE_OK) fail_msg("%s", mote_last_error());
    if (gguf_open(shared_path(q_rel), &fq) != MOTE_OK) fail_msg("%s", mote_last_error());
    const gguf_tensor *tf = gguf_find_tensor(ff, tensor);
    const gguf_tensor *tq = gguf_find_tensor(fq, tensor);
    assert_non_null(tf);
    assert_non_null(tq);
    assert_int_equal(tf->ne[0], tq->ne[0]);
    assert_int_equal(tf->nbytes / 4, tq->nbytes / ggml_row_size(tq->type, tq->ne[0]) * tq->ne[0]);
    const int64_t n = (int64_t)(tf->nbytes / sizeof(float));
    float *y = malloc((size_t)n * sizeof *y);
    assert_non_null(y);
    assert_int_equal(dequantize_row(tq->type, tq->data, y, n), MOTE_OK);
    const float *x = tf->data;
    double se = 0, sx = 0;
    for (int64_t i = 0; i < n; i++) {
        se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        sx += (double)x[i] * x[i];
    }
    double rel = sqrt(se / sx);
    if (!(rel <= max_rel_rms))
        fail_msg("%s %s: relative RMS difference %.5f above %.5f", q_rel, tensor, rel, max_rel_rms);
    free(y);
    gguf_close(ff);
    gguf_close(fq);
}

static void test_shared_dequantize_close(void **state)
{
    (void)state;
    SKIP_WITHOUT_SHARED();
    const char *tiny = "models/TinyStories-656K-F32.gguf";
    check_dequant_close(tiny, "models/TinyStories-656K-Q4_0.gguf", "blk.0.attn_q.weight", 0.11);
    check_dequant_close(tiny, "models/TinyStories-656K-Q4_0.gguf", "token_embd.weight", 0.11);
    check_dequant_close(tiny, "models/TinyStories-656K-Q8_0.gguf", "blk.1.ffn_down.weight", 0.007);
    check_dequant_close(tiny, "models/TinyStories-656K-IQ4_NL.gguf", "blk.1.ffn_gate.weight", 0.10);
    check_dequant_close(tiny, "models/TinyStories-656K.f16.gguf", "blk.0.attn_v.weight", 0.0003);
    const char *synth = "models/synth-llama-F32.gguf";
    static const struct { const char *type; double bound; } k[] = {
        {"Q2_K", 0.39}, {"Q3_K", 0.20}, {"Q4_K", 0.095}, {"Q5_K", 0.047}, {"Q6_K", 0.023}, {"IQ4_XS", 0.10},
    };
    char rel[256];
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        snprintf(rel, sizeof rel, "models/synth-llama-%s.gguf", k[i].type);
        check_dequant_close(synth, rel, "blk.1.ffn_down.weight", k[i].bound);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_sizes_match_type_table),
        cmocka_unit_test(test_type_support),
        cmocka_unit_test(test_dequant_float_types),
        cmocka_unit_test(test_dequant_q4_q5),
        cmocka_unit_test(test_dequant_q8),
        cmocka_unit_test(test_dequant_iq4),
        cmocka_unit_test(test_dequant_q2_K),
        cmocka_unit_test(test_dequant_q3_K),
        cmocka_unit_test(test_dequant_q4_K_q5_K),
        cmocka_unit_test(test_dequant_q6_K),
        cmocka_unit_test(test_round_trip_error),
        cmocka_unit_test(test_round_trip_special),
        cmocka_unit_test(test_q8_0_q8_1_exact),
        cmocka_unit_test(test_q8_K_exact),
        cmocka_unit_test(test_activation_quantizers_every_level),
        cmocka_unit_test(test_shared_quantize_matches_llama),
        cmocka_unit_test(test_shared_dequantize_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
