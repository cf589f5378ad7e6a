/*
 * test_fp8.c — mote's FP8 type (tensor/quant.h): the E4M3 codes against
 * the OCP definition computed independently, the rounding of the
 * quantizer, its choice of scale, the values that read as NaN (in the
 * dequantizer and in every kernel table), and the GGUF key that records
 * the layout. The kernels' agreement with the scalar reference, bit for
 * bit, is test_kernels' (FP8 is one of its weight types).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "gguf/gguf.h"
#include "gguf/gguf_write.h"
#include "kernels/kernels.h"
#include "tensor/quant.h"
#include "testutil.h"

#define MAX_TABLES 8

/* OCP FP8 E4M3, from the specification's formula: bias 7, subnormals
 * m * 2^-9, S.1111.111 NaN, no infinities. */
static double e4m3_value(uint8_t c)
{
    const int s = c >> 7, e = (c >> 3) & 15, m = c & 7;
    double v;
    if (e == 15 && m == 7) v = NAN;
    else if (e == 0) v = ldexp(m, -9);
    else v = ldexp(1.0 + m / 8.0, e - 7);
    return s ? -v : v;
}

/* fp8_half is the code's value times 2^-8, exactly, for all 256 codes. */
static void test_codes_decode(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        const double want = e4m3_value((uint8_t)c);
        const float got = fp16_to_fp32(fp8_half((uint8_t)c)) * 256.0f;
        if (isnan(want)) {
            if (!isnan(got)) fail_msg("code 0x%02x: %g, expected NaN", c, got);
            continue;
        }
        if ((double)got != want || !signbit(got) != !signbit(want))
            fail_msg("code 0x%02x: %.9g, expected %.9g", c, got, want);
    }
    assert_true(e4m3_value(0x7E) == FP8_MAX);
    assert_true(e4m3_value(0x01) == 0x1p-9);
}

/* Every finite code is its own encoding; midpoints between neighbours go
 * to the even code, anything off the midpoint to the nearer one; beyond
 * 448 saturates; NaN gives 0. */
static void test_codes_round(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        const double v = e4m3_value((uint8_t)c);
        if (isnan(v)) continue;
        assert_int_equal(fp8_e4m3_from_f32((float)v), c);
    }
    for (int c = 0; c < 0x7E; c++) {
        for (int sign = 0; sign < 2; sign++) {
            const double lo = e4m3_value((uint8_t)c), hi = e4m3_value((uint8_t)(c + 1));
            const double mid = (lo + hi) / 2, gap = hi - lo;
            const int s = sign ? -1 : 1, sc = sign ? 0x80 : 0;
            const int even = (c % 2 == 0 ? c : c + 1) | sc;
            if (fp8_e4m3_from_f32((float)(s * mid)) != even)
                fail_msg("midpoint %.9g: code 0x%02x, expected 0x%02x", s * mid, fp8_e4m3_from_f32((float)(s * mid)),
                         even);
            assert_int_equal(fp8_e4m3_from_f32((float)(s * (mid - gap / 8))), c | sc);
            assert_int_equal(fp8_e4m3_from_f32((float)(s * (mid + gap / 8))), (c + 1) | sc);
        }
    }
    const float big[] = {448.0f, 449.0f, 464.0f, 480.0f, 1e30f, INFINITY};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        assert_int_equal(fp8_e4m3_from_f32(big[i]), 0x7E);
        assert_int_equal(fp8_e4m3_from_f32(-big[i]), 0xFE);
    }
    assert_int_equal(fp8_e4m3_from_f32(NAN), 0);
    assert_int_equal(fp8_e4m3_from_f32(0x1p-11f), 0); /* a quarter of the smallest subnormal */
    assert_int_equal(fp8_e4m3_from_f32(-0.0f), 0x80);
}

/* Each block's scale is the smallest power of two that brings its
 * largest magnitude to 448 or below (so that element is above 224), and
 * every element comes back as the E4M3 rounding of itself over the scale,
 * whatever the block's magnitude. */
