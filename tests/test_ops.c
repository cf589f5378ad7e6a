/*
 * test_ops.c — the element-wise and row operations (kernels/ops.h).
 *
 *   - swiglu: every kernel table's version (SIMD where the table has one)
 *     gives the scalar op's bits, on random inputs of odd lengths and on
 *     the exp polynomial's edge ranges (subnormal results, |n| > 192,
 *     infinities); the scalar op is within a few ulp of silu(g) * u in
 *     double;
 *   - softmax, rmsnorm and rope against double-precision references.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/attention.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "testutil.h"

#define MAX_TABLES 8
#define NMAX 1031

static void fill_normal(float *x, int n, float scale, uint64_t seed)
{
    uint64_t s = seed;
    for (int i = 0; i < n; i++) x[i] = scale * test_rng_normal(&s);
}

/* |a - b| in units of float spacing at b (0 if both are the same number). */
static double ulps(float a, double b)
{
    if ((double)a == b) return 0;
    return fabs((double)a - b) / ((double)nextafterf((float)fabs(b), INFINITY) - fabs((float)b) + 1e-45);
}

/* ------------------------------------------------------------------------
 * SwiGLU
 * ---------------------------------------------------------------------- */

static void swiglu_with(const kernel_ops *k, float *g, const float *u, int n)
{
    if (k->swiglu) k->swiglu(g, u, n);
    else op_swiglu_scalar(g, u, n);
}

static void check_tables_swiglu(const float *g0, const float *u, int n, const char *what)
{
    const kernel_ops *t[MAX_TABLES];
    const int nt = kernels_available(t, MAX_TABLES);
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    assert_true(want && got);
    memcpy(want, g0, (size_t)n * sizeof *want);
    op_swiglu_scalar(want, u, n);
    for (int i = 0; i < nt; i++) {
        memcpy(got, g0, (size_t)n * sizeof *got);
        swiglu_with(t[i], got, u, n);
        for (int j = 0; j < n; j++)
            if (memcmp(&got[j], &want[j], sizeof got[j]) != 0)
                fail_msg("%s swiglu (%s, n=%d) element %d: g=%.9g gives %.9g, scalar %.9g", t[i]->isa, what, n, j,
                         g0[j], got[j], want[j]);
    }
    free(want), free(got);
}

static void test_swiglu_tables_match_scalar(void **state)
{
    (void)state;
    float g[NMAX], u[NMAX];
    static const int ns[] = {1, 15, 16, 17, 47, 576, NMAX};
    static const float scales[] = {0.5f, 4.0f, 40.0f, 150.0f};
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof scales / sizeof scales[0]; b++) {
            fill_normal(g, ns[a], scales[b], 11 + a * 7 + b);
            fill_normal(u, ns[a], 1.0f, 101 + a);
            check_tables_swiglu(g, u, ns[a], "random");
        }
    /* exp's edges: results near and below the smallest normal float,
     * arguments past the polynomial's range, infinities */
    float e[64];
    int n = 0;
    for (float x = 80.0f; x < 110.0f; x += 0.93f) e[n++] = x;
    e[n++] = 190.0f, e[n++] = 300.0f, e[n++] = -300.0f, e[n++] = -87.5f, e[n++] = 0.0f, e[n++] = -0.0f;
    e[n++] = INFINITY, e[n++] = -INFINITY;
    while (n % 16) e[n++] = 1.0f;
    for (int i = 0; i < n; i++) u[i] = 1.0f;
    check_tables_swiglu(e, u, n, "edges");
}

static void test_swiglu_accuracy(void **state)
{
    (void)state;
    float g[NMAX], u[NMAX], out[NMAX];
    fill_normal(g, NMAX, 6.0f, 3);
    fill_normal(u, NMAX, 1.0f, 4);
    memcpy(out, g, sizeof out);
    op_swiglu_scalar(out, u, NMAX);
    double worst = 0;
    for (int i = 0; i < NMAX; i++) {
        const double ref = (double)g[i] / (1.0 + exp(-(double)g[i])) * u[i];
        const double e = ulps(out[i], ref);
        if (e > worst) worst = e;
    }
    if (worst > 4) fail_msg("swiglu: %.1f ulp from silu(g) * u", worst);
}

