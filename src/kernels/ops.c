/* ops.c — scalar transformer operations (see ops.h). */
#include "kernels/ops.h"

#include <math.h>
#include <pthread.h>

#include "kernels/dot_scalar.h"
#include "kernels/kernels.h"
#include "tensor/fp16.h"

void op_rmsnorm(float *out, const float *x, const float *w, int n, float eps)
{
    double sum = 0.0; /* ggml accumulates the squares in double */
    for (int i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) out[i] = (x[i] * scale) * w[i];
}

void op_layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps)
{
    double sum = 0.0; /* ggml_norm: the mean and the variance in double */
    for (int i = 0; i < n; i++) sum += (double)x[i];
    const float mean = (float)(sum / n);
    double sum2 = 0.0;
    for (int i = 0; i < n; i++) {
        const float v = x[i] - mean;
        out[i] = v;
        sum2 += (double)(v * v);
    }
    const float scale = 1.0f / sqrtf((float)(sum2 / n) + eps);
    for (int i = 0; i < n; i++) out[i] = out[i] * scale * w[i] + b[i];
}

void op_rope_cache(float *cs, int pos, int n_rot, float base, float freq_scale, const float *ff, float mscale)
{
    /* θ advances by repeated float multiplication, as ggml's rope cache does. */
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        float t = freq_scale * (ff ? theta / ff[i] : theta);
        cs[2 * i] = cosf(t) * mscale;
        cs[2 * i + 1] = sinf(t) * mscale;
        theta *= theta_scale;
    }
}

void op_rope(float *x, const float *cs, int n_rot, int neox)
{
    const int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        const float c = cs[2 * i], s = cs[2 * i + 1];
        const int i0 = neox ? i : 2 * i;
        const int i1 = neox ? i + half : 2 * i + 1;
        const float x0 = x[i0], x1 = x[i1];
        /* ggml's rope is compiled with FMA contraction: the first product
         * of each expression is fused, the second rounded on its own. */
        x[i0] = fmaf(x0, c, -(x1 * s));
        x[i1] = fmaf(x0, s, x1 * c);
    }
}

/* ------------------------------------------------------------------------
 * Softmax and SwiGLU, with exp as llama.cpp computes it
 *
 * ggml's x86 builds evaluate exp in softmax and SiLU with a vectorised
 * polynomial (ARM optimized-routines' expf: n = round(x / ln 2), a degree-5
 * polynomial in the reduced argument, scaled by 2^n), not libm's expf. The
 * two differ by about an ulp, enough to flip the rounding of a quantized
 * activation downstream, so it is reproduced here lane by lane with fmaf.
 * The constants are those of that published routine.
 * ---------------------------------------------------------------------- */

/* Floats per vector in ggml's AVX-512 softmax/SiLU; a row's elements past
 * its last whole vector go through libm's expf. */
#define EXP_LANES 16

static float vexpf(float x)
{
    const float shift = 0x1.8p23f; /* adding it rounds to an integer */
    const float n = fmaf(x, 0x1.715476p+0f, shift) - shift; /* round(x / ln 2) */
    /* b = x - n ln 2, with ln 2 split in a high and a low part */
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    return ldexpf(j, (int)n);
}

/* As ggml: the exps of each whole vector are summed to a float, and those
 * partial sums accumulate in double. Positions past n count as masked
 * (exp = 0): llama.cpp's score rows are padded with -inf to a multiple of
 * the vector width, so every element goes through vexpf. */
void op_softmax(float *s, int n, float scale)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++) {
        s[i] *= scale;
        if (s[i] > max) max = s[i];
    }
    double sum = 0.0;
    for (int i0 = 0; i0 < n; i0 += EXP_LANES) {
        float lane[EXP_LANES] = {0};
        for (int i = i0; i < n && i < i0 + EXP_LANES; i++) lane[i - i0] = s[i] = vexpf(s[i] - max);
        sum += (double)scalar_reduce16(lane);
    }
    const float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) s[i] *= inv;
}