static void test_quantize_blocks(void **state)
{
    (void)state;
    enum { NB = 64, N = NB * QK_FP8 };
    static float x[N], y[N];
    static block_fp8 q[NB];
    static const float mags[] = {1e-30f, 3e-7f, 0.02f, 1.0f, 448.0f, 449.0f, 7e4f, 1e30f};
    uint64_t rng = 7;
    for (size_t m = 0; m < sizeof mags / sizeof mags[0]; m++) {
        for (int i = 0; i < N; i++) x[i] = mags[m] * test_rng_normal(&rng) * (float)(1 + (i / QK_FP8) % 9);
        assert_int_equal(quantize_row(MOTE_TYPE_FP8, x, q, N), MOTE_OK);
        assert_int_equal(dequantize_row(MOTE_TYPE_FP8, q, y, N), MOTE_OK);
        for (int b = 0; b < NB; b++) {
            double amax = 0;
            for (int j = 0; j < QK_FP8; j++)
                if (fabs(x[b * QK_FP8 + j]) > amax) amax = fabs(x[b * QK_FP8 + j]);
            const double scale = ldexp(1.0, q[b].e - FP8_SCALE_BIAS);
            if (!(amax / scale <= FP8_MAX && amax / scale > FP8_MAX / 2))
                fail_msg("magnitude %g block %d: amax %g over scale 2^%d is %g", mags[m], b, amax,
                         q[b].e - FP8_SCALE_BIAS, amax / scale);
            for (int j = 0; j < QK_FP8; j++) {
                const int i = b * QK_FP8 + j;
                const double want = e4m3_value(fp8_e4m3_from_f32((float)(x[i] / scale))) * scale;
                if ((double)y[i] != want) fail_msg("magnitude %g element %d: %.9g, expected %.9g", mags[m], i, y[i], want);
                /* E4M3's relative step is 2^-3, so half of it bounds the error
                 * above the subnormal range */
                if (fabs(x[i]) / scale >= 0x1p-6 && fabs(y[i] - x[i]) > fabs(x[i]) * 0x1p-4)
                    fail_msg("magnitude %g element %d: %.9g for %.9g", mags[m], i, y[i], x[i]);
            }
        }
    }
}

/* Infinite and NaN inputs give finite blocks (saturated, zero); all-zero
 * and denormal blocks give no NaN. */
static void test_quantize_special(void **state)
{
    (void)state;
    float x[QK_FP8], y[QK_FP8];
    block_fp8 q;
    for (int j = 0; j < QK_FP8; j++) x[j] = (float)j;
    x[3] = INFINITY;
    x[4] = -INFINITY;
    x[5] = NAN;
    assert_int_equal(quantize_row(MOTE_TYPE_FP8, x, &q, QK_FP8), MOTE_OK);
    assert_true(q.e < FP8_SCALE_MAX);
    fp8_dequantize(&q, y, QK_FP8);
    for (int j = 0; j < QK_FP8; j++) assert_true(isfinite(y[j]));
    assert_true(y[3] > 1e38f && y[4] < -1e38f && y[5] == 0.0f);
    /* at the smallest scale (2^-127) E4M3's relative error holds down to
     * its subnormals, whose step is 2^-127 * 2^-9 */
    for (int j = 0; j < QK_FP8; j++) x[j] = j % 2 ? 1e-41f : -3e-39f;
    assert_int_equal(quantize_row(MOTE_TYPE_FP8, x, &q, QK_FP8), MOTE_OK);
    assert_int_equal(q.e, 0);
    fp8_dequantize(&q, y, QK_FP8);
    for (int j = 0; j < QK_FP8; j++) assert_true(fabsf(y[j] - x[j]) <= fmaxf(fabsf(x[j]) * 0x1p-4f, 0x1p-137f));
}

/* Scales from FP8_SCALE_MAX up and the codes 0x7F / 0xFF read as NaN, in
 * the dequantizer and in every table's dot products (NaN payloads may
 * differ between ISAs, so only NaN-ness is compared); the largest valid
 * scale reads as a finite one. */