/* ------------------------------------------------------------------------
 * Softmax, RMS norm, rope
 * ---------------------------------------------------------------------- */

static void test_softmax(void **state)
{
    (void)state;
    static const int ns[] = {1, 5, 16, 33, 300};
    float s[300], s0[300];
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
        const int n = ns[a];
        fill_normal(s0, n, 3.0f, 50 + a);
        memcpy(s, s0, sizeof s);
        op_softmax(s, n, 0.125f);
        double max = -INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = fmax(max, 0.125 * s0[i]);
        for (int i = 0; i < n; i++) sum += exp(0.125 * s0[i] - max);
        for (int i = 0; i < n; i++) {
            const double ref = exp(0.125 * s0[i] - max) / sum;
            if (!(fabs(s[i] - ref) <= 1e-6 * ref + 1e-12))
                fail_msg("softmax n=%d element %d: %.9g, reference %.9g", n, i, s[i], ref);
        }
    }
}

static void test_rmsnorm(void **state)
{
    (void)state;
    enum { N = 577 };
    float x[N], w[N], out[N];
    fill_normal(x, N, 2.0f, 7);
    fill_normal(w, N, 1.0f, 8);
    op_rmsnorm(out, x, w, N, 1e-5f);
    double ss = 0;
    for (int i = 0; i < N; i++) ss += (double)x[i] * x[i];
    const double scale = 1.0 / sqrt(ss / N + 1e-5);
    for (int i = 0; i < N; i++) {
        const double ref = x[i] * scale * w[i];
        if (!(fabs(out[i] - ref) <= 1e-6 * fabs(ref) + 1e-7))
            fail_msg("rmsnorm element %d: %.9g, reference %.9g", i, out[i], ref);
    }
}

static void test_rope(void **state)
{
    (void)state;
    enum { HD = 64, ROT = 48 };
    float cs[ROT], x0[HD], x[HD];
    fill_normal(x0, HD, 1.0f, 9);
    for (int neox = 0; neox < 2; neox++) {
        const int pos = 37;
        op_rope_cache(cs, pos, ROT, 10000.0f, 1.0f, NULL, 1.0f);
        memcpy(x, x0, sizeof x);
        op_rope(x, cs, ROT, neox);
        for (int i = 0; i < ROT / 2; i++) {
            const double th = pos * pow(10000.0, -2.0 * i / ROT);
            const int i0 = neox ? i : 2 * i, i1 = neox ? i + ROT / 2 : 2 * i + 1;
            const double r0 = x0[i0] * cos(th) - x0[i1] * sin(th), r1 = x0[i0] * sin(th) + x0[i1] * cos(th);
            if (!(fabs(x[i0] - r0) <= 2e-5 && fabs(x[i1] - r1) <= 2e-5))
                fail_msg("rope neox=%d pair %d: (%.7g, %.7g), reference (%.7g, %.7g)", neox, i, x[i0], x[i1], r0, r1);
        }
        for (int i = ROT; i < HD; i++) assert_true(x[i] == x0[i]); /* past n_rot: untouched */
    }
}

/* GeGLU through llama.cpp's F16 table: gelu(x) = f16(gelu_f32(f16(x)))
 * with ggml's float formula, FMA-contracted as ggml is compiled; 0 at
 * x <= -10 and x itself at x >= 10. The table was compared entry by entry
 * with ggml_table_gelu_f16 of llama.cpp's CPU library: all 65536 agree;
 * without the FMA one differs, at x = -0x1.ffcp+0 (its entry is checked). */
