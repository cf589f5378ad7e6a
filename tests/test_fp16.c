/*
 * test_fp16.c — F16 and BF16 conversions (src/tensor/fp16.h): exact values,
 * rounding ties, subnormals, overflow, infinities and NaN, and round trips
 * of every 16-bit pattern. The rules are those of x86 F16C (F16) and of
 * ggml's ggml_compute_fp32_to_bf16 (BF16).
 */
#include <float.h>
#include <math.h>

#include "tensor/fp16.h"
#include "testutil.h"

static void test_fp16_to_fp32(void **state)
{
    (void)state;
    assert_true(fp16_to_fp32(0x3c00) == 1.0f);
    assert_true(fp16_to_fp32(0xc000) == -2.0f);
    assert_true(fp16_to_fp32(0x3555) == 0x1.554p-2f);
    assert_true(fp16_to_fp32(0x7bff) == 65504.0f);          /* largest finite */
    assert_true(fp16_to_fp32(0x0400) == 0x1p-14f);          /* smallest normal */
    assert_true(fp16_to_fp32(0x03ff) == 1023 * 0x1p-24f);   /* largest subnormal */
    assert_true(fp16_to_fp32(0x0001) == 0x1p-24f);          /* smallest subnormal */
    assert_true(fp16_to_fp32(0x8001) == -0x1p-24f);
    assert_int_equal(f32_bits(fp16_to_fp32(0x8000)), 0x80000000u); /* -0 */
    assert_true(isinf(fp16_to_fp32(0x7c00)) && fp16_to_fp32(0x7c00) > 0);
    assert_true(isinf(fp16_to_fp32(0xfc00)) && fp16_to_fp32(0xfc00) < 0);
    assert_true(isnan(fp16_to_fp32(0x7e00)));
    assert_true(isnan(fp16_to_fp32(0x7c01))); /* signalling NaN stays NaN (made quiet) */
    assert_int_equal(f32_bits(fp16_to_fp32(0x7c01)) & 0x00400000u, 0x00400000u);
    assert_true(signbit(fp16_to_fp32(0xfe00)));
}

static void test_fp32_to_fp16_rounding(void **state)
{
    (void)state;
    assert_int_equal(fp32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(fp32_to_fp16(-2.0f), 0xc000);
    assert_int_equal(fp32_to_fp16(0.0f), 0x0000);
    assert_int_equal(fp32_to_fp16(-0.0f), 0x8000);
    /* ties to even: 1 + 2^-11 lies halfway between 0x3c00 and 0x3c01 */
    assert_int_equal(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
    assert_int_equal(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
    assert_int_equal(fp32_to_fp16(1.0f + 0x1p-11f + 0x1p-23f), 0x3c01); /* just above the tie */
    assert_int_equal(fp32_to_fp16(-(1.0f + 0x1p-11f)), 0xbc00);
    /* rounding carries into the exponent: 2 - 2^-12 -> 2.0 */
    assert_int_equal(fp32_to_fp16(2.0f - 0x1p-12f), 0x4000);
    /* overflow: 65504 is the largest finite, 65520 the tie that goes to inf */
    assert_int_equal(fp32_to_fp16(65504.0f), 0x7bff);
    assert_int_equal(fp32_to_fp16(65519.99f), 0x7bff);
    assert_int_equal(fp32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(fp32_to_fp16(1e10f), 0x7c00);
    assert_int_equal(fp32_to_fp16(-1e10f), 0xfc00);
    assert_int_equal(fp32_to_fp16(INFINITY), 0x7c00);
    assert_int_equal(fp32_to_fp16(-INFINITY), 0xfc00);
    /* subnormals, in units of 2^-24 */
    assert_int_equal(fp32_to_fp16(0x1p-24f), 0x0001);
    assert_int_equal(fp32_to_fp16(0x1p-25f), 0x0000);            /* tie 0/1 -> even 0 */
    assert_int_equal(fp32_to_fp16(0x1.000002p-25f), 0x0001);     /* above the tie */
    assert_int_equal(fp32_to_fp16(3 * 0x1p-25f), 0x0002);        /* tie 1/2 -> 2 */
    assert_int_equal(fp32_to_fp16(5 * 0x1p-25f), 0x0002);        /* tie 2/3 -> 2 */
    assert_int_equal(fp32_to_fp16(1023.5f * 0x1p-24f), 0x0400);  /* tie -> smallest normal */
    assert_int_equal(fp32_to_fp16(1022.5f * 0x1p-24f), 0x03fe);
    assert_int_equal(fp32_to_fp16(-0x1p-24f), 0x8001);
    assert_int_equal(fp32_to_fp16(0x1p-30f), 0x0000);
    assert_int_equal(fp32_to_fp16(FLT_TRUE_MIN), 0x0000);
    assert_int_equal(fp32_to_fp16(-FLT_TRUE_MIN), 0x8000);
    /* NaN stays a quiet NaN with its sign and top payload bits */
    assert_int_equal(fp32_to_fp16(f32_from_bits(0x7fc00000u)), 0x7e00);
    assert_int_equal(fp32_to_fp16(f32_from_bits(0xffc00000u)), 0xfe00);
    assert_int_equal(fp32_to_fp16(f32_from_bits(0x7f800001u)), 0x7e00);
    assert_int_equal(fp32_to_fp16(f32_from_bits(0x7fa02000u)), 0x7f01);

    /* every finite F16 survives F16 -> F32 -> F16; NaNs stay NaN */
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = fp16_to_fp32((mote_f16)h);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            assert_true(isnan(f));
            mote_f16 back = fp32_to_fp16(f);
            assert_int_equal(back & 0x7c00, 0x7c00);
            assert_true((back & 0x3ff) != 0);
            continue;
        }
        if (fp32_to_fp16(f) != h) fail_msg("F16 0x%04x did not round-trip", h);
    }
}

static void test_bf16(void **state)
{
    (void)state;
    assert_int_equal(fp32_to_bf16(1.0f), 0x3f80);
    assert_true(bf16_to_fp32(0x3f80) == 1.0f);
    assert_true(bf16_to_fp32(0xc0a0) == -5.0f);
    /* ties to even in the 7-bit mantissa */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x3f808000u)), 0x3f80); /* tie, even down */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x3f818000u)), 0x3f82); /* tie, even up */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x3f808001u)), 0x3f81); /* above the tie */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x3f807fffu)), 0x3f80); /* below the tie */
    assert_int_equal(fp32_to_bf16(-0.0f), 0x8000);
    assert_int_equal(fp32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(fp32_to_bf16(-INFINITY), 0xff80);
    assert_int_equal(fp32_to_bf16(FLT_MAX), 0x7f80); /* rounds up to infinity */
    /* subnormals are kept, not flushed */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x00010000u)), 0x0001);
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x00018000u)), 0x0002);
    /* NaN: truncated and forced quiet, never rounded into infinity */
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x7f800001u)), 0x7fc0);
    assert_int_equal(fp32_to_bf16(f32_from_bits(0xff80ffffu)), 0xffc0);
    assert_int_equal(fp32_to_bf16(f32_from_bits(0x7fffffffu)), 0x7fff);
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = bf16_to_fp32((mote_bf16)h);
        assert_int_equal(f32_bits(f), h << 16);
        if (!isnan(f) && fp32_to_bf16(f) != h) fail_msg("BF16 0x%04x did not round-trip", h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_to_fp32),
        cmocka_unit_test(test_fp32_to_fp16_rounding),
        cmocka_unit_test(test_bf16),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