static void test_nan_encodings(void **state)
{
    (void)state;
    enum { NB = 5, N = NB * QK_FP8 };
    block_fp8 w[4][NB];
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = 0.01f * (float)(i % 13 - 6);
    for (int r = 0; r < 4; r++)
        for (int b = 0; b < NB; b++) {
            w[r][b].e = 120;
            for (int j = 0; j < QK_FP8; j++) w[r][b].qs[j] = (uint8_t)((j * 7 + b) % 0x7E);
        }
    w[0][2].e = FP8_SCALE_MAX;
    w[1][4].e = 255;
    w[2][1].qs[9] = 0x7F;
    w[3][3].qs[30] = 0xFF;
    const kernel_ops *t[MAX_TABLES];
    const int n = kernels_available(t, MAX_TABLES);
    for (int r = 0; r < 4; r++) {
        assert_int_equal(dequantize_row(MOTE_TYPE_FP8, w[r], y, N), MOTE_OK);
        int nans = 0;
        for (int i = 0; i < N; i++) nans += isnan(y[i]) != 0;
        assert_int_equal(nans, r < 2 ? QK_FP8 : 1);
        for (int i = 0; i < n; i++) {
            float s = 0.0f;
            t[i]->vec_dot[MOTE_TYPE_FP8](N, &s, w[r], x);
            if (!isnan(s)) fail_msg("%s: row %d gave %g, expected NaN", t[i]->isa, r, s);
        }
    }
    w[0][2].e = FP8_SCALE_MAX - 1;
    assert_true(fp8_scale(FP8_SCALE_MAX - 1) == 0x1p127f);
    for (int i = 0; i < n; i++) {
        float s = NAN;
        t[i]->vec_dot[MOTE_TYPE_FP8](N, &s, w[0], x);
        assert_false(isnan(s));
    }
}

/* Every table's FP8 slots (one row, four rows) against the scalar
 * reference, bit for bit, at odd block counts (test_kernels holds all
 * types to this too; this is FP8's alone, quick enough for qemu). */
static void test_tables_bitwise(void **state)
{
    (void)state;
    enum { NBMAX = 37, KMAX = NBMAX * QK_FP8 };
    static float w[4 * KMAX], x[KMAX];
    static block_fp8 q[4 * NBMAX];
    uint64_t rng = 99;
    for (int i = 0; i < 4 * KMAX; i++) w[i] = test_rng_normal(&rng) * (float)(1 + (i / QK_FP8) % 11) * 0.01f;
    for (int i = 0; i < KMAX; i++) x[i] = test_rng_normal(&rng) * (i % 61 ? 1.0f : 40.0f);
    const kernel_ops *t[MAX_TABLES], *ref = kernels_scalar();
    const int n = kernels_available(t, MAX_TABLES);
    static const int nbs[] = {1, 2, 3, 5, 8, 13, NBMAX};
    for (size_t b = 0; b < sizeof nbs / sizeof nbs[0]; b++) {
        const int64_t k = (int64_t)nbs[b] * QK_FP8;
        for (int r = 0; r < 4; r++) fp8_quantize(w + r * k, q + r * nbs[b], k);
        float want[4];
        for (int r = 0; r < 4; r++) ref->vec_dot[MOTE_TYPE_FP8](k, &want[r], q + r * nbs[b], x);
        for (int i = 0; i < n; i++) {
            float got[4];
            for (int r = 0; r < 4; r++) t[i]->vec_dot[MOTE_TYPE_FP8](k, &got[r], q + r * nbs[b], x);
            if (memcmp(got, want, sizeof got) != 0) fail_msg("%s: vec_dot k=%lld differs from scalar", t[i]->isa, (long long)k);
            if (!t[i]->vec_dot4[MOTE_TYPE_FP8]) continue;
            t[i]->vec_dot4[MOTE_TYPE_FP8](k, got, q, (size_t)nbs[b] * sizeof(block_fp8), x);
            if (memcmp(got, want, sizeof got) != 0) fail_msg("%s: vec_dot4 k=%lld differs from scalar", t[i]->isa, (long long)k);
        }
    }
}

/* ------------------------------------------------------------------------
 * The layout key
 * ---------------------------------------------------------------------- */