static void test_geglu(void **state)
{
    (void)state;
    float g[] = {-0x1.ffcp+0f, -12.0f, -10.0f, 10.0f, 11.5f, 0.0f, 1.0f, -0.5f, 3.14159f, 9.999f};
    float u[] = {1.0f, 2.0f, 3.0f, 0.5f, 2.0f, 7.0f, 1.0f, 1.0f, -1.0f, 1.0f};
    const int n = (int)(sizeof g / sizeof g[0]);
    float y[sizeof g / sizeof g[0]];
    memcpy(y, g, sizeof g);
    op_geglu(y, u, n);
    assert_true(y[0] == -0x1.74cp-5f); /* llama.cpp's table entry 0xbfff -> 0xa9d3 */
    assert_true(y[1] == 0.0f && y[2] == 0.0f);
    assert_true(y[3] == 5.0f && y[4] == 23.0f);
    assert_true(y[5] == 0.0f);
    for (int i = 6; i < n; i++) {
        const double x = g[i], exact = 0.5 * x * (1.0 + tanh(0.7978845608028654 * x * (1.0 + 0.044715 * x * x)));
        /* F16 input and output: within 2^-10 relative of the exact value, plus the input's rounding */
        assert_true(fabs(y[i] - exact * u[i]) <= 2e-3 * fabs(exact * u[i]) + 1e-3);
    }
}

/* Softcapping: cap·tanh(x/cap), bounded by the cap, odd, near x for small x. */
static void test_softcap(void **state)
{
    (void)state;
    float x[] = {0.0f, 1.0f, -1.0f, 30.0f, 1e6f, -1e6f};
    op_softcap(x, 6, 30.0f);
    assert_true(x[0] == 0.0f);
    assert_true(fabsf(x[1] - 0.99963f) < 1e-4f && x[2] == -x[1]);
    assert_true(fabsf(x[3] - 30.0f * tanhf(1.0f)) < 1e-5f);
    assert_true(x[4] == 30.0f && x[5] == -30.0f);
}

/* Every table's exact attention sums (one token, and a batch's token) give
 * the bits of ops.c's scalar ones: odd position counts, head sizes that
 * are and are not multiples of the vector width, strided value rows. */
static void test_attn_values_tables_match_scalar(void **state)
{
    (void)state;
    const kernel_ops *t[MAX_TABLES];
    const int nt = kernels_available(t, MAX_TABLES);
    static const int ns[] = {1, 2, 15, 16, 17, 63, 64, 65, 257, 700};
    static const int hds[] = {8, 16, 24, 32, 40, 64, 128, 17};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof hds / sizeof *hds; b++) {
            const int n = ns[a], hd = hds[b], stride = hd * 3 + 5;
            float *p = malloc(sizeof *p * (size_t)n), *v = malloc(sizeof *v * (size_t)n * (size_t)stride);
            float want[128], want_b[128], got[128];
            fill_normal(p, n, 0.1f, 11 + (uint64_t)n);
            fill_normal(v, n * stride, 1.0f, 7 + (uint64_t)hd);
            op_attn_values(want, p, v, stride, n, hd);
            op_attn_values_batch(want_b, p, v, stride, n, hd);
            for (int i = 0; i < nt; i++) {
                const attn_exact_ops e = attn_exact_kernels(t[i]);
                e.values(got, p, v, stride, n, hd);
                if (memcmp(got, want, sizeof(float) * (size_t)hd) != 0)
                    fail_msg("%s values: n %d hd %d differ from the scalar sum", t[i]->isa, n, hd);
                e.values_batch(got, p, v, stride, n, hd);
                if (memcmp(got, want_b, sizeof(float) * (size_t)hd) != 0)
                    fail_msg("%s values_batch: n %d hd %d differ from the scalar sum", t[i]->isa, n, hd);
            }
            free(p);
            free(v);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_swiglu_tables_match_scalar),
        cmocka_unit_test(test_swiglu_accuracy),
        cmocka_unit_test(test_softmax),
        cmocka_unit_test(test_rmsnorm),
        cmocka_unit_test(test_rope),
        cmocka_unit_test(test_geglu),
        cmocka_unit_test(test_softcap),
        cmocka_unit_test(test_attn_values_tables_match_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