void op_swiglu_scalar(float *g, const float *u, int n)
{
    const int nv = n - n % EXP_LANES; /* the part ggml vectorises */
    for (int i = 0; i < nv; i++) g[i] = g[i] / (1.0f + vexpf(-g[i])) * u[i];
    for (int i = nv; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void op_swiglu(float *g, const float *u, int n)
{
    const kernel_ops *k = kernels_get();
    if (k->swiglu) k->swiglu(g, u, n);
    else op_swiglu_scalar(g, u, n);
}

/* ggml's gelu with tanh, in float as ggml_gelu_f32 computes it; ggml is
 * compiled with FMA contraction, which fuses 1 + a·x·x. */
static float gelu_f32(float x)
{
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f, coef_a = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * fmaf(coef_a * x, x, 1.0f)));
}

/* gelu of every F16 value, as F16 widened to float (ggml's table). */
static float gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void)
{
    for (uint32_t h = 0; h < (1u << 16); h++)
        gelu_table[h] = fp16_to_fp32(fp32_to_fp16(gelu_f32(fp16_to_fp32((mote_f16)h))));
}

void op_geglu(float *g, const float *u, int n)
{
    pthread_once(&gelu_once, gelu_table_init);
    for (int i = 0; i < n; i++) {
        const float x = g[i];
        if (x <= -10.0f) g[i] = 0.0f;
        else if (x >= 10.0f) g[i] = x * u[i];
        else g[i] = gelu_table[fp32_to_fp16(x)] * u[i];
    }
}

void op_gelu(float *x, int n)
{
    pthread_once(&gelu_once, gelu_table_init);
    for (int i = 0; i < n; i++) {
        const float v = x[i];
        if (v <= -10.0f) x[i] = 0.0f;
        else if (v < 10.0f) x[i] = gelu_table[fp32_to_fp16(v)];
    }
}

void op_softcap(float *x, int n, float cap)
{
    const float inv = 1.0f / cap;
    for (int i = 0; i < n; i++) x[i] = tanhf(x[i] * inv) * cap;
}

void op_scale(float *x, int n, float s)
{
    for (int i = 0; i < n; i++) x[i] *= s;
}

void op_add(float *y, const float *x, int n)
{
    for (int i = 0; i < n; i++) y[i] += x[i];
}

/* ------------------------------------------------------------------------
 * Attention dot products, in the order of ggml's AVX-512 ggml_vec_dot_f32
 *
 * llama.cpp (flash attention off) computes both attention products with
 * ggml_vec_dot_f32 (the query/probability operand is not contiguous, so
 * tinyBLAS is skipped): 4 vectors of 16 lanes, each lane a chain of FMAs
 * over the elements i with (i / 16) % 4 and i % 16 fixed, for the first
 * n - n % 64 elements; the vectors are folded (0+2, 1+3, then 0+1) and
 * reduced as _mm512_reduce_add_ps does; the remaining elements are added
 * one by one, multiply then add, in float.
 * ---------------------------------------------------------------------- */

#define DOT_LANES 16
#define DOT_VECS 4

/* ggml_vec_dot_f32 is also the F32 weights' one-row dot product. */
float op_dot_f32(const float *a, const float *b, int n)
{
    float s;
    f32_dot_scalar(n, &s, a, b);
    return s;
}

void op_attn_values(float *out, const float *p, const float *v, int64_t stride, int n, int hd)
{
    /* llama.cpp's score rows are zero-padded to a multiple of 256
     * positions, so every position takes the vector path. */
    for (int d = 0; d < hd; d++) {
        float acc[DOT_VECS][DOT_LANES] = {{0}};
        for (int j = 0; j < n; j++) {
            float *lane = &acc[(j / DOT_LANES) % DOT_VECS][j % DOT_LANES];
            *lane = fmaf(p[j], v[(int64_t)j * stride + d], *lane);
        }
        out[d] = scalar_fold4x16(acc);
    }
}

void op_attn_values_batch(float *out, const float *p, const float *v, int64_t stride, int n, int hd)
{
    for (int d = 0; d < hd; d++) {
        float acc[DOT_LANES] = {0};
        for (int j = 0; j < n; j++) acc[j % DOT_LANES] = fmaf(p[j], v[(int64_t)j * stride + d], acc[j % DOT_LANES]);
        out[d] = scalar_reduce16(acc);
    }
}