/* A GGUF buffer with one FP8 tensor of 2 x 64 (the writer adds the key). */
static void write_fp8_file(void **buf, size_t *size)
{
    float x[128];
    block_fp8 q[4];
    for (int i = 0; i < 128; i++) x[i] = (float)i / 7.0f;
    fp8_quantize(x, q, 128);
    gguf_writer *w;
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_str(w, "general.architecture", "llama"), MOTE_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "a.weight", MOTE_TYPE_FP8, 2, (int64_t[]){64, 2}, q), MOTE_OK);
    /* a second FP8 tensor does not add the key again */
    assert_int_equal(gguf_writer_add_tensor(w, "b.weight", MOTE_TYPE_FP8, 1, (int64_t[]){64}, q), MOTE_OK);
    assert_int_equal(gguf_writer_write_buffer(w, buf, size), MOTE_OK);
    gguf_writer_free(w);
}

/* Replace the first occurrence of from with to (same length) in buf. */
static void patch(uint8_t *buf, size_t size, const char *from, const char *to)
{
    const size_t n = strlen(from);
    assert_int_equal(n, strlen(to));
    for (size_t i = 0; i + n <= size; i++)
        if (memcmp(buf + i, from, n) == 0) {
            memcpy(buf + i, to, n);
            return;
        }
    fail_msg("'%s' not in the file", from);
}

static void test_layout_key(void **state)
{
    (void)state;
    void *buf;
    size_t size;
    write_fp8_file(&buf, &size);
    gguf_file *f;
    assert_int_equal(gguf_open_buffer(buf, size, "fp8.gguf", &f), MOTE_OK);
    gguf_str layout;
    assert_int_equal(gguf_get_str(f, "mote.type.128", &layout), MOTE_OK);
    assert_int_equal(layout.len, strlen(ggml_type_get(MOTE_TYPE_FP8)->layout));
    assert_memory_equal(layout.ptr, ggml_type_get(MOTE_TYPE_FP8)->layout, layout.len);
    const gguf_tensor *t = gguf_find_tensor(f, "a.weight");
    assert_non_null(t);
    assert_int_equal(t->type, MOTE_TYPE_FP8);
    assert_int_equal(t->nbytes, 2 * 2 * sizeof(block_fp8));
    gguf_close(f);

    /* another layout under the same id: refused, naming both */
    uint8_t *bad = malloc(size);
    assert_non_null(bad);
    memcpy(bad, buf, size);
    patch(bad, size, "fp8_e4m3 block 32", "fp8_e5m2 block 32");
    assert_int_equal(gguf_open_buffer(bad, size, "fp8.gguf", &f), MOTE_E_FORMAT);
    assert_null(f);
    assert_non_null(strstr(mote_last_error(), "fp8_e5m2"));
    assert_non_null(strstr(mote_last_error(), "a.weight"));

    /* no key: refused, saying which key is needed */
    memcpy(bad, buf, size);
    patch(bad, size, "mote.type.128", "mote.type.129");
    assert_int_equal(gguf_open_buffer(bad, size, "fp8.gguf", &f), MOTE_E_FORMAT);
    assert_non_null(strstr(mote_last_error(), "mote.type.128"));
    free(bad);
    free(buf);
}

/* Without FP8 tensors the key is neither written nor required. */
static void test_layout_key_only_with_fp8(void **state)
{
    (void)state;
    gguf_writer *w;
    float x[32] = {1};
    assert_int_equal(gguf_writer_create(&w), MOTE_OK);
    assert_int_equal(gguf_writer_add_tensor(w, "v", GGML_TYPE_F32, 1, (int64_t[]){32}, x), MOTE_OK);
    void *buf;
    size_t size;
    assert_int_equal(gguf_writer_write_buffer(w, &buf, &size), MOTE_OK);
    gguf_writer_free(w);
    gguf_file *f;
    assert_int_equal(gguf_open_buffer(buf, size, "f32.gguf", &f), MOTE_OK);
    assert_null(gguf_find_kv(f, "mote.type.128"));
    gguf_close(f);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_decode),
        cmocka_unit_test(test_codes_round),
        cmocka_unit_test(test_quantize_blocks),
        cmocka_unit_test(test_quantize_special),
        cmocka_unit_test(test_nan_encodings),
        cmocka_unit_test(test_tables_bitwise),
        cmocka_unit_test(test_layout_key),
        cmocka_unit_test(test_layout_key_only_with_fp8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
